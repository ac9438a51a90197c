#!/usr/bin/python3
"""Trains the evaluation classifier on real glyphs of the training fonts (with small random
shifts) and reports its accuracy on the held-out fonts. Its penultimate 128-d features
feed the Frechet distance of `deno task eval`. Resumes from runs/classifier.pt.

    /usr/bin/python3 scripts/train/classifier.py [--epochs 8]
"""

import argparse
import os

import torch

from common import RUNS, Log, load_glyphs, setup
from parts import Classifier, train_classifier


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    setup(args.threads)
    torch.manual_seed(0)
    images, labels, _, split = load_glyphs()
    train_classifier(Classifier(62), (images[split == 0], labels[split == 0]), (images[split == 1], labels[split == 1]),
                     args.epochs, Log("classifier"), os.path.join(RUNS, "classifier.pt"))


if __name__ == "__main__":
    main()
