#!/usr/bin/python3
"""The emoji model's words: the tokenizer (built here from the captions, written as a Hugging
Face tokenizer.json), the same tokenizer in Python for training, the runtime's row layout
(bos + ids + eos + pad), and the varied prompts training draws for an emoji.

The tokenizer is word level: a WordPiece model whose vocabulary holds whole words only (no
'##' pieces), so a word is itself or [UNK]. WordPiece rather than WordLevel because npm
@huggingface/tokenizers 0.2.0, which the runtime uses, has no WordLevel model (it falls back
to a model that returns undefined for unknown words). No post-processor: encoding adds no
special tokens; the runtime adds bos/eos/pad from the manifest.

    /usr/bin/python3 scripts/train/emoji/text.py     # writes $EMOJI_WORK/tokenizer.json
"""

import collections
import json
import os
import random
import re
import sys
import unicodedata

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from paths import WORK  # noqa: E402

SPECIALS = ["[PAD]", "[BOS]", "[EOS]", "[UNK]"]
PAD, BOS, EOS, UNK = range(4)
LENGTH = 32  # the longest CLDR name is 19 words and marks; room for a category or template
TEMPLATES = ["a {}", "an {}", "{} emoji", "an emoji of a {}", "the {}", "{} icon", "a picture of a {}"]
# The JS pre-tokenizer's \w is ASCII-only ([A-Za-z0-9_]); Python's would be Unicode.
WORD = re.compile(r"[A-Za-z0-9_]+|[^A-Za-z0-9_\s]+")


def normalize(text):
    """The tokenizer.json normalizer: NFKD, strip combining marks (JS: /\\p{M}/gu), lower-case."""
    text = unicodedata.normalize("NFKD", text)
    return "".join(c for c in text if not unicodedata.category(c).startswith("M")).lower()


def pieces(text):
    return WORD.findall(normalize(text))


def load_tokenizer(path=None):
    with open(path or os.path.join(WORK, "tokenizer.json")) as f:
        return json.load(f)


class Words:
    """encode(text) -> ids exactly as `new Tokenizer(json).encode(text, {add_special_tokens:
    false}).ids` in the runtime, for this word-level tokenizer."""

    def __init__(self, tokenizer_json):
        self.vocab = tokenizer_json["model"]["vocab"]

    def encode(self, text):
        # WordPiece turns words longer than max_input_chars_per_word (100) into [UNK].
        return [self.vocab.get(w, UNK) if len(w) <= 100 else UNK for w in pieces(text)]

    def row(self, ids, length=LENGTH):
        """The runtime's layout: [bos] + ids[: L - 2] + [eos] + [pad] * rest."""
        ids = [BOS] + ids[: length - 2] + [EOS]
        return ids + [PAD] * (length - len(ids))


def caption_fields(e):
    return [e["cldr"], e["name"], e["category"], e["subcategory"]] + e["short_names"] + e["keywords"]


def build(emoji):
    """tokenizer.json for every word any caption field or template can produce, most frequent first."""
    counts = collections.Counter()
    for e in emoji:
        for field in caption_fields(e):
            counts.update(pieces(field))
    for template in TEMPLATES:
        counts.update(pieces(template.format("")))
    words = sorted(counts, key=lambda w: (-counts[w], w))
    vocab = {token: i for i, token in enumerate(SPECIALS + words)}
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        # No added tokens: the JS library would match "[PAD]" typed in a prompt as the pad id,
        # which the Python side does not; the specials only live in the vocabulary.
        "added_tokens": [],
        "normalizer": {"type": "Sequence", "normalizers": [{"type": "NFKD"}, {"type": "StripAccents"},
                                                           {"type": "Lowercase"}]},
        "pre_tokenizer": {"type": "Whitespace"},
        "post_processor": None,
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                  "max_input_chars_per_word": 100, "vocab": vocab},
    }


def tone_words(e):
    return ", ".join(f"{t} skin tone" for t in e["skin_tones"])


def draw_prompt(e, rng=random):
    """One training prompt for emoji `e`: its CLDR name 70 % of the time, else (5 % each) a
    template around it, a few keywords, its Unicode name, a short code, category words with the
    name, or category words with keywords. Name-less forms of a skin-toned emoji say the tone too.
    The name dominates because it is what users and the evaluation type; at 40 % (the first
    recipe) a rare emoji's name barely steered its shape (scripts/train/emoji/README.md)."""
    tone = tone_words(e)
    with_tone = lambda text: f"{text} {tone}" if tone and rng.random() < 0.8 else text
    u = rng.random()
    if u < 0.70 or (u < 0.80 and not e["keywords"]):
        return e["cldr"]
    if u < 0.75:
        return rng.choice(TEMPLATES).format(e["cldr"])
    if u < 0.80:
        k = rng.sample(e["keywords"], min(len(e["keywords"]), rng.randint(1, 4)))
        return with_tone(rng.choice([" ", ", "]).join(k))
    if u < 0.85:
        return with_tone(e["name"] or e["cldr"])
    if u < 0.90:
        return with_tone(rng.choice(e["short_names"]))
    if u < 0.95:
        return f"{e['subcategory']}: {e['cldr']}" if rng.random() < 0.5 else f"{e['category']} {e['cldr']}"
    k = rng.sample(e["keywords"], min(len(e["keywords"]), rng.randint(1, 3))) if e["keywords"] else [e["cldr"]]
    return with_tone(f"{rng.choice([e['category'], e['subcategory']])} {' '.join(k)}")


def main():
    with open(os.path.join(WORK, "emoji.json")) as f:
        emoji = json.load(f)["emoji"]
    tokenizer = build(emoji)
    with open(os.path.join(WORK, "tokenizer.json"), "w") as f:
        json.dump(tokenizer, f, ensure_ascii=False)
    words, rng = Words(tokenizer), random.Random(0)
    lengths = [len(words.encode(draw_prompt(e, rng))) for e in emoji for _ in range(20)]
    print(json.dumps({"vocab": len(tokenizer["model"]["vocab"]), "length": LENGTH,
                      "longest_cldr": max(len(words.encode(e["cldr"])) for e in emoji),
                      "drawn_prompts_over_length": sum(n > LENGTH - 2 for n in lengths) / len(lengths),
                      "examples": [draw_prompt(emoji[i], rng) for i in (0, 100, 400, 1500, 3000) for _ in range(2)]},
                     indent=1))


if __name__ == "__main__":
    main()
