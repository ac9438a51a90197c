#!/usr/bin/python3
"""Converts official MaskGIT checkpoints and aMused pipelines into halton-maskgit model folders.

    /usr/bin/python3 scripts/convert.py --family v2|v1 --transformer CKPT --tokenizer CKPT \\
        --out DIR [--size tiny|small|base|large] [--image-size 256|384|512] [--name NAME]
    /usr/bin/python3 scripts/convert.py --family amused --checkpoint PIPELINE_DIR --out DIR [--name NAME]

Families:
  v2  Halton-MaskGIT (valeoai/Halton-MaskGIT, main): ImageNet_{256,384}_{tiny,small,base,large}.pth
      ({"model_state_dict", "iter", "global_epoch"}) with LlamaGen's VQ-16 tokenizer
      vq_ds16_c2i.pt ({"model": ...}).
  v1  MaskGIT-pytorch (the v1.0 branch): MaskGIT_ImageNet_{256,512}.pth ({"model_state_dict"})
      with the taming VQGAN f16 last.ckpt (Lightning, {"state_dict"}).

  amused  aMused (diffusers' AmusedPipeline, e.g. amused/amused-256 and amused-512): a pipeline
      folder with transformer/, vqvae/, text_encoder/ (config.json + safetensors, float32 or the
      .fp16 variant) and tokenizer/ (vocab.json, merges.txt, special token files).

v1/v2 folders get transformer.onnx, decoder.onnx, model.json (the 1,000 ImageNet class names, the
grid, the official sampler defaults, source and licence) and reference.json (PyTorch outputs on
fixed inputs). aMused folders are text-to-image (format 2, /work/contract/format2.md): they also
get text_encoder.onnx and tokenizer.json, and a transformer over 2 GB keeps its weights in
transformer.onnx.data beside the graph. Unless --no-check is given, the folder then runs in ONNX
Runtime through Deno (scripts/verify_folder.ts), which prints the max relative error against
PyTorch.

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

import amused  # noqa: E402
import clip_tokenizer  # noqa: E402
import halton_v2  # noqa: E402
import maskgit_v1  # noqa: E402
import safetensors  # noqa: E402
from model_folder import verify_folder, write_folder, write_text_folder  # noqa: E402
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


# aMused's own sampler (diffusers' AmusedPipeline + AmusedScheduler: 12 steps, guidance 10,
# Gumbel noise on the log-probability scaled by linspace(2, 0, steps), cosine masking) in our
# knobs: guidance 10 is w = 9 in our (1 + w)·cond − w·uncond, held constant (cfgRamp) where our
# Confidence ramps it by default; countMode "amused" is its cos(π/2·(s+1)/S) masking.
AMUSED_DEFAULTS = {"scheduler": "confidence", "steps": 12, "cfg": 9, "cfgRamp": "constant",
                   "temperature": {"start": 1, "end": 1}, "noise": "linear", "noiseTemperature": 2,
                   "countMode": "amused"}


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


def read_json(path, what):
    if not os.path.isfile(path):
        fail(f"{path}: {what} not found")
    try:
        with open(path, encoding="utf-8") as f:
            value = json.load(f)
    except (ValueError, UnicodeDecodeError):
        fail(f"{path}: not JSON")
    if not isinstance(value, dict):
        fail(f"{path}: expected a JSON object")
    return value


def read_weights(folder, stem, what):
    """A component's state dict: STEM.safetensors, else its .fp16 variant, either possibly
    sharded (STEM.safetensors.index.json); (state, the file named in errors)."""
    for variant in ("", ".fp16"):
        single = os.path.join(folder, f"{stem}{variant}.safetensors")
        index = single + ".index.json"
        try:
            if os.path.isfile(single):
                return safetensors.load(single), single
            if os.path.isfile(index):
                shards = sorted(set(read_json(index, "shard index").get("weight_map", {}).values()))
                if not shards:
                    fail(f"{index}: no weight_map")
                state = {}
                for shard in shards:
                    path = os.path.join(folder, shard)
                    if not os.path.isfile(path):
                        fail(f"{path}: shard listed in {index} not found")
                    state.update(safetensors.load(path))
                return state, index
        except safetensors.SafetensorsError as error:
            fail(str(error))
    fail(f"{os.path.join(folder, stem)}.safetensors: {what} weights not found (nor the .fp16 variant)")


def special_token(folder, vocab, key):
    """A special token's id from tokenizer_config.json, overridden by special_tokens_map.json
    (either as a string or as {"content": ...}); None when neither names it."""
    token, source = None, None
    for name in ("tokenizer_config.json", "special_tokens_map.json"):
        path = os.path.join(folder, name)
        if os.path.isfile(path):
            value = read_json(path, "tokenizer file").get(key)
            value = value.get("content") if isinstance(value, dict) else value
            if value is not None:
                token, source = value, path
    if token is None:
        return None
    if token not in vocab:
        fail(f"{source}: {key} '{token}' is not in vocab.json")
    return vocab[token]


def model_card_licence(folder):
    """The `license:` of a pipeline's README.md front matter, if it has one."""
    try:
        with open(os.path.join(folder, "README.md"), encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError):
        return None
    if not text.startswith("---"):
        return None
    for line in text.split("\n")[1:]:
        if line.startswith("---"):
            break
        if line.startswith("license:"):
            return line.split(":", 1)[1].strip() or None
    return None


def read_amused(root, name=None):
    """Our modules loaded strictly from a diffusers aMused pipeline folder, with the manifest and
    tokenizer.json its model folder gets: (text_encoder, transformer, decoder, manifest,
    tokenizer). Shared by the converter and the PyTorch benchmark (scripts/bench_torch.py)."""
    if not os.path.isdir(root):
        fail(f"{root}: pipeline folder not found")
    index_path = os.path.join(root, "model_index.json")
    if os.path.isfile(index_path):
        kind = read_json(index_path, "pipeline index").get("_class_name")
        if kind not in ("AmusedPipeline", None):
            fail(f"{index_path}: a {kind}, not an AmusedPipeline")
    part = lambda *names: os.path.join(root, *names)  # noqa: E731

    configs = {}
    for name, reader in (("transformer", amused.transformer_config), ("vqvae", amused.decoder_config),
                         ("text_encoder", amused.text_encoder_config)):
        path = part(name, "config.json")
        try:
            configs[name] = reader(read_json(path, f"{name} config"))
        except (ValueError, TypeError, AttributeError) as error:
            fail(f"{path}: {error}")
    t_cfg, d_cfg, c_cfg = configs["transformer"], configs["vqvae"], configs["text_encoder"]
    codebook = t_cfg.get("codebook_size", 8192)
    if d_cfg["num_vq_embeddings"] != codebook:
        fail(f"{part('vqvae', 'config.json')}: {d_cfg['num_vq_embeddings']} codes, the transformer predicts {codebook}")
    text_width, pooled_width = c_cfg.get("hidden_size", 768), c_cfg.get("projection_dim", 768)
    if t_cfg.get("encoder_hidden_size", 768) != text_width or t_cfg.get("cond_embed_dim", 768) != pooled_width:
        fail(f"{part('transformer', 'config.json')}: expects text {t_cfg.get('encoder_hidden_size', 768)} wide and "
             f"pooled {t_cfg.get('cond_embed_dim', 768)}, the text encoder gives {text_width} and {pooled_width}")

    vocab_size = t_cfg.get("vocab_size", 8256)
    scheduler_path = part("scheduler", "scheduler_config.json")
    mask_id = (read_json(scheduler_path, "scheduler config").get("mask_token_id", vocab_size - 1)
               if os.path.isfile(scheduler_path) else vocab_size - 1)
    if not codebook <= mask_id < vocab_size:
        fail(f"{scheduler_path}: mask_token_id {mask_id} is not an embedded token outside the codebook "
             f"({codebook}..{vocab_size - 1})")

    tokenizer_dir = part("tokenizer")
    try:
        vocab, merges = clip_tokenizer.read_vocab_files(tokenizer_dir)
    except ValueError as error:
        fail(str(error))
    if max(vocab.values()) >= c_cfg.get("vocab_size", 49408):
        fail(f"{os.path.join(tokenizer_dir, 'vocab.json')}: ids up to {max(vocab.values())}, the text encoder "
             f"embeds {c_cfg.get('vocab_size', 49408)}")
    bos, eos, pad = (special_token(tokenizer_dir, vocab, k) for k in ("bos_token", "eos_token", "pad_token"))
    if eos is None:
        fail(f"{tokenizer_dir}: no eos_token in tokenizer_config.json or special_tokens_map.json")
    positions = c_cfg.get("max_position_embeddings", 77)
    length = positions
    config_path = os.path.join(tokenizer_dir, "tokenizer_config.json")
    if os.path.isfile(config_path):
        declared = read_json(config_path, "tokenizer config").get("model_max_length")
        if isinstance(declared, int) and declared <= positions:
            length = declared
    specials = [t for t in (clip_tokenizer.BOS, clip_tokenizer.EOS) if t in vocab]

    t_state, t_file = read_weights(part("transformer"), "diffusion_pytorch_model", "transformer")
    transformer = load_strict(amused.AmusedTransformer(**t_cfg), t_state, t_file)
    del t_state
    d_state, d_file = read_weights(part("vqvae"), "diffusion_pytorch_model", "VQ model")
    decoder = load_strict(amused.AmusedDecoder(**d_cfg), d_state, d_file, amused.decoder_keys_ignored)
    c_state, c_file = read_weights(part("text_encoder"), "model", "text encoder")
    text_encoder = load_strict(amused.ClipTextEncoder(**c_cfg), c_state, c_file, amused.text_encoder_keys_ignored)

    grid = t_cfg.get("sample_size", 16)
    size = grid * 2 ** (len(d_cfg["block_out_channels"]) - 1)
    licence = model_card_licence(root)
    manifest = {
        "name": name or f"amused-{size}",
        "task": "text-to-image",
        "description": f"aMused {size}×{size} text-to-image (CLIP text encoder, VQ f16), converted by scripts/convert.py",
        "grid": grid,
        "codebookSize": codebook,
        "maskId": mask_id,
        "image": {"width": size, "height": size, "channels": d_cfg.get("out_channels", 3)},
        "text": {"length": length, "width": text_width, "pooled": pooled_width, "bos": bos, "eos": eos,
                 "pad": eos if pad is None else pad, "null": "empty-prompt"},
        # width, height, crop top, crop left, aesthetic score: AmusedPipeline's defaults.
        "microConds": [size, size, 0, 0, 6],
        "defaults": AMUSED_DEFAULTS,
        "files": {"transformer": "transformer.onnx", "decoder": "decoder.onnx", "textEncoder": "text_encoder.onnx",
                  "tokenizer": "tokenizer.json"},
        "source": f"aMused (diffusers AmusedPipeline: UVit2DModel, VQModel, CLIPTextModelWithProjection), "
                  f"pipeline folder '{os.path.basename(os.path.normpath(root))}'",
        "license": f"weights: {licence} (the pipeline's model card)" if licence
        else "weights: see the pipeline's model card for its licence",
    }
    tokenizer = clip_tokenizer.tokenizer_json(vocab, merges, specials, unk=clip_tokenizer.EOS)
    return text_encoder, transformer, decoder, manifest, tokenizer


def convert_amused(args):
    write_text_folder(args.out, *read_amused(args.checkpoint, args.name))
    print(args.out)
    if not args.no_check:
        verify_folder(args.out)


def convert(args):
    if args.family == "amused":
        if not args.checkpoint:
            fail("--family amused needs --checkpoint PIPELINE_DIR")
        convert_amused(args)
    else:
        convert_official(args)
    if args.int8:
        write_int8(args.out, args.int8, check=not args.no_check)


def convert_official(args):
    if not args.transformer or not args.tokenizer:
        fail(f"--family {args.family} needs --transformer and --tokenizer")
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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--family", required=True, choices=["v2", "v1", "amused"])
    parser.add_argument("--transformer", help="v1/v2: official transformer checkpoint")
    parser.add_argument("--tokenizer", help="v1/v2: official VQ tokenizer checkpoint")
    parser.add_argument("--checkpoint", help="amused: the pipeline folder")
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
