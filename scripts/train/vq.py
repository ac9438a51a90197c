#!/usr/bin/python3
"""Trains the VQ tokenizer (64x64 glyph -> 16x16 tokens, 256 codes) on the training fonts
and reports reconstruction PSNR and codebook usage on the held-out fonts.
Resumable: data/runs/vq.pt holds the latest checkpoint.

    /usr/bin/python3 scripts/train/vq.py [--epochs 8]
"""

import argparse
import os

import torch
import torch.nn.functional as F

from common import RUNS, VQ, CODEBOOK, Log, load_glyphs, save_checkpoint, setup


def evaluate(vq, images):
    vq.eval()
    with torch.no_grad():
        mse, used = 0.0, torch.zeros(CODEBOOK, dtype=torch.bool)
        for i in range(0, len(images), 256):
            x = images[i:i + 256]
            rec, ids, _, _ = vq(x)
            mse += F.mse_loss(rec, x, reduction="sum").item()
            used[ids.unique()] = True
    vq.train()
    mse /= images.numel()
    # PSNR on [0, 1] pixels: images live in [-1, 1], so the peak-to-peak range is 2.
    return {"psnr": round(10 * torch.log10(torch.tensor(4.0 / mse)).item(), 2), "codes_used": int(used.sum())}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--batch", type=int, default=64)
    args = parser.parse_args()
    setup()
    torch.manual_seed(0)
    images, _, _, split = load_glyphs()
    train, held_out = images[split == 0], images[split == 1]
    vq = VQ()
    optimizer = torch.optim.Adam(vq.parameters(), lr=1e-3)
    path, log, epoch = os.path.join(RUNS, "vq.pt"), Log("vq"), 0
    if os.path.exists(path):
        state = torch.load(path)
        vq.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        epoch = state["epoch"]
    usage = torch.zeros(CODEBOOK)
    while epoch < args.epochs:
        order = torch.randperm(len(train))
        for step, i in enumerate(range(0, len(train), args.batch)):
            x = train[order[i:i + args.batch]]
            rec, ids, commit, codebook = vq(x)
            loss = F.l1_loss(rec, x) + F.mse_loss(rec, x) + codebook + 0.25 * commit
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            usage += torch.bincount(ids.flatten(), minlength=CODEBOOK)
            if step % 50 == 49:
                # Restart dead codes on random current encoder outputs, so the codebook stays in use.
                dead = (usage == 0).nonzero().flatten()
                if len(dead) > 0:
                    with torch.no_grad():
                        z = F.normalize(vq.encoder(x), dim=1).permute(0, 2, 3, 1).reshape(-1, vq.codebook.weight.shape[1])
                        vq.codebook.weight[dead] = z[torch.randint(len(z), (len(dead),))]
                log(epoch=epoch, step=step, loss=round(loss.item(), 4), dead_codes=len(dead))
                usage.zero_()
        epoch += 1
        log(epoch=epoch, held_out=evaluate(vq, held_out))
        save_checkpoint(path, model=vq.state_dict(), optimizer=optimizer.state_dict(), epoch=epoch)


if __name__ == "__main__":
    main()
