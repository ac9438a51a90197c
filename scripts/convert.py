#!/usr/bin/env python3
"""Converts official MaskGIT checkpoints into a halton-maskgit model folder.

    /usr/bin/python3 scripts/convert.py --family v2|v1 --transformer CKPT --tokenizer CKPT \\
        --out DIR [--size tiny|small|base|large] [--image-size 256|384|512] [--name NAME]

Families:
  v2  Halton-MaskGIT (valeoai/Halton-MaskGIT, main): ImageNet_{256,384}_{tiny,small,base,large}.pth
      ({"model_state_dict", "iter", "global_epoch"}) with LlamaGen's VQ-16 tokenizer
      vq_ds16_c2i.pt ({"model": ...}).
  v1  MaskGIT-pytorch (the v1.0 branch): MaskGIT_ImageNet_{256,512}.pth ({"model_state_dict"})
      with the taming VQGAN f16 last.ckpt (Lightning, {"state_dict"}).

The folder gets transformer.onnx, decoder.onnx, model.json (the 1,000 ImageNet class names, the
grid, the official sampler defaults, source and licence) and reference.json (PyTorch outputs on
fixed inputs). Unless --no-check is given, it then runs the folder in ONNX Runtime through Deno
(scripts/verify_folder.ts) and prints the max relative error against PyTorch.

Needs Debian's python3-torch and python3-onnx (apt-get install -y python3-torch python3-onnx
python3-numpy libopenblas0-pthread); run it with /usr/bin/python3.
"""

import argparse
import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "convert"))

import halton_v2  # noqa: E402
import maskgit_v1  # noqa: E402
from model_folder import verify_folder, write_folder  # noqa: E402
from quantize import write_int8  # noqa: E402

# Sampler defaults from the official READMEs: v2's demo (Halton, 32 steps, softmax temperature
# 1 -> 1.2 as inverse temperatures, randomized order) with each size's CFG from its results
# table; v1's ImageNet table (Confidence, arccos schedule, linear Gumbel noise).
V2_CFG = {"tiny": 1.5, "small": 1.0, "base": 0.7, "large": 0.5}
V1_DEFAULTS = {
    256: {"scheduler": "confidence", "steps": 8, "cfg": 3, "temperature": {"start": 1, "end": 1},
          "noise": "linear", "noiseTemperature": 4.5, "countMode": "arccos"},
    512: {"scheduler": "confidence", "steps": 15, "cfg": 2.8, "temperature": {"start": 1, "end": 1},
          "noise": "linear", "noiseTemperature": 7, "countMode": "arccos"},
}


def fail(message):
    print(f"error: {message}", file=sys.stderr)
    sys.exit(1)


def read_state(path, key, what):
    """The state dict inside an official checkpoint file, prefixes of wrappers removed."""
    if not os.path.isfile(path):
        fail(f"{path}: {what} checkpoint not found")
    try:
        checkpoint = torch.load(path, map_location="cpu")
    except Exception as error:  # torch raises many kinds for a bad file
        fail(f"{path}: not a PyTorch checkpoint ({str(error).splitlines()[0]})")
    state = checkpoint.get(key, checkpoint) if isinstance(checkpoint, dict) else None
    if not isinstance(state, dict) or not state or not all(torch.is_tensor(v) for v in state.values()):
        fail(f"{path}: expected a {what} state dict (under '{key}'), found {type(checkpoint).__name__}")
    prefixes = ("module.", "_orig_mod.")
    strip = lambda k: next((k[len(p):] for p in prefixes if k.startswith(p)), k)  # noqa: E731
    return {strip(k): v for k, v in state.items()}


def load_strict(module, state, path, ignored=lambda key: False):
    """Loads every key the module has and the checkpoint has not set aside; anything else missing,
    unexpected or of another shape is an error naming the keys."""
    own = module.state_dict()
    used = {k: v for k, v in state.items() if not ignored(k)}
    missing = sorted(set(own) - set(used))
    unexpected = sorted(set(used) - set(own))
    if missing or unexpected:
        fail(f"{path}: does not match the architecture: missing {missing[:4]}"
             f"{' …' if len(missing) > 4 else ''}, unexpected {unexpected[:4]}{' …' if len(unexpected) > 4 else ''}")
    for key, value in used.items():
        if value.shape != own[key].shape:
            fail(f"{path}: '{key}' has shape {tuple(value.shape)}, the architecture needs {tuple(own[key].shape)}")
    module.load_state_dict(used, strict=True)
    return module.eval()


def size_of(config):
    """The official size name whose width and depth match an inferred config."""
    for name, size in halton_v2.SIZES.items():
        if size["hidden_dim"] == config["hidden_dim"] and size["depth"] == config["depth"]:
            return name
    return None


def convert(args):
    classes = json.load(open(os.path.join(HERE, "convert", "imagenet_classes.json")))
    if args.family == "v2":
        t_state = read_state(args.transformer, "model_state_dict", "transformer")
        d_state = read_state(args.tokenizer, "model", "LlamaGen VQ tokenizer")
        family = halton_v2
        transformer_class, decoder_class = halton_v2.HaltonTransformer, halton_v2.LlamaGenDecoder
    else:
        t_state = read_state(args.transformer, "model_state_dict", "transformer")
        d_state = read_state(args.tokenizer, "state_dict", "VQGAN")
        family = maskgit_v1
        transformer_class, decoder_class = maskgit_v1.MaskGitV1Transformer, maskgit_v1.TamingDecoder

    try:
        t_config = family.transformer_config(t_state, **({"heads": args.heads} if args.heads else {}))
    except (KeyError, ValueError) as error:
        fail(f"{args.transformer}: not a {args.family} transformer ({error})")
    try:
        d_config = family.decoder_config(d_state)
    except (KeyError, ValueError) as error:
        fail(f"{args.tokenizer}: not a {args.family} tokenizer ({error})")
    size = size_of(t_config) if args.family == "v2" else None
    if args.size and args.family == "v2" and size != args.size:
        fail(f"{args.transformer}: --size {args.size} expects width {halton_v2.SIZES[args.size]['hidden_dim']} "
             f"and depth {halton_v2.SIZES[args.size]['depth']}, the checkpoint has "
             f"{t_config['hidden_dim']} and {t_config['depth']}")
    grid = t_config.get("input_size") or t_config["grid_size"]
    image_size = 16 * grid
    if args.image_size and args.image_size != image_size:
        fail(f"{args.transformer}: a {grid}×{grid} token grid makes {image_size}-pixel images, "
             f"not --image-size {args.image_size}")
    codebook = t_config["codebook_size"]
    if codebook != d_config.get("codebook_size", d_config.get("n_embed")):
        fail(f"{args.tokenizer}: the transformer has {codebook} codes, the tokenizer "
             f"{d_config.get('codebook_size', d_config.get('n_embed'))}")
    if t_config["nclass"] != len(classes):
        classes = [str(i) for i in range(t_config["nclass"])]

    transformer = load_strict(transformer_class(**t_config), t_state, args.transformer)
    decoder = load_strict(decoder_class(**d_config), d_state, args.tokenizer, family.decoder_keys_ignored)

    if args.family == "v2":
        label = size or "custom"
        defaults = {"scheduler": "halton", "steps": 32, "cfg": V2_CFG.get(size, 1.0),
                    "temperature": {"start": 1, "end": 1 / 1.2}, "randomize": True}
        source = "Halton-MaskGIT (valeoai/Halton-MaskGIT), VQ: LlamaGen vq_ds16_c2i"
        description = f"Halton-MaskGIT {label}, ImageNet {image_size}×{image_size}, converted by scripts/convert.py"
    else:
        label = "v1"
        defaults = V1_DEFAULTS.get(image_size, V1_DEFAULTS[256])
        source = "MaskGIT-pytorch v1.0 (valeoai/Halton-MaskGIT, branch v1.0), VQ: taming VQGAN f16"
        description = f"MaskGIT-pytorch v1.0, ImageNet {image_size}×{image_size}, converted by scripts/convert.py"
    manifest = {
        "name": args.name or f"maskgit-{args.family}-{label}-{image_size}",
        "task": "class-to-image",
        "description": description,
        "grid": grid,
        "codebookSize": codebook,
        "maskId": codebook,
        "classes": classes,
        "image": {"width": image_size, "height": image_size, "channels": 3},
        "defaults": defaults,
        "files": {"transformer": "transformer.onnx", "decoder": "decoder.onnx"},
        "source": source,
        "license": "weights: see the source's licence and model card (the official code is MIT)",
    }
    write_folder(args.out, transformer, decoder, manifest)
    print(args.out)
    if not args.no_check:
        verify_folder(args.out)
    if args.int8:
        write_int8(args.out, args.int8, check=not args.no_check)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--family", required=True, choices=["v2", "v1"])
    parser.add_argument("--transformer", required=True, help="official transformer checkpoint")
    parser.add_argument("--tokenizer", required=True, help="official VQ tokenizer checkpoint")
    parser.add_argument("--out", required=True, help="model folder to write")
    parser.add_argument("--size", choices=list(halton_v2.SIZES), help="v2: check the checkpoint is this size")
    parser.add_argument("--image-size", type=int, choices=[256, 384, 512], help="check the image size")
    parser.add_argument("--name", help="model name in the manifest")
    parser.add_argument("--heads", type=int, help="attention heads, for non-official widths")
    parser.add_argument("--no-check", action="store_true", help="skip the ONNX Runtime check")
    parser.add_argument("--int8", metavar="DIR", help="also write an int8 variant (scripts/quantize.py) to DIR")
    torch.set_num_threads(len(os.sched_getaffinity(0)))
    convert(parser.parse_args())


if __name__ == "__main__":
    main()
