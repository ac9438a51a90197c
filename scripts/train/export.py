#!/usr/bin/python3
"""Exports the trained glyph model to models/glyphs/ under the model-folder contract:
model.json, transformer.onnx (EMA weights), decoder.onnx (VQ decoder), reference.json
(PyTorch outputs the Deno tests compare ONNX Runtime against), and eval/ (the glyph
classifier and real glyph sheets for `deno task eval`).

    /usr/bin/python3 scripts/train/export.py [--out models/glyphs]
"""

import argparse
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from model_folder import flops_per_row, strided  # noqa: E402

from parts import sheet  # noqa: E402
from common import (CODEBOOK, GRID, ROOT, RUNS, Classifier, MaskGIT, TokenDecoder, VQ, class_names,
                    load_glyphs, setup)


def affine_layer_norms(module):
    """torch 1.13 exports a LayerNorm without weights as an invalid ONNX node: give each one
    weight 1 and bias 0, which computes the same thing."""
    for name, child in module.named_children():
        if isinstance(child, torch.nn.LayerNorm) and not child.elementwise_affine:
            setattr(module, name, torch.nn.LayerNorm(child.normalized_shape, eps=child.eps))
        else:
            affine_layer_norms(child)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=os.path.join(ROOT, "models", "glyphs"))
    parser.add_argument("--weights", choices=["ema", "model"], default="ema",
                        help="the EMA average (shipped) or the raw weights (for a look mid-training)")
    args = parser.parse_args()
    out = os.path.normpath(args.out)
    os.makedirs(os.path.join(out, "eval"), exist_ok=True)
    setup()
    torch.manual_seed(0)
    classes = class_names()

    vq = VQ()
    vq.load_state_dict(torch.load(os.path.join(RUNS, "vq.pt"))["model"])
    state = torch.load(os.path.join(RUNS, "transformer.pt"))
    config = state["config"]
    transformer = MaskGIT(len(classes), config["dim"], config["depth"], config["heads"])
    transformer.load_state_dict(state[args.weights])
    classifier_state = torch.load(os.path.join(RUNS, "classifier.pt"))
    classifier = Classifier(len(classes))
    classifier.load_state_dict(classifier_state["model"])
    decoder = TokenDecoder(vq)
    affine_layer_norms(transformer)
    for m in (vq, transformer, classifier, decoder):
        m.eval()

    n = GRID * GRID
    tokens = torch.stack([(torch.arange(n) * 7 + 3 * b) % (CODEBOOK + 1) for b in range(2)])
    labels, drop = torch.tensor([10, 61]), torch.tensor([False, True])
    grid_tokens = (tokens % CODEBOOK).reshape(2, GRID, GRID)
    images, all_labels, font, split = load_glyphs()
    sample = images[:2]
    with torch.no_grad():
        torch.onnx.export(transformer, (tokens, labels, drop), os.path.join(out, "transformer.onnx"),
                          input_names=["tokens", "labels", "drop_label"], output_names=["logits"],
                          dynamic_axes={k: {0: "batch"} for k in ["tokens", "labels", "drop_label", "logits"]},
                          opset_version=17)
        torch.onnx.export(decoder, (grid_tokens,), os.path.join(out, "decoder.onnx"), input_names=["tokens"],
                          output_names=["image"], dynamic_axes={"tokens": {0: "batch"}, "image": {0: "batch"}},
                          opset_version=17)
        torch.onnx.export(classifier, (sample,), os.path.join(out, "eval", "classifier.onnx"), input_names=["image"],
                          output_names=["logits", "features"],
                          dynamic_axes={k: {0: "batch"} for k in ["image", "logits", "features"]}, opset_version=17)
        logits, features = classifier(sample)
        reference = {
            "transformer": {"tokens": tokens.tolist(), "labels": labels.tolist(), "drop_label": drop.tolist(),
                            "logits": strided(transformer(tokens, labels, drop))},
            "decoder": {"tokens": grid_tokens.tolist(), "image": strided(decoder(grid_tokens))},
            "classifier": {"features": strided(features, 7), "logits": strided(logits, 7)},
        }
    with open(os.path.join(out, "reference.json"), "w") as f:
        json.dump(reference, f)

    # Real glyph sheets: every held-out font, and as many training fonts picked at random.
    raw = np.load(os.path.join(ROOT, "data", "glyphs.npz"))["images"]
    held_out_fonts = sorted(set(font[split == 1].tolist()))
    train_fonts = sorted(set(font[split == 0].tolist()))
    picked = sorted(torch.randperm(len(train_fonts))[:len(held_out_fonts)].tolist())
    rows = lambda fonts: np.concatenate([raw[(font == f).numpy()] for f in fonts])
    sheet(rows(held_out_fonts), 62, os.path.join(out, "eval", "held-out.png"))
    sheet(rows([train_fonts[i] for i in picked]), 62, os.path.join(out, "eval", "train-sample.png"))
    with open(os.path.join(ROOT, "data", "glyphs.json")) as f:
        summary = json.load(f)
    eval_manifest = {
        "classifier": "classifier.onnx",
        "classifier_input": "image float32 [B, 1, 64, 64] in [-1, 1] -> logits [B, 62], features [B, 128]",
        "held_out_sheet": "held-out.png",
        "train_sample_sheet": "train-sample.png",
        "sheet_layout": "one row per font, one 64x64 column per class in class order",
        "classifier_accuracy": {"train": round(classifier_state["train_accuracy"], 4),
                                "held_out": round(classifier_state["held_out_accuracy"], 4)},
        "held_out_fonts": [summary["fonts"][f]["file"] for f in held_out_fonts],
        "train_sample_fonts": [summary["fonts"][train_fonts[i]]["file"] for i in picked],
    }
    with open(os.path.join(out, "eval", "eval.json"), "w") as f:
        json.dump(eval_manifest, f, indent=1)

    params = sum(p.numel() for p in transformer.parameters())
    manifest = {
        "format": "halton-maskgit/model@1",
        "name": "glyphs",
        "task": "class-to-image",
        "description": f"Class-conditional MaskGIT ({params / 1e6:.1f} M parameters) trained here on the 62 "
                       f"characters 0-9 A-Z a-z rendered from {summary['train']['fonts']} Debian fonts; "
                       "64x64 grayscale through a 16x16-token VQ (256 codes).",
        "grid": GRID,
        "codebookSize": CODEBOOK,
        "maskId": CODEBOOK,
        "classes": classes,
        "image": {"width": 64, "height": 64, "channels": 1},
        # Chosen by a small sweep on 124 samples (docs/results.md): guidance 2, constant T = 0.6;
        # the Halton order rolled per image, which the scheduler table favours (docs/results.md).
        "defaults": {"steps": 32, "cfg": 2, "temperature": {"start": 0.6, "end": 0.6}, "randomize": True},
        "files": {"transformer": "transformer.onnx", "decoder": "decoder.onnx"},
        "flops": flops_per_row(transformer, decoder, GRID),
        "source": "scripts/train/ (glyphs.py, vq.py, transformer.py, classifier.py, export.py)",
        "license": "weights: MIT; training glyphs rendered from Debian font packages (SIL OFL, GPL with font "
                   "exception, AGPL for URW base35) - see data/glyphs.json for the font list",
    }
    with open(os.path.join(out, "model.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    sizes = {name: os.path.getsize(os.path.join(out, name)) for name in ["transformer.onnx", "decoder.onnx"]}
    print(f"wrote {out}: {params} transformer parameters, files {sizes}")


if __name__ == "__main__":
    main()
