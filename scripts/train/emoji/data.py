#!/usr/bin/python3
"""Builds the emoji data set: fetches four freely licensed emoji sets from the npm registry,
renders every emoji they draw (skin-tone variants included) at 64x64 RGB on white, attaches
captions (CLDR short names and keywords, Unicode names, short codes, categories) and splits
BY SET: one whole set is held out for evaluation and never trained on.

Everything lands in the work folder ($EMOJI_WORK, default ~/.cache/halton-maskgit/emoji),
never in the repository: npm/ (the pinned package tarballs, integrity-checked), src/ (them
unpacked), render/ (per-set renders, reused on a rerun), emoji.npz and emoji.json. Each step
skips what is already there, so an interrupted run picks up where it stopped.

    /usr/bin/python3 scripts/train/emoji/data.py [--held-out openmoji]

Needs `npm` (fetching) and Debian's librsvg2-bin (`rsvg-convert`, for the two SVG sets).
"""

import argparse
import base64
import concurrent.futures
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import unicodedata

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from paths import WORK  # noqa: E402

SIZE = 64
# Each set draws at its own scale (Twemoji's 64 px PNGs fill the square, OpenMoji's 72-unit
# grid leaves a wide margin): every set is rescaled so that its MEDIAN emoji spans this many
# pixels. Relative sizes inside a set survive ("small blue diamond" stays small); the
# held-out set then differs from the training sets in style, not in scale.
TARGET_EXTENT = 60
SVG_PX = 128       # SVGs are rasterised at 2x and downsampled, like the PNG sets' own 64 px
ALPHA_MIN = 8      # alpha above this counts as drawn when measuring an emoji's extent

# Pinned packages (version and npm's sha512 integrity) so a rerun sees the same artwork.
PACKAGES = {
    "emoji-datasource-twitter": ("16.0.0", "sha512-7F+uCuHH+7Qnrc15P5tnbvKkg9E6tlzi4MnT2uW1RlN4pLYTza6cP/dstIfSDMtpjFLWuZewWg8jBbuL2eyELQ=="),
    "emoji-datasource-google": ("16.0.0", "sha512-ZRexfzs7MVoLnmzZmNsO4TKhnAJp5D++Vm6PpUpH/jEQQlemp3l88CjZ+DoZ2faM9R4QxZkOPJCoT8DlPhfQ3A=="),
    "openmoji": ("17.0.0", "sha512-EBnYrNGdcdw+OSXmENeNE1yBNRu6tOraTmoOyUbJkTmvT/+XETp8RZLSJFzD3lrPc5N9CzsyPnRTk0Vp4UaI9w=="),
    "fluentui-emoji": ("1.3.0", "sha512-JTXXwqIie2rWTgOkIJDJxr0WtwTz2WU4kdOq8buLVThYwQ264aFR2jdTyuon2oEbLqqGMT64zI4btyn1saB2xw=="),
}

# The artwork's licence is the set's, not the npm package's: emoji-datasource's package is MIT
# for its code and data, and its README states each image set's own licence.
SETS = {
    "twemoji": {
        "package": "emoji-datasource-twitter",
        "artwork": "Twemoji v16.0.1 (the jdecked/twemoji fork), as packaged by emoji-datasource 16.0.0",
        "license": "CC-BY-4.0",
        "attribution": "Twemoji graphics Copyright Twitter, Inc and other contributors, licensed under "
                       "CC BY 4.0 (https://creativecommons.org/licenses/by/4.0/); https://github.com/jdecked/twemoji",
    },
    "noto": {
        "package": "emoji-datasource-google",
        "artwork": "Noto Emoji v2.048, as packaged by emoji-datasource 16.0.0",
        "license": "Apache-2.0",
        "attribution": "Noto Emoji by Google: images licensed under the Apache License 2.0 "
                       "(https://www.apache.org/licenses/LICENSE-2.0), flag images (from region-flags) public domain; "
                       "https://github.com/googlefonts/noto-emoji",
    },
    "openmoji": {
        "package": "openmoji",
        "artwork": "OpenMoji 17.0.0, colour SVGs",
        "license": "CC-BY-SA-4.0",
        "attribution": "All emojis designed by OpenMoji - the open-source emoji and icon project "
                       "(https://openmoji.org/). License: CC BY-SA 4.0 (https://creativecommons.org/licenses/by-sa/4.0/)",
    },
    "fluent": {
        "package": "fluentui-emoji",
        "artwork": "Microsoft Fluent Emoji, 'Color' style SVGs (icons/modern), as repackaged by Mohammad Abu Mattar "
                   "in fluentui-emoji 1.3.0",
        "license": "MIT",
        "attribution": "Fluent Emoji Copyright (c) Microsoft Corporation, MIT License "
                       "(https://github.com/microsoft/fluentui-emoji); npm repackaging Copyright (c) 2022 Mohammad "
                       "Abu Mattar, MIT License",
    },
}

# OpenMoji is held out by default: its artwork is CC BY-SA, so keeping it out of training keeps
# the ShareAlike question away from the weights, and it covers every emoji the others do.
DEFAULT_HELD_OUT = "openmoji"

TONES = ["light", "medium-light", "medium", "medium-dark", "dark"]
TONE_CODES = {"1F3FB": "light", "1F3FC": "medium-light", "1F3FD": "medium", "1F3FE": "medium-dark", "1F3FF": "dark"}

# Fluent names its files after Microsoft's own emoji names; where those differ from the CLDR
# short name the slug match cannot find the emoji, so these few are mapped by hand (base names,
# before a skin-tone suffix).
FLUENT_ALIASES = {
    "blackbird": "black bird", "hugging-face": "smiling face with open hands", "keycap-asterisk": "keycap: *",
    "keycap-hashtag": "keycap: #", "knocked-out-face": "face with crossed-out eyes",
    "man-blonde-hair": "man: blond hair", "woman-blonde-hair": "woman: blond hair",
    "person-blonde-hair": "person: blond hair", "man-deaf": "deaf man", "woman-deaf": "deaf woman",
    "person-deaf": "deaf person", "man-merpeople": "merman", "woman-merpeople": "mermaid",
    "person-merpeople": "merperson", "man-with-bunny-ears": "men with bunny ears",
    "woman-with-bunny-ears": "women with bunny ears", "person-with-bunny-ears": "people with bunny ears",
    "man-wrestling": "men wrestling", "woman-wrestling": "women wrestling", "person-wrestling": "people wrestling",
    "person-elf": "elf", "person-fairy": "fairy", "person-genie": "genie", "person-mage": "mage",
    "person-superhero": "superhero", "person-supervillain": "supervillain", "person-vampire": "vampire",
    "person-zombie": "zombie", "phoenix-bird": "phoenix", "pouting-face": "enraged face",
    "red-triangle": "red triangle pointed up", "stuffedbread": "stuffed flatbread",
}


def log(message):
    print(message, flush=True)


# ---------------------------------------------------------------- fetch

def fetch(name):
    """The package unpacked under src/<name>/, fetched with `npm pack` and checked against
    the pinned integrity."""
    version, integrity = PACKAGES[name]
    src = os.path.join(WORK, "src", name)
    if os.path.exists(os.path.join(src, ".complete")):
        return os.path.join(src, "package")
    npm_dir = os.path.join(WORK, "npm")
    os.makedirs(npm_dir, exist_ok=True)
    tarball = os.path.join(npm_dir, f"{name}-{version}.tgz")
    if not os.path.exists(tarball) or sri(tarball) != integrity:
        log(f"fetch {name}@{version}")
        subprocess.run(["npm", "pack", f"{name}@{version}", "--pack-destination", npm_dir, "--silent"],
                       check=True, stdout=subprocess.DEVNULL)
    if sri(tarball) != integrity:
        sys.exit(f"{tarball}: integrity {sri(tarball)} is not the pinned {integrity}")
    os.makedirs(src, exist_ok=True)
    # GNU tar refuses absolute paths and '..' members (this Python's tarfile has no filter=).
    subprocess.run(["tar", "-xzf", tarball, "-C", src, "--no-same-owner"], check=True)
    open(os.path.join(src, ".complete"), "w").close()
    return os.path.join(src, "package")


def sri(path):
    with open(path, "rb") as f:
        return "sha512-" + base64.b64encode(hashlib.sha512(f.read()).digest()).decode()


# ---------------------------------------------------------------- emoji and captions

def key_of(hexcode):
    """Codepoint sequence as a join key: upper-case hex, variation selector 16 dropped
    (the sets disagree on where they write it)."""
    return "-".join(p for p in hexcode.upper().split("-") if p != "FE0F")


def words(text):
    return re.sub(r"[_\s]+", " ", text).strip()


def catalog(datasource, openmoji):
    """Every emoji emoji-datasource lists (Emoji 16.0, skin-tone variants included), each with
    its captions: CLDR short name and keywords (read from OpenMoji's data file, which carries
    CLDR's annotations), the Unicode name and short codes (emoji-datasource), category and
    subcategory. Skin-tone variants share their base emoji's keywords."""
    with open(os.path.join(datasource, "emoji.json")) as f:
        entries = json.load(f)
    with open(os.path.join(openmoji, "data", "openmoji.json")) as f:
        cldr = {key_of(e["hexcode"]): e for e in json.load(f)}
    emoji = []
    for entry in sorted(entries, key=lambda e: e["sort_order"]):
        base = {
            "name": entry["name"].lower() if entry["name"] else "",
            "short_names": [words(s) for s in entry["short_names"]],
            "category": entry["category"],
            "subcategory": words(entry["subcategory"].replace("-", " ")),
        }
        variants = [(entry["unified"], entry["image"], None)] + [
            (v["unified"], v["image"], tones) for tones, v in entry.get("skin_variations", {}).items()]
        base_keywords = []
        for unified, image, tones in variants:
            key = key_of(unified)
            annotation = cldr.get(key)
            if annotation is None:
                sys.exit(f"no CLDR annotation for {unified} ({base['name']})")
            keywords = [k.strip() for k in annotation["tags"].split(",") if k.strip()]
            if tones is None:
                base_keywords = keywords
            emoji.append({
                "key": key, "image": image, "cldr": annotation["annotation"],
                "keywords": keywords or base_keywords,
                "skin_tones": [TONE_CODES[t] for t in tones.split("-")] if tones else [],
                **base,
            })
    return emoji


def slug(text):
    text = text.replace("\u2019", "").replace("'", "")
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).lower()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")


def fluent_index(emoji):
    """({(CLDR name without its skin tone, tone or None): emoji index}, the same keyed by the
    name's slug). CLDR writes 'thumbs up: medium-dark skin tone' or 'man: dark skin tone, bald'
    (base 'man: bald')."""
    index = {}
    for i, e in enumerate(emoji):
        m = re.match(r"^(.*): (light|medium-light|medium|medium-dark|dark) skin tone(?:, (.*))?$", e["cldr"])
        if m and len(e["skin_tones"]) == 1:
            index.setdefault((m.group(1) + (": " + m.group(3) if m.group(3) else ""), m.group(2)), i)
        else:
            index.setdefault((e["cldr"], None), i)
    return index, {(slug(name), tone): i for (name, tone), i in index.items()}


def fluent_lookup(indexes, stem):
    """Fluent file stem -> emoji index or None. Fluent names files by its own emoji name,
    slugged, with a tone suffix ('thumbs-up-medium-dark'; '-default' = the untoned emoji)."""
    index, slugs = indexes
    aliased = lambda base, tone: index.get((FLUENT_ALIASES[base], tone)) if base in FLUENT_ALIASES else slugs.get((base, tone))
    found = aliased(stem, None)
    if found is not None:
        return found
    # Longest suffix first: "-medium-light" before "-light".
    for suffix in sorted(TONES + ["default"], key=len, reverse=True):
        if stem.endswith("-" + suffix):
            found = aliased(stem[: -len(suffix) - 1], None if suffix == "default" else suffix)
            if found is not None:
                return found
    return None


# ---------------------------------------------------------------- rendering

def load_rgba(path):
    if path.endswith(".svg"):
        png = subprocess.run(["rsvg-convert", "-w", str(SVG_PX), "-h", str(SVG_PX), path],
                             check=True, capture_output=True).stdout
        return Image.open(io.BytesIO(png)).convert("RGBA")
    return Image.open(path).convert("RGBA")


def extent(image):
    """Drawn bounding box and its larger side, in units of the 64 px canvas."""
    box = Image.fromarray((np.asarray(image)[..., 3] > ALPHA_MIN).astype(np.uint8) * 255).getbbox()
    if box is None:
        return None, 0.0
    return box, max(box[2] - box[0], box[3] - box[1]) * SIZE / image.width


def place(image, box, scale):
    """The drawn part scaled by `scale` (64 px units), centred on a 64x64 white canvas.
    Resized premultiplied, so transparent pixels' colour cannot bleed into the edges."""
    crop = image.crop(box).convert("RGBa")
    w = max(1, round((box[2] - box[0]) * scale * SIZE / image.width))
    h = max(1, round((box[3] - box[1]) * scale * SIZE / image.width))
    crop = crop.resize((min(w, SIZE), min(h, SIZE)), Image.LANCZOS).convert("RGBA")
    canvas = Image.new("RGBA", (SIZE, SIZE), (255, 255, 255, 255))
    canvas.alpha_composite(crop, ((SIZE - crop.width) // 2, (SIZE - crop.height) // 2))
    return np.asarray(canvas.convert("RGB"))


def render_set(name, files):
    """files: [(emoji index, path)] -> render/<name>.npz (images uint8 [M, 64, 64, 3], emoji
    index [M]) and the set's scale. SVG rasters are kept per file in render/<name>/, so an
    interrupted render resumes."""
    out = os.path.join(WORK, "render", f"{name}.npz")
    if os.path.exists(out):
        return out
    cache = os.path.join(WORK, "render", name)
    os.makedirs(cache, exist_ok=True)

    def raster(item):
        i, path = item
        if not path.endswith(".svg"):
            return load_rgba(path)
        cached = os.path.join(cache, os.path.basename(path)[:-4] + ".png")
        if not os.path.exists(cached):
            load_rgba(path).save(cached + ".tmp", format="PNG")
            os.replace(cached + ".tmp", cached)
        return Image.open(cached).convert("RGBA")

    log(f"render {name}: {len(files)} images")
    with concurrent.futures.ThreadPoolExecutor(len(os.sched_getaffinity(0))) as pool:
        rasters = list(pool.map(raster, files))
    measured = [extent(r) for r in rasters]
    median = float(np.median([e for _, e in measured if e > 0]))
    scale = TARGET_EXTENT / median
    images, index, blank = [], [], []
    for (i, path), raster_, (box, e) in zip(files, rasters, measured):
        if box is None:
            blank.append(os.path.basename(path))
            continue
        # Never larger than the canvas: the widest emoji of a set just touch its edges.
        images.append(place(raster_, box, min(scale, SIZE / e)))
        index.append(i)
    np.savez_compressed(out + ".tmp.npz", images=np.stack(images), emoji=np.array(index, dtype=np.int64),
                        scale=scale, median_extent=median, blank=np.array(blank))
    os.replace(out + ".tmp.npz", out)
    return out


# ---------------------------------------------------------------- main

def set_files(name, package, emoji, dropped):
    """[(emoji index, image path)] of one set, recording what could not be matched."""
    if name in ("twemoji", "noto"):
        folder = os.path.join(package, "img", "twitter" if name == "twemoji" else "google", "64")
        files = [(i, os.path.join(folder, e["image"])) for i, e in enumerate(emoji)]
        dropped[name] = {"missing file": [e["key"] for (_, p), e in zip(files, emoji) if not os.path.exists(p)]}
        return [(i, p) for i, p in files if os.path.exists(p)]
    if name == "openmoji":
        folder = os.path.join(package, "color", "svg")
        by_key = {key_of(f[:-4]): f for f in os.listdir(folder) if f.endswith(".svg")}
        files = [(i, os.path.join(folder, by_key[e["key"]])) for i, e in enumerate(emoji) if e["key"] in by_key]
        used = {os.path.basename(p) for _, p in files}
        dropped[name] = {
            "not in Emoji 16.0 (OpenMoji extras and newer emoji)": len([f for f in by_key.values() if f not in used]),
            "missing file": [e["key"] for e in emoji if e["key"] not in by_key],
        }
        return files
    folder = os.path.join(package, "icons", "modern")
    indexes, files, unmatched = fluent_index(emoji), [], []
    for f in sorted(os.listdir(folder)):
        i = fluent_lookup(indexes, f[:-4]) if f.endswith(".svg") else None
        (unmatched.append(f) if i is None else files.append((i, os.path.join(folder, f))))
    seen, unique = set(), []
    for i, p in files:  # one image per emoji per set
        if i not in seen:
            seen.add(i)
            unique.append((i, p))
    dropped[name] = {"no CLDR match": unmatched, "second file for one emoji": len(files) - len(unique)}
    return sorted(unique)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--held-out", choices=sorted(SETS), default=DEFAULT_HELD_OUT)
    args = parser.parse_args()
    packages = {name: fetch(name) for name in PACKAGES}
    emoji = catalog(packages["emoji-datasource-twitter"], packages["openmoji"])
    dropped, parts = {}, []
    for name, meta in SETS.items():
        files = set_files(name, packages[meta["package"]], emoji, dropped)
        d = np.load(render_set(name, files))
        dropped[name]["blank render"] = d["blank"].tolist()
        parts.append((name, d))
    names = list(SETS)
    images = np.concatenate([d["images"] for _, d in parts])
    index = np.concatenate([d["emoji"] for _, d in parts])
    set_id = np.concatenate([np.full(len(d["emoji"]), names.index(n), dtype=np.int64) for n, d in parts])
    split = (set_id == names.index(args.held_out)).astype(np.uint8)  # 0 = train, 1 = held out
    np.savez(os.path.join(WORK, "emoji.npz.tmp.npz"), images=images, emoji=index, set=set_id, split=split)
    os.replace(os.path.join(WORK, "emoji.npz.tmp.npz"), os.path.join(WORK, "emoji.npz"))

    per_set = {n: {"images": int(len(d["emoji"])), "skin_tone_images": int(sum(bool(emoji[i]["skin_tones"]) for i in d["emoji"])),
                   "median_extent_px": round(float(d["median_extent"]), 2), "scale": round(float(d["scale"]), 4),
                   "split": "held out" if n == args.held_out else "train", **SETS[n],
                   "package_version": PACKAGES[SETS[n]["package"]][0]} for n, d in parts}
    in_train = set(index[split == 0].tolist())
    summary = {
        "image": SIZE, "target_extent": TARGET_EXTENT, "background": "white",
        "sets": per_set, "set_order": names, "held_out": args.held_out,
        "train": {"images": int((split == 0).sum()), "emoji": len(in_train)},
        "held_out_images": {"images": int(split.sum()), "emoji": len(set(index[split == 1].tolist())),
                            "emoji_also_in_train": len(set(index[split == 1].tolist()) & in_train)},
        "emoji_count": len(emoji),
        "caption_sources": "cldr + keywords: CLDR annotations (via openmoji/data/openmoji.json); name, short_names, "
                           "category, subcategory: emoji-datasource emoji.json",
        "dropped": dropped,
        "emoji": emoji,
    }
    with open(os.path.join(WORK, "emoji.json.tmp"), "w") as f:
        json.dump(summary, f, indent=1)
    os.replace(os.path.join(WORK, "emoji.json.tmp"), os.path.join(WORK, "emoji.json"))
    print(json.dumps({k: summary[k] for k in ["train", "held_out_images", "emoji_count"]}, indent=1))
    print(json.dumps({n: {k: s[k] for k in ["images", "skin_tone_images", "median_extent_px", "split"]}
                      for n, s in per_set.items()}, indent=1))


if __name__ == "__main__":
    main()
