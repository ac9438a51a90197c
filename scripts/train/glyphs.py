#!/usr/bin/python3
"""Renders the glyph data set: the 62 characters 0-9 A-Z a-z from every usable Debian
font, grayscale 64x64, black ink on white, one font size on one baseline (so case
stays visible). Fonts lacking any of the 62 characters, rendering blanks, clipping, or
duplicating another font's glyphs are dropped. Split by font FAMILY: held-out families
never appear in training.

Writes data/glyphs.npz (images uint8 [M, 64, 64], labels, font index, split) and
data/glyphs.json (fonts per split, counts, what was dropped and why).

    /usr/bin/python3 scripts/train/glyphs.py
"""

import glob
import hashlib
import json
import os

import numpy as np
from fontTools.ttLib import TTFont, TTCollection
from PIL import Image, ImageDraw, ImageFont

CLASSES = [chr(c) for c in range(ord("0"), ord("9") + 1)] + \
          [chr(c) for c in range(ord("A"), ord("Z") + 1)] + \
          [chr(c) for c in range(ord("a"), ord("z") + 1)]
SIZE = 64          # canvas, pixels
FONT_PX = 38       # one font size for every glyph
BASELINE = 46      # one baseline for every glyph
HELD_OUT_SHARE = 0.15
FONT_DIRS = ["/usr/share/fonts"]
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "data")


def latin_coverage(path):
    """'ok', 'missing characters', or 'symbol font': the glyph behind a letter is not named
    after it (Adobe glyph names), e.g. dingbats ('A' -> 'a10') or Greek ('A' -> 'Alpha')."""
    try:
        font = TTCollection(path).fonts[0] if path.endswith(".ttc") else TTFont(path, lazy=True)
        cmap = font.getBestCmap() or {}
    except Exception:
        return "missing characters"
    if not all(ord(c) in cmap for c in CLASSES):
        return "missing characters"
    letters = [c for c in CLASSES if c.isalpha()]
    if any(cmap[ord(c)] not in (c, f"uni{ord(c):04X}") for c in letters):
        return "symbol font"
    return "ok"


def render(font, char):
    image = Image.new("L", (SIZE, SIZE), 255)
    left, top, right, bottom = font.getbbox(char, anchor="ls")
    x = (SIZE - (right - left)) / 2 - left
    ImageDraw.Draw(image).text((x, BASELINE), char, font=font, fill=0, anchor="ls")
    clipped = right - left > SIZE or BASELINE + top < 0 or BASELINE + bottom > SIZE
    return np.asarray(image), clipped


def family_of(path):
    font = ImageFont.truetype(path, FONT_PX)
    return font.getname()[0]


def main():
    paths = sorted(p for d in FONT_DIRS for p in glob.glob(f"{d}/**/*", recursive=True)
                   if p.lower().endswith((".ttf", ".otf")))
    dropped = {"missing characters": [], "symbol font": [], "blank glyph": [], "clipped glyph": [],
               "duplicate": []}
    fonts, images, seen = [], [], []
    for path in paths:
        name = os.path.basename(path)
        coverage = latin_coverage(path)
        if coverage != "ok":
            dropped[coverage].append(name)
            continue
        font = ImageFont.truetype(path, FONT_PX)
        glyphs, reason = [], None
        for char in CLASSES:
            glyph, clipped = render(font, char)
            if clipped:
                reason = "clipped glyph"
            if (glyph < 128).sum() < 6:
                reason = "blank glyph"
            glyphs.append(glyph)
        if reason:
            dropped[reason].append(name)
            continue
        stack = np.stack(glyphs)
        # Same design shipped twice (e.g. a script font carrying the Latin of another):
        # identical or near-identical glyph sets would leak across the split.
        small = stack.reshape(62, 16, 4, 16, 4).mean(axis=(2, 4))
        if any(np.abs(small - other).mean() < 2.0 for other in seen):
            dropped["duplicate"].append(name)
            continue
        seen.append(small)
        fonts.append({"file": name, "family": family_of(path)})
        images.append(stack)

    families = sorted({f["family"] for f in fonts})
    # Deterministic family split: a hash decides, not the order of files on disk.
    score = {f: int(hashlib.sha256(f.encode()).hexdigest(), 16) % 1000 / 1000 for f in families}
    held_out = {f for f in families if score[f] < HELD_OUT_SHARE}
    split = np.array([1 if f["family"] in held_out else 0 for f in fonts for _ in CLASSES], dtype=np.uint8)
    os.makedirs(OUT, exist_ok=True)
    np.savez_compressed(
        os.path.join(OUT, "glyphs.npz"),
        images=np.concatenate(images),
        labels=np.tile(np.arange(len(CLASSES)), len(fonts)).astype(np.int64),
        font=np.repeat(np.arange(len(fonts)), len(CLASSES)).astype(np.int64),
        split=split,  # 0 = train, 1 = held out
    )
    train_fonts = [f for f in fonts if f["family"] not in held_out]
    test_fonts = [f for f in fonts if f["family"] in held_out]
    summary = {
        "classes": CLASSES, "image": SIZE, "font_px": FONT_PX, "baseline": BASELINE,
        "font_files_seen": len(paths),
        "train": {"families": len(families) - len(held_out), "fonts": len(train_fonts),
                  "images": len(train_fonts) * len(CLASSES)},
        "held_out": {"families": len(held_out), "fonts": len(test_fonts),
                     "images": len(test_fonts) * len(CLASSES), "names": sorted(held_out)},
        "dropped": {k: len(v) for k, v in dropped.items()},
        "dropped_files": dropped,
        "fonts": fonts,
    }
    with open(os.path.join(OUT, "glyphs.json"), "w") as f:
        json.dump(summary, f, indent=1)
    print(json.dumps({k: summary[k] for k in ["train", "held_out", "dropped"]}, indent=1))


if __name__ == "__main__":
    main()
