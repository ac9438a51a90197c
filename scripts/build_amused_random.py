#!/usr/bin/python3
"""Writes a random-weight aMused pipeline folder in diffusers' layout, for the converter's tests
and for measuring aMused's shapes without its weights (which only the model hub has):

    /usr/bin/python3 scripts/build_amused_random.py --layout 256|512 [--tiny] [--fp16] [--seed N]
        [--pad TOKEN] [--eos-token-id N] --out DIR

DIR gets model_index.json, scheduler/scheduler_config.json, transformer/ and vqvae/
(config.json + diffusion_pytorch_model.safetensors), text_encoder/ (config.json +
model.safetensors) and tokenizer/ (vocab.json, merges.txt, special_tokens_map.json,
tokenizer_config.json), the files an aMused pipeline folder has.

Full shapes are aMused's (transformer 1024 wide, 22 layers, vocabulary 8256 with codebook 8192;
VQ decoder 768..128 channels; CLIP-L text tower 768 wide, 12 layers). --tiny keeps every
structure (the 512 layout's down/upsampling included) at a few channels and 2 layers, and the
full 49,408-token CLIP vocabulary (built from tests/fixtures/clip) with a 16-wide embedding, so
that the tokenizer is real: seconds to build and convert. --fp16 stores the weights in float16
under diffusers' variant names (*.fp16.safetensors). Weights are seeded: the same arguments give
the same files.
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
import safetensors  # noqa: E402
from random_checkpoints import randomize  # noqa: E402

TINY_TRANSFORMER = dict(hidden_size=32, cond_embed_dim=16, micro_cond_encode_dim=8, micro_cond_embed_dim=40,
                        encoder_hidden_size=16, vocab_size=320, codebook_size=256, in_channels=16,
                        block_out_channels=16, num_res_blocks=1, block_num_heads=2, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64)
TINY_VQ = dict(block_out_channels=[8, 8, 16, 16, 16], layers_per_block=1, latent_channels=4, num_vq_embeddings=256,
               norm_num_groups=4)
TINY_TEXT = dict(hidden_size=16, intermediate_size=32, projection_dim=16, num_hidden_layers=2, num_attention_heads=2)
DIFFUSERS_VERSION = "0.25.0"


def special(content):
    return {"content": content, "lstrip": False, "normalized": True, "rstrip": False, "single_word": False}


def write_json(path, value):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(value, f, indent=2)
        f.write("\n")


def encoder_stand_in(vq):
    """A few entries of the VQ encoder half, which a real vqvae file holds and the converter
    must set aside."""
    latent, first = vq["latent_channels"], vq["block_out_channels"][0]
    g = torch.Generator().manual_seed(9)
    return {"encoder.conv_in.weight": torch.randn(first, 3, 3, 3, generator=g),
            "encoder.conv_in.bias": torch.zeros(first),
            "quant_conv.weight": torch.randn(latent, latent, 1, 1, generator=g), "quant_conv.bias": torch.zeros(latent)}


def build(args):
    layout_changes = TINY_TRANSFORMER if args.tiny else {}
    transformer_cfg = amused.transformer_layout(args.layout, **layout_changes)
    vq_cfg = {**amused.VQ, **(TINY_VQ if args.tiny else {})}
    text_cfg = {**amused.TEXT, **(TINY_TEXT if args.tiny else {})}
    mask_id = transformer_cfg["vocab_size"] - 1
    variant = ".fp16" if args.fp16 else ""
    dtype = "F16" if args.fp16 else None
    out = args.out

    write_json(os.path.join(out, "model_index.json"), {
        "_class_name": "AmusedPipeline", "_diffusers_version": DIFFUSERS_VERSION,
        "scheduler": ["diffusers", "AmusedScheduler"], "text_encoder": ["transformers", "CLIPTextModelWithProjection"],
        "tokenizer": ["transformers", "CLIPTokenizer"], "transformer": ["diffusers", "UVit2DModel"],
        "vqvae": ["diffusers", "VQModel"]})
    write_json(os.path.join(out, "scheduler", "scheduler_config.json"), {
        "_class_name": "AmusedScheduler", "_diffusers_version": DIFFUSERS_VERSION, "mask_token_id": mask_id,
        "masking_schedule": "cosine"})

    transformer = randomize(amused.AmusedTransformer(**transformer_cfg), args.seed)
    write_json(os.path.join(out, "transformer", "config.json"), {
        "_class_name": "UVit2DModel", "_diffusers_version": DIFFUSERS_VERSION, "attention_dropout": 0.1,
        "hidden_dropout": 0.1, **transformer_cfg})
    safetensors.save(transformer.state_dict(), os.path.join(out, "transformer", f"diffusion_pytorch_model{variant}.safetensors"),
                     dtype, {"format": "pt"})
    del transformer

    decoder = randomize(amused.AmusedDecoder(**amused.decoder_config(vq_cfg)), args.seed + 1)
    write_json(os.path.join(out, "vqvae", "config.json"), {
        "_class_name": "VQModel", "_diffusers_version": DIFFUSERS_VERSION, "norm_type": "group",
        "scaling_factor": 0.18215, "vq_embed_dim": None, **vq_cfg})
    state = {**decoder.state_dict(), **encoder_stand_in(vq_cfg)}
    safetensors.save(state, os.path.join(out, "vqvae", f"diffusion_pytorch_model{variant}.safetensors"), dtype,
                     {"format": "pt"})

    text = randomize(amused.ClipTextEncoder(**text_cfg), args.seed + 2)
    write_json(os.path.join(out, "text_encoder", "config.json"), {
        "architectures": ["CLIPTextModelWithProjection"], "model_type": "clip_text_model", "attention_dropout": 0.0,
        "bos_token_id": 0, "eos_token_id": args.eos_token_id, "pad_token_id": 1, "dropout": 0.0,
        "initializer_factor": 1.0, "initializer_range": 0.02, "torch_dtype": "float16" if args.fp16 else "float32",
        "transformers_version": "4.44.0", **text_cfg})
    safetensors.save(text.state_dict(), os.path.join(out, "text_encoder", f"model{variant}.safetensors"), dtype,
                     {"format": "pt"})

    folder = os.path.join(out, "tokenizer")
    vocab, merges = clip_tokenizer.vocab_from_bpe_gz(clip_tokenizer.BPE_GZ)
    clip_tokenizer.write_vocab_files(folder, vocab, merges)
    bos, eos = clip_tokenizer.BOS, clip_tokenizer.EOS
    write_json(os.path.join(folder, "special_tokens_map.json"), {
        "bos_token": special(bos), "eos_token": special(eos), "pad_token": args.pad, "unk_token": special(eos)})
    write_json(os.path.join(folder, "tokenizer_config.json"), {
        "add_prefix_space": False, "bos_token": bos, "clean_up_tokenization_spaces": True, "do_lower_case": True,
        "eos_token": eos, "errors": "replace", "model_max_length": text_cfg["max_position_embeddings"],
        "pad_token": args.pad, "tokenizer_class": "CLIPTokenizer", "unk_token": eos})
    print(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layout", type=int, required=True, choices=[256, 512])
    parser.add_argument("--tiny", action="store_true", help="a few channels and 2 layers, for tests")
    parser.add_argument("--fp16", action="store_true", help="float16 weights in *.fp16.safetensors")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--pad", default=clip_tokenizer.EOS, help="the tokenizer's pad token")
    parser.add_argument("--eos-token-id", type=int, default=2,
                        help="text_encoder/config.json's eos_token_id (2, as configs written before "
                             "transformers 4.31 have it, or 49407)")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    torch.set_num_threads(min(2, len(os.sched_getaffinity(0))))
    build(args)


if __name__ == "__main__":
    main()
