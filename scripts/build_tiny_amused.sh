#!/usr/bin/env bash
# models/tiny-amused: a random-weight aMused pipeline at reduced widths (the 256 layout, the real
# CLIP vocabulary), converted like any aMused checkpoint. Its images are noise; the tests use it
# for text-to-image wiring without Python. Re-run: bash scripts/build_tiny_amused.sh
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
/usr/bin/python3 scripts/build_amused_random.py --layout 256 --tiny --out "$work/pipeline"
rm -rf models/tiny-amused
/usr/bin/python3 scripts/convert.py --family amused --checkpoint "$work/pipeline" \
  --out models/tiny-amused --name tiny-amused
# Say what it is: the converter describes a real aMused checkpoint.
/usr/bin/python3 - <<'PY'
import json
path = "models/tiny-amused/model.json"
manifest = json.load(open(path))
manifest["description"] = ("Stand-in with random weights in aMused's 256 layout at reduced widths: "
                           "its images are noise. For tests and wiring only.")
manifest["source"] = "scripts/build_tiny_amused.sh (build_amused_random.py --tiny, then convert.py)"
manifest["license"] = "MIT (generated weights); tokenizer.json from OpenAI CLIP's BPE merges (MIT)"
with open(path, "w") as f:
    json.dump(manifest, f, indent=2)
    f.write("\n")
PY
