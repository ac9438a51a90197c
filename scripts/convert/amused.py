"""Our PyTorch modules for the three networks of an aMused pipeline (diffusers' AmusedPipeline),
written for inference and ONNX export (torch 1.13, opset 17; attention spelled out):

* ``AmusedTransformer`` -- diffusers' UVit2DModel: both the amused-256 layout (16x16 tokens,
  no down/upsampling) and the amused-512 one (32x32 tokens, a 2x2 strided convolution down to
  16x16 before the blocks and a transposed one back up after them). Takes the token grid
  flattened and returns position-major logits [B, N, codebook] (diffusers returns [B, V, h, w]),
  so that the head is a plain matrix product that scripts/positions.py can restrict.
* ``AmusedDecoder`` -- the VQModel decode path AmusedPipeline uses: codebook lookup,
  post_quant_conv, decoder; clipped to [0, 1] as the pipeline does, then mapped to [-1, 1].
* ``ClipTextEncoder`` -- transformers' CLIPTextModelWithProjection: returns the penultimate
  layer's hidden states (before final_layer_norm: the pipeline's hidden_states[-2]) and the
  projected final state at the end-of-text position (the pipeline's text_embeds).

Parameter names are those of the diffusers and transformers state dicts, so a pipeline's
safetensors load with strict key matching. ``*_config`` turn a component's config.json into
constructor arguments and reject options these modules do not implement.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

from vq_layers import GroupNorm, swish

# --------------------------------------------------------------------------------------------
# Shared pieces
# --------------------------------------------------------------------------------------------


class RMSNorm(nn.Module):
    """x / rms(x) over the last axis, times a learned gain when `affine`."""

    def __init__(self, dim, eps, affine=True):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim)) if affine else None

    def forward(self, x):
        x = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)
        return x if self.weight is None else x * self.weight


class LayerNorm(nn.Module):
    """LayerNorm whose gain and bias are each optional (diffusers' bias=False variant)."""

    def __init__(self, dim, eps, affine=True, bias=True):
        super().__init__()
        self.dim, self.eps = (dim,), eps
        self.weight = nn.Parameter(torch.ones(dim)) if affine else None
        self.bias = nn.Parameter(torch.zeros(dim)) if affine and bias else None
        # A gain without a bias exports as LayerNormalization with an empty bias input, which
        # crashes ONNX Runtime 1.30 as it loads the graph: an explicit zero bias avoids it.
        self.register_buffer("zeros", torch.zeros(dim), persistent=False)

    def forward(self, x):
        bias = self.zeros if self.weight is not None and self.bias is None else self.bias
        return F.layer_norm(x, self.dim, self.weight, bias, self.eps)


def _heads(x, heads):
    b, n, c = x.shape
    return x.reshape(b, n, heads, c // heads).transpose(1, 2)


def attend(q, k, v, heads, mask=None):
    """Multi-head scaled dot-product attention on [B, N, C] projections."""
    q, k, v = _heads(q, heads), _heads(k, heads), _heads(v, heads)
    scores = torch.matmul(q, k.transpose(-2, -1)) * (q.shape[-1] ** -0.5)
    if mask is not None:
        scores = scores + mask
    out = torch.matmul(torch.softmax(scores, dim=-1), v)
    b, h, n, d = out.shape
    return out.transpose(1, 2).reshape(b, n, h * d)


class Attention(nn.Module):
    """diffusers' Attention as UVit2DModel uses it: to_q/to_k/to_v, output in to_out.0 (the
    list's second entry is dropout, parameter-free); keys and values from `context` when given."""

    def __init__(self, dim, heads, context_dim=None, bias=False, out_bias=False):
        super().__init__()
        self.heads = heads
        self.to_q = nn.Linear(dim, dim, bias=bias)
        self.to_k = nn.Linear(context_dim or dim, dim, bias=bias)
        self.to_v = nn.Linear(context_dim or dim, dim, bias=bias)
        self.to_out = nn.ModuleList([nn.Linear(dim, dim, bias=out_bias)])

    def forward(self, x, context=None):
        context = x if context is None else context
        return self.to_out[0](attend(self.to_q(x), self.to_k(context), self.to_v(context), self.heads))


# --------------------------------------------------------------------------------------------
# UVit2DModel
# --------------------------------------------------------------------------------------------


class ConvEmbed(nn.Module):
    """Token embedding, RMS norm, 1x1 convolution to the block width (channels first)."""

    def __init__(self, vocab, width, out, eps, affine, bias):
        super().__init__()
        self.embeddings = nn.Embedding(vocab, width)
        self.layer_norm = RMSNorm(width, eps, affine)
        self.conv = nn.Conv2d(width, out, 1, bias=bias)

    def forward(self, grid):
        return self.conv(self.layer_norm(self.embeddings(grid)).permute(0, 3, 1, 2))


class CondEmbed(nn.Module):
    """Linear, SiLU, linear: the pooled text and micro-conditioning embedding."""

    def __init__(self, d_in, d_out, bias):
        super().__init__()
        self.linear_1 = nn.Linear(d_in, d_out, bias=bias)
        self.linear_2 = nn.Linear(d_out, d_out, bias=bias)

    def forward(self, x):
        return self.linear_2(F.silu(self.linear_1(x)))


class GlobalResponseNorm(nn.Module):
    """ConvNeXt-v2 GRN on channels-last maps: each channel's spatial L2 norm, divided by its
    mean over channels, re-weights the input."""

    def __init__(self, dim):
        super().__init__()
        self.gamma = nn.Parameter(torch.zeros(1, 1, 1, dim))
        self.beta = nn.Parameter(torch.zeros(1, 1, 1, dim))

    def forward(self, x):
        gx = torch.sqrt(x.pow(2).sum(dim=(1, 2), keepdim=True))
        nx = gx / (gx.mean(dim=-1, keepdim=True) + 1e-6)
        return self.gamma * (x * nx) + self.beta + x


class ConvNextBlock(nn.Module):
    """Depthwise 3x3, RMS norm, 4x MLP with GELU and GRN, residual, then a (scale, shift)
    modulation from the condition."""

    def __init__(self, c, eps, affine, bias, hidden):
        super().__init__()
        self.depthwise = nn.Conv2d(c, c, 3, padding=1, groups=c, bias=bias)
        self.norm = RMSNorm(c, eps, affine)
        self.channelwise_linear_1 = nn.Linear(c, 4 * c, bias=bias)
        self.channelwise_norm = GlobalResponseNorm(4 * c)
        self.channelwise_linear_2 = nn.Linear(4 * c, c, bias=bias)
        self.cond_embeds_mapper = nn.Linear(hidden, 2 * c, bias=bias)

    def forward(self, x, cond):
        h = self.norm(self.depthwise(x).permute(0, 2, 3, 1))
        h = self.channelwise_linear_2(self.channelwise_norm(F.gelu(self.channelwise_linear_1(h))))
        x = x + h.permute(0, 3, 1, 2)
        scale, shift = self.cond_embeds_mapper(F.silu(cond)).chunk(2, dim=1)
        return x * (1 + scale[:, :, None, None]) + shift[:, :, None, None]


class TextAttentionBlock(nn.Module):
    """diffusers' SkipFFTransformerBlock: two residual attentions whose keys and values both
    come from the text (mapped to the block width through SiLU and a linear); no feed-forward."""

    def __init__(self, c, heads, hidden, bias):
        super().__init__()
        self.kv_mapper = nn.Linear(hidden, c, bias=bias) if hidden != c else None
        self.norm1 = RMSNorm(c, 1e-6)
        self.attn1 = Attention(c, heads, c, bias, bias)
        self.norm2 = RMSNorm(c, 1e-6)
        self.attn2 = Attention(c, heads, c, bias, bias)

    def forward(self, x, text):
        if self.kv_mapper is not None:
            text = self.kv_mapper(F.silu(text))
        x = x + self.attn1(self.norm1(x), text)
        return x + self.attn2(self.norm2(x), text)


class Resample(nn.Module):
    """RMS norm over channels, then a stride-2, 2x2 convolution (down) or transposed
    convolution (up)."""

    def __init__(self, c, eps, affine, bias, up):
        super().__init__()
        self.norm = RMSNorm(c, eps, affine)
        self.conv = (nn.ConvTranspose2d if up else nn.Conv2d)(c, c, 2, stride=2, bias=bias)

    def forward(self, x):
        # diffusers pads the bottom and right by one before the 2x2, stride-2 convolution; on
        # an even-sized map that padding is never read, so it is left out.
        return self.conv(self.norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2))


class UVitBlock(nn.Module):
    """Optional downsample, then per level a ConvNeXt block and a text attention block, then
    optional upsample."""

    def __init__(self, c, n_blocks, hidden, eps, affine, bias, heads, downsample, upsample):
        super().__init__()
        self.downsample = Resample(c, eps, affine, bias, up=False) if downsample else None
        self.res_blocks = nn.ModuleList(ConvNextBlock(c, eps, affine, bias, hidden) for _ in range(n_blocks))
        self.attention_blocks = nn.ModuleList(TextAttentionBlock(c, heads, hidden, bias) for _ in range(n_blocks))
        self.upsample = Resample(c, eps, affine, bias, up=True) if upsample else None

    def forward(self, x, cond, text):
        if self.downsample is not None:
            x = self.downsample(x)
        for res, attn in zip(self.res_blocks, self.attention_blocks):
            x = res(x, cond)
            b, c, h, w = x.shape
            x = attn(x.reshape(b, c, h * w).transpose(1, 2), text).transpose(1, 2).reshape(b, c, h, w)
        return x if self.upsample is None else self.upsample(x)


class AdaNorm(nn.Module):
    """diffusers' AdaLayerNormContinuous: norm(x) * (1 + scale) + shift, (scale, shift) from a
    linear map of SiLU(condition)."""

    def __init__(self, dim, cond_dim, eps, affine, bias, kind):
        super().__init__()
        self.linear = nn.Linear(cond_dim, 2 * dim, bias=bias)
        self.norm = RMSNorm(dim, eps, affine) if kind == "rms" else LayerNorm(dim, eps, affine, bias)

    def forward(self, x, cond):
        scale, shift = self.linear(F.silu(cond)).chunk(2, dim=1)
        return self.norm(x) * (1 + scale[:, None, :]) + shift[:, None, :]


class GegluFeedForward(nn.Module):
    """GEGLU: one projection to twice the inner width, value * GELU(gate), projection back.
    net.0.proj / net.2 as diffusers names them (net.1 is dropout)."""

    def __init__(self, dim, inner, bias):
        super().__init__()
        self.net = nn.ModuleList([nn.Module(), nn.Identity(), nn.Linear(inner, dim, bias=bias)])
        self.net[0].proj = nn.Linear(dim, 2 * inner, bias=bias)

    def forward(self, x):
        value, gate = self.net[0].proj(x).chunk(2, dim=-1)
        return self.net[2](value * F.gelu(gate))


class TransformerLayer(nn.Module):
    """diffusers' BasicTransformerBlock with ada_norm_continuous: self-attention,
    cross-attention to the text, GEGLU feed-forward, each behind a conditioned norm (RMS, RMS,
    LayerNorm)."""

    def __init__(self, dim, heads, inner, eps, affine, bias):
        super().__init__()
        self.norm1 = AdaNorm(dim, dim, eps, affine, bias, "rms")
        self.attn1 = Attention(dim, heads, None, bias, bias)
        self.norm2 = AdaNorm(dim, dim, eps, affine, bias, "rms")
        self.attn2 = Attention(dim, heads, dim, bias, bias)
        self.norm3 = AdaNorm(dim, dim, eps, affine, bias, "layer")
        self.ff = GegluFeedForward(dim, inner, bias)

    def forward(self, x, cond, text):
        x = x + self.attn1(self.norm1(x, cond))
        x = x + self.attn2(self.norm2(x, cond), text)
        return x + self.ff(self.norm3(x, cond))


class MlmHead(nn.Module):
    """1x1 convolution, RMS norm, 1x1 convolution to the codebook logits. The convolutions keep
    their Conv2d parameters (checkpoint names and shapes) but run as matrix products on
    position-major hidden states: the same arithmetic, and the logits come out [B, N, V]."""

    def __init__(self, c, width, eps, affine, bias, codebook):
        super().__init__()
        self.conv1 = nn.Conv2d(c, width, 1, bias=bias)
        self.layer_norm = RMSNorm(width, eps, affine)
        self.conv2 = nn.Conv2d(width, codebook, 1, bias=bias)

    def forward(self, x):
        b, c, h, w = x.shape
        x = x.reshape(b, c, h * w).transpose(1, 2)
        # [:, :, 0, 0] rather than flatten: torch 1.13's exporter folds it into a constant, so
        # the head's MatMul reads an initializer (which scripts/positions.py looks for).
        x = self.layer_norm(F.linear(x, self.conv1.weight[:, :, 0, 0], self.conv1.bias))
        return F.linear(x, self.conv2.weight[:, :, 0, 0], self.conv2.bias)


def micro_cond_frequencies(dim):
    """The sinusoidal embedding's frequencies: exp(-ln(10000) * k / (dim/2)), k < dim/2."""
    half = dim // 2
    return torch.exp(-math.log(10000) * torch.arange(half, dtype=torch.float32) / half)


class AmusedTransformer(nn.Module):
    """diffusers' UVit2DModel, position-major.

    forward(tokens [B, N] int64 (N = grid², masked = mask id), text [B, L, D] (CLIP's
    penultimate hidden states), pooled [B, P] (CLIP's projected text embedding), micro_conds
    [B, 5] (width, height, crop top, crop left, aesthetic score)) -> logits [B, N, codebook].
    """

    def __init__(self, hidden_size=1024, use_bias=False, cond_embed_dim=768, micro_cond_encode_dim=256,
                 micro_cond_embed_dim=1280, encoder_hidden_size=768, vocab_size=8256, codebook_size=8192,
                 in_channels=768, block_out_channels=768, num_res_blocks=3, downsample=False, upsample=False,
                 block_num_heads=12, num_hidden_layers=22, num_attention_heads=16, intermediate_size=2816,
                 layer_norm_eps=1e-6, ln_elementwise_affine=True, sample_size=16):
        super().__init__()
        eps, affine, bias, c = layer_norm_eps, ln_elementwise_affine, use_bias, block_out_channels
        self.grid, self.codebook_size, self.vocab_size = sample_size, codebook_size, vocab_size
        self.encoder_proj = nn.Linear(encoder_hidden_size, hidden_size, bias=bias)
        self.encoder_proj_layer_norm = RMSNorm(hidden_size, eps, affine)
        self.embed = ConvEmbed(vocab_size, in_channels, c, eps, affine, bias)
        self.register_buffer("frequencies", micro_cond_frequencies(micro_cond_encode_dim), persistent=False)
        self.cond_embed = CondEmbed(micro_cond_embed_dim + cond_embed_dim, hidden_size, bias)
        self.down_block = UVitBlock(c, num_res_blocks, hidden_size, eps, affine, bias, block_num_heads, downsample, False)
        self.project_to_hidden_norm = RMSNorm(c, eps, affine)
        self.project_to_hidden = nn.Linear(c, hidden_size, bias=bias)
        self.transformer_layers = nn.ModuleList(
            TransformerLayer(hidden_size, num_attention_heads, intermediate_size, eps, affine, bias)
            for _ in range(num_hidden_layers))
        self.project_from_hidden_norm = RMSNorm(hidden_size, eps, affine)
        self.project_from_hidden = nn.Linear(hidden_size, c, bias=bias)
        self.up_block = UVitBlock(c, num_res_blocks, hidden_size, eps, affine, bias, block_num_heads, False, upsample)
        self.mlm_layer = MlmHead(c, in_channels, eps, affine, bias, codebook_size)

    def condition(self, pooled, micro_conds):
        """The vector every block is modulated by: pooled text then each micro-condition's
        (cos, sin) embedding, through the conditioning MLP."""
        angles = micro_conds.reshape(-1, 1) * self.frequencies[None, :]
        micro = torch.cat([torch.cos(angles), torch.sin(angles)], dim=-1).reshape(micro_conds.shape[0], -1)
        return self.cond_embed(torch.cat([pooled, micro], dim=1))

    def forward(self, tokens, text, pooled, micro_conds):
        text = self.encoder_proj_layer_norm(self.encoder_proj(text))
        cond = self.condition(pooled, micro_conds)
        x = self.down_block(self.embed(tokens.reshape(-1, self.grid, self.grid)), cond, text)
        b, c, h, w = x.shape
        x = self.project_to_hidden(self.project_to_hidden_norm(x.reshape(b, c, h * w).transpose(1, 2)))
        for layer in self.transformer_layers:
            x = layer(x, cond, text)
        x = self.project_from_hidden(self.project_from_hidden_norm(x))
        x = self.up_block(x.transpose(1, 2).reshape(b, c, h, w), cond, text)
        return self.mlm_layer(x)


UVIT_KEYS = ["hidden_size", "use_bias", "cond_embed_dim", "micro_cond_encode_dim", "micro_cond_embed_dim",
             "encoder_hidden_size", "vocab_size", "codebook_size", "in_channels", "block_out_channels",
             "num_res_blocks", "downsample", "upsample", "block_num_heads", "num_hidden_layers",
             "num_attention_heads", "intermediate_size", "layer_norm_eps", "ln_elementwise_affine", "sample_size"]


def transformer_config(config):
    """AmusedTransformer arguments from transformer/config.json; ValueError when it is not a
    UVit2DModel these modules implement."""
    if config.get("_class_name", "UVit2DModel") != "UVit2DModel":
        raise ValueError(f"expected a UVit2DModel, found {config.get('_class_name')}")
    args = {k: config[k] for k in UVIT_KEYS if k in config}
    if args.get("downsample", False) != args.get("upsample", False):
        raise ValueError("downsample and upsample must be both on or both off")
    if args.get("micro_cond_embed_dim", 1280) != 5 * args.get("micro_cond_encode_dim", 256):
        raise ValueError("micro_cond_embed_dim must be 5 x micro_cond_encode_dim (five micro-conditions)")
    return args


# --------------------------------------------------------------------------------------------
# VQModel decoder
# --------------------------------------------------------------------------------------------


class FineGroupNorm(GroupNorm):
    """GroupNorm whose statistics are averaged one axis at a time (width, height, then the
    group's channels). At 512 pixels a group holds a million values, and ONNX Runtime sums a
    single reduction that long in one float32 accumulator: the decoded image then drifted
    3e-4 from PyTorch; short reductions keep it at PyTorch's precision."""

    def forward(self, x):
        b, c, h, w = x.shape
        g = x.reshape(b, self.groups, c // self.groups, h, w)
        mean = lambda t: t.mean(-1, keepdim=True).mean(-2, keepdim=True).mean(-3, keepdim=True)  # noqa: E731
        centred = g - mean(g)
        normed = centred * torch.rsqrt(mean(centred.pow(2)) + self.eps)
        return normed.reshape(b, c, h, w) * self.weight[:, None, None] + self.bias[:, None, None]


class ResnetBlock(nn.Module):
    """diffusers' ResnetBlock2D without a time embedding: (GroupNorm, SiLU, conv 3x3) twice,
    1x1 conv_shortcut when the width changes."""

    def __init__(self, c_in, c_out, groups):
        super().__init__()
        self.norm1 = FineGroupNorm(c_in, groups)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.norm2 = FineGroupNorm(c_out, groups)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)
        self.conv_shortcut = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else None

    def forward(self, x):
        h = self.conv2(swish(self.norm2(self.conv1(swish(self.norm1(x))))))
        return (x if self.conv_shortcut is None else self.conv_shortcut(x)) + h


class PixelAttention(nn.Module):
    """The VAE mid block's single-head attention over pixels (Linear projections on
    channels-last pixels, group norm first, residual)."""

    def __init__(self, c, groups):
        super().__init__()
        self.group_norm = FineGroupNorm(c, groups)
        self.to_q, self.to_k, self.to_v = nn.Linear(c, c), nn.Linear(c, c), nn.Linear(c, c)
        self.to_out = nn.ModuleList([nn.Linear(c, c)])

    def forward(self, x):
        b, c, h, w = x.shape
        t = self.group_norm(x).reshape(b, c, h * w).transpose(1, 2)
        out = self.to_out[0](attend(self.to_q(t), self.to_k(t), self.to_v(t), 1))
        return x + out.transpose(1, 2).reshape(b, c, h, w)


class MidBlock(nn.Module):
    def __init__(self, c, groups, attention):
        super().__init__()
        self.resnets = nn.ModuleList([ResnetBlock(c, c, groups), ResnetBlock(c, c, groups)])
        self.attentions = nn.ModuleList([PixelAttention(c, groups)] if attention else [])

    def forward(self, x):
        x = self.resnets[0](x)
        if len(self.attentions):
            x = self.attentions[0](x)
        return self.resnets[1](x)


class Upsampler(nn.Module):
    """Nearest-neighbour 2x, then a 3x3 convolution."""

    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class UpBlock(nn.Module):
    def __init__(self, c_in, c_out, n_layers, groups, upsample):
        super().__init__()
        self.resnets = nn.ModuleList(ResnetBlock(c_in if i == 0 else c_out, c_out, groups) for i in range(n_layers))
        self.upsamplers = nn.ModuleList([Upsampler(c_out)]) if upsample else None

    def forward(self, x):
        for resnet in self.resnets:
            x = resnet(x)
        return x if self.upsamplers is None else self.upsamplers[0](x)


class VaeDecoder(nn.Module):
    """diffusers' vae.Decoder with group norms: conv_in, mid block, up blocks from the widest
    level down (each but the last upsampling 2x), GroupNorm, SiLU, conv_out."""

    def __init__(self, latent, out_channels, widths, layers_per_block, groups, mid_attention):
        super().__init__()
        top = widths[-1]
        self.conv_in = nn.Conv2d(latent, top, 3, padding=1)
        self.mid_block = MidBlock(top, groups, mid_attention)
        levels = list(reversed(widths))
        self.up_blocks = nn.ModuleList(
            UpBlock(levels[max(i - 1, 0)], c, layers_per_block + 1, groups, i < len(levels) - 1)
            for i, c in enumerate(levels))
        self.conv_norm_out = FineGroupNorm(widths[0], groups)
        self.conv_out = nn.Conv2d(widths[0], out_channels, 3, padding=1)

    def forward(self, z):
        x = self.mid_block(self.conv_in(z))
        for block in self.up_blocks:
            x = block(x)
        return self.conv_out(swish(self.conv_norm_out(x)))


class Quantize(nn.Module):
    def __init__(self, size, dim):
        super().__init__()
        self.embedding = nn.Embedding(size, dim)


class AmusedDecoder(nn.Module):
    """Token grid [B, n, n] -> image [B, C, 16n, 16n] in [-1, 1]: VQModel.decode with
    lookup_from_codebook, clipped to [0, 1] as AmusedPipeline does, then 2x - 1."""

    def __init__(self, num_vq_embeddings=8192, latent_channels=64, vq_embed_dim=None, out_channels=3,
                 block_out_channels=(128, 256, 256, 512, 768), layers_per_block=2, norm_num_groups=32,
                 mid_block_add_attention=False):
        super().__init__()
        dim = vq_embed_dim or latent_channels
        self.quantize = Quantize(num_vq_embeddings, dim)
        self.post_quant_conv = nn.Conv2d(dim, latent_channels, 1)
        self.decoder = VaeDecoder(latent_channels, out_channels, list(block_out_channels), layers_per_block,
                                  norm_num_groups, mid_block_add_attention)

    def forward(self, tokens):
        z = self.quantize.embedding(tokens).permute(0, 3, 1, 2)
        image = self.decoder(self.post_quant_conv(z))
        return image.clamp(0, 1) * 2 - 1


def decoder_keys_ignored(key):
    """The encoder half of the VQ model, which generation does not use."""
    return key.startswith("encoder.") or key.startswith("quant_conv.")


def decoder_config(config):
    """AmusedDecoder arguments from vqvae/config.json; ValueError for options not implemented."""
    if config.get("_class_name", "VQModel") != "VQModel":
        raise ValueError(f"expected a VQModel, found {config.get('_class_name')}")
    if config.get("norm_type", "group") != "group":
        raise ValueError(f"norm_type {config['norm_type']} is not implemented (only group)")
    if config.get("act_fn", "silu") != "silu":
        raise ValueError(f"act_fn {config['act_fn']} is not implemented (only silu)")
    ups = config.get("up_block_types", ["UpDecoderBlock2D"])
    if any(t != "UpDecoderBlock2D" for t in ups) or len(ups) != len(config.get("block_out_channels", [64])):
        raise ValueError(f"up blocks {ups} are not implemented (UpDecoderBlock2D, one per width)")
    keys = ["num_vq_embeddings", "latent_channels", "vq_embed_dim", "out_channels", "block_out_channels",
            "layers_per_block", "norm_num_groups", "mid_block_add_attention"]
    args = {k: config[k] for k in keys if k in config}
    # VQModel's own defaults where the config is silent (they differ from aMused's values).
    defaults = {"num_vq_embeddings": 256, "latent_channels": 3, "block_out_channels": [64], "layers_per_block": 1,
                "mid_block_add_attention": True}
    return {**defaults, **args}


# --------------------------------------------------------------------------------------------
# CLIPTextModelWithProjection
# --------------------------------------------------------------------------------------------

ACTIVATIONS = {
    "quick_gelu": lambda x: x * torch.sigmoid(1.702 * x),
    "gelu": F.gelu,
    "gelu_new": lambda x: F.gelu(x, approximate="tanh"),
    "gelu_pytorch_tanh": lambda x: F.gelu(x, approximate="tanh"),
}


class ClipAttention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.k_proj, self.v_proj = nn.Linear(dim, dim), nn.Linear(dim, dim)
        self.q_proj, self.out_proj = nn.Linear(dim, dim), nn.Linear(dim, dim)

    def forward(self, x, mask):
        return self.out_proj(attend(self.q_proj(x), self.k_proj(x), self.v_proj(x), self.heads, mask))


class ClipMlp(nn.Module):
    def __init__(self, dim, inner, act):
        super().__init__()
        self.act = ACTIVATIONS[act]
        self.fc1, self.fc2 = nn.Linear(dim, inner), nn.Linear(inner, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class ClipLayer(nn.Module):
    def __init__(self, dim, heads, inner, act, eps):
        super().__init__()
        self.self_attn = ClipAttention(dim, heads)
        self.layer_norm1 = nn.LayerNorm(dim, eps=eps)
        self.mlp = ClipMlp(dim, inner, act)
        self.layer_norm2 = nn.LayerNorm(dim, eps=eps)

    def forward(self, x, mask):
        x = x + self.self_attn(self.layer_norm1(x), mask)
        return x + self.mlp(self.layer_norm2(x))


class ClipEmbeddings(nn.Module):
    def __init__(self, vocab, dim, positions):
        super().__init__()
        self.token_embedding = nn.Embedding(vocab, dim)
        self.position_embedding = nn.Embedding(positions, dim)


class ClipEncoderStack(nn.Module):
    def __init__(self, n, *args):
        super().__init__()
        self.layers = nn.ModuleList(ClipLayer(*args) for _ in range(n))


class ClipTextTransformer(nn.Module):
    def __init__(self, vocab, dim, positions, n, heads, inner, act, eps):
        super().__init__()
        self.embeddings = ClipEmbeddings(vocab, dim, positions)
        self.encoder = ClipEncoderStack(n, dim, heads, inner, act, eps)
        self.final_layer_norm = nn.LayerNorm(dim, eps=eps)


class ClipTextEncoder(nn.Module):
    """CLIPTextModelWithProjection for aMused: forward(input_ids [B, L]) -> (hidden_states
    [B, L, D]: the output of the second-to-last layer, before final_layer_norm; pooled [B, P]:
    text_projection(final_layer_norm(last layer)) at the end-of-text position).

    That position follows transformers 4.44: a config whose eos_token_id is 2 (written before
    transformers fixed it) takes the largest id in the row (argmax); any other eos_token_id
    takes the first position holding that id. With CLIP's vocabulary, where 49407 (end of text)
    is the largest id, both give the first end-of-text token."""

    def __init__(self, vocab_size=49408, hidden_size=768, max_position_embeddings=77, num_hidden_layers=12,
                 num_attention_heads=12, intermediate_size=3072, hidden_act="quick_gelu", layer_norm_eps=1e-5,
                 projection_dim=768, eos_token_id=49407):
        super().__init__()
        if num_hidden_layers < 2:
            raise ValueError("the penultimate hidden state needs at least 2 layers")
        self.eos_token_id = eos_token_id
        self.text_model = ClipTextTransformer(vocab_size, hidden_size, max_position_embeddings, num_hidden_layers,
                                              num_attention_heads, intermediate_size, hidden_act, layer_norm_eps)
        self.text_projection = nn.Linear(hidden_size, projection_dim, bias=False)
        causal = torch.full((max_position_embeddings, max_position_embeddings), float("-inf")).triu(1)
        self.register_buffer("causal", causal, persistent=False)

    def end_positions(self, input_ids):
        # int32 as transformers does: ArgMax over int64 is not in every ONNX runtime's kernels.
        if self.eos_token_id == 2:
            return input_ids.to(torch.int32).argmax(dim=-1)
        return (input_ids == self.eos_token_id).to(torch.int32).argmax(dim=-1)

    def forward(self, input_ids):
        b, n = input_ids.shape
        model = self.text_model
        x = model.embeddings.token_embedding(input_ids) + model.embeddings.position_embedding.weight[:n]
        mask = self.causal[:n, :n]
        layers = model.encoder.layers
        for layer in layers[:-1]:
            x = layer(x, mask)
        hidden_states = x
        last = model.final_layer_norm(layers[-1](x, mask))
        index = self.end_positions(input_ids).reshape(b, 1, 1).expand(b, 1, last.shape[-1])
        pooled = self.text_projection(torch.gather(last, 1, index).reshape(b, -1))
        return hidden_states, pooled


def text_encoder_config(config):
    """ClipTextEncoder arguments from text_encoder/config.json."""
    if config.get("architectures", ["CLIPTextModelWithProjection"])[0] != "CLIPTextModelWithProjection":
        raise ValueError(f"expected CLIPTextModelWithProjection, found {config.get('architectures')}")
    act = config.get("hidden_act", "quick_gelu")
    if act not in ACTIVATIONS:
        raise ValueError(f"hidden_act {act} is not implemented ({', '.join(ACTIVATIONS)})")
    keys = ["vocab_size", "hidden_size", "max_position_embeddings", "num_hidden_layers", "num_attention_heads",
            "intermediate_size", "hidden_act", "layer_norm_eps", "projection_dim", "eos_token_id"]
    return {k: config[k] for k in keys if k in config}


def text_encoder_keys_ignored(key):
    """position_ids: a buffer older transformers saved with the weights (an arange)."""
    return key == "text_model.embeddings.position_ids"


# --------------------------------------------------------------------------------------------
# aMused's configurations (amused-256 / amused-512; the 512 transformer adds down/upsampling)
# --------------------------------------------------------------------------------------------

TRANSFORMER = dict(hidden_size=1024, use_bias=False, cond_embed_dim=768, micro_cond_encode_dim=256,
                   micro_cond_embed_dim=1280, encoder_hidden_size=768, vocab_size=8256, codebook_size=8192,
                   in_channels=768, block_out_channels=768, num_res_blocks=3, downsample=False, upsample=False,
                   block_num_heads=12, num_hidden_layers=22, num_attention_heads=16, intermediate_size=2816,
                   layer_norm_eps=1e-6, ln_elementwise_affine=True, sample_size=16)
VQ = dict(in_channels=3, out_channels=3, down_block_types=["DownEncoderBlock2D"] * 5,
          up_block_types=["UpDecoderBlock2D"] * 5, block_out_channels=[128, 256, 256, 512, 768], layers_per_block=2,
          act_fn="silu", latent_channels=64, sample_size=32, num_vq_embeddings=8192, norm_num_groups=32,
          mid_block_add_attention=False, lookup_from_codebook=True, force_upcast=True)
TEXT = dict(vocab_size=49408, hidden_size=768, intermediate_size=3072, projection_dim=768, num_hidden_layers=12,
            num_attention_heads=12, max_position_embeddings=77, hidden_act="quick_gelu", layer_norm_eps=1e-5)


def transformer_layout(layout, **changes):
    """aMused's transformer config for a 256 or 512 layout, with `changes` applied."""
    big = {"sample_size": 32, "downsample": True, "upsample": True} if layout == 512 else {}
    return {**TRANSFORMER, **big, **changes}
