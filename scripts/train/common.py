"""Shared pieces of the glyph model recipe: data, the VQ tokenizer, the MaskGIT
transformer (the evaluation classifier is parts.Classifier) (PyTorch 1.13, CPU)."""

import json
import math
import os

import numpy as np
import torch
from torch import nn

import parts
from parts import Classifier, TokenDecoder, arccos_mask_ratio, save_checkpoint  # noqa: F401 (the recipe's scripts import them from here)

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
DATA = os.path.join(ROOT, "data")
RUNS = os.path.join(DATA, "runs")

GRID = 16          # tokens per side (64 px / 4)
CODEBOOK = 256     # VQ entries; the mask id is CODEBOOK


def setup(threads=None):
    parts.setup(RUNS, threads)


def load_glyphs():
    """(images float32 [M, 1, 64, 64] in [-1, 1] (ink = -1), labels, font, split)."""
    d = np.load(os.path.join(DATA, "glyphs.npz"))
    images = torch.from_numpy(d["images"]).float().div(127.5).sub(1).unsqueeze(1)
    return images, torch.from_numpy(d["labels"]), torch.from_numpy(d["font"]), torch.from_numpy(d["split"])


def class_names():
    with open(os.path.join(DATA, "glyphs.json")) as f:
        return json.load(f)["classes"]


def Log(name):
    """JSON lines to data/runs/<name>.log, echoed."""
    return parts.Log(name, RUNS)


# ---------------------------------------------------------------- VQ tokenizer

class VQ(parts.VQ):
    """64x64x1 -> 16x16 tokens (f = 4) -> 64x64x1."""

    def __init__(self, ch=32):
        super().__init__(ch, channels=1, codebook=CODEBOOK, res_blocks=1)



# ---------------------------------------------------------------- MaskGIT transformer

class Block(nn.Module):
    """Pre-norm block with adaLN-style class modulation; attention written out (no SDPA)."""

    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(dim, elementwise_affine=False)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim, elementwise_affine=False)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))
        self.modulation = nn.Linear(dim, 6 * dim)
        nn.init.zeros_(self.modulation.weight)
        nn.init.zeros_(self.modulation.bias)

    def forward(self, x, c):
        s1, b1, g1, s2, b2, g2 = self.modulation(c).unsqueeze(1).chunk(6, dim=-1)
        b, n, d = x.shape
        h = self.norm1(x) * (1 + s1) + b1
        q, k, v = self.qkv(h).reshape(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        # Contiguous operands: torch 1.13's CPU bmm is several times slower on strided views.
        scores = q.contiguous() @ k.transpose(-2, -1).contiguous()
        attn = torch.softmax(scores / math.sqrt(d // self.heads), dim=-1)
        x = x + (1 + g1) * self.proj((attn @ v.contiguous()).transpose(1, 2).reshape(b, n, d))
        h = self.norm2(x) * (1 + s2) + b2
        return x + (1 + g2) * self.mlp(h)


class MaskGIT(nn.Module):
    """tokens int64 [B, N], labels int64 [B], drop_label bool [B] -> logits [B, N, CODEBOOK + 1].

    As in the paper's model, the token grid is patchified by 2: each 2x2 group of tokens is
    one position of the transformer (16x16 tokens -> 8x8 positions), its four token
    embeddings concatenated; the head predicts the four tokens' logits again. Attention over
    64 positions instead of 256 is what makes CPU training fast enough."""

    def __init__(self, classes, dim=256, depth=6, heads=4, patch=2):
        super().__init__()
        self.classes, self.patch = classes, patch
        self.side = GRID // patch
        self.token = nn.Embedding(CODEBOOK + 1, dim // (patch * patch))
        self.position = nn.Parameter(torch.randn(1, self.side * self.side, dim) * 0.02)
        self.label = nn.Embedding(classes + 1, dim)  # index `classes` = no class (guidance)
        self.blocks = nn.ModuleList(Block(dim, heads) for _ in range(depth))
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, patch * patch * (CODEBOOK + 1))

    def forward(self, tokens, labels, drop_label):
        p, s = self.patch, self.side
        labels = torch.where(drop_label, torch.full_like(labels, self.classes), labels)
        c = self.label(labels)
        # [B, 16*16] -> [B, 8, 2, 8, 2] -> [B, 8*8, 2*2] token ids per patch, row-major inside.
        patches = tokens.reshape(-1, s, p, s, p).permute(0, 1, 3, 2, 4).reshape(-1, s * s, p * p)
        x = self.token(patches).flatten(2) + self.position + c.unsqueeze(1)
        for block in self.blocks:
            x = block(x, c)
        logits = self.head(self.norm(x)).reshape(-1, s, s, p, p, CODEBOOK + 1)
        return logits.permute(0, 1, 3, 2, 4, 5).reshape(-1, GRID * GRID, CODEBOOK + 1)
