#!/usr/bin/python3
"""Trains the class-conditional MaskGIT transformer on VQ tokens of the training fonts.

Objective (MaskGIT): per sample a mask ratio r = arccos(u)/(pi/2), u ~ U(0,1); each token
is masked with probability r; cross-entropy on the masked tokens only; the class label is
dropped (replaced by the "no class" label) 10% of the time so guidance works at sampling.
Resumable: data/runs/transformer.pt is rewritten every --save-every steps; the loss goes
to data/runs/transformer.log.

    /usr/bin/python3 scripts/train/transformer.py [--steps 2400] [--dim 256 --depth 6 --heads 4]
"""

import argparse
import copy
import math
import os

import torch
import torch.nn.functional as F

from common import CODEBOOK, GRID, RUNS, VQ, Log, MaskGIT, arccos_mask_ratio, load_glyphs, save_checkpoint, setup


def tokenize(images):
    """VQ token ids [M, N] of images, with the trained tokenizer."""
    vq = VQ()
    vq.load_state_dict(torch.load(os.path.join(RUNS, "vq.pt"))["model"])
    vq.eval()
    with torch.no_grad():
        return torch.cat([vq.encode(images[i:i + 512])[1].reshape(-1, GRID * GRID) for i in range(0, len(images), 512)])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=2400)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--dim", type=int, default=256)
    parser.add_argument("--depth", type=int, default=6)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--save-every", type=int, default=200)
    args = parser.parse_args()
    setup()
    torch.manual_seed(0)
    images, labels, _, split = load_glyphs()
    tokens, labels = tokenize(images[split == 0]), labels[split == 0]
    model = MaskGIT(62, args.dim, args.depth, args.heads)
    ema = copy.deepcopy(model)
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (no_decay if p.ndim < 2 or "position" in name or "token" in name or "label" in name else decay).append(p)
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.03}, {"params": no_decay, "weight_decay": 0}],
                                  lr=args.lr, betas=(0.9, 0.95))
    warmup = min(500, args.steps // 10)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min(1, (s + 1) / warmup) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1, s / args.steps)))))
    path, log, step = os.path.join(RUNS, "transformer.pt"), Log("transformer"), 0
    if os.path.exists(path):
        state = torch.load(path)
        model.load_state_dict(state["model"])
        ema.load_state_dict(state["ema"])
        optimizer.load_state_dict(state["optimizer"])
        schedule.load_state_dict(state["schedule"])
        step = state["step"]
        torch.set_rng_state(state["rng"])
        log(resumed=step)
    log(params=sum(p.numel() for p in model.parameters()), train_images=len(tokens), **vars(args))
    running = 0.0
    while step < args.steps:
        batch = torch.randint(len(tokens), (args.batch,))
        target, label = tokens[batch], labels[batch]
        ratio = arccos_mask_ratio(args.batch)
        mask = torch.rand(args.batch, GRID * GRID) < ratio[:, None]
        mask[torch.arange(args.batch), torch.randint(GRID * GRID, (args.batch,))] = True  # >= 1 masked
        inputs = torch.where(mask, torch.full_like(target, CODEBOOK), target)
        drop = torch.rand(args.batch) < 0.1
        logits = model(inputs, label, drop)
        loss = F.cross_entropy(logits[mask], target[mask], label_smoothing=0.1)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        with torch.no_grad():
            for e, p in zip(ema.parameters(), model.parameters()):
                e.mul_(0.999).add_(p, alpha=0.001)
        step += 1
        running += loss.item()
        if step % 50 == 0:
            log(step=step, loss=round(running / 50, 4), lr=round(schedule.get_last_lr()[0], 6))
            running = 0.0
        if step % args.save_every == 0 or step == args.steps:
            save_checkpoint(path, model=model.state_dict(), ema=ema.state_dict(), optimizer=optimizer.state_dict(),
                            schedule=schedule.state_dict(), step=step, rng=torch.get_rng_state(), config=vars(args))


if __name__ == "__main__":
    main()
