#!/usr/bin/python3
"""Checks our aMused modules (scripts/convert/amused.py) against the reference implementations:
diffusers' UVit2DModel and VQModel and transformers' CLIPTextModelWithProjection, imported from
source checkouts (never committed here), built on random weights; the same state dict is loaded
strictly into ours and the outputs compared.

    /usr/bin/python3 scripts/convert/amused_parity.py --diffusers PATH --transformers PATH [--full]

PATH is a checkout (or its src/ folder) of huggingface/diffusers and of transformers (4.44 was
used). Debian has neither package nor their dependencies, so their package __init__s and the
config, loader and hub plumbing are replaced by small stand-ins before the model files are
imported; the model code itself runs as published (on torch 1.13 it takes the math attention
path). Widths are aMused's; depth is cut to 2 transformer layers and 1 block per UVit level
unless --full (22 and 3). Prints max |ours - reference| / max |reference| per output; exits 1
above 1e-4.

Measured 2026-11-29 (diffusers 58eb52c, transformers d6751d91 = 4.44, torch 1.13.1 CPU), default
depth, max |ours - reference| / max |reference|:
    text hidden_states (eos_token_id 2 and 49407)            0
    text pooled (eos_token_id 2 and 49407)                   0
    transformer logits 16x16 (amused-256 layout)             1.43e-06
    transformer logits 32x32 (amused-512 layout)             7.10e-07
    decoder image before clipping                            6.07e-07
    decoder image, clipped (67% of pixels inside [0, 1])     1.25e-06
  options aMused does not use, at small widths:
    transformer logits 16x16 / 32x32, biases, no norm gains  3.07e-07 / 5.97e-07
    decoder image with a mid-block attention                 2.66e-05 (2.36e-05 clipped)
    text hidden_states / pooled with exact GELU              0 / 0
"""

import argparse
import importlib
import os
import sys
import types

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

import amused  # noqa: E402
import clip_tokenizer  # noqa: E402
from convert import load_strict  # noqa: E402
from random_checkpoints import randomize  # noqa: E402

LIMIT = 1e-4


# --------------------------------------------------------------------------------------------
# Stand-ins for the reference packages' plumbing
# --------------------------------------------------------------------------------------------


class _Anything:
    """A class for every name the model files import but these checks never use."""

    def __init__(self, *args, **kwargs):
        pass

    def __call__(self, *args, **kwargs):
        return self


class _StubModule(types.ModuleType):
    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return _Anything


def _module(name, path=None, **names):
    module = _StubModule(name)
    if path is not None:
        module.__path__ = [path]
    module.__dict__.update(names)
    sys.modules[name] = module
    return module


def _identity_decorator(*args, **kwargs):
    if len(args) == 1 and callable(args[0]) and not kwargs:
        return args[0]
    return lambda f: f


def _version_tuple(text):
    return tuple(int("".join(c for c in part if c.isdigit()) or 0) for part in str(text).split("+")[0].split(".")[:3])


def _compare(op, a, b):
    a, b = _version_tuple(a), _version_tuple(b)
    return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b, "==": a == b, "!=": a != b}[op]


def _package_dir(path, name):
    for candidate in (os.path.join(path, "src", name), os.path.join(path, name), path):
        if os.path.isdir(os.path.join(candidate, "models")) and os.path.basename(candidate) == name:
            return candidate
    sys.exit(f"error: {path}: no {name} package found (give the checkout or its src/ folder)")


def import_diffusers(path):
    """diffusers' UVit2DModel and VQModel from a checkout, plumbing stubbed."""
    root = _package_dir(path, "diffusers")
    import logging

    def register_to_config(init):
        def wrapped(self, *args, **kwargs):
            import inspect
            bound = inspect.signature(init).bind(self, *args, **kwargs)
            bound.apply_defaults()
            init(self, *args, **kwargs)
            self.config = types.SimpleNamespace(**{k: v for k, v in bound.arguments.items() if k != "self"})
        return wrapped

    class ModelMixin(torch.nn.Module):
        @property
        def dtype(self):
            return next(self.parameters()).dtype

    utils_names = dict(
        deprecate=lambda *a, **k: None, logging=types.SimpleNamespace(get_logger=logging.getLogger),
        is_torch_version=lambda op, v: _compare(op, torch.__version__, v), is_torch_npu_available=lambda: False,
        is_xformers_available=lambda: False, is_torch_xla_available=lambda: False,
        is_torch_xla_version=lambda *a: False, maybe_allow_in_graph=_identity_decorator,
        apply_lora_scale=_identity_decorator, apply_forward_hook=_identity_decorator, BaseOutput=object,
    )
    _module("diffusers", root)
    _module("diffusers.utils", os.path.join(root, "utils"), **utils_names)
    for sub in ("import_utils", "torch_utils", "accelerate_utils", "constants"):
        _module(f"diffusers.utils.{sub}", **utils_names)
    _module("diffusers.configuration_utils", ConfigMixin=type("ConfigMixin", (), {}),
            register_to_config=register_to_config)
    _module("diffusers.loaders", PeftAdapterMixin=type("PeftAdapterMixin", (), {}))
    _module("diffusers.image_processor")
    _module("diffusers.models", os.path.join(root, "models"))
    _module("diffusers.models.modeling_utils", ModelMixin=ModelMixin)
    _module("diffusers.models.unets", os.path.join(root, "models", "unets"))
    _module("diffusers.models.autoencoders", os.path.join(root, "models", "autoencoders"))
    _module("diffusers.models.transformers", os.path.join(root, "models", "transformers"))
    _module("diffusers.models.transformers.dual_transformer_2d")
    _module("diffusers.models.transformers.transformer_2d")
    uvit = importlib.import_module("diffusers.models.unets.uvit_2d")
    vq = importlib.import_module("diffusers.models.autoencoders.vq_model")
    return uvit.UVit2DModel, vq.VQModel


def import_transformers(path):
    """transformers' CLIPTextModelWithProjection and CLIPTextConfig from a checkout."""
    root = _package_dir(path, "transformers")
    import logging

    class PretrainedConfig:
        def __init__(self, **kwargs):
            self._attn_implementation = "eager"
            self.output_attentions = self.output_hidden_states = False
            self.use_return_dict = True
            self.__dict__.update(kwargs)

    class PreTrainedModel(torch.nn.Module):
        def __init__(self, config, *args, **kwargs):
            super().__init__()
            self.config = config

        def post_init(self):
            pass

        @classmethod
        def _from_config(cls, config, **kwargs):
            return cls(config)

    class ModelOutput:  # the classes are declared; these checks ask for tuples
        pass

    version = types.SimpleNamespace(parse=_version_tuple)
    _module("packaging", version=version)
    sys.modules["packaging.version"] = version
    names = dict(
        logging=types.SimpleNamespace(get_logger=logging.getLogger), ModelOutput=ModelOutput,
        add_start_docstrings=_identity_decorator, add_start_docstrings_to_model_forward=_identity_decorator,
        replace_return_docstrings=_identity_decorator, add_code_sample_docstrings=_identity_decorator,
        is_flash_attn_2_available=lambda: False, is_flash_attn_greater_or_equal_2_10=lambda: False,
        is_torch_greater_or_equal_than_2_2=False, PretrainedConfig=PretrainedConfig,
        PreTrainedModel=PreTrainedModel,
    )
    _module("transformers", root)
    _module("transformers.utils", os.path.join(root, "utils"), **names)
    for sub in ("modeling_outputs", "modeling_utils", "pytorch_utils", "configuration_utils", "onnx"):
        _module(f"transformers.{sub}", **names)
    _module("transformers.models", os.path.join(root, "models"))
    _module("transformers.models.clip", os.path.join(root, "models", "clip"))
    clip = importlib.import_module("transformers.models.clip.modeling_clip")
    config = importlib.import_module("transformers.models.clip.configuration_clip")
    return clip.CLIPTextModelWithProjection, config.CLIPTextConfig


# --------------------------------------------------------------------------------------------
# The checks
# --------------------------------------------------------------------------------------------


def relative(ours, reference):
    return float((ours - reference).abs().max() / reference.abs().max())


def uvit_config(layout, full):
    """aMused's transformer config, depth cut unless `full`."""
    return amused.transformer_layout(layout) if full else amused.transformer_layout(
        layout, num_res_blocks=1, num_hidden_layers=2)


def check_text(CLIPText, CLIPTextConfig, eos_token_id, results, label="", **changes):
    config = {**amused.TEXT, "eos_token_id": eos_token_id, **changes}
    reference = randomize(CLIPText(CLIPTextConfig(**config)).eval(), 3)
    state = reference.state_dict()
    ours = load_strict(amused.ClipTextEncoder(**amused.text_encoder_config(config)), state, "CLIP",
                       amused.text_encoder_keys_ignored)
    vocab, merges = clip_tokenizer.vocab_from_bpe_gz(clip_tokenizer.BPE_GZ)
    encoder = clip_tokenizer.ClipEncoder(vocab, merges)
    ids = torch.tensor([clip_tokenizer.runtime_ids(encoder.encode(p), 77, 49406, 49407, 49407)
                        for p in ("a red apple", "")])
    with torch.no_grad():
        text_embeds, _, hidden = reference(input_ids=ids, output_hidden_states=True, return_dict=False)
        hidden_states, pooled = ours(ids)
    # The penultimate state is not the last one, and the pooled rows differ: the checks can fail.
    assert relative(hidden[-1], hidden[-2]) > 0.1 and relative(text_embeds[0], text_embeds[1]) > 1e-3
    results[f"text hidden_states (eos_token_id {eos_token_id}{label})"] = relative(hidden_states, hidden[-2])
    results[f"text pooled (eos_token_id {eos_token_id}{label})"] = relative(pooled, text_embeds)


def check_transformer(UVit2DModel, layout, full, results, label="", **changes):
    config = {**uvit_config(layout, full), **changes}
    reference = randomize(UVit2DModel(**config).eval(), 1)
    ours = load_strict(amused.AmusedTransformer(**amused.transformer_config(config)), reference.state_dict(), "UVit")
    grid = config["sample_size"]
    g = torch.Generator().manual_seed(5)
    codebook, width, pooled_width = config["codebook_size"], config["encoder_hidden_size"], config["cond_embed_dim"]
    tokens = torch.randint(0, codebook, (2, grid * grid), generator=g)
    tokens[:, ::3] = config["vocab_size"] - 1  # partly masked
    text, pooled = torch.randn(2, 77, width, generator=g), torch.randn(2, pooled_width, generator=g)
    micro = torch.tensor([[layout, layout, 0, 0, 6]] * 2, dtype=torch.float32)
    with torch.no_grad():
        expected = reference(tokens.reshape(2, grid, grid), text, pooled, micro)  # [B, V, h, w]
        logits = ours(tokens, text, pooled, micro)
    results[f"transformer logits {grid}x{grid}{label}"] = relative(logits, expected.flatten(2).transpose(1, 2))


def check_decoder(VQModel, results, label="", **changes):
    config = {**amused.VQ, **changes}
    reference = randomize(VQModel(**config).eval(), 2)
    ours = load_strict(amused.AmusedDecoder(**amused.decoder_config(config)), reference.state_dict(), "VQ",
                       amused.decoder_keys_ignored)
    codes, latent = config["num_vq_embeddings"], config["latent_channels"]
    tokens = torch.randint(0, codes, (2, 16, 16), generator=torch.Generator().manual_seed(6))
    with torch.no_grad():
        raw = reference.decode(tokens, force_not_quantize=True, shape=(2, 16, 16, latent)).sample
        image = ours(tokens)
        z = ours.quantize.embedding(tokens).permute(0, 3, 1, 2)
        unclipped = ours.decoder(ours.post_quant_conv(z))
    # Random weights may push many pixels past [0, 1], where clipping hides any difference: the
    # decoder is also compared before clipping.
    results[f"decoder image before clipping{label}"] = relative(unclipped, raw)
    inside = float(((raw > 0) & (raw < 1)).float().mean())
    results[f"decoder image ({inside:.0%} of pixels unclipped){label}"] = relative((image + 1) / 2, raw.clip(0, 1))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--diffusers", required=True, help="huggingface/diffusers checkout")
    parser.add_argument("--transformers", required=True, help="transformers (4.44) checkout")
    parser.add_argument("--full", action="store_true", help="aMused's full depth (slow)")
    args = parser.parse_args()
    torch.set_num_threads(min(2, len(os.sched_getaffinity(0))))
    UVit2DModel, VQModel = import_diffusers(args.diffusers)
    CLIPText, CLIPTextConfig = import_transformers(args.transformers)
    results = {}
    for eos in (2, 49407):
        check_text(CLIPText, CLIPTextConfig, eos, results)
    for layout in (256, 512):
        check_transformer(UVit2DModel, layout, args.full, results)
    check_decoder(VQModel, results)
    # Options aMused does not use but the modules implement: biases without norm gains, a VAE
    # mid-block attention, CLIP's exact GELU (small widths: these check code paths).
    small = dict(hidden_size=64, cond_embed_dim=32, micro_cond_encode_dim=8, micro_cond_embed_dim=40,
                 encoder_hidden_size=32, vocab_size=320, codebook_size=256, in_channels=32, block_out_channels=32,
                 block_num_heads=2, num_attention_heads=4, intermediate_size=96)
    for layout in (256, 512):
        check_transformer(UVit2DModel, layout, False, results, ", biases, no gains", use_bias=True,
                          ln_elementwise_affine=False, **small)
    check_decoder(VQModel, results, ", mid attention", block_out_channels=[32, 32, 64, 64, 64], latent_channels=8,
                  num_vq_embeddings=256, norm_num_groups=8, mid_block_add_attention=True)
    check_text(CLIPText, CLIPTextConfig, 49407, results, ", gelu", hidden_act="gelu", hidden_size=64,
               intermediate_size=128, projection_dim=32, num_attention_heads=4, num_hidden_layers=3)
    for name, error in results.items():
        print(f"{name:<58} {error:.2e}")
    worst = max(results.values())
    print(f"worst {worst:.2e} ({'within' if worst <= LIMIT else 'ABOVE'} {LIMIT:g})")
    sys.exit(0 if worst <= LIMIT else 1)


if __name__ == "__main__":
    main()
