"""Layers of the convolutional VQ decoders that both official tokenizers use (taming's VQGAN
for v1.0, LlamaGen's VQ-16 for v2): they share these layers and parameter names, and differ
only in how the layers are arranged and named above them."""

import re

import torch
import torch.nn.functional as F
from torch import nn


def count_indexed(state_dict, prefix: str) -> int:
    """How many consecutive list entries `prefix.0.`, `prefix.1.`, … a state dict holds;
    ValueError when the indices do not run 0..N-1."""
    pattern = re.compile(re.escape(prefix) + r"\.(\d+)\.")
    found = {int(m.group(1)) for key in state_dict for m in [pattern.match(key)] if m}
    if found != set(range(len(found))):
        raise ValueError(f"{prefix} indices are not 0..N-1: {sorted(found)}")
    return len(found)


class Codebook(nn.Module):
    """The VQ codebook as checkpoints name it: `quantize.embedding.weight`."""

    def __init__(self, size: int, dim: int):
        super().__init__()
        self.embedding = nn.Embedding(size, dim)


class GroupNorm(nn.Module):
    """GroupNorm with 32 groups and eps 1e-6 (parameters `weight`, `bias`, as nn.GroupNorm).
    The variance is computed in two passes: torch 1.13 exports nn.GroupNorm through ONNX
    InstanceNormalization, which ONNX Runtime evaluates less exactly (1e-3 off after a deep
    decoder in our tests); mean and centred square keep it at the 1e-6 level."""

    def __init__(self, channels: int, groups: int = 32, eps: float = 1e-6):
        super().__init__()
        self.groups, self.eps = groups, eps
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        g = x.reshape(b, self.groups, -1)
        centred = g - g.mean(dim=-1, keepdim=True)
        normed = centred * torch.rsqrt(centred.pow(2).mean(dim=-1, keepdim=True) + self.eps)
        return normed.reshape(b, c, h, w) * self.weight[:, None, None] + self.bias[:, None, None]


def swish(x: torch.Tensor) -> torch.Tensor:
    return x * torch.sigmoid(x)


class ResBlock(nn.Module):
    """Norm-swish-conv twice; a 1x1 convolution on the skip path when the width changes."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.norm1 = GroupNorm(c_in)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.norm2 = GroupNorm(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)
        self.nin_shortcut = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv2(swish(self.norm2(self.conv1(swish(self.norm1(x))))))
        return (x if self.nin_shortcut is None else self.nin_shortcut(x)) + h


class SpatialAttention(nn.Module):
    """Single-head self-attention over the pixels of a feature map, residual."""

    def __init__(self, channels: int):
        super().__init__()
        self.scale = float(channels) ** -0.5
        self.norm = GroupNorm(channels)
        self.q = nn.Conv2d(channels, channels, 1)
        self.k = nn.Conv2d(channels, channels, 1)
        self.v = nn.Conv2d(channels, channels, 1)
        self.proj_out = nn.Conv2d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        t = self.norm(x)
        q, k, v = (layer(t).reshape(b, c, -1) for layer in (self.q, self.k, self.v))
        weights = torch.softmax(torch.matmul(q.transpose(1, 2), k) * self.scale, dim=-1)  # [B, P, P]
        return x + self.proj_out(torch.matmul(v, weights.transpose(1, 2)).reshape(b, c, h, w))


class Upsample(nn.Module):
    """Nearest-neighbour 2x, then a 3x3 convolution."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class Level(nn.Module):
    """One resolution: residual blocks (each followed by attention when asked), then an
    optional upsample. `blocks` names the block list as the checkpoint does ("block" in
    taming, "res" in LlamaGen)."""

    def __init__(self, c_in: int, c_out: int, n_blocks: int, with_attn: bool, upsample: bool,
                 blocks: str = "block"):
        super().__init__()
        self._blocks = blocks
        setattr(self, blocks, nn.ModuleList(ResBlock(c_in if i == 0 else c_out, c_out) for i in range(n_blocks)))
        self.attn = nn.ModuleList(SpatialAttention(c_out) for _ in range(n_blocks if with_attn else 0))
        self.upsample = Upsample(c_out) if upsample else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i, block in enumerate(getattr(self, self._blocks)):
            x = block(x)
            if len(self.attn):
                x = self.attn[i](x)
        return x if self.upsample is None else self.upsample(x)
