#!/usr/bin/python3
"""The official Halton-MaskGIT sampler itself, for timing a whole job against ours: loads an
official v2 checkpoint pair into the official modules (``Network/transformer.py``,
``Network/vq_model.py``), runs the official ``HaltonSampler`` (``Sampler/halton_sampler.py``) for
a batch of class labels 0..B-1 and writes the PNGs. The modules come from a checkout of
valeoai/Halton-MaskGIT given on the command line (never committed here), loaded by file path.

    /usr/bin/python3 scripts/bench_official.py --official PATH --transformer CKPT --tokenizer CKPT \\
        --out DIR [--batch 4] [--steps 32] [--cfg 1.5] [--temperature 1]

Stubs, because torch 1.13 and Debian's packages lack what the official code imports: ``tqdm``
(a pass-through), ``einops.rearrange`` (the one pattern the transformer uses), and
``F.scaled_dot_product_attention`` (torch 2's, written out: softmax(q k^T / sqrt(d)) v). The
trainer the sampler expects is a namespace holding the two modules and the settings it reads
(input size, mask value, codebook size, device; autocast off). scripts/bench_whole.sh times this
script's whole process with OFFICIAL=PATH.
"""

import argparse
import contextlib
import importlib.util
import math
import os
import sys
import types

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "convert"))
sys.path.insert(0, HERE)

import halton_v2  # noqa: E402
from bench_torch import write_pngs  # noqa: E402
from convert import read_state  # noqa: E402


def stub_imports():
    """What the official files import that torch 1.13 + Debian do not have."""
    tqdm = types.ModuleType("tqdm")
    tqdm.tqdm = lambda iterable, **_: iterable
    einops = types.ModuleType("einops")

    def rearrange(x, pattern, h, w, b, c):
        if pattern != "b (h w) c -> b c h w":
            raise NotImplementedError(pattern)
        return x.reshape(b, h, w, c).permute(0, 3, 1, 2)

    einops.rearrange = rearrange
    sys.modules.update(tqdm=tqdm, einops=einops)
    if not hasattr(F, "scaled_dot_product_attention"):
        def attention(q, k, v, attn_mask=None, dropout_p=0.0, is_causal=False):
            weights = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
            if attn_mask is not None:
                weights = weights + attn_mask
            return torch.softmax(weights, dim=-1) @ v

        F.scaled_dot_product_attention = attention


def load(official, relative):
    spec = importlib.util.spec_from_file_location(relative.replace("/", "_")[:-3], os.path.join(official, relative))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--official", required=True, help="a checkout of valeoai/Halton-MaskGIT")
    parser.add_argument("--transformer", required=True)
    parser.add_argument("--tokenizer", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--steps", type=int, default=32)
    parser.add_argument("--cfg", type=float, default=1.5)
    parser.add_argument("--temperature", type=float, default=1.0)
    args = parser.parse_args()
    torch.set_num_threads(len(os.sched_getaffinity(0)))
    stub_imports()
    network = load(args.official, "Network/transformer.py")
    vq = load(args.official, "Network/vq_model.py")
    sampler = load(args.official, "Sampler/halton_sampler.py")

    state = read_state(args.transformer, "model_state_dict", "transformer")
    config = halton_v2.transformer_config(state)
    vit = network.Transformer(c=config["hidden_dim"], dropout=0.0, **config)
    vit.load_state_dict(state, strict=True)
    ae = vq.VQ_models["VQ-16"](codebook_size=16384, codebook_embed_dim=8)
    # Decoding needs no encoder (the random checkpoints of scripts/convert/random_checkpoints.py
    # hold none): every other key must load.
    vq_state = torch.load(args.tokenizer, map_location="cpu")["model"]
    vq_state = {k: v for k, v in vq_state.items() if not halton_v2.decoder_keys_ignored(k)}
    missing, unexpected = ae.load_state_dict(vq_state, strict=False)
    missing = [k for k in missing if not halton_v2.decoder_keys_ignored(k)]
    if missing or unexpected:
        sys.exit(f"error: {args.tokenizer}: missing {missing[:3]}, unexpected {unexpected[:3]}")
    ae.eval()
    trainer = types.SimpleNamespace(
        vit=vit, ae=ae, input_size=config["input_size"], autocast=contextlib.nullcontext(),
        args=types.SimpleNamespace(device="cpu", mask_value=config["codebook_size"],
                                   codebook_size=config["codebook_size"]))
    # The official "temperature" multiplies the logits (README "Reproducing the official settings").
    halton = sampler.HaltonSampler(sm_temp_min=1 / args.temperature, sm_temp_max=1 / args.temperature,
                                   w=args.cfg, step=args.steps, randomize=True)
    images = halton(trainer, nb_sample=args.batch, labels=torch.arange(args.batch), verbose=False)[0]

    write_pngs(images, args.out)


if __name__ == "__main__":
    main()
