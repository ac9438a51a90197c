#!/usr/bin/env bash
# The README's per-shape table: folder size and time for one image on this machine, for random
# weights of each official Halton-MaskGIT / MaskGIT shape. For each shape: random checkpoints in the
# official layout (scripts/convert/random_checkpoints.py), converted (scripts/convert.py), then
# `generate --class 1` with the folder's defaults (guidance on: each step runs a batch of 2), timed
# as the whole command's wall time including loading the model, the median of RUNS runs after one
# warm-up run. Prints one Markdown row per shape. Needs python3-torch and python3-onnx; about
# 45 minutes and 10 GB of memory on 2 cores (the large shape's conversion is the peak).
#
#   bash scripts/bench_shapes.sh [RUNS=3] [SHAPE …]     # SHAPE: family:grid:size, e.g. v2:16:tiny
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-3}
shift || true
SHAPES=("$@")
if [ ${#SHAPES[@]} -eq 0 ]; then
  SHAPES=(v2:16:tiny v2:16:small v2:16:base v2:24:small v2:24:base v2:24:large v1:16:base v1:32:base)
fi
# Deno itself, not npx: its start-up would be timed with every run.
DENO=$(npx -y deno@2 eval 'console.log(Deno.execPath())')
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

echo "| family | grid | size | parameters | folder | steps | time per image (median of $RUNS) |"
echo "| --- | --- | --- | ---: | ---: | ---: | ---: |"
for shape in "${SHAPES[@]}"; do
  IFS=: read -r family grid size <<<"$shape"
  /usr/bin/python3 scripts/convert/random_checkpoints.py --family "$family" --grid "$grid" \
    --size "$size" --out "$WORK/ckpt" >/dev/null 2>"$WORK/log" || { cat "$WORK/log"; exit 1; }
  parameters=$(/usr/bin/python3 -c '
import sys, torch
state = torch.load(sys.argv[1], map_location="cpu", weights_only=False)["model_state_dict"]
print(f"{sum(t.numel() for t in state.values()) / 1e6:.0f} M")' "$WORK/ckpt/transformer.pth")
  heads=() # the toy width (for trying this script) is not an official size
  [ "$size" = toy ] && heads=(--heads 4)
  /usr/bin/python3 scripts/convert.py --family "$family" --transformer "$WORK/ckpt/transformer.pth" \
    --tokenizer "$WORK/ckpt/tokenizer.pth" --out "$WORK/model" --no-check "${heads[@]}" \
    >/dev/null 2>"$WORK/log" || { cat "$WORK/log"; exit 1; }
  rm -rf "$WORK/ckpt"
  folder=$(du -sm "$WORK/model" | cut -f1)
  steps=$("$DENO" eval 'console.log(JSON.parse(Deno.readTextFileSync(Deno.args[0])).defaults.steps)' \
    "$WORK/model/model.json")
  times=()
  for run in $(seq 0 "$RUNS"); do
    start=$(date +%s.%N)
    "$DENO" run -A main.ts generate --model "$WORK/model" --class 1 --quiet --out "$WORK/out.png" \
      >/dev/null
    end=$(date +%s.%N)
    [ "$run" -gt 0 ] && times+=("$(echo "$end - $start" | bc -l)")
  done
  median=$(printf '%s\n' "${times[@]}" | sort -g | awk '{ t[NR] = $1 } END { print t[int((NR + 1) / 2)] }')
  printf '| %s | %s×%s | %s | %s | %s MB | %s | %.1f s |\n' "$family" "$grid" "$grid" "$size" \
    "$parameters" "$folder" "$steps" "$median"
  rm -rf "$WORK/model" "$WORK/out.png"
done
