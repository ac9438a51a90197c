#!/usr/bin/python3
"""Exports the trained emoji model to models/emoji/ as a format 2 (text-to-image) folder
(/work/contract/format2.md): model.json, text_encoder.onnx, transformer.onnx (EMA weights),
decoder.onnx, tokenizer.json and reference.json, written by scripts/model_folder.py's
write_text_folder, the same function the aMused converter uses, plus README.md with the
artwork's licences and attribution.

    /usr/bin/python3 scripts/train/emoji/export.py [--out models/emoji] [--weights ema|model]
"""

import argparse
import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
from model_folder import write_text_folder  # noqa: E402

from common import GRID, RUNS, MaskGIT, TextEncoder, TokenDecoder, load_meta, load_vq, setup  # noqa: E402
from text import BOS, EOS, PAD, Words, load_tokenizer  # noqa: E402

MAX_BYTES = 45 * 1024 * 1024


def affine_layer_norms(module):
    """torch 1.13 exports a LayerNorm without weights as an invalid ONNX node: give each one
    weight 1 and bias 0, which computes the same thing (as the glyph exporter does)."""
    for name, child in module.named_children():
        if isinstance(child, torch.nn.LayerNorm) and not child.elementwise_affine:
            setattr(module, name, torch.nn.LayerNorm(child.normalized_shape, eps=child.eps))
        else:
            affine_layer_norms(child)


def readme(meta, manifest, result, vocab):
    sets = meta["sets"]
    lines = [
        "# emoji: a text-to-image MaskGIT trained here on freely licensed emoji", "",
        manifest["description"], "",
        "Trained from scratch on this project's CPUs by `scripts/train/emoji/run.sh`; the artwork is fetched from",
        "the npm registry and rendered by `scripts/train/emoji/data.py` (nothing of it is stored in the repository).", "",
        "## Training artwork and its licences", "",
        "| set | role | images | licence | attribution |", "| --- | --- | ---: | --- | --- |",
    ]
    for name in meta["set_order"]:
        s = sets[name]
        role = "held out (evaluation only)" if s["split"] == "held out" else "training"
        lines.append(f"| {s['artwork']} | {role} | {s['images']} | {s['license']} | {s['attribution']} |")
    lines += [
        "",
        f"The weights were trained on the training sets only; {meta['held_out']} was never shown to the model. "
        "Captions: CLDR short names and keywords (Unicode CLDR, via OpenMoji's data file), Unicode names, short codes "
        "and categories from emoji-datasource (MIT).", "",
        "## Tokenizer and VQ", "",
        f"- VQ: 64x64 RGB -> 16x16 tokens, {manifest['codebookSize']} codes; held-out PSNR {result['held_out']['psnr']} dB, "
        f"{result['held_out']['codes_used']} codes used on the held-out set.",
        f"- Text: word-level tokenizer.json ({vocab} entries), text encoder width "
        f"{manifest['text']['width']}, {manifest['text']['length']} ids per prompt.", "",
        "## eval/", "",
        "Written by `scripts/train/emoji/classifier.py`: the retrieval classifier of `deno task eval` (trained on the "
        f"training sets) and two sheets of real images. `eval/held-out.png` shows {meta['held_out']} artwork, "
        f"unchanged but for the 64x64 rendering: {sets[meta['held_out']]['attribution']}. "
        "`eval/train-sample.png` shows training-set artwork under the licences above.", "",
    ]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=os.path.join(ROOT, "models", "emoji"))
    parser.add_argument("--weights", choices=["ema", "model"], default="ema",
                        help="the EMA average (shipped) or the raw weights (for a look mid-training)")
    args = parser.parse_args()
    out = os.path.normpath(args.out)
    setup()
    torch.manual_seed(0)
    meta = load_meta()
    tokenizer = load_tokenizer()
    vq_state = torch.load(os.path.join(RUNS, "vq.pt"))
    vq = load_vq()
    state = torch.load(os.path.join(RUNS, "transformer.pt"))
    config = state["config"]
    text_encoder = TextEncoder(config["vocab"], config["text_dim"], config["text_depth"], config["heads"],
                               config["length"], PAD)
    transformer = MaskGIT(config["dim"], config["depth"], config["heads"], config["text_dim"], codebook=config["codebook"])
    text_encoder.load_state_dict({k[len("text_encoder."):]: v for k, v in state[args.weights].items()
                                  if k.startswith("text_encoder.")})
    transformer.load_state_dict({k[len("transformer."):]: v for k, v in state[args.weights].items()
                                 if k.startswith("transformer.")})
    affine_layer_norms(transformer)
    decoder = TokenDecoder(vq)
    for m in (text_encoder, transformer, decoder):
        m.eval()

    train_sets = [n for n in meta["set_order"] if n != meta["held_out"]]
    params = sum(p.numel() for m in (text_encoder, transformer) for p in m.parameters())
    result = vq_state["result"]
    manifest = {
        "name": "emoji",
        "task": "text-to-image",
        "description": f"Text-to-image MaskGIT ({params / 1e6:.1f} M parameters with its text encoder) trained here on "
                       f"{meta['train']['images']} emoji images ({meta['train']['emoji']} emoji incl. skin tones) from "
                       f"{', '.join(meta['sets'][n]['artwork'].split(',')[0] for n in train_sets)}; 64x64 RGB through a "
                       f"16x16-token VQ ({config['codebook']} codes); prompts are emoji names, keywords and categories.",
        "grid": GRID,
        "codebookSize": config["codebook"],
        "maskId": config["codebook"],
        "image": {"width": 64, "height": 64, "channels": 3},
        "text": {"length": config["length"], "width": config["text_dim"], "pooled": config["text_dim"],
                 "bos": BOS, "eos": EOS, "pad": PAD, "null": "empty-prompt"},
        # Picked by a sweep of Halton at 16 steps on 128 evaluation prompts (docs/results.md).
        "defaults": {"scheduler": "halton", "steps": 16, "cfg": 2, "temperature": {"start": 0.6, "end": 0.6}},
        "files": {"transformer": "transformer.onnx", "decoder": "decoder.onnx", "textEncoder": "text_encoder.onnx",
                  "tokenizer": "tokenizer.json"},
        "source": "scripts/train/emoji/ (data.py, text.py, vq.py, transformer.py, export.py)",
        "license": "weights: MIT; trained on " + "; ".join(
            f"{meta['sets'][n]['artwork'].split(',')[0]} ({meta['sets'][n]['license']})" for n in train_sets)
                   + f"; {meta['sets'][meta['held_out']]['artwork'].split(',')[0]} "
                     f"({meta['sets'][meta['held_out']]['license']}) held out, used for evaluation only - see README.md",
        "attribution": [meta["sets"][n]["attribution"] for n in train_sets],
    }
    # Reference rows built here, as the runtime builds them (write_text_folder's own encoder is
    # CLIP's BPE); Words matches @huggingface/tokenizers on this tokenizer.json id for id.
    words = Words(tokenizer)
    input_ids = [words.row(words.encode(p)) for p in ("a red apple", "")]
    write_text_folder(out, text_encoder, transformer, decoder, manifest, tokenizer, input_ids=input_ids)
    with open(os.path.join(out, "README.md"), "w") as f:
        f.write(readme(meta, manifest, result, config["vocab"]))
    sizes = {name: os.path.getsize(os.path.join(out, name)) for name in sorted(os.listdir(out))}
    total = sum(sizes.values())
    print(f"wrote {out}: {params} parameters, {total / 2**20:.1f} MiB {sizes}")
    if total > MAX_BYTES:
        sys.exit(f"{out} is {total / 2**20:.1f} MiB, over the {MAX_BYTES / 2**20:.0f} MiB budget")


if __name__ == "__main__":
    main()
