"""Our PyTorch re-implementation of the Halton-MaskGIT text-to-image transformer (the official
``Network/txt_transformer.py``, whose weights are not published yet), written for inference and
ONNX export (torch 1.13, opset 17, attention spelled out).

``HaltonTextTransformer`` keeps the official parameter names, so a checkpoint's state dict
(after ``halton_v2.clean_state_dict``) loads with ``strict=True``:

* ``tok_emb`` (codebook+1 rows of width c), ``pos_emb`` (grid² rows), ``first_norm``
  (LayerNorm, eps 1e-6), ``in_proj`` (Conv2d c -> hidden, kernel = stride = proj, no bias);
* ``transformer.layers.K``: ``mlp`` (Linear text width -> hidden, then LayerNorm eps 1e-5, on
  the text embeddings, per block), ``ln1`` + ``self_attn.mha``, ``ln2`` + ``cross_attn.mha``
  (queries from the image tokens, keys/values from the projected text), ``ln3`` + ``ff.net``
  (Linear, tanh-GELU, Linear); the attentions carry nn.MultiheadAttention's names
  (``in_proj_weight`` [3·hidden, hidden], ``in_proj_bias``, ``out_proj``); block norms eps 1e-6;
* ``out_proj.0`` (1x1 Conv2d hidden -> c·proj², then PixelShuffle(proj)), ``last_norm``
  (LayerNorm eps 1e-6), and ``bias`` [1, 1, codebook+1]: logits = last_norm(x) · tok_embᵀ + bias.

Export contract (format 2, /work/contract/format2.md): ``forward(tokens, text)`` with
``tokens`` int64 [B, N] (N = grid², the grid flattened row-major, masked = codebook_size) and
``text`` float32 [B, L, D] (the paper: T5-XL hidden states, L = 120, D = 2048) returns
``logits`` float32 [B, N, codebook_size + 1]. The official forward takes a ``drop_label`` [B]
and replaces a dropped row's text by zeros before anything else; here the null condition is
simply an all-zero ``text`` row (manifest ``text.null: "zeros"``), which the runtime passes for
the unconditional half of guidance, so the graph has no drop_label input.

``transformer_config(state)`` reads the constructor arguments from tensor shapes; the head
count is invisible in shapes and comes from halton_v2.SIZES by (hidden, depth) unless given.

Not done here (no text encoder for it exists in this project: T5-XL is not available): a
converter for published weights would add a T5(-XL) encoder exported to ONNX as
``text_encoder.onnx`` (``input_ids`` [B, L] -> ``hidden_states`` [B, L, 2048], the encoder's
last hidden state; no ``pooled``), the T5 tokenizer as ``tokenizer.json`` (bos null, eos and
pad from it, L = 120), ``text.null: "zeros"``, no ``microConds``, and the LlamaGen decoder as
for v2 (halton_v2.LlamaGenDecoder).

Running this file performs a self-check: tiny random models (proj 1 and 2) have their
config recovered from shapes, a batch's rows are computed independently (a zero text row
beside a real one), and they export to ONNX (dynamic batch) and pass onnx.checker.
Numerical parity with the official module: scripts/convert/halton_txt_parity.py. The exported
graphs (these self-check shapes, a zero text row in the batch) were also run once in ONNX Runtime
1.30 (onnxruntime-node, 2026-11-29): max |ORT - torch| / max |torch| 4.07e-07 (proj 1) and
4.15e-07 (proj 2).
"""

from __future__ import annotations

import math
from typing import Dict, Optional

import torch
import torch.nn.functional as F
from torch import nn

from amused import attend
from halton_v2 import SIZES, _shape, subpositions_to_tokens, tokens_to_grid
from vq_layers import count_indexed

_BLOCK_EPS = 1e-6  # first_norm, ln1..ln3, last_norm
_TEXT_NORM_EPS = 1e-5  # the LayerNorm after each block's text projection (torch's default)


class _MultiHead(nn.Module):
    """nn.MultiheadAttention's parameters (same embedding width for q, k, v; biases; no
    bias_k/bias_v), attention written out; keys and values from `context` when given."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        if dim % heads:
            raise ValueError(f"width {dim} is not divisible by {heads} heads")
        self.heads = heads
        self.dim = dim
        self.in_proj_weight = nn.Parameter(torch.zeros(3 * dim, dim))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * dim))
        self.out_proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, context: Optional[torch.Tensor] = None) -> torch.Tensor:
        d = self.dim
        w, b = self.in_proj_weight, self.in_proj_bias
        if context is None:
            q, k, v = F.linear(x, w, b).chunk(3, dim=-1)
        else:
            q = F.linear(x, w[:d], b[:d])
            k, v = F.linear(context, w[d:], b[d:]).chunk(2, dim=-1)
        return self.out_proj(attend(q, k, v, self.heads))


class _AttentionWrapper(nn.Module):
    """The official block holds its attention one level down, as ``<name>.mha``."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.mha = _MultiHead(dim, heads)

    def forward(self, x: torch.Tensor, context: Optional[torch.Tensor] = None) -> torch.Tensor:
        return self.mha(x, context)


class _FeedForward(nn.Module):
    """``net.0`` Linear, tanh-approximated GELU, ``net.3`` Linear (indices 2 and 4 are the
    official dropouts, parameter-free, kept as identities so the names line up)."""

    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(approximate="tanh"), nn.Identity(),
                                 nn.Linear(hidden, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class _TextBlock(nn.Module):
    def __init__(self, dim: int, text_dim: int, heads: int, mlp_dim: int):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(text_dim, dim), nn.LayerNorm(dim, eps=_TEXT_NORM_EPS))
        self.ln1 = nn.LayerNorm(dim, eps=_BLOCK_EPS)
        self.self_attn = _AttentionWrapper(dim, heads)
        self.ln2 = nn.LayerNorm(dim, eps=_BLOCK_EPS)
        self.cross_attn = _AttentionWrapper(dim, heads)
        self.ln3 = nn.LayerNorm(dim, eps=_BLOCK_EPS)
        self.ff = _FeedForward(dim, mlp_dim)

    def forward(self, x: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        context = self.mlp(text)
        x = x + self.self_attn(self.ln1(x))
        x = x + self.cross_attn(self.ln2(x), context)
        return x + self.ff(self.ln3(x))


class _BlockStack(nn.Module):
    def __init__(self, dim: int, text_dim: int, depth: int, heads: int, mlp_dim: int):
        super().__init__()
        self.layers = nn.ModuleList(_TextBlock(dim, text_dim, heads, mlp_dim) for _ in range(depth))

    def forward(self, x: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x, text)
        return x


class HaltonTextTransformer(nn.Module):
    """Text-conditioned masked token predictor; see the module docstring for the contract.

    c is the token-embedding width (tied with the output), hidden_dim the blocks' width;
    proj > 1 merges proj x proj token patches before the blocks and splits them after.
    """

    def __init__(self, input_size: int, c: int, hidden_dim: int, cond_dim: int, codebook_size: int,
                 depth: int, heads: int, mlp_dim: int, proj: int = 1):
        super().__init__()
        if input_size % proj:
            raise ValueError(f"input_size {input_size} not divisible by proj {proj}")
        self.input_size = input_size
        self.c = c
        self.hidden_dim = hidden_dim
        self.codebook_size = codebook_size
        self.proj = proj

        self.tok_emb = nn.Embedding(codebook_size + 1, c)
        self.pos_emb = nn.Embedding(input_size * input_size, c)
        self.first_norm = nn.LayerNorm(c, eps=_BLOCK_EPS)
        self.in_proj = nn.Conv2d(c, hidden_dim, kernel_size=proj, stride=proj, bias=False)
        self.transformer = _BlockStack(hidden_dim, cond_dim, depth, heads, mlp_dim)
        # index 1 is the official PixelShuffle (no parameters); done by subpositions_to_tokens
        self.out_proj = nn.Sequential(nn.Conv2d(hidden_dim, c * proj * proj, kernel_size=1, bias=False))
        self.last_norm = nn.LayerNorm(c, eps=_BLOCK_EPS)
        self.bias = nn.Parameter(torch.zeros(1, 1, codebook_size + 1))

    def forward(self, tokens: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        n, p = self.input_size, self.proj
        x = self.first_norm(self.tok_emb(tokens) + self.pos_emb.weight.unsqueeze(0))  # (B, n*n, c)

        if p == 1:  # 1x1 convolutions are matrix products on position-major tokens
            x = F.linear(x, self.in_proj.weight.flatten(1))
        else:
            x = self.in_proj(tokens_to_grid(x, n)).flatten(2).transpose(1, 2)  # (B, m*m, hidden)

        x = self.transformer(x, text)

        if p == 1:
            x = F.linear(x, self.out_proj[0].weight.flatten(1))
        else:
            grid = self.out_proj[0](tokens_to_grid(x, n // p))  # (B, c*p*p, m, m)
            x = subpositions_to_tokens(grid, self.c, p)  # (B, n*n, c)

        return torch.matmul(self.last_norm(x), self.tok_emb.weight.t()) + self.bias


def _transformer_shapes(state_dict: Dict[str, torch.Tensor]) -> dict:
    """Everything transformer_config returns except ``heads``."""
    sd = state_dict
    tok = _shape(sd, "tok_emb.weight")
    codebook_size, c = tok[0] - 1, tok[1]
    n_pos = _shape(sd, "pos_emb.weight")[0]
    input_size = int(round(math.sqrt(n_pos)))
    if input_size * input_size != n_pos:
        raise ValueError(f"pos_emb.weight has {n_pos} rows, not a square token grid")
    hidden_dim, c_in, proj, proj_w = _shape(sd, "in_proj.weight")
    if c_in != c or proj != proj_w:
        raise ValueError(f"in_proj.weight shape {[hidden_dim, c_in, proj, proj_w]} does not fit "
                         f"token width {c} with a square patch")
    out = _shape(sd, "out_proj.0.weight")
    if out != [c * proj * proj, hidden_dim, 1, 1]:
        raise ValueError(f"out_proj.0.weight shape {out}, expected {[c * proj * proj, hidden_dim, 1, 1]}")
    if _shape(sd, "bias") != [1, 1, codebook_size + 1]:
        raise ValueError(f"bias shape {_shape(sd, 'bias')}, expected {[1, 1, codebook_size + 1]}")
    depth = count_indexed(sd, "transformer.layers")
    if depth == 0:
        raise ValueError("no transformer.layers.* keys")
    cond_dim = _shape(sd, "transformer.layers.0.mlp.0.weight")[1]
    mlp_dim = _shape(sd, "transformer.layers.0.ff.net.0.weight")[0]
    return dict(input_size=input_size, c=c, hidden_dim=hidden_dim, cond_dim=cond_dim,
                codebook_size=codebook_size, depth=depth, mlp_dim=mlp_dim, proj=proj)


def transformer_config(state_dict: Dict[str, torch.Tensor], heads: Optional[int] = None) -> dict:
    """HaltonTextTransformer constructor arguments from tensor shapes. ``heads`` is not visible
    in any shape: unless given, it is the head count of the halton_v2.SIZES entry with the same
    (hidden_dim, depth) (the official example, 1024 wide and 24 deep, is "large": 16 heads).
    Raises ValueError when nothing matches."""
    cfg = _transformer_shapes(state_dict)
    if heads is None:
        for spec in SIZES.values():
            if spec["hidden_dim"] == cfg["hidden_dim"] and spec["depth"] == cfg["depth"]:
                heads = spec["heads"]
                break
    if heads is None:
        known = ", ".join(f"{n}=(hidden {s['hidden_dim']}, depth {s['depth']})" for n, s in SIZES.items())
        raise ValueError(f"no known size for hidden_dim={cfg['hidden_dim']} (in_proj.weight) and "
                         f"depth={cfg['depth']}; the head count cannot be read from shapes. Known: {known}")
    if cfg["hidden_dim"] % heads:
        raise ValueError(f"hidden_dim {cfg['hidden_dim']} is not divisible by {heads} heads")
    cfg["heads"] = heads
    return cfg


# --------------------------------------------------------------------------------------------
# Self-check
# --------------------------------------------------------------------------------------------

def _selfcheck() -> None:
    import onnx

    from random_checkpoints import randomize

    torch.set_num_threads(1)
    cases = [
        dict(input_size=8, c=48, hidden_dim=64, cond_dim=40, codebook_size=50, depth=2, heads=4,
             mlp_dim=128, proj=1),
        dict(input_size=8, c=48, hidden_dim=64, cond_dim=40, codebook_size=50, depth=1, heads=4,
             mlp_dim=128, proj=2),
    ]
    for i, cfg in enumerate(cases):
        model = randomize(HaltonTextTransformer(**cfg), i).eval()
        sd = model.state_dict()
        assert transformer_config(sd, heads=cfg["heads"]) == cfg, transformer_config(sd, heads=cfg["heads"])
        try:  # toy sizes are not in SIZES: the head count must be refused clearly
            transformer_config(sd)
        except ValueError:
            pass
        else:
            raise AssertionError("expected ValueError for an unknown size")
        n = cfg["input_size"] ** 2
        tokens = torch.randint(0, cfg["codebook_size"] + 1, (2, n))
        text = torch.randn(2, 7, cfg["cond_dim"])
        text[1] = 0.0  # an unconditional row
        with torch.no_grad():
            logits = model(tokens, text)
            alone = model(tokens[1:], text[1:])
        assert logits.shape == (2, n, cfg["codebook_size"] + 1), logits.shape
        assert torch.allclose(logits[1:], alone, atol=1e-5), "rows are not independent"
        path = f"/tmp/halton_txt_selfcheck_p{cfg['proj']}.onnx"
        torch.onnx.export(model, (tokens, text), path, opset_version=17, input_names=["tokens", "text"],
                          output_names=["logits"],
                          dynamic_axes={"tokens": {0: "batch"}, "text": {0: "batch"}, "logits": {0: "batch"}})
        onnx.checker.check_model(onnx.load(path))
        print(f"text transformer proj={cfg['proj']}: {path} OK")

    # the official example's shapes (construction only, 1 layer): config incl. heads recovered
    real = dict(input_size=32, c=1024, hidden_dim=1024, cond_dim=2048, codebook_size=16384, depth=24,
                heads=16, mlp_dim=4096, proj=2)
    one = dict(real, depth=1)
    sd = dict(HaltonTextTransformer(**one).state_dict())
    for k in range(1, 24):  # the other layers' keys, sharing the first layer's tensors
        sd.update({key.replace("layers.0.", f"layers.{k}.", 1): v for key, v in sd.items()
                   if key.startswith("transformer.layers.0.")})
    assert transformer_config(sd) == real, transformer_config(sd)
    print("OK")


if __name__ == "__main__":
    _selfcheck()
