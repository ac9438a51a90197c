#!/usr/bin/env bash
# Trains the shipped emoji text-to-image model from scratch on this machine's CPUs and exports it
# to models/emoji/. Data and checkpoints live outside the repository: in the folder given as the
# first argument or $EMOJI_WORK (default ~/.cache/halton-maskgit/emoji), checkpoints in
# $EMOJI_RUNS (default <work>/runs). Every stage resumes from there if interrupted, so running the
# same command again continues a stopped run. Budget: about 95-97 minutes to train the model on 2
# quiet cores, plus 8-14 for the evaluation classifier and ~7 to fetch and render the data once
# (scripts/train/emoji/README.md).
#
#   bash scripts/train/emoji/run.sh [WORK_DIR]
#
# VQ_ARGS, TRANSFORMER_ARGS, EXPORT_ARGS and CLASSIFIER_ARGS are passed to those stages (a short
# trial: VQ_ARGS="--steps 20" TRANSFORMER_ARGS="--steps 10" EXPORT_ARGS="--out /tmp/emoji"
# CLASSIFIER_ARGS="--epochs 1 --out /tmp/emoji" EMOJI_RUNS=/tmp/runs).
set -euo pipefail
if [ $# -ge 1 ]; then export EMOJI_WORK="$(realpath -m "$1")"; fi
cd "$(dirname "$0")"
if ! /usr/bin/python3 -c "import torch, onnx, PIL" 2>/dev/null || ! command -v rsvg-convert >/dev/null; then
  apt-get update
  apt-get install -y python3-torch python3-onnx python3-numpy python3-pil libopenblas0-pthread librsvg2-bin
fi
/usr/bin/python3 data.py                              # emoji.npz + emoji.json: fetch, render, caption, split by set
/usr/bin/python3 text.py                              # tokenizer.json: word-level vocabulary of the captions
/usr/bin/python3 vq.py ${VQ_ARGS:-}                   # runs/vq.pt: the VQ tokenizer
/usr/bin/python3 transformer.py ${TRANSFORMER_ARGS:-} # runs/transformer.pt: text encoder + MaskGIT transformer
/usr/bin/python3 export.py ${EXPORT_ARGS:-}           # models/emoji/
/usr/bin/python3 classifier.py ${CLASSIFIER_ARGS:-}   # models/emoji/eval/: retrieval classifier + real sheets
