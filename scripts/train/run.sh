#!/usr/bin/env bash
# Trains the shipped glyph model from scratch on this machine's CPUs and exports it to
# models/glyphs/. Every stage resumes from data/runs/ if interrupted; about 1.5 h on 2 cores.
#
#   bash scripts/train/run.sh
set -euo pipefail
cd "$(dirname "$0")"
if ! /usr/bin/python3 -c "import torch, onnx, fontTools, PIL" 2>/dev/null || ! fc-list | grep -qi "Noto Sans"; then
  apt-get update
  apt-get install -y python3-torch python3-onnx python3-numpy python3-pil python3-fonttools \
    libopenblas0-pthread fonts-noto-core fonts-dejavu fonts-liberation2 fonts-urw-base35 \
    fonts-freefont-ttf fonts-crosextra-carlito fonts-crosextra-caladea fonts-ebgaramond \
    fonts-linuxlibertine fonts-texgyre fonts-lato fonts-open-sans fonts-roboto fonts-cantarell
fi
/usr/bin/python3 glyphs.py          # data/glyphs.npz: render and split by font family
/usr/bin/python3 vq.py              # data/runs/vq.pt: the tokenizer
/usr/bin/python3 transformer.py     # data/runs/transformer.pt: the MaskGIT transformer
/usr/bin/python3 classifier.py      # data/runs/classifier.pt: the evaluation classifier
/usr/bin/python3 export.py          # models/glyphs/
