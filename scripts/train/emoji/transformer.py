#!/usr/bin/python3
"""Trains the text encoder and the cross-attention MaskGIT transformer together on VQ tokens
of the training sets.

Objective (MaskGIT, as the paper): per sample a mask ratio r = arccos(u)/(pi/2), u ~ U(0,1);
each token is masked with probability r; cross-entropy on the masked tokens only. Each image
gets a freshly drawn prompt (CLDR name, template, keywords, Unicode name, short code or category
words: text.draw_prompt). 5% of prompts are dropped to the EMPTY prompt (manifest text.null
"empty-prompt": the unconditional half of guidance is the encoding of "", so an empty prompt
is the unconditional sample); 5% of the remaining words become [UNK], so unknown words have
a trained meaning. An auxiliary loss (weight --concept-loss) has a linear head read which emoji
the image shows from the prompt's pooled encoding; the head is not exported. EMA of both
networks' weights is what ships.

Resumable: runs/transformer.pt is rewritten every --save-minutes and at the end; the VQ tokens
of the data set are cached in runs/tokens.pt.

    /usr/bin/python3 scripts/train/emoji/transformer.py [--steps 800] [--dim 256 --depth 6]
"""

import argparse
import copy
import hashlib
import math
import os
import random
import time

import torch
import torch.nn.functional as F

from common import (GRID, RUNS, Clock, Log, MaskGIT, Meter, SmoothedCrossEntropy, TextEncoder, arccos_mask_ratio,
                    load_emoji, load_meta, load_vq, pixels, save_checkpoint, setup)
from text import LENGTH, PAD, UNK, Words, draw_prompt, load_tokenizer

PROMPT_DROP = 0.05
WORD_DROP = 0.05


def tokenize():
    """VQ token ids int64 [M, N] of every image, with the trained tokenizer (cached per VQ run)."""
    path = os.path.join(RUNS, "tokens.pt")
    vq_state = torch.load(os.path.join(RUNS, "vq.pt"))
    # The cache belongs to one trained encoder and codebook, not to a step count a retrained VQ
    # would reach again.
    digest = hashlib.sha256()
    for name, tensor in sorted(vq_state["model"].items()):
        if name.startswith(("encoder.", "codebook.")):
            digest.update(tensor.contiguous().numpy().tobytes())
    if os.path.exists(path):
        cached = torch.load(path)
        if cached.get("vq") == digest.hexdigest():
            return cached["tokens"].long()
    vq = load_vq().to(memory_format=torch.channels_last)  # faster convolutions, as in vq.py
    images = load_emoji()[0]
    with torch.no_grad():
        tokens = torch.cat([vq.encode(pixels(images[i:i + 256]).contiguous(memory_format=torch.channels_last))[1]
                            .reshape(-1, GRID * GRID) for i in range(0, len(images), 256)])
    save_checkpoint(path, tokens=tokens.short(), vq=digest.hexdigest())
    return tokens


def encode_prompts(words, prompts, rng, word_drop=0.0):
    rows = []
    for p in prompts:
        ids = [UNK if rng.random() < word_drop else i for i in words.encode(p)]
        rows.append(words.row(ids))
    return torch.tensor(rows)


def masked_batch(target, codebook):
    batch = len(target)
    ratio = arccos_mask_ratio(batch)
    mask = torch.rand(batch, GRID * GRID) < ratio[:, None]
    mask[torch.arange(batch), torch.randint(GRID * GRID, (batch,))] = True  # >= 1 masked
    return torch.where(mask, torch.full_like(target, codebook), target), mask


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=4500)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--dim", type=int, default=256)
    parser.add_argument("--depth", type=int, default=6)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--text-dim", type=int, default=256)
    parser.add_argument("--text-depth", type=int, default=2)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--concept-loss", type=float, default=0.2,
                        help="weight of the auxiliary loss: which emoji, from the pooled prompt encoding")
    parser.add_argument("--log-every", type=int, default=25)
    parser.add_argument("--save-minutes", type=float, default=4)
    parser.add_argument("--bf16", action=argparse.BooleanOptionalAction, default=True,
                        help="bfloat16 autocast for the forward (see the step); --no-bf16 for float32")
    args = parser.parse_args()
    setup()
    path = os.path.join(RUNS, "transformer.pt")
    done = torch.load(path)["step"] if os.path.exists(path) else 0
    if done >= args.steps:
        print(f"transformer: done at step {done}")  # before tokenizing: a rerun is instant
        return
    torch.manual_seed(0)
    rng = random.Random(0)
    meta = load_meta()
    emoji = meta["emoji"]
    tokenizer = load_tokenizer()
    words = Words(tokenizer)
    codebook = torch.load(os.path.join(RUNS, "vq.pt"))["config"]["codebook"]
    all_tokens = tokenize()
    _, emoji_of, _, split = load_emoji()
    tokens, concept = all_tokens[split == 0], emoji_of[split == 0]

    # A fixed held-out check: 128 images of the held-out set, their CLDR names, fixed masks.
    g = torch.Generator().manual_seed(1)
    pick = torch.randperm(int(split.sum()), generator=g)[:128]
    check_tokens = all_tokens[split == 1][pick]
    check_ids = encode_prompts(words, [emoji[i]["cldr"] for i in emoji_of[split == 1][pick].tolist()], rng)
    state_before = torch.get_rng_state()
    torch.manual_seed(2)
    check_inputs, check_mask = masked_batch(check_tokens, codebook)
    torch.set_rng_state(state_before)

    config = {**vars(args), "vocab": len(tokenizer["model"]["vocab"]), "length": LENGTH, "codebook": codebook}
    text_encoder = TextEncoder(config["vocab"], args.text_dim, args.text_depth, args.heads, LENGTH, PAD)
    model = MaskGIT(args.dim, args.depth, args.heads, args.text_dim, codebook=codebook)
    # The auxiliary head reads which emoji an image shows from its prompt's pooled encoding, so
    # the text encoder separates rare names from the start instead of waiting for the
    # transformer to use them (not exported).
    concept_head = torch.nn.Linear(args.text_dim, len(emoji))
    modules = torch.nn.ModuleDict({"text_encoder": text_encoder, "transformer": model, "concept": concept_head})
    ema = copy.deepcopy(modules)
    decay, no_decay = [], []
    for name, p in modules.named_parameters():
        plain = p.ndim < 2 or any(k in name for k in ("position", "token", "offset"))
        (no_decay if plain else decay).append(p)
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.03}, {"params": no_decay, "weight_decay": 0}],
                                  lr=args.lr, betas=(0.9, 0.95))
    warmup = max(1, min(200, args.steps // 10))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min(1, (s + 1) / warmup) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1, s / args.steps)))))
    log, step = Log("transformer"), 0
    if os.path.exists(path):
        state = torch.load(path)
        modules.load_state_dict(state["model"])
        ema.load_state_dict(state["ema"])
        optimizer.load_state_dict(state["optimizer"])
        schedule.load_state_dict(state["schedule"])
        step = state["step"]
        torch.set_rng_state(state["rng"])
        rng.setstate(state["prompt_rng"])
        log(resumed=step)
    log(params={k: sum(p.numel() for p in m.parameters()) for k, m in modules.items()}, train_images=len(tokens),
        **config)

    def checkpoint():
        save_checkpoint(path, model=modules.state_dict(), ema=ema.state_dict(), optimizer=optimizer.state_dict(),
                        schedule=schedule.state_dict(), step=step, rng=torch.get_rng_state(),
                        prompt_rng=rng.getstate(), config=config)

    def held_out_loss(m):
        m.eval()
        with torch.no_grad():
            hidden, pooled = m["text_encoder"](check_ids)
            logits = m["transformer"](check_inputs, hidden, pooled)
            loss = F.cross_entropy(logits[check_mask], check_tokens[check_mask]).item()
        m.train()
        return round(loss, 4)

    clock, meter, concept_meter = Clock(args.save_minutes), Meter(), Meter()
    while step < args.steps:
        batch = torch.randint(len(tokens), (args.batch,))
        target, shown = tokens[batch], concept[batch]
        prompts = ["" if rng.random() < PROMPT_DROP else draw_prompt(emoji[i], rng) for i in shown.tolist()]
        input_ids = encode_prompts(words, prompts, rng, WORD_DROP)
        inputs, mask = masked_batch(target, codebook)
        # bfloat16 matrix products where asked (weights, optimizer and EMA stay float32): CPUs with
        # AVX512-BF16 run a step about 2x faster (4.8 -> 2.3 s at batch 64 on the dev machine).
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bf16):
            hidden, pooled = text_encoder(input_ids)
            logits, picked = model(inputs, hidden, pooled, mask)
        loss = SmoothedCrossEntropy.apply(logits.float(), target.flatten()[picked], 0.1)
        named = torch.tensor([p != "" for p in prompts])
        concept_loss = (F.cross_entropy(concept_head(pooled.float()[named]), shown[named].long())
                        if named.any() else pooled.sum() * 0)
        total = loss + args.concept_loss * concept_loss
        optimizer.zero_grad()
        total.backward()
        torch.nn.utils.clip_grad_norm_(modules.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        step += 1
        # EMA decay warms up ((1 + s) / (10 + s), capped at 0.999): a run of ~1000 steps would
        # otherwise still carry a third of the random initial weights.
        d = min(0.999, (1 + step) / (10 + step))
        with torch.no_grad():
            for e, p in zip(ema.parameters(), modules.parameters()):
                e.mul_(d).add_(p, alpha=1 - d)
        meter.add(loss.item())
        concept_meter.add(concept_loss.item())
        if step % args.log_every == 0 or step == args.steps:
            fields = {"step": step, **meter.report(), "concept": concept_meter.report()["loss"],
                      "lr": round(schedule.get_last_lr()[0], 6)}
            if step % (4 * args.log_every) == 0 or step == args.steps:
                fields.update(held_out=held_out_loss(modules), held_out_ema=held_out_loss(ema))
            log(**fields)
            meter.since = time.time()  # the held-out check is not a training step
        if clock.due() or step == args.steps:
            checkpoint()
            log(saved=step)


if __name__ == "__main__":
    main()
