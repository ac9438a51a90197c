"""Training pieces both shipped recipes use (the glyph model, scripts/train/common.py, and the
emoji model, scripts/train/emoji/common.py): thread setup, JSON-line logs, atomic checkpoints,
the VQ tokenizer and its export wrapper, and MaskGIT's mask ratio (PyTorch 1.13, CPU)."""

import json
import math
import os
import time

import torch
from torch import nn
import torch.nn.functional as F

CODE_DIM = 16      # width of a VQ code


def setup(runs, threads=None):
    # os.cpu_count() counts the host's CPUs; only the ones this process may use matter.
    torch.set_num_threads(threads or len(os.sched_getaffinity(0)))
    os.makedirs(runs, exist_ok=True)


class Log:
    """Appends JSON lines to <runs>/<name>.log and echoes them."""

    def __init__(self, name, runs):
        self.path = os.path.join(runs, f"{name}.log")
        self.start = time.time()

    def __call__(self, **fields):
        fields["t"] = round(time.time() - self.start, 1)
        line = json.dumps(fields)
        print(line, flush=True)
        with open(self.path, "a") as f:
            f.write(line + "\n")


def save_checkpoint(path, **state):
    tmp = path + ".tmp"
    torch.save(state, tmp)
    os.replace(tmp, path)  # never leave a half-written checkpoint


class ResBlock(nn.Module):
    def __init__(self, ch):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(ch, ch, 3, padding=1), nn.ReLU(), nn.Conv2d(ch, ch, 3, padding=1))

    def forward(self, x):
        return F.relu(x + self.body(x))


class VQ(nn.Module):
    """64x64 pictures of `channels` channels -> 16x16 tokens (f = 4) -> back. l2-normalised
    codebook, nearest by cosine (as the paper's LlamaGen VQ); `res_blocks` residual blocks on
    each side at 16x16."""

    def __init__(self, ch, channels, codebook, res_blocks):
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Conv2d(channels, ch // 2, 3, padding=1), nn.ReLU(),
            nn.Conv2d(ch // 2, ch, 4, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(ch, ch, 4, stride=2, padding=1), nn.ReLU(),
            *[ResBlock(ch) for _ in range(res_blocks)], nn.Conv2d(ch, CODE_DIM, 1),
        )
        self.codebook = nn.Embedding(codebook, CODE_DIM)
        self.decoder = nn.Sequential(
            nn.Conv2d(CODE_DIM, ch, 3, padding=1), nn.ReLU(), *[ResBlock(ch) for _ in range(res_blocks)],
            # Upsample + conv rather than transposed convs: faster on CPU, no checkerboard.
            nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(ch, ch, 3, padding=1), nn.ReLU(),
            nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(ch, ch // 2, 3, padding=1), nn.ReLU(),
            # Linear output (a tanh here saturates on the mostly-white glyphs and stops
            # learning); the exported decoder clamps to [-1, 1].
            nn.Conv2d(ch // 2, channels, 3, padding=1),
        )

    def codes(self):
        return F.normalize(self.codebook.weight, dim=1)

    def encode(self, x):
        """-> (continuous latents [B, D, h, w] l2-normalised, token ids [B, h, w])."""
        z = F.normalize(self.encoder(x), dim=1)
        ids = torch.einsum("bdhw,kd->bkhw", z, self.codes()).argmax(1)
        return z, ids

    def decode_ids(self, ids):
        return self.decoder(self.codes()[ids].permute(0, 3, 1, 2))

    def forward(self, x):
        z, ids = self.encode(x)
        q = self.codes()[ids].permute(0, 3, 1, 2)
        commit = F.mse_loss(z, q.detach())
        codebook = F.mse_loss(q, z.detach())
        q = z + (q - z).detach()  # straight-through
        return self.decoder(q), ids, commit, codebook


class TokenDecoder(nn.Module):
    """Export wrapper: tokens int64 [B, h, w] -> image [B, C, 64, 64] in [-1, 1]."""

    def __init__(self, vq):
        super().__init__()
        self.vq = vq

    def forward(self, tokens):
        return self.vq.decode_ids(tokens).clamp(-1, 1)


def arccos_mask_ratio(batch):
    """MaskGIT training: share of masked tokens = arccos(u) / (pi / 2), u ~ U(0, 1)."""
    return torch.arccos(torch.rand(batch)) / (math.pi / 2)
