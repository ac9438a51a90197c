#!/usr/bin/python3
"""Builds the stand-in model folder models/tiny-random/: a tiny class-conditional
transformer and a VQ-style decoder with fixed random weights (seeded), exported to ONNX
under the model-folder contract, plus reference outputs that the Deno tests compare
ONNX Runtime against.

Its images are noise: it exists so that loading, sampling, decoding and the CLI run end
to end before a trained model ships.

Run with Debian's Python (apt-get install python3-torch python3-onnx):
    /usr/bin/python3 scripts/build_standin.py [--out models/tiny-random]
"""

import argparse
import math
import os

import torch
from torch import nn

from model_folder import write_folder

GRID = 16
CODEBOOK = 64
CLASSES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
DIM, DEPTH, HEADS = 64, 2, 4
IMAGE = 64  # pixels; 4 per token
CHANNELS = 3
SEED = 20261128


class Block(nn.Module):
    """Pre-norm transformer block; attention written out (torch 1.13 has no SDPA)."""

    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))

    def forward(self, x):
        b, n, d = x.shape
        q, k, v = self.qkv(self.norm1(x)).reshape(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        attn = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(d // self.heads), dim=-1)
        x = x + self.proj((attn @ v).transpose(1, 2).reshape(b, n, d))
        return x + self.mlp(self.norm2(x))


class Transformer(nn.Module):
    """tokens int64 [B, N], labels int64 [B], drop_label bool [B] -> logits [B, N, codebook + 1]."""

    def __init__(self):
        super().__init__()
        self.token = nn.Embedding(CODEBOOK + 1, DIM)  # + the mask id
        self.position = nn.Parameter(torch.randn(1, GRID * GRID, DIM) * 0.5)
        self.label = nn.Embedding(len(CLASSES) + 1, DIM)  # + the "no class" label
        self.blocks = nn.ModuleList(Block(DIM, HEADS) for _ in range(DEPTH))
        self.norm = nn.LayerNorm(DIM)
        self.head = nn.Linear(DIM, CODEBOOK + 1)
        nn.init.normal_(self.head.weight, std=0.5)  # peaky enough for sampling to matter

    def forward(self, tokens, labels, drop_label):
        labels = torch.where(drop_label, torch.full_like(labels, len(CLASSES)), labels)
        x = self.token(tokens) + self.position + self.label(labels)[:, None, :]
        for block in self.blocks:
            x = block(x)
        return self.head(self.norm(x))


class Decoder(nn.Module):
    """tokens int64 [B, h, w] -> image float32 [B, 3, 4h, 4w] in [-1, 1]."""

    def __init__(self):
        super().__init__()
        self.codebook = nn.Embedding(CODEBOOK, 16)
        self.net = nn.Sequential(
            nn.Conv2d(16, 32, 3, padding=1), nn.SiLU(), nn.Upsample(scale_factor=2, mode="nearest"),
            nn.Conv2d(32, 16, 3, padding=1), nn.SiLU(), nn.Upsample(scale_factor=2, mode="nearest"),
            nn.Conv2d(16, CHANNELS, 3, padding=1), nn.Tanh(),
        )

    def forward(self, tokens):
        return self.net(self.codebook(tokens).permute(0, 3, 1, 2))


class WrongSignature(nn.Module):
    """A transformer-shaped graph with one contract violation, for the loader's error tests."""

    def forward(self, tokens, labels, drop_label):
        x = tokens.float()[..., None] + labels.float()[:, None, None] + drop_label.float()[:, None, None]
        return x.expand(-1, -1, CODEBOOK + 1)


def write_broken_fixtures(folder):
    """tests/fixtures/*.onnx: a float32 `tokens` input, and inputs with the wrong names."""
    os.makedirs(folder, exist_ok=True)
    n = GRID * GRID
    cases = {
        "wrong-dtype.onnx": ((torch.zeros(2, n), torch.zeros(2, dtype=torch.long), torch.zeros(2, dtype=torch.bool)),
                             ["tokens", "labels", "drop_label"]),
        "wrong-names.onnx": ((torch.zeros(2, n, dtype=torch.long), torch.zeros(2, dtype=torch.long),
                              torch.zeros(2, dtype=torch.bool)), ["ids", "labels", "drop_label"]),
    }
    for name, (inputs, names) in cases.items():
        torch.onnx.export(WrongSignature(), inputs, os.path.join(folder, name), input_names=names,
                          output_names=["logits"], dynamic_axes={k: {0: "batch"} for k in names + ["logits"]},
                          opset_version=17)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(here, "..", "models", "tiny-random"))
    parser.add_argument("--fixtures", default=os.path.join(here, "..", "tests", "fixtures"))
    args = parser.parse_args()
    out = os.path.normpath(args.out)
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(SEED)
    transformer, decoder = Transformer().eval(), Decoder().eval()

    manifest = {
        "name": "tiny-random",
        "task": "class-to-image",
        "description": "Stand-in with random weights: its images are noise. For tests and wiring only.",
        "grid": GRID,
        "codebookSize": CODEBOOK,
        "maskId": CODEBOOK,
        "classes": CLASSES,
        "image": {"width": IMAGE, "height": IMAGE, "channels": CHANNELS},
        "defaults": {"steps": 16, "cfg": 2},
        "files": {"transformer": "transformer.onnx", "decoder": "decoder.onnx"},
        "source": f"scripts/build_standin.py (torch.manual_seed({SEED}))",
        "license": "MIT (generated weights)",
    }
    write_folder(out, transformer, decoder, manifest)
    write_broken_fixtures(os.path.normpath(args.fixtures))
    print(f"wrote {out}: transformer {sum(p.numel() for p in transformer.parameters())} params, "
          f"decoder {sum(p.numel() for p in decoder.parameters())} params")


if __name__ == "__main__":
    main()
