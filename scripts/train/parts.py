"""Training pieces both shipped recipes use (the glyph model, scripts/train/common.py, and the
emoji model, scripts/train/emoji/common.py): thread setup, JSON-line logs, atomic checkpoints,
the VQ tokenizer and its export wrapper, MaskGIT's mask ratio, and the evaluation classifier
with its training loop (PyTorch 1.13, CPU)."""

import json
import math
import os
import time

import numpy as np
import torch
from PIL import Image
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


class SmoothedCrossEntropy(torch.autograd.Function):
    """Mean cross-entropy with label smoothing, as F.cross_entropy(logits, target,
    label_smoothing=eps), in one exp pass: PyTorch 1.13's CPU log_softmax and its backward take
    3.5x as long on the 10k x 1025 masked-token logits of a training step.

        loss = SmoothedCrossEntropy.apply(logits, target, 0.1)
    """

    @staticmethod
    def forward(ctx, logits, target, eps):
        top = logits.max(-1, keepdim=True).values
        p = (logits - top).exp_()
        total = p.sum(-1, keepdim=True)
        log_total = top.squeeze(-1) + total.log().squeeze(-1)
        picked = logits.gather(1, target[:, None]).squeeze(1)
        loss = (log_total - (1 - eps) * picked - eps * logits.mean(-1)).mean()
        ctx.save_for_backward(p.div_(total), target)  # the softmax, reused by the gradient
        ctx.eps = eps
        return loss

    @staticmethod
    def backward(ctx, grad):
        p, target = ctx.saved_tensors
        rows, classes = p.shape
        p = p.sub_(ctx.eps / classes)  # saved for this one backward: updated in place
        p[torch.arange(rows), target] -= 1 - ctx.eps
        return p.mul_(grad / rows), None, None


def arccos_mask_ratio(batch):
    """MaskGIT training: share of masked tokens = arccos(u) / (pi / 2), u ~ U(0, 1)."""
    return torch.arccos(torch.rand(batch)) / (math.pi / 2)


# ---------------------------------------------------------------- evaluation classifier

class Classifier(nn.Module):
    """64x64 image -> class logits; `features` is the penultimate layer (128-d), the space
    `deno task eval` measures Frechet distances in. Glyphs: 1 channel, 62 classes; emoji: 3
    channels, one class per emoji."""

    def __init__(self, classes, channels=1, downsample=False):
        super().__init__()
        # `downsample`: average 2x2 pixels first, reading 32x32 (4x fewer operations: the emoji
        # classifier has 3,786 classes to learn on two CPU cores).
        self.body = nn.Sequential(
            *([nn.AvgPool2d(2)] if downsample else []),
            nn.Conv2d(channels, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(64, 128, 3, padding=1), nn.BatchNorm2d(128), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(128, 128, 3, padding=1), nn.BatchNorm2d(128), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(128 * (4 if downsample else 16), 128), nn.ReLU(),
        )
        self.head = nn.Linear(128, classes)

    def forward(self, x):
        features = self.body(x)
        return self.head(features), features


def shift(x, pixels=3):
    """Random translation by up to `pixels`, padding with white (both data sets' background)."""
    dx, dy = torch.randint(-pixels, pixels + 1, (2,)).tolist()
    return torch.roll(F.pad(x, (pixels,) * 4, value=1.0), (dy, dx), (2, 3))[..., pixels:-pixels, pixels:-pixels]


def top_k_accuracy(model, images, labels, k=1):
    """Share of `images` whose label is among the model's k highest logits."""
    model.eval()
    with torch.no_grad():
        hits = sum((model(images[i:i + 512])[0].topk(k, 1).indices == labels[i:i + 512, None]).any(1).sum().item()
                   for i in range(0, len(images), 512))
    model.train()
    return hits / len(images)


def train_classifier(model, train, held_out, epochs, log, path, smoothing=0.05, lr=2e-3, batch=64):
    """Trains `model` on (images in [-1, 1], labels) `train` with random shifts; AdamW with a
    one-cycle schedule. Checkpoints to `path` after every epoch and resumes from it, so a stopped
    run loses at most one epoch. Returns the accuracies the checkpoint records."""
    (train_x, train_y), (test_x, test_y) = train, held_out
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    steps = epochs * ((len(train_x) + batch - 1) // batch)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=steps)
    start = 0
    if os.path.exists(path):
        state = torch.load(path)
        model.load_state_dict(state["model"])
        if "optimizer" not in state:  # a finished run: its accuracies are in the file
            return state
        optimizer.load_state_dict(state["optimizer"])
        schedule.load_state_dict(state["schedule"])
        torch.set_rng_state(state["rng"])
        start = state["epoch"]
        log(resumed=start)
    for epoch in range(start, epochs):
        order = torch.randperm(len(train_x))
        for i in range(0, len(train_x), batch):
            picked = order[i:i + batch]
            logits, _ = model(shift(train_x[picked]))
            loss = F.cross_entropy(logits, train_y[picked], label_smoothing=smoothing)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
        log(epoch=epoch + 1, loss=round(loss.item(), 4),
            held_out_accuracy=round(top_k_accuracy(model, test_x, test_y), 4))
        save_checkpoint(path, model=model.state_dict(), optimizer=optimizer.state_dict(),
                        schedule=schedule.state_dict(), rng=torch.get_rng_state(), epoch=epoch + 1)
    result = {name: top_k_accuracy(model, x, y, k) for name, x, y, k in
              [("train_accuracy", train_x, train_y, 1), ("held_out_accuracy", test_x, test_y, 1),
               ("held_out_top5", test_x, test_y, 5)]}
    log(**{k: round(v, 4) for k, v in result.items()})
    save_checkpoint(path, model=model.state_dict(), **result)
    return {"model": model.state_dict(), **result}


def sheet(images, columns, path):
    """Images [rows * columns, 64, 64(, 3)] uint8 -> one PNG of `columns` 64x64 cells a row,
    row-major: the real-image sheets of a model's eval/ folder."""
    rows = images.reshape(-1, columns, *images.shape[1:])
    Image.fromarray(np.concatenate([np.concatenate(list(r), axis=1) for r in rows], axis=0)).save(path, optimize=True)
