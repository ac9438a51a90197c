#!/usr/bin/python3
"""The emoji model's evaluation: a retrieval classifier trained here on the real emoji of the
training sets (image -> which of the 3,786 emoji), and the real-image sheets `deno task eval`
compares generated images with. Writes <out>/eval/ (default models/emoji/eval/):

- classifier.onnx: image float32 [B, 3, 64, 64] in [-1, 1] -> logits [B, 3786], features [B, 128]
- held-out.png: the held-out set's images (OpenMoji) of the evaluation emoji, 32 to a row
- train-sample.png: one training-set image of each evaluation emoji (the sets taken in turn)
- eval.json: the evaluation emoji (a seeded shuffle, so any prefix is spread over all
  categories), each sheet cell's class, and the class prompts (CLDR names)

Trains (resuming from runs/classifier.pt) unless that checkpoint is finished.

    /usr/bin/python3 scripts/train/emoji/classifier.py [--epochs 16] [--emoji 512] [--samples 256] [--out models/emoji]
"""

import argparse
import json
import os
import sys

import numpy as np
import torch

from common import RUNS, Log, load_emoji, load_meta, pixels, setup

sys.path.append(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from parts import Classifier, sheet, train_classifier  # noqa: E402

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
COLUMNS = 32


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=16)
    parser.add_argument("--emoji", type=int, default=512, help="evaluation emoji (sheet cells)")
    parser.add_argument("--samples", type=int, default=256,
                        help="deno task eval's default sample count (the first emoji of the shuffle)")
    parser.add_argument("--out", default=os.path.join(ROOT, "models", "emoji"))
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    setup(args.threads)
    torch.manual_seed(0)
    meta = load_meta()
    images, emoji, sets, split = load_emoji()
    classes = meta["emoji_count"]
    train, held_out = split == 0, split == 1
    model = Classifier(classes, channels=3, downsample=True)
    state = train_classifier(model, (pixels(images[train]), emoji[train]), (pixels(images[held_out]), emoji[held_out]),
                             args.epochs, Log("classifier"), os.path.join(RUNS, "classifier.pt"), smoothing=0.1)
    model.eval()

    # The evaluation emoji: a seeded shuffle of all of them, the first --emoji taken.
    picked = torch.randperm(classes, generator=torch.Generator().manual_seed(15))[:args.emoji].tolist()
    picked = picked[:len(picked) // COLUMNS * COLUMNS]
    held_out_index = {e: i for i, e in enumerate(emoji.tolist()) if held_out[i]}
    train_sets = [s for s in range(len(meta["set_order"])) if meta["set_order"][s] != meta["held_out"]]
    train_sample = []
    for n, e in enumerate(picked):
        # Taking the sets in turn; an emoji a set lacks (Fluent has no flags) falls to the next.
        for k in range(len(train_sets)):
            rows = ((emoji == e) & train & (sets == train_sets[(n + k) % len(train_sets)])).nonzero()
            if len(rows):
                train_sample.append(rows[0].item())
                break
    out = os.path.join(args.out, "eval")
    os.makedirs(out, exist_ok=True)
    sheet(images[[held_out_index[e] for e in picked]].numpy(), COLUMNS, os.path.join(out, "held-out.png"))
    sheet(images[train_sample].numpy(), COLUMNS, os.path.join(out, "train-sample.png"))
    sample = pixels(images[:2])
    with torch.no_grad():
        torch.onnx.export(model, (sample,), os.path.join(out, "classifier.onnx"), input_names=["image"],
                          output_names=["logits", "features"],
                          dynamic_axes={k: {0: "batch"} for k in ["image", "logits", "features"]}, opset_version=17)
    eval_manifest = {
        "classifier": "classifier.onnx",
        "classifier_input": f"image float32 [B, 3, 64, 64] in [-1, 1] -> logits [B, {classes}], features [B, 128]",
        "held_out_sheet": "held-out.png",
        "train_sample_sheet": "train-sample.png",
        "sheet_layout": f"{COLUMNS} 64x64 cells a row, row-major; cell i shows class held_out_labels[i] "
                        "(train_sample_labels[i] in train-sample.png)",
        "held_out_labels": picked,
        "train_sample_labels": picked,
        "train_sample_sets": [meta["set_order"][sets[i].item()] for i in train_sample],
        "classifier_accuracy": {"train": round(state["train_accuracy"], 4),
                                "held_out": round(state["held_out_accuracy"], 4),
                                "held_out_top5": round(state["held_out_top5"], 4)},
        "samples": args.samples,
        "held_out_set": meta["held_out"],
        "attribution": meta["sets"][meta["held_out"]]["attribution"] + " (held-out.png; "
                       + meta["sets"][meta["held_out"]]["license"] + ")",
        "classes": [e["cldr"] for e in meta["emoji"]],
    }
    with open(os.path.join(out, "eval.json"), "w") as f:
        json.dump(eval_manifest, f, indent=1)
    sizes = {name: os.path.getsize(os.path.join(out, name)) for name in sorted(os.listdir(out))}
    print(f"wrote {out}: {sizes}")


if __name__ == "__main__":
    main()
