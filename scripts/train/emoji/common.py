"""Shared pieces of the emoji text-to-image recipe: data, the RGB VQ tokenizer, the text
encoder and the cross-attention MaskGIT transformer (PyTorch 1.13, CPU). Mirrors
scripts/train/common.py (the glyph model) where it can."""

import json
import math
import os
import sys
import time

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

from paths import RUNS, WORK

# The recipes' shared pieces (scripts/train/parts.py) sit one folder up.
sys.path.append(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # after this folder: its own modules first
import parts  # noqa: E402
from parts import SmoothedCrossEntropy, TokenDecoder, arccos_mask_ratio, save_checkpoint  # noqa: E402,F401 (re-exported)

GRID = 16          # tokens per side (64 px / 4)
CODEBOOK = 1024    # VQ entries; the mask id is CODEBOOK


def setup(threads=None):
    parts.setup(RUNS, threads)


def load_emoji():
    """(images uint8 [M, 64, 64, 3], emoji index [M], set index [M], split [M] (1 = held out)).
    Kept uint8: as float the 14k images would take 700 MB; `pixels` converts a batch."""
    d = np.load(os.path.join(WORK, "emoji.npz"))
    return (torch.from_numpy(d["images"]), torch.from_numpy(d["emoji"]), torch.from_numpy(d["set"]),
            torch.from_numpy(d["split"]))


def pixels(images):
    """uint8 [B, 64, 64, 3] -> float32 [B, 3, 64, 64] in [-1, 1]."""
    return images.permute(0, 3, 1, 2).float().div(127.5).sub(1)


def load_meta():
    with open(os.path.join(WORK, "emoji.json")) as f:
        return json.load(f)


def Log(name):
    """JSON lines to runs/<name>.log, echoed."""
    return parts.Log(name, RUNS)


class Clock:
    """True every `minutes` of wall time: checkpoints go by time, not steps, so a stopped run
    loses at most that much whatever the machine's speed."""

    def __init__(self, minutes):
        self.every, self.last = minutes * 60, time.time()

    def due(self):
        if time.time() - self.last >= self.every:
            self.last = time.time()
            return True
        return False


class Meter:
    """Mean loss and wall seconds per step since the last report (the per-iteration timing
    the training budget is planned from)."""

    def __init__(self):
        self.total, self.steps, self.since = 0.0, 0, time.time()

    def add(self, loss):
        self.total += loss
        self.steps += 1

    def report(self):
        now = time.time()
        fields = {"loss": round(self.total / max(1, self.steps), 4),
                  "s_per_step": round((now - self.since) / max(1, self.steps), 3)}
        self.total, self.steps, self.since = 0.0, 0, now
        return fields


# ---------------------------------------------------------------- VQ tokenizer

class VQ(parts.VQ):
    """64x64x3 -> 16x16 tokens (f = 4) -> 64x64x3, two residual blocks a side."""

    def __init__(self, ch=64, codebook=CODEBOOK):
        super().__init__(ch, channels=3, codebook=codebook, res_blocks=2)


def load_vq():
    state = torch.load(os.path.join(RUNS, "vq.pt"))
    vq = VQ(state["config"]["ch"], state["config"]["codebook"])
    vq.load_state_dict(state["model"])
    return vq.eval()


# ---------------------------------------------------------------- attention

class Attention(nn.Module):
    """Multi-head attention written out (torch 1.13 has no SDPA). `context` None = self-attention.
    `bias`: additive [B, 1, 1, Lk] (0 or a large negative for masked keys)."""

    def __init__(self, dim, heads, context_dim=None):
        super().__init__()
        self.heads = heads
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(context_dim or dim, 2 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x, context=None, bias=None):
        b, n, d = x.shape
        context = x if context is None else context
        h = self.heads
        q = self.q(x).reshape(b, n, h, d // h).transpose(1, 2)
        k, v = self.kv(context).reshape(b, context.shape[1], 2, h, d // h).permute(2, 0, 3, 1, 4)
        # Contiguous operands: torch 1.13's CPU bmm is several times slower on strided views.
        scores = q.contiguous() @ k.transpose(-2, -1).contiguous() / math.sqrt(d // h)
        if bias is not None:
            scores = scores + bias
        out = torch.softmax(scores, dim=-1) @ v.contiguous()
        return self.proj(out.transpose(1, 2).reshape(b, n, d))


def mlp(dim):
    return nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))


# ---------------------------------------------------------------- text encoder

class TextEncoder(nn.Module):
    """input_ids int64 [B, L] -> (hidden_states [B, L, D], pooled [B, D]). A small pre-norm
    transformer over word ids; pad positions (id `pad`) are masked as keys, and `pooled` is the
    mean of the final states over the non-pad positions (bos and eos included)."""

    def __init__(self, vocab, dim=256, depth=2, heads=4, length=32, pad=0):
        super().__init__()
        self.pad = pad
        self.token = nn.Embedding(vocab, dim)
        self.position = nn.Parameter(torch.randn(1, length, dim) * 0.02)
        self.layers = nn.ModuleList(nn.ModuleList([nn.LayerNorm(dim), Attention(dim, heads), nn.LayerNorm(dim), mlp(dim)])
                                    for _ in range(depth))
        self.norm = nn.LayerNorm(dim)

    def forward(self, input_ids):
        keep = (input_ids != self.pad).float()                    # [B, L]
        bias = ((1 - keep) * -1e9)[:, None, None, :]              # masked keys, finite: no NaN rows
        x = self.token(input_ids) + self.position[:, : input_ids.shape[1]]
        for norm1, attention, norm2, feed in self.layers:
            x = x + attention(norm1(x), bias=bias)
            x = x + feed(norm2(x))
        hidden = self.norm(x)
        pooled = (hidden * keep[..., None]).sum(1) / keep.sum(1, keepdim=True).clamp(min=1)
        return hidden, pooled


# ---------------------------------------------------------------- MaskGIT transformer

class Block(nn.Module):
    """Pre-norm block: self-attention over image positions, cross-attention to the text states,
    MLP. Scale/shift/gate modulation from the pooled text as in PixArt's adaLN-single: one
    projection shared by all blocks (computed in MaskGIT) plus a learned per-block offset, a
    fraction of DiT's per-block adaLN parameters."""

    def __init__(self, dim, heads, text_dim):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, elementwise_affine=False)
        self.attention = Attention(dim, heads)
        self.norm_cross = nn.LayerNorm(dim)
        self.cross = Attention(dim, heads, text_dim)
        self.norm2 = nn.LayerNorm(dim, elementwise_affine=False)
        self.mlp = mlp(dim)
        self.offset = nn.Parameter(torch.zeros(6, dim))

    def forward(self, x, text, modulation):
        s1, b1, g1, s2, b2, g2 = (modulation + self.offset).unbind(1)   # each [B, D]
        x = x + (1 + g1[:, None]) * self.attention(self.norm1(x) * (1 + s1[:, None]) + b1[:, None])
        x = x + self.cross(self.norm_cross(x), text)
        return x + (1 + g2[:, None]) * self.mlp(self.norm2(x) * (1 + s2[:, None]) + b2[:, None])


class MaskGIT(nn.Module):
    """tokens int64 [B, N], text [B, L, Dt], pooled [B, Dt] -> logits [B, N, CODEBOOK + 1].

    As the glyph model (and the paper's), the token grid is patchified by 2: each 2x2 group
    of tokens is one position (16x16 tokens -> 8x8 positions), its four token embeddings
    concatenated; the head predicts the four tokens' logits again."""

    def __init__(self, dim=256, depth=6, heads=4, text_dim=256, patch=2, codebook=CODEBOOK):
        super().__init__()
        self.patch, self.codebook = patch, codebook
        self.side = GRID // patch
        self.token = nn.Embedding(codebook + 1, dim // (patch * patch))
        self.position = nn.Parameter(torch.randn(1, self.side * self.side, dim) * 0.02)
        self.condition = nn.Linear(text_dim, dim)
        self.modulation = nn.Sequential(nn.SiLU(), nn.Linear(dim, 6 * dim))
        nn.init.zeros_(self.modulation[1].weight)
        nn.init.zeros_(self.modulation[1].bias)
        self.blocks = nn.ModuleList(Block(dim, heads, text_dim) for _ in range(depth))
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, patch * patch * (codebook + 1))

    def patches(self, grid):
        """[B, 16*16] -> [B, 8*8, 2*2]: each 2x2 group of tokens, row-major inside."""
        p, s = self.patch, self.side
        return grid.reshape(-1, s, p, s, p).permute(0, 1, 3, 2, 4).reshape(-1, s * s, p * p)

    def forward(self, tokens, text, pooled, mask=None):
        p, s, v = self.patch, self.side, self.codebook + 1
        c = self.condition(pooled)
        modulation = self.modulation(c).reshape(-1, 6, c.shape[-1])
        x = self.token(self.patches(tokens)).flatten(2) + self.position + c.unsqueeze(1)
        for block in self.blocks:
            x = block(x, text, modulation)
        x = self.norm(x)
        if mask is None:
            logits = self.head(x).reshape(-1, s, s, p, p, v)
            return logits.permute(0, 1, 3, 2, 4, 5).reshape(-1, GRID * GRID, v)
        # Training: the logits of the masked tokens only, one head slice per place in the patch
        # (about a third of the head's work and its largest tensors are for visible tokens).
        # Returns them with each row's flat index into `tokens`, to pick the targets.
        where = self.patches(torch.arange(tokens.numel()).reshape(tokens.shape))
        chosen = self.patches(mask)
        weight, bias = self.head.weight.reshape(p * p, v, -1), self.head.bias.reshape(p * p, v)
        logits = [F.linear(x[chosen[..., k]], weight[k], bias[k]) for k in range(p * p)]
        return torch.cat(logits), torch.cat([where[..., k][chosen[..., k]] for k in range(p * p)])
