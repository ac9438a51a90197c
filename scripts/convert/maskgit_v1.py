"""Stand-alone PyTorch re-implementation of the MaskGIT-pytorch v1.0 networks.

This module loads the released v1.0 checkpoints of valeoai/Halton-MaskGIT
(branch v1.0, formerly "MaskGIT-pytorch") without importing any of that
project's code.  Two networks are provided:

* ``MaskGitV1Transformer`` - the class-conditional bidirectional transformer
  (``MaskGIT_ImageNet_256.pth`` / ``MaskGIT_ImageNet_512.pth``; weights live
  under the ``"model_state_dict"`` entry of the saved dict).
* ``TamingDecoder`` - only the token -> image half of the taming-transformers
  VQGAN (f16, 1024 codes; Lightning ``last.ckpt``, weights under
  ``"state_dict"``).

Parameter and buffer names are chosen so that the official state dicts load
with ``strict=True`` (for the decoder: the subset selected by
``decoder_keys_ignored``).  Every forward pass is written with plain tensor
ops (no fused attention) so that it exports to ONNX opset 17 with a dynamic
batch dimension under torch 1.13.

Conventions
-----------
Transformer input ``tokens`` is a LongTensor [B, N] with N = grid*grid laid out
row-major; the value ``codebook_size`` (1024 for the release) is the mask
token.  ``labels`` is a LongTensor [B] of ImageNet ids and ``drop_label`` a
BoolTensor [B]; where it is True the class token is replaced by the extra
"no class" embedding row ``codebook_size + 1 + nclass`` (as the original
does).  The output is float logits [B, N, codebook_size + 1]; the last column
scores the mask token itself.

Decoder input is a LongTensor [B, h, w] of code indices (clamped into
[0, n_embed - 1] first, as the original sampler does before decoding); output
is float [B, 3, 16h, 16w] in [-1, 1] (see ``TamingDecoder`` for the
post-processing choices).
"""

from __future__ import annotations

import math
from typing import Dict, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from vq_layers import Codebook, GroupNorm, Level, ResBlock, SpatialAttention, count_indexed, swish

__all__ = [
    "MaskGitV1Transformer",
    "transformer_config",
    "TamingDecoder",
    "decoder_config",
    "decoder_keys_ignored",
    "extract_transformer_state_dict",
    "extract_vqgan_state_dict",
    "TRANSFORMER_DEFAULTS",
    "DECODER_DEFAULTS",
]

# Sizes of the released "base" transformer (Trainer/vit.py, vit_size="base").
# The class default in the original source says heads=8, but the trainer
# builds every released model with 16 heads.
TRANSFORMER_DEFAULTS = dict(
    grid_size=16,        # 16 for the 256px checkpoint, 32 for the 512px one
    hidden_dim=768,
    codebook_size=1024,
    depth=24,
    heads=16,
    mlp_dim=3072,
    nclass=1000,
)

# taming-transformers "vqgan_imagenet_f16_1024" model config.
DECODER_DEFAULTS = dict(
    n_embed=1024,
    embed_dim=256,
    ch=128,
    ch_mult=(1, 1, 2, 2, 4),
    num_res_blocks=2,
    attn_resolutions=(16,),
    z_channels=256,
    resolution=256,
    out_ch=3,
)


# --------------------------------------------------------------------------
# checkpoint helpers
# --------------------------------------------------------------------------

def _strip_prefix(sd: Dict[str, torch.Tensor], prefix: str) -> Dict[str, torch.Tensor]:
    if sd and all(k.startswith(prefix) for k in sd):
        return {k[len(prefix):]: v for k, v in sd.items()}
    return dict(sd)


def extract_transformer_state_dict(obj) -> Dict[str, torch.Tensor]:
    """Return the bare transformer state dict from a loaded ``.pth`` object."""
    if isinstance(obj, dict) and "model_state_dict" in obj:
        obj = obj["model_state_dict"]
    return _strip_prefix(obj, "module.")


def extract_vqgan_state_dict(obj) -> Dict[str, torch.Tensor]:
    """Return the VQModel state dict from a Lightning ``last.ckpt`` object."""
    if isinstance(obj, dict) and "state_dict" in obj:
        obj = obj["state_dict"]
    return _strip_prefix(obj, "module.")


# --------------------------------------------------------------------------
# Transformer
# --------------------------------------------------------------------------

class _SelfAttention(nn.Module):
    """Multi-head self attention whose weights use the packed layout of
    ``nn.MultiheadAttention`` (in_proj_weight [3D, D], in_proj_bias [3D],
    out_proj Linear)."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        if dim % heads:
            raise ValueError(f"hidden_dim {dim} is not divisible by heads {heads}")
        self.heads = heads
        self.head_dim = dim // heads
        self.in_proj_weight = nn.Parameter(torch.empty(3 * dim, dim))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * dim))
        self.out_proj = nn.Linear(dim, dim)
        nn.init.xavier_uniform_(self.in_proj_weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bsz, seq, dim = x.shape
        packed = F.linear(x, self.in_proj_weight, self.in_proj_bias)
        q, k, v = packed.chunk(3, dim=-1)

        def heads_first(t: torch.Tensor) -> torch.Tensor:
            # [B, S, D] -> [B, H, S, Dh]
            return t.reshape(bsz, seq, self.heads, self.head_dim).transpose(1, 2)

        q, k, v = heads_first(q), heads_first(k), heads_first(v)
        # Scale the queries before the product (same order as torch's MHA).
        q = q / math.sqrt(self.head_dim)
        weights = torch.softmax(torch.matmul(q, k.transpose(-2, -1)), dim=-1)
        mixed = torch.matmul(weights, v)                      # [B, H, S, Dh]
        mixed = mixed.transpose(1, 2).reshape(bsz, seq, dim)  # [B, S, D]
        return self.out_proj(mixed)


class _AttnBody(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.mha = _SelfAttention(dim, heads)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.mha(x)


class _MlpBody(nn.Module):
    def __init__(self, dim: int, inner: int):
        super().__init__()
        # slots 2 and 4 held dropout in training; identity at inference
        self.net = nn.Sequential(nn.Linear(dim, inner), nn.GELU(), nn.Identity(),
                                 nn.Linear(inner, dim), nn.Identity())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class _NormThen(nn.Module):
    """LayerNorm (eps 1e-5) followed by a body; the residual add is done by
    the caller."""

    def __init__(self, dim: int, body: nn.Module):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.fn = body

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(self.norm(x))


class _Stack(nn.Module):
    def __init__(self, dim: int, depth: int, heads: int, mlp_dim: int):
        super().__init__()
        self.layers = nn.ModuleList(
            nn.ModuleList([_NormThen(dim, _AttnBody(dim, heads)),
                           _NormThen(dim, _MlpBody(dim, mlp_dim))])
            for _ in range(depth))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for pair in self.layers:
            x = x + pair[0](x)
            x = x + pair[1](x)
        return x


class MaskGitV1Transformer(nn.Module):
    """Inference copy of the v1.0 MaskGIT transformer.

    Args:
        grid_size: side of the token grid (16 for 256px, 32 for 512px); the
            original code calls this ``f_factor``/``patch_size``.
        hidden_dim, codebook_size, depth, heads, mlp_dim, nclass: as in the
            original constructor.

    Vocabulary of the shared embedding (``codebook_size + nclass + 2`` rows):
    ``[0, codebook_size)`` image codes, ``codebook_size`` the mask token,
    ``codebook_size + 1 + c`` class ``c``, ``codebook_size + 1 + nclass`` the
    dropped / unconditional class.
    """

    def __init__(self, grid_size: int = 16, hidden_dim: int = 768,
                 codebook_size: int = 1024, depth: int = 24, heads: int = 16,
                 mlp_dim: int = 3072, nclass: int = 1000):
        super().__init__()
        self.grid_size = grid_size
        self.num_tokens = grid_size * grid_size
        self.codebook_size = codebook_size
        self.nclass = nclass
        self.heads = heads
        self.mask_token_id = codebook_size
        self.null_class_id = codebook_size + 1 + nclass
        self.vocab_out = codebook_size + 1
        vocab = codebook_size + nclass + 2
        seq = self.num_tokens + 1

        self.tok_emb = nn.Embedding(vocab, hidden_dim)
        self.pos_emb = nn.Parameter(torch.zeros(1, seq, hidden_dim))
        nn.init.trunc_normal_(self.pos_emb, 0.0, 0.02)

        def ln():
            return nn.LayerNorm(hidden_dim, eps=1e-12)

        def lin():
            return nn.Linear(hidden_dim, hidden_dim)

        # Index layout matches the original Sequential (dropouts -> Identity).
        self.first_layer = nn.Sequential(ln(), nn.Identity(), lin(), nn.GELU(),
                                         ln(), nn.Identity(), lin())
        self.transformer = _Stack(hidden_dim, depth, heads, mlp_dim)
        self.last_layer = nn.Sequential(ln(), nn.Identity(), lin(), nn.GELU(), ln())
        self.bias = nn.Parameter(torch.zeros(seq, vocab))

    def forward(self, tokens: torch.Tensor, labels: torch.Tensor,
                drop_label: torch.Tensor) -> torch.Tensor:
        """tokens [B, N] int64, labels [B] int64, drop_label [B] bool ->
        logits [B, N, codebook_size + 1] float32."""
        class_tok = labels.reshape(-1, 1) + (self.codebook_size + 1)
        null_tok = torch.full_like(class_tok, self.null_class_id)
        class_tok = torch.where(drop_label.reshape(-1, 1), null_tok, class_tok)
        seq = torch.cat([tokens, class_tok], dim=1)            # [B, N + 1]

        h = self.tok_emb(seq) + self.pos_emb
        h = self.first_layer(h)
        h = self.transformer(h)
        h = self.last_layer(h)

        # Output head is tied to the input embedding.  Only the image
        # positions and the code+mask columns are returned, so only those
        # are computed.
        n, v = self.num_tokens, self.vocab_out
        return torch.matmul(h[:, :n], self.tok_emb.weight[:v].t()) + self.bias[:n, :v]


def transformer_config(state_dict: Dict[str, torch.Tensor], heads: int = 16,
                       nclass: Optional[int] = None,
                       codebook_size: Optional[int] = None) -> dict:
    """Infer constructor kwargs of ``MaskGitV1Transformer`` from weights.

    ``heads`` cannot be read from shapes (default 16, the released models).
    The embedding has ``codebook_size + nclass + 2`` rows, so only their sum
    is known: give ``nclass`` or ``codebook_size``; by default nclass = 1000.
    """
    sd = extract_transformer_state_dict(state_dict)
    vocab, hidden = sd["tok_emb.weight"].shape
    seq = sd["pos_emb"].shape[1]
    grid = int(round(math.sqrt(seq - 1)))
    if grid * grid != seq - 1:
        raise ValueError(f"pos_emb length {seq} is not grid*grid+1")
    if tuple(sd["bias"].shape) != (seq, vocab):
        raise ValueError("bias shape does not match pos_emb/tok_emb")
    if nclass is None and codebook_size is None:
        nclass = TRANSFORMER_DEFAULTS["nclass"]
    if nclass is None:
        nclass = vocab - 2 - codebook_size
    if codebook_size is None:
        codebook_size = vocab - 2 - nclass
    if codebook_size + nclass + 2 != vocab or codebook_size <= 0 or nclass <= 0:
        raise ValueError(f"inconsistent codebook_size/nclass for vocab {vocab}")
    depth = count_indexed(sd, "transformer.layers")
    mlp_dim = sd["transformer.layers.0.1.fn.net.0.weight"].shape[0]
    if hidden % heads:
        raise ValueError(f"hidden_dim {hidden} not divisible by heads {heads}")
    return dict(grid_size=grid, hidden_dim=int(hidden), codebook_size=int(codebook_size),
                depth=depth, heads=int(heads), mlp_dim=int(mlp_dim), nclass=int(nclass))


# --------------------------------------------------------------------------
# VQGAN decoder
# --------------------------------------------------------------------------

def _conv3(cin: int, cout: int) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, 1, 1)


def _conv1(cin: int, cout: int) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 1, 1, 0)


class _Mid(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.block_1 = ResBlock(channels, channels)
        self.attn_1 = SpatialAttention(channels)
        self.block_2 = ResBlock(channels, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block_2(self.attn_1(self.block_1(x)))


class _ConvDecoder(nn.Module):
    def __init__(self, ch: int, out_ch: int, ch_mult: Sequence[int], num_res_blocks: int,
                 attn_resolutions: Sequence[int], resolution: int, z_channels: int):
        super().__init__()
        levels = len(ch_mult)
        width = ch * ch_mult[-1]
        self.conv_in = _conv3(z_channels, width)
        self.mid = _Mid(width)
        # self.up[i] is the level whose feature map is resolution / 2**i;
        # it is executed from the last index down to 0.
        built = {}
        for i in reversed(range(levels)):
            res = resolution // (2 ** i)
            cout = ch * ch_mult[i]
            built[i] = Level(width, cout, num_res_blocks + 1,
                              with_attn=res in tuple(attn_resolutions), upsample=i != 0)
            width = cout
        self.up = nn.ModuleList(built[i] for i in range(levels))
        self.norm_out = GroupNorm(width)
        self.conv_out = _conv3(width, out_ch)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.mid(self.conv_in(z))
        for i in range(len(self.up) - 1, -1, -1):
            h = self.up[i](h)
        return self.conv_out(swish(self.norm_out(h)))


class TamingDecoder(nn.Module):
    """Token grid -> image with the taming VQGAN decoder.

    Keys loaded: ``quantize.embedding.weight``, ``post_quant_conv.*`` and
    ``decoder.*`` of the VQModel state dict.

    ``output_mode`` decides how the raw decoder output is brought into
    [-1, 1]:

    * ``"clamp"`` (default): ``clamp(x, -1, 1)``.
    * ``"minmax"``: per-image min/max stretch to [-1, 1]; this is what the
      original evaluation and demo code do before turning samples into
      pixels (``(x - min) / (max - min)``; here mapped to [-1, 1]).
    * ``"raw"``: the decoder output untouched (what ``decode_code`` returns).
    """

    def __init__(self, n_embed: int = 1024, embed_dim: int = 256, ch: int = 128,
                 ch_mult: Sequence[int] = (1, 1, 2, 2, 4), num_res_blocks: int = 2,
                 attn_resolutions: Sequence[int] = (16,), z_channels: int = 256,
                 resolution: int = 256, out_ch: int = 3, output_mode: str = "clamp"):
        super().__init__()
        if output_mode not in ("clamp", "minmax", "raw"):
            raise ValueError(f"unknown output_mode {output_mode!r}")
        self.n_embed = n_embed
        self.embed_dim = embed_dim
        self.output_mode = output_mode
        self.downsample_factor = 2 ** (len(ch_mult) - 1)
        self.quantize = Codebook(n_embed, embed_dim)
        self.post_quant_conv = _conv1(embed_dim, z_channels)
        self.decoder = _ConvDecoder(ch, out_ch, ch_mult, num_res_blocks, attn_resolutions,
                                    resolution, z_channels)

    def decode_latent(self, z: torch.Tensor) -> torch.Tensor:
        """Raw decoder output for quantized latents z [B, embed_dim, h, w]."""
        return self.decoder(self.post_quant_conv(z))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """tokens [B, h, w] int64 -> image [B, out_ch, f*h, f*w] in [-1, 1]."""
        idx = tokens.clamp(0, self.n_embed - 1)
        z = self.quantize.embedding(idx).permute(0, 3, 1, 2).contiguous()  # [B, C, h, w]
        img = self.decode_latent(z)
        if self.output_mode == "clamp":
            return img.clamp(-1.0, 1.0)
        if self.output_mode == "minmax":
            lo = img.amin(dim=(1, 2, 3), keepdim=True)
            hi = img.amax(dim=(1, 2, 3), keepdim=True)
            return (img - lo) / (hi - lo).clamp_min(1e-12) * 2.0 - 1.0
        return img


_DECODER_PREFIXES = ("quantize.embedding.", "post_quant_conv.", "decoder.")
_IGNORED_PREFIXES = ("encoder.", "quant_conv.", "loss.")


def decoder_keys_ignored(key: str) -> bool:
    """True for VQModel checkpoint keys that decoding does not need
    (encoder.*, quant_conv.*, loss.* - the Lightning checkpoint also stores
    the perceptual/discriminator loss).  Every other key is expected to be
    consumed by ``TamingDecoder`` (an unknown key is neither ignored nor a
    decoder key, so a converter will flag it)."""
    if key.startswith("module."):
        key = key[len("module."):]
    return key.startswith(_IGNORED_PREFIXES)


def decoder_state_dict(state_dict: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """The subset of a VQModel state dict that ``TamingDecoder`` loads."""
    sd = extract_vqgan_state_dict(state_dict)
    return {k: v for k, v in sd.items() if not decoder_keys_ignored(k)}


def decoder_config(state_dict: Dict[str, torch.Tensor],
                   resolution: int = DECODER_DEFAULTS["resolution"]) -> dict:
    """Infer ``TamingDecoder`` kwargs from weight shapes.

    Shapes fix everything except: the split of widths into ``ch * ch_mult``
    (ch_mult[0] is taken as 1, as in the official config) and ``resolution``
    (the decoder is fully convolutional; it only sets which levels carry
    attention, default 256).  Attention levels are read from the weights and
    reported as resolutions relative to ``resolution``.
    """
    sd = extract_vqgan_state_dict(state_dict)
    n_embed, embed_dim = sd["quantize.embedding.weight"].shape
    z_channels = sd["post_quant_conv.weight"].shape[0]
    n_levels = count_indexed(sd, "decoder.up")
    if n_levels == 0:
        raise ValueError("cannot find decoder.up.* levels")
    num_res_blocks = count_indexed(sd, "decoder.up.0.block") - 1
    widths = [sd[f"decoder.up.{i}.block.0.conv1.weight"].shape[0] for i in range(n_levels)]
    ch = widths[0]
    if any(w % ch for w in widths):
        raise ValueError(f"level widths {widths} are not multiples of {ch}")
    ch_mult = tuple(w // ch for w in widths)
    attn_res = tuple(sorted(
        {resolution // (2 ** i) for i in range(n_levels)
         if f"decoder.up.{i}.attn.0.q.weight" in sd}, reverse=True))
    out_ch = sd["decoder.conv_out.weight"].shape[0]
    return dict(n_embed=int(n_embed), embed_dim=int(embed_dim), ch=int(ch),
                ch_mult=ch_mult, num_res_blocks=int(num_res_blocks),
                attn_resolutions=attn_res, z_channels=int(z_channels),
                resolution=int(resolution), out_ch=int(out_ch))


# --------------------------------------------------------------------------
# self-check
# --------------------------------------------------------------------------

def _export_check(model: nn.Module, args: Tuple[torch.Tensor, ...], names_in, names_out,
                  path: str) -> None:
    import onnx

    axes = {n: {0: "batch"} for n in list(names_in) + list(names_out)}
    torch.onnx.export(model, args, path, opset_version=17, input_names=list(names_in),
                      output_names=list(names_out), dynamic_axes=axes,
                      do_constant_folding=True)
    proto = onnx.load(path)
    onnx.checker.check_model(proto)
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param == "batch", "batch axis is not dynamic"


def _self_check() -> None:
    torch.set_num_threads(2)
    torch.manual_seed(0)
    for grid in (16, 32):
        m = MaskGitV1Transformer(grid_size=grid, hidden_dim=64, codebook_size=40, depth=2,
                                 heads=4, mlp_dim=96, nclass=10).eval()
        cfg = transformer_config(m.state_dict(), heads=4, nclass=10)
        assert cfg == dict(grid_size=grid, hidden_dim=64, codebook_size=40, depth=2,
                           heads=4, mlp_dim=96, nclass=10), cfg
        MaskGitV1Transformer(**cfg).load_state_dict(m.state_dict(), strict=True)
        b = 2
        toks = torch.randint(0, 41, (b, grid * grid))
        labels = torch.randint(0, 10, (b,))
        drop = torch.tensor([False, True])
        with torch.no_grad():
            out = m(toks, labels, drop)
        assert out.shape == (b, grid * grid, 41), out.shape
        _export_check(m, (toks, labels, drop), ["tokens", "labels", "drop_label"], ["logits"],
                      f"/tmp/maskgit_v1_transformer_{grid}.onnx")
        print(f"transformer grid={grid}: OK")

    d = TamingDecoder(n_embed=48, embed_dim=8, ch=32, ch_mult=(1, 1, 2, 2, 4),
                      num_res_blocks=1, attn_resolutions=(16,), z_channels=8,
                      resolution=256).eval()
    cfg = decoder_config(d.state_dict())
    assert cfg == dict(n_embed=48, embed_dim=8, ch=32, ch_mult=(1, 1, 2, 2, 4),
                       num_res_blocks=1, attn_resolutions=(16,), z_channels=8,
                       resolution=256, out_ch=3), cfg
    TamingDecoder(**cfg).load_state_dict(d.state_dict(), strict=True)
    toks = torch.randint(0, 48, (2, 2, 3))
    with torch.no_grad():
        img = d(toks)
    assert img.shape == (2, 3, 32, 48), img.shape
    assert float(img.abs().max()) <= 1.0
    _export_check(d, (toks,), ["tokens"], ["image"], "/tmp/maskgit_v1_decoder.onnx")
    print("decoder: OK")
    print("OK")


if __name__ == "__main__":
    _self_check()
