#!/usr/bin/env python3
"""Trains the evaluation classifier on real glyphs of the training fonts (with small random
shifts) and reports its accuracy on the held-out fonts. Its penultimate 128-d features
feed the Frechet distance of `deno task eval`.

    /usr/bin/python3 scripts/train/classifier.py [--epochs 8]
"""

import argparse
import os

import torch
import torch.nn.functional as F

from common import RUNS, GlyphClassifier, Log, load_glyphs, save_checkpoint, setup


def shift(x, pixels=3):
    """Random translation by up to `pixels`, padding with white (the background)."""
    dx, dy = torch.randint(-pixels, pixels + 1, (2,)).tolist()
    return torch.roll(F.pad(x, (pixels,) * 4, value=1.0), (dy, dx), (2, 3))[..., pixels:-pixels, pixels:-pixels]


def accuracy(model, images, labels):
    model.eval()
    with torch.no_grad():
        hits = sum((model(images[i:i + 512])[0].argmax(1) == labels[i:i + 512]).sum().item()
                   for i in range(0, len(images), 512))
    model.train()
    return hits / len(images)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    setup(args.threads)
    torch.manual_seed(0)
    images, labels, _, split = load_glyphs()
    train_x, train_y = images[split == 0], labels[split == 0]
    test_x, test_y = images[split == 1], labels[split == 1]
    model = GlyphClassifier()
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=1e-4)
    steps = args.epochs * ((len(train_x) + 63) // 64)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=2e-3, total_steps=steps)
    log = Log("classifier")
    for epoch in range(args.epochs):
        order = torch.randperm(len(train_x))
        for i in range(0, len(train_x), 64):
            batch = order[i:i + 64]
            logits, _ = model(shift(train_x[batch]))
            loss = F.cross_entropy(logits, train_y[batch], label_smoothing=0.05)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
        log(epoch=epoch + 1, loss=round(loss.item(), 4), held_out_accuracy=round(accuracy(model, test_x, test_y), 4))
    train_accuracy = accuracy(model, train_x, train_y)
    held_out_accuracy = accuracy(model, test_x, test_y)
    log(train_accuracy=round(train_accuracy, 4), held_out_accuracy=round(held_out_accuracy, 4))
    save_checkpoint(os.path.join(RUNS, "classifier.pt"), model=model.state_dict(),
                    train_accuracy=train_accuracy, held_out_accuracy=held_out_accuracy)


if __name__ == "__main__":
    main()
