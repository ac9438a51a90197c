#!/usr/bin/python3
"""PyTorch reference for `deno task bench`: the Halton sampling procedure (the paper's order from
src/tables, arccos counts, guidance as one batch of 2B rows, tempered softmax sampling at the
step's positions, then the VQ decode) run with PyTorch modules on the same weights as a folder,
on the same machine. Prints JSON: per-image wall time (median over runs after a warm-up) and the
time in transformer forwards. With --write DIR it instead makes one batch with no warm-up and
writes its PNGs, so that the whole process can be timed from outside (scripts/bench_whole.sh).

    /usr/bin/python3 scripts/bench_torch.py --family v2|v1 --transformer CKPT --tokenizer CKPT \\
        [--steps 32] [--batch 1] [--runs 3] [--cfg 2] [--heads N] [--write DIR]
    /usr/bin/python3 scripts/bench_torch.py --family glyphs --folder models/glyphs [...]
    /usr/bin/python3 scripts/bench_torch.py --family amused --checkpoint PIPELINE_DIR [...]

v2, v1 and amused use the converter's modules on the checkpoints a folder was converted from;
glyphs uses the training modules (scripts/train/common.py) with the weights read back from the
folder's own ONNX files, checked against its reference.json before timing. For aMused, each
image's prompt goes through the text encoder inside the timed run; the empty prompt (the null
condition) is encoded once beforehand, as the runtime encodes it once per loaded model.
"""

import argparse
import json
import math
import os
import statistics
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "convert"))

import convert  # noqa: E402  (scripts/convert.py: reading and strict loading)
import halton_v2  # noqa: E402
import maskgit_v1  # noqa: E402
from model_folder import load_from_onnx  # noqa: E402
from positions import load_onnx  # noqa: E402


def halton_positions(grid):
    with open(os.path.join(HERE, "..", "src", "tables", f"halton-{grid}.json")) as f:
        return torch.tensor([r * grid + c for r, c in json.load(f)["order"]])


def counts(tokens, steps):
    """Cumulative tokens known after each step (the paper's arccos schedule)."""
    known = [max(math.floor((1 - math.acos((s + 1) / steps) / (math.pi / 2)) * tokens), s + 1)
             for s in range(steps)]
    known[-1] = tokens
    return known


@torch.no_grad()
def generate(transformer, decoder, grid, codebook, mask_id, b, steps, cfg, temperature, order):
    """One batch of b images; transformer(tokens [2b, N]) -> logits, conditional rows first.
    Returns the seconds spent in transformer forwards and the images [b, C, H, W] in [-1, 1]."""
    n = grid * grid
    state = torch.full((b, n), mask_id, dtype=torch.long)
    forward = 0.0
    previous = 0
    for step, known in enumerate(counts(n, steps)):
        positions = order[previous:known]
        previous = known
        start = time.perf_counter()
        logits = transformer(torch.cat([state, state]))
        forward += time.perf_counter() - start
        logits = logits[:, positions, :codebook]
        guided = (1 + cfg) * logits[:b] - cfg * logits[b:]
        probs = torch.softmax(guided / temperature, dim=-1)
        state[:, positions] = torch.multinomial(probs.reshape(-1, codebook), 1).reshape(b, -1)
    return forward, decoder(state.reshape(b, grid, grid))


def write_pngs(images, folder):
    """Images [B, C, H, W] in [-1, 1] as FOLDER/0.png, 1.png, ... (8-bit, as the runtime rounds)."""
    from PIL import Image

    os.makedirs(folder, exist_ok=True)
    pixels = ((images.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
    for i, picture in enumerate(pixels):
        Image.fromarray(picture.squeeze(-1) if picture.shape[-1] == 1 else picture).save(
            os.path.join(folder, f"{i}.png"))


def class_forward(transformer, classes, batch):
    """A class model's transformer on 2b rows: labels cycled, the second half dropped."""
    labels = torch.arange(batch) % classes
    both = torch.cat([labels, labels])
    drop = torch.cat([torch.zeros(batch, dtype=torch.bool), torch.ones(batch, dtype=torch.bool)])
    return lambda tokens: transformer(tokens, both, drop)


def amused_run(args):
    """aMused's modules from the pipeline folder, and a run function that encodes each image's
    prompt (the runtime's bench prompts, in turn) and samples with the Halton procedure."""
    from clip_tokenizer import encoder_from_tokenizer_json, runtime_ids  # noqa: E402

    text_encoder, transformer, decoder, manifest, tokenizer = convert.read_amused(args.checkpoint)
    for module in (text_encoder, transformer, decoder):
        module.eval()
    text = manifest["text"]
    encode = encoder_from_tokenizer_json(tokenizer).encode
    ids = lambda prompts: torch.tensor([  # noqa: E731
        runtime_ids(encode(p), text["length"], text["bos"], text["eos"], text["pad"]) for p in prompts])
    with torch.no_grad():
        null_hidden, null_pooled = text_encoder(ids([""]))
    micro = torch.tensor([manifest["microConds"]] * (2 * args.batch), dtype=torch.float32)
    prompts = [BENCH_PROMPTS[i % len(BENCH_PROMPTS)] for i in range(args.batch)]
    grid, codebook, mask_id = manifest["grid"], manifest["codebookSize"], manifest["maskId"]
    order = halton_positions(grid)

    def run():
        with torch.no_grad():
            hidden, pooled = text_encoder(ids(prompts))
        b = args.batch
        both_hidden = torch.cat([hidden, null_hidden.expand(b, -1, -1)])
        both_pooled = torch.cat([pooled, null_pooled.expand(b, -1)])
        forward = lambda tokens: transformer(tokens, both_hidden, both_pooled, micro)  # noqa: E731
        return generate(forward, decoder, grid, codebook, mask_id, b, args.steps, args.cfg,
                        args.temperature, order)
    return run


# The prompts src/bench.ts gives a text model, in the same order.
BENCH_PROMPTS = ["a red apple", "a smiling face", "a cat on a sofa", "a flag"]


def official_modules(args):
    """The converter's modules on the official checkpoints: transformer, decoder, grid,
    codebook size, number of classes."""
    family = halton_v2 if args.family == "v2" else maskgit_v1
    t_state = convert.read_state(args.transformer, "model_state_dict", "transformer")
    d_state = convert.read_state(args.tokenizer, "model" if args.family == "v2" else "state_dict", "tokenizer")
    t_config = family.transformer_config(t_state, **({"heads": args.heads} if args.heads else {}))
    d_config = family.decoder_config(d_state)
    if args.family == "v2":
        transformer_class, decoder_class = halton_v2.HaltonTransformer, halton_v2.LlamaGenDecoder
    else:
        transformer_class, decoder_class = maskgit_v1.MaskGitV1Transformer, maskgit_v1.TamingDecoder
    transformer = convert.load_strict(transformer_class(**t_config), t_state, args.transformer)
    decoder = convert.load_strict(decoder_class(**d_config), d_state, args.tokenizer, family.decoder_keys_ignored)
    grid = t_config.get("input_size") or t_config["grid_size"]
    return transformer, decoder, grid, t_config["codebook_size"], t_config["nclass"]


def glyph_modules(args):
    """The glyph model's training modules with the folder's ONNX weights, checked against the
    folder's reference.json (a wrong --heads or a stale folder fails here, not in the timing)."""
    sys.path.insert(0, os.path.join(HERE, "train"))
    from common import MaskGIT, TokenDecoder, VQ  # noqa: E402
    from export import affine_layer_norms  # noqa: E402

    with open(os.path.join(args.folder, "model.json")) as f:
        manifest = json.load(f)
    with open(os.path.join(args.folder, "reference.json")) as f:
        reference = json.load(f)
    paths = {k: os.path.join(args.folder, v) for k, v in manifest["files"].items()}
    names = {i.name: list(i.dims) for i in load_onnx(paths["transformer"]).graph.initializer}
    depth = len({name.split(".")[1] for name in names if name.startswith("blocks.")})
    transformer = MaskGIT(len(manifest["classes"]), names["norm.weight"][0], depth, args.heads or 4)
    decoder = TokenDecoder(VQ())
    for module, path in [(transformer, paths["transformer"]), (decoder, paths["decoder"])]:
        affine_layer_norms(module)  # as exported: LayerNorms with weight 1, bias 0
        load_from_onnx(module, path)
        module.eval()
    r = reference["transformer"]
    with torch.no_grad():
        outputs = {
            "transformer": transformer(torch.tensor(r["tokens"]), torch.tensor(r["labels"]),
                                       torch.tensor(r["drop_label"])),
            "decoder": decoder(torch.tensor(reference["decoder"]["tokens"])),
        }
    for what, key in [("transformer", "logits"), ("decoder", "image")]:
        recorded = reference[what][key]
        got = outputs[what].reshape(-1)[::recorded["stride"]]
        error = (got - torch.tensor(recorded["values"])).abs().max() / got.abs().max()
        if error > 1e-4:
            sys.exit(f"error: {paths[what]}: PyTorch with the weights read back differs from "
                     f"reference.json by {error:.1e} (relative); wrong --heads?")
    return transformer, decoder, manifest["grid"], manifest["codebookSize"], len(manifest["classes"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--family", required=True, choices=["v2", "v1", "glyphs", "amused"])
    parser.add_argument("--checkpoint", help="amused: the diffusers pipeline folder")
    parser.add_argument("--transformer", help="v2/v1: the official transformer checkpoint")
    parser.add_argument("--tokenizer", help="v2/v1: the official tokenizer checkpoint")
    parser.add_argument("--folder", help="glyphs: the model folder")
    parser.add_argument("--steps", type=int, default=32)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cfg", type=float, default=2.0)
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--heads", type=int)
    parser.add_argument("--write", metavar="DIR", help="one batch, no warm-up, its PNGs written to DIR")
    args = parser.parse_args()
    torch.set_num_threads(len(os.sched_getaffinity(0)))
    torch.manual_seed(0)
    if args.family == "glyphs" and not args.folder:
        parser.error("--family glyphs needs --folder")
    if args.family == "amused" and not args.checkpoint:
        parser.error("--family amused needs --checkpoint")
    if args.family in ("v2", "v1") and not (args.transformer and args.tokenizer):
        parser.error(f"--family {args.family} needs --transformer and --tokenizer")
    if args.family == "amused":
        run = amused_run(args)
    else:
        modules = glyph_modules if args.family == "glyphs" else official_modules
        transformer, decoder, grid, codebook, classes = modules(args)
        forward = class_forward(transformer, classes, args.batch)
        order = halton_positions(grid)
        run = lambda: generate(forward, decoder, grid, codebook, codebook, args.batch,  # noqa: E731
                               args.steps, args.cfg, args.temperature, order)
    if args.write:
        write_pngs(run()[1], args.write)
        return
    run()  # warm-up
    totals, forwards = [], []
    for _ in range(args.runs):
        start = time.perf_counter()
        forwards.append(run()[0])
        totals.append(time.perf_counter() - start)
    print(json.dumps({
        "msPerImage": 1000 * statistics.median(totals) / args.batch,
        "forwardMsPerImage": 1000 * statistics.median(forwards) / args.batch,
        "batch": args.batch, "steps": args.steps, "runs": args.runs, "torch": torch.__version__,
        "threads": torch.get_num_threads(),
    }))


if __name__ == "__main__":
    main()
