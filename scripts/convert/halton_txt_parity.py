#!/usr/bin/python3
"""Checks our text-conditioned transformer (scripts/convert/halton_txt.py) against the official
one (``Network/txt_transformer.py`` of valeoai/Halton-MaskGIT), imported from a checkout (never
committed here) and built on random weights; the same state dict is loaded strictly into ours.

    /usr/bin/python3 scripts/convert/halton_txt_parity.py --official PATH [--seed 0]

PATH is a checkout (or ``git archive``) of valeoai/Halton-MaskGIT. The official file imports
only torch and runs as published on torch 1.13 (nn.MultiheadAttention, tanh GELU), so nothing is
stubbed; it is loaded by file path so that the checkout's other modules are never imported.
Every parameter is redrawn (random_checkpoints.randomize), the zero-initialised text projections
included, so the cross-attention matters. Each case feeds a batch of 3: two conditional rows and
one with drop_label = True; the official model gets (x [B, n, n], y, drop_label), ours gets
(x flattened, y with the dropped row set to zeros), the runtime's null condition. Prints
max |ours - official| / max |official| for the logits, conditional and dropped rows separately,
and exits 1 above 1e-4.

Cases: small widths (token width 48 != block width 64, text width 40, 8x8 grid, text length 7)
with proj 1 and 2; the paper's text width (T5-XL: 120 tokens x 2048) at small block widths; and
the official example's widths (32x32 grid, proj 2, c = hidden = 1024, 16 heads, mlp 4096, codebook
16384, text 120 x 2048) cut to 2 layers.

Measured 2026-11-29 (Halton-MaskGIT f61b0a1, torch 1.13.1 CPU, seed 0), max |ours - official| /
max |official|, conditional rows / dropped row:
    small, proj 1                                     2.90e-07 / 2.36e-07
    small, proj 2                                     3.27e-07 / 2.75e-07
    small blocks, T5-XL text (120 x 2048), proj 2     3.29e-07 / 2.82e-07
    official example widths, 2 layers, proj 2         5.41e-07 / 5.65e-07
(16 s on one thread.) The text does matter at these scales: giving ours the dropped row's text
instead of zeros, or another text in a conditional row, moves the logits by about 4e-2.
"""

import argparse
import importlib.util
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

import halton_txt  # noqa: E402
from convert import load_strict  # noqa: E402
from random_checkpoints import randomize  # noqa: E402

LIMIT = 1e-4

SMALL = dict(input_size=8, c=48, hidden_dim=64, cond_dim=40, codebook_size=50, depth=2, heads=4, mlp_dim=128)
CASES = [
    ("small, proj 1", dict(SMALL, proj=1), 7),
    ("small, proj 2", dict(SMALL, proj=2), 7),
    ("small blocks, T5-XL text (120 x 2048), proj 2", dict(SMALL, cond_dim=2048, proj=2), 120),
    ("official example widths, 2 layers, proj 2",
     dict(input_size=32, c=1024, hidden_dim=1024, cond_dim=2048, codebook_size=16384, depth=2, heads=16,
          mlp_dim=4096, proj=2), 120),
]


def import_official(path):
    """The official Network/txt_transformer.py as a module, loaded by file path."""
    source = os.path.join(path, "Network", "txt_transformer.py")
    if not os.path.isfile(source):
        sys.exit(f"error: {source} not found (give a checkout of valeoai/Halton-MaskGIT)")
    spec = importlib.util.spec_from_file_location("official_txt_transformer", source)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _relative(ours, ref):
    return ((ours - ref).abs().max() / ref.abs().max()).item()


def check(official, name, cfg, length, seed):
    torch.manual_seed(seed)
    reference = official.Transformer(dropout=0.0, **cfg)
    reference = randomize(reference, seed).eval()
    state = reference.state_dict()
    if halton_txt.transformer_config(state, heads=cfg["heads"]) != cfg:
        sys.exit(f"error: {name}: config read from shapes {halton_txt.transformer_config(state, heads=cfg['heads'])}"
                 f" != {cfg}")
    ours = load_strict(halton_txt.HaltonTextTransformer(**cfg), state, name)

    n = cfg["input_size"]
    generator = torch.Generator().manual_seed(seed + 1)
    x = torch.randint(0, cfg["codebook_size"] + 1, (3, n, n), generator=generator)
    x[0, :2] = cfg["codebook_size"]  # some masked positions
    y = torch.randn(3, length, cfg["cond_dim"], generator=generator)
    drop = torch.tensor([False, True, False])
    with torch.no_grad():
        ref = reference(x, y, drop_label=drop)
        got = ours(x.reshape(3, n * n), torch.where(drop.view(-1, 1, 1), torch.zeros_like(y), y))
    if got.shape != ref.shape:
        sys.exit(f"error: {name}: shape {tuple(got.shape)} != official {tuple(ref.shape)}")
    kept = ~drop
    return _relative(got[kept], ref[kept]), _relative(got[drop], ref[drop])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--official", required=True, help="checkout of valeoai/Halton-MaskGIT")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    official = import_official(args.official)
    worst = 0.0
    for name, cfg, length in CASES:
        cond, dropped = check(official, name, cfg, length, args.seed)
        worst = max(worst, cond, dropped)
        print(f"{name:<50}{cond:.2e} / {dropped:.2e}", flush=True)
    print(f"worst {worst:.2e} (limit {LIMIT:.0e})")
    sys.exit(0 if worst <= LIMIT else 1)


if __name__ == "__main__":
    main()
