#!/usr/bin/python3
"""Trains the emoji VQ tokenizer (64x64 RGB -> 16x16 tokens) on the training sets and reports
reconstruction PSNR and codebook use on the held-out set. Resumable: runs/vq.pt is rewritten
every --save-minutes and at the end; the log goes to runs/vq.log.

    /usr/bin/python3 scripts/train/emoji/vq.py [--steps 450] [--ch 64 --codebook 1024]
"""

import argparse
import os

import torch
import torch.nn.functional as F

from common import RUNS, VQ, Clock, Log, Meter, load_emoji, pixels, save_checkpoint, setup

# channels_last: torch 1.13's oneDNN convolutions run this network about 1.2-4x faster that way on
# this CPU (measured at batch 64, ch 64).
CL = torch.channels_last


def evaluate(vq, images, codebook):
    vq.eval()
    with torch.no_grad():
        mse, used = 0.0, torch.zeros(codebook, dtype=torch.bool)
        for i in range(0, len(images), 256):
            x = pixels(images[i:i + 256]).contiguous(memory_format=CL)
            rec, ids, _, _ = vq(x)
            mse += F.mse_loss(rec.clamp(-1, 1), x, reduction="sum").item()
            used[ids.unique()] = True
    vq.train()
    mse /= images.numel()
    # PSNR on [0, 1] pixels: images live in [-1, 1], so the peak-to-peak range is 2.
    return {"psnr": round(10 * torch.log10(torch.tensor(4.0 / mse)).item(), 2), "codes_used": int(used.sum())}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=450)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--ch", type=int, default=64)
    parser.add_argument("--codebook", type=int, default=1024)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--log-every", type=int, default=25)
    parser.add_argument("--save-minutes", type=float, default=3)
    args = parser.parse_args()
    setup()
    torch.manual_seed(0)
    images, _, _, split = load_emoji()
    train, held_out = images[split == 0], images[split == 1]
    vq = VQ(args.ch, args.codebook).to(memory_format=CL)
    optimizer = torch.optim.Adam(vq.parameters(), lr=args.lr)
    # Constant, then the last fifth decays to a tenth: the reconstruction keeps sharpening late.
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: 1.0 if s < 0.8 * args.steps else 0.1 + 0.9 * (args.steps - s) / (0.2 * args.steps))
    path, log, step = os.path.join(RUNS, "vq.pt"), Log("vq"), 0
    usage = torch.zeros(args.codebook)
    if os.path.exists(path):
        state = torch.load(path)
        vq.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        schedule.load_state_dict(state["schedule"])
        step, usage = state["step"], state["usage"]
        torch.set_rng_state(state["rng"])
        if "result" in state and step >= args.steps:
            print(f"vq: done at step {step}: {state['result']}")
            return
        log(resumed=step)
    log(params=sum(p.numel() for p in vq.parameters()), train_images=len(train), held_out_images=len(held_out),
        **vars(args))

    def checkpoint(**extra):
        save_checkpoint(path, model=vq.state_dict(), optimizer=optimizer.state_dict(), schedule=schedule.state_dict(),
                        step=step, usage=usage, rng=torch.get_rng_state(), config=vars(args), **extra)

    clock, meter, dead = Clock(args.save_minutes), Meter(), []
    while step < args.steps:
        x = pixels(train[torch.randint(len(train), (args.batch,))]).contiguous(memory_format=CL)
        rec, ids, commit, codebook = vq(x)
        loss = F.l1_loss(rec, x) + F.mse_loss(rec, x) + codebook + 0.25 * commit
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        step += 1
        meter.add(loss.item())
        usage += torch.bincount(ids.flatten(), minlength=args.codebook)
        if step % 25 == 0:
            # Restart codes unused for 25 steps on random current encoder outputs, so the codebook
            # stays in use (not in the last tenth: the decoder must see the final codes).
            dead = (usage == 0).nonzero().flatten()
            if len(dead) > 0 and step < 0.9 * args.steps:
                with torch.no_grad():
                    z = F.normalize(vq.encoder(x), dim=1).permute(0, 2, 3, 1).reshape(-1, vq.codebook.weight.shape[1])
                    vq.codebook.weight[dead] = z[torch.randint(len(z), (len(dead),))]
            usage.zero_()
        if step % args.log_every == 0 or step == args.steps:
            log(step=step, **meter.report(), dead_codes=len(dead), lr=round(schedule.get_last_lr()[0], 6))
        if clock.due():
            checkpoint()
            log(saved=step)
    result = {"held_out": evaluate(vq, held_out, args.codebook),
              "train_sample": evaluate(vq, train[torch.randperm(len(train), generator=torch.Generator().manual_seed(0))[:512]],
                                       args.codebook)}
    log(step=step, **result)
    checkpoint(result=result)


if __name__ == "__main__":
    main()
