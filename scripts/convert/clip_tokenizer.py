"""CLIP's byte-level BPE tokenizer for text-to-image folders: its vocabulary files, the
tokenizer.json the runtime loads (npm @huggingface/tokenizers), and a Python encoder giving the
same ids, which the converter uses for reference.json.

    vocab_from_bpe_gz(path)            vocab + merges from openai/CLIP's bpe_simple_vocab_16e6.txt.gz
    write_vocab_files(dir, vocab, merges)   vocab.json + merges.txt, as a pipeline's tokenizer/ has them
    read_vocab_files(dir)              the same back; errors name the file
    tokenizer_json(vocab, merges, ...) the runtime's tokenizer.json: no post-processor, so encoding
                                       adds no bos/eos (the runtime adds them from the manifest)
    ClipEncoder(vocab, merges).encode(text)  content ids, without bos/eos
    encoder_from_tokenizer_json(json)  the same encoder for a tokenizer.json written as above
    runtime_ids(ids, length, bos, eos, pad)  the text encoder's input row, as the runtime builds it

Command line:
    /usr/bin/python3 scripts/convert/clip_tokenizer.py --check
        our encoder against tests/fixtures/clip/known-ids.json (built from the fixture .gz)
    /usr/bin/python3 scripts/convert/clip_tokenizer.py --fixture --clip DIR
        rewrites known-ids.json with the ids of openai/CLIP's own simple tokenizer, imported from
        a checkout at DIR (needs python3-regex; ftfy, absent from Debian, is replaced by NFC, which
        is all it does to the fixture's strings), and checks that our encoder agrees (then run
        `deno fmt tests/fixtures/clip/known-ids.json`).
"""

import argparse
import gzip
import json
import os
import re
import sys
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FIXTURES = os.path.join(ROOT, "tests", "fixtures", "clip")
BPE_GZ = os.path.join(FIXTURES, "bpe_simple_vocab_16e6.txt.gz")
KNOWN_IDS = os.path.join(FIXTURES, "known-ids.json")

BOS, EOS = "<|startoftext|>", "<|endoftext|>"
SUFFIX = "</w>"
# CLIP's vocabulary: 256 byte symbols, the same with </w>, one entry per merge, then bos and
# eos: 49,408 entries, so 49,408 - 2 - 512 merges are used from the file.
VOCAB_SIZE = 49408
MERGES_USED = VOCAB_SIZE - 2 - 512
# CLIP's pre-tokenizer: contractions, runs of letters, single digits, runs of anything else
# but whitespace (which is dropped).
SPLIT = r"""'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"""
CONTRACTIONS = ("'s", "'t", "'re", "'ve", "'m", "'ll", "'d")


def byte_symbols():
    """The printable character standing for each byte: printable Latin-1 bytes stand for
    themselves, the other 68 take code points from 256 up, in byte order (GPT-2's and CLIP's
    byte-level alphabet)."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    table, extra = {}, 0
    for b in range(256):
        if b in printable:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return table


def _alphabet_order():
    """Byte symbols in CLIP's vocabulary order: the printable ones first, then the rest."""
    table = byte_symbols()
    printable = [b for b in range(256) if table[b] == chr(b)]
    return [table[b] for b in printable] + [table[b] for b in range(256) if b not in printable]


def vocab_from_bpe_gz(path):
    """(vocab {token: id}, merges [(a, b)]) as CLIP builds them from its merges file."""
    try:
        lines = gzip.open(path).read().decode("utf-8").split("\n")
    except (OSError, EOFError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: not a gzipped CLIP merges file ({error})") from None
    merges = [tuple(line.split()) for line in lines[1:1 + MERGES_USED]]
    if len(merges) != MERGES_USED or any(len(m) != 2 for m in merges):
        raise ValueError(f"{path}: expected {MERGES_USED} merges after the version line")
    alphabet = _alphabet_order()
    tokens = alphabet + [s + SUFFIX for s in alphabet] + ["".join(m) for m in merges] + [BOS, EOS]
    return {t: i for i, t in enumerate(tokens)}, merges


def write_vocab_files(folder, vocab, merges):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False)
    with open(os.path.join(folder, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges))


def read_vocab_files(folder):
    """(vocab, merges) from a pipeline's tokenizer folder; ValueError naming the bad file."""
    vocab_path, merges_path = os.path.join(folder, "vocab.json"), os.path.join(folder, "merges.txt")
    try:
        with open(vocab_path, encoding="utf-8") as f:
            vocab = json.load(f)
    except OSError as error:
        raise ValueError(f"{vocab_path}: {error.strerror}") from None
    except ValueError:
        raise ValueError(f"{vocab_path}: not JSON") from None
    if not isinstance(vocab, dict) or not all(isinstance(v, int) for v in vocab.values()):
        raise ValueError(f"{vocab_path}: expected an object of token ids")
    try:
        with open(merges_path, encoding="utf-8") as f:
            lines = f.read().split("\n")
    except OSError as error:
        raise ValueError(f"{merges_path}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise ValueError(f"{merges_path}: not UTF-8 text") from None
    merges = [tuple(line.split()) for line in lines if line.strip() and not line.startswith("#version")]
    bad = next((i for i, m in enumerate(merges) if len(m) != 2), None)
    if bad is not None:
        raise ValueError(f"{merges_path}: merge {bad + 1} is not two symbols")
    missing = next(("".join(m) for m in merges if "".join(m) not in vocab), None)
    if missing is not None:
        raise ValueError(f"{merges_path}: merge result '{missing}' is not in vocab.json")
    return vocab, merges


def tokenizer_json(vocab, merges, specials=(BOS, EOS), unk=EOS):
    """The Hugging Face tokenizers description of CLIP's tokenizer: NFC, whitespace runs to
    one space, lowercase; CLIP's split (whitespace removed); byte-level symbols without
    GPT-2's own split; BPE marking word ends with </w>. No post-processor: encoding adds no
    special tokens. `specials` become added tokens, so that a prompt spelling one out gets its
    id, as CLIP's own tokenizer does."""
    added = [{"id": vocab[t], "content": t, "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": True, "special": True} for t in specials if t in vocab]
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "NFC"},
            {"type": "Replace", "pattern": {"Regex": r"\s+"}, "content": " "},
            {"type": "Lowercase"},
        ]},
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": SPLIT}, "behavior": "Removed", "invert": True},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False},
        ]},
        "post_processor": None,
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": unk, "continuing_subword_prefix": "",
                  "end_of_word_suffix": SUFFIX, "fuse_unk": False, "byte_fallback": False,
                  "vocab": vocab, "merges": [f"{a} {b}" for a, b in merges]},
    }


def encoder_from_tokenizer_json(description):
    """A ClipEncoder for a tokenizer.json of the kind tokenizer_json() writes; ValueError for
    any other (its normalizer, split, model and lack of post-processor must be the same)."""
    model = description.get("model") or {}
    same = tokenizer_json({}, [])
    if (model.get("type") != "BPE" or model.get("end_of_word_suffix") != SUFFIX
            or description.get("normalizer") != same["normalizer"]
            or description.get("pre_tokenizer") != same["pre_tokenizer"]
            or description.get("post_processor") is not None):
        raise ValueError("not a CLIP-style tokenizer.json: give the reference input ids explicitly")
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in model["merges"]]
    specials = [t["content"] for t in description.get("added_tokens", [])]
    return ClipEncoder(model["vocab"], merges, specials)


def _kind(ch):
    """'L' letter, 'N' number, ' ' whitespace, '' anything else (CLIP's split classes)."""
    if ch.isspace():
        return " "
    category = unicodedata.category(ch)[0]
    return category if category in "LN" else ""


def split_words(text):
    """CLIP's pre-tokenizer split, written out by hand so that no regex package is needed."""
    words, i = [], 0
    while i < len(text):
        contraction = next((c for c in CONTRACTIONS if text.startswith(c, i)), None)
        kind = _kind(text[i])
        if contraction:
            j = i + len(contraction)
        elif kind == " ":
            i += 1
            continue
        elif kind == "N":
            j = i + 1
        else:
            j = i + 1
            while j < len(text) and _kind(text[j]) == kind:
                j += 1
        words.append(text[i:j])
        i = j
    return words


class ClipEncoder:
    """Text to CLIP token ids the way tokenizer_json's description does it (no bos/eos)."""

    def __init__(self, vocab, merges, specials=(BOS, EOS)):
        self.vocab = vocab
        self.ranks = {tuple(m): i for i, m in enumerate(merges)}
        self.symbols = byte_symbols()
        self.specials = [s for s in specials if s in vocab]
        self.cache = {}

    def _bpe(self, word):
        if word in self.cache:
            return self.cache[word]
        parts = list(word[:-1]) + [word[-1] + SUFFIX]
        while len(parts) > 1:
            ranked = [(self.ranks.get((a, b)), i) for i, (a, b) in enumerate(zip(parts, parts[1:]))]
            ranked = [(r, i) for r, i in ranked if r is not None]
            if not ranked:
                break
            best = min(ranked)[0]
            merged, i = [], 0
            while i < len(parts):  # every occurrence of the best pair, left to right
                if i + 1 < len(parts) and self.ranks.get((parts[i], parts[i + 1])) == best:
                    merged.append(parts[i] + parts[i + 1])
                    i += 2
                else:
                    merged.append(parts[i])
                    i += 1
            parts = merged
        self.cache[word] = parts
        return parts

    def _encode_plain(self, text):
        text = re.sub(r"\s+", " ", unicodedata.normalize("NFC", text)).lower()
        ids = []
        for word in split_words(text):
            symbols = "".join(self.symbols[b] for b in word.encode("utf-8"))
            ids.extend(self.vocab[p] for p in self._bpe(symbols))
        return ids

    def encode(self, text):
        if not self.specials:
            return self._encode_plain(text)
        pattern = "(" + "|".join(re.escape(s) for s in self.specials) + ")"
        ids = []
        for piece in re.split(pattern, text):
            ids.extend([self.vocab[piece]] if piece in self.specials else self._encode_plain(piece))
        return ids


def runtime_ids(content, length, bos, eos, pad):
    """What the runtime feeds the text encoder: [bos] + content[: L - 2] + [eos] + pads (no bos
    when bos is None, then L - 1 content ids)."""
    head = [] if bos is None else [bos]
    body = content[: length - len(head) - 1]
    ids = head + body + [eos]
    return ids + [pad] * (length - len(ids))


# Strings whose ids the fixture pins: plain prompts, case, spacing, punctuation, digits,
# contractions, accents, non-Latin scripts, emoji and the special tokens spelled out.
FIXTURE_TEXTS = [
    "a photo of a cat",
    "a red apple",
    "",
    "A Photo Of A CAT",
    "  an astronaut   riding\ta horse \n on the moon  ",
    "hello, world! isn't it great? they'll say we'd've done it...",
    "2024 was 365 days; 3.14159 is pi",
    "café crème brûlée à la mode, naïve façade",
    "東京タワーの夜景",
    "Москва зимой",
    "a 🐱 and a 🐶 with ❤️",
    "<|startoftext|>a dog<|endoftext|>",
    "#hashtag @user https://example.com/path?q=1&x=y",
    "supercalifragilisticexpialidocious antidisestablishmentarianism",
    "an oil painting of a lighthouse at dusk, highly detailed, 4k, trending on artstation",
]


def _openai_encoder(clip_dir):
    """openai/CLIP's SimpleTokenizer from a checkout, with ftfy (absent from Debian) replaced by
    NFC: fix_text leaves the fixture's well-formed strings as they are, apart from NFC."""
    import types
    sys.modules.setdefault("ftfy", types.SimpleNamespace(fix_text=lambda t: unicodedata.normalize("NFC", t)))
    sys.path.insert(0, os.path.join(clip_dir, "clip"))
    import simple_tokenizer  # noqa: E402  (the checkout's module, not ours)
    return simple_tokenizer.SimpleTokenizer(BPE_GZ)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="check our encoder against known-ids.json")
    parser.add_argument("--fixture", action="store_true", help="rewrite known-ids.json from openai/CLIP")
    parser.add_argument("--clip", help="a checkout of openai/CLIP (for --fixture)")
    args = parser.parse_args()
    vocab, merges = vocab_from_bpe_gz(BPE_GZ)
    ours = ClipEncoder(vocab, merges)
    if args.fixture:
        if not args.clip:
            parser.error("--fixture needs --clip DIR")
        theirs = _openai_encoder(args.clip)
        if theirs.encoder != vocab:
            sys.exit("error: our vocabulary differs from openai/CLIP's")
        known = [{"text": t, "ids": theirs.encode(t)} for t in FIXTURE_TEXTS]
        with open(KNOWN_IDS, "w", encoding="utf-8") as f:  # one string per line
            f.write("[\n" + ",\n".join("  " + json.dumps(k, ensure_ascii=False) for k in known) + "\n]\n")
        print(f"{KNOWN_IDS}: {len(known)} strings")
    with open(KNOWN_IDS, encoding="utf-8") as f:
        known = json.load(f)
    wrong = [k["text"] for k in known if ours.encode(k["text"]) != k["ids"]]
    for text in wrong:
        print(f"differs: {text!r}: ours {ours.encode(text)}", file=sys.stderr)
    print(f"{len(known) - len(wrong)} of {len(known)} strings encode to the known ids")
    sys.exit(1 if wrong else 0)


if __name__ == "__main__":
    main()
