"""Random-weight checkpoints in the official file layouts, for the converter's parity tests and
for measuring the official shapes without the real weights (which the hub would give).

    /usr/bin/python3 scripts/convert/random_checkpoints.py --family v2|v1 --grid 16 --out DIR
        [--size toy|tiny|small|base|large]

Writes DIR/transformer.pth and DIR/tokenizer.pth: v2 as {"model_state_dict", "iter",
"global_epoch"} and LlamaGen's {"model"}; v1 as {"model_state_dict"} and taming's Lightning
{"state_dict"} (with a loss.* entry, which the converter must set aside). "toy" is a few-layer
width-64 transformer and a small decoder, quick enough for CI.
"""

import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import halton_v2  # noqa: E402
import maskgit_v1  # noqa: E402

TOY_CODEBOOK = 64


def randomize(module, seed):
    """Every parameter drawn afresh (zero-initialised conditioning layers too), scaled to keep
    activations in range, so that every path of the graph matters."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in module.parameters():
            fan_in = parameter[0].numel() if parameter.dim() > 1 else 1
            scale = 0.5 if parameter.dim() == 1 else 0.5 / fan_in ** 0.5
            parameter.copy_(torch.randn(parameter.shape, generator=generator) * scale)
    return module


def v2(grid, size):
    if size == "toy":
        transformer = halton_v2.HaltonTransformer(grid, 64, TOY_CODEBOOK, 2, 4, 256, nclass=1000)
        decoder = halton_v2.LlamaGenDecoder(codebook_size=TOY_CODEBOOK, embed_dim=8, z_channels=32, ch=32,
                                            ch_mult=[1, 1, 2, 2, 4], num_res_blocks=1)
    else:
        transformer = halton_v2.HaltonTransformer(grid, codebook_size=16384, nclass=1000, **halton_v2.SIZES[size])
        decoder = halton_v2.LlamaGenDecoder()
    t_state = randomize(transformer, 1).state_dict()
    d_state = dict(randomize(decoder, 2).state_dict())
    d_state["encoder.conv_in.weight"] = torch.zeros(1)  # the encoder the converter leaves out
    return {"model_state_dict": t_state, "iter": 0, "global_epoch": 0}, {"model": d_state}


def v1(grid, size):
    if size == "toy":
        transformer = maskgit_v1.MaskGitV1Transformer(grid, 64, TOY_CODEBOOK, 2, 4, 256, nclass=1000)
        decoder = maskgit_v1.TamingDecoder(n_embed=TOY_CODEBOOK, embed_dim=16, ch=32, num_res_blocks=1, z_channels=32)
    else:  # the released 256 and 512 models share one width; the grid sets the rest
        transformer = maskgit_v1.MaskGitV1Transformer(grid)
        decoder = maskgit_v1.TamingDecoder()
    d_state = dict(randomize(decoder, 2).state_dict())
    d_state["loss.discriminator.main.0.weight"] = torch.zeros(1)  # Lightning keeps the GAN loss
    d_state["encoder.conv_in.weight"] = torch.zeros(1)
    return {"model_state_dict": randomize(transformer, 1).state_dict()}, {"state_dict": d_state}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--family", required=True, choices=["v2", "v1"])
    parser.add_argument("--grid", type=int, default=16)
    parser.add_argument("--size", default="toy", choices=["toy", *halton_v2.SIZES],
                        help="v2: an official size; v1: anything but toy means the released width")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    torch.set_num_threads(len(os.sched_getaffinity(0)))
    os.makedirs(args.out, exist_ok=True)
    transformer, tokenizer = (v2 if args.family == "v2" else v1)(args.grid, args.size)
    torch.save(transformer, os.path.join(args.out, "transformer.pth"))
    torch.save(tokenizer, os.path.join(args.out, "tokenizer.pth"))
    print(args.out)


if __name__ == "__main__":
    main()
