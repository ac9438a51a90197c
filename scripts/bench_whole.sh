#!/usr/bin/env bash
# A whole job timed from outside, ours against PyTorch on the same weights: one process that loads
# the model, generates BATCH images (classes 0…BATCH-1, or prompts; Halton, STEPS steps, the
# folder's guidance) as one batch, decodes them and writes their PNGs. Ours is `generate` on the
# model folder; PyTorch's is scripts/bench_torch.py --write on the checkpoints the folder was
# converted from (the converter's modules, which match the official ones within 1e-6: README
# "Using the official checkpoints"). Runs alternate ours/PyTorch after one untimed warm-up each
# (so both read the files from the page cache); medians of RUNS. Prints a Markdown table.
#
#   bash scripts/bench_whole.sh MODEL_DIR CHECKPOINT_DIR [RUNS=3] [BATCH=4] [STEPS=32]
#
# CHECKPOINT_DIR holds transformer.pth and tokenizer.pth (scripts/convert/random_checkpoints.py
# writes them); FAMILY=v1 for MaskGIT v1 checkpoints (default v2). FAMILY=amused: CHECKPOINT_DIR is
# the diffusers pipeline folder, and image i asks for bench_torch.py's prompt i instead of class i.
# OFFICIAL=PATH (v2): PyTorch's side is the official sampler itself, from a checkout of
# valeoai/Halton-MaskGIT at PATH (scripts/bench_official.py), instead of bench_torch.py.
set -euo pipefail
cd "$(dirname "$0")/.."
usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; }
if [ "${1:-}" = "--help" ] || [ "${1:-}" = "-h" ]; then usage; exit 0; fi
if [ $# -lt 2 ]; then usage >&2; exit 2; fi
MODEL=$1 CHECKPOINT=$2 RUNS=${3:-3} BATCH=${4:-4} STEPS=${5:-32}
# Deno itself, not npx: its start-up would be timed with every run.
DENO=$(npx -y deno@2 eval 'console.log(Deno.execPath())')
read -r CFG TEMPERATURE < <("$DENO" eval '
const { defaults } = JSON.parse(Deno.readTextFileSync(Deno.args[0]));
console.log(defaults.cfg ?? 0, defaults.temperature?.start ?? 1);' "$MODEL/model.json")
FAMILY=${FAMILY:-v2}
if [ "$FAMILY" = amused ]; then
  PROMPTS=("a red apple" "a smiling face" "a cat on a sofa" "a flag") # bench_torch.py's, in turn
  CONDITION=() && for i in $(seq 0 $((BATCH - 1))); do CONDITION+=(--prompt "${PROMPTS[i % 4]}"); done
  WEIGHTS=(--checkpoint "$CHECKPOINT")
else
  CONDITION=(--class "$(seq -s, 0 $((BATCH - 1)))")
  WEIGHTS=(--transformer "$CHECKPOINT/transformer.pth" --tokenizer "$CHECKPOINT/tokenizer.pth")
fi
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

ours() {
  "$DENO" run -A main.ts generate --model "$MODEL" "${CONDITION[@]}" --batch "$BATCH" \
    --steps "$STEPS" --scheduler halton --cfg "$CFG" --quiet --out "$WORK/ours/" >/dev/null
}
torch() {
  if [ -n "${OFFICIAL:-}" ]; then
    /usr/bin/python3 scripts/bench_official.py --official "$OFFICIAL" "${WEIGHTS[@]}" \
      --steps "$STEPS" --batch "$BATCH" --cfg "$CFG" --temperature "$TEMPERATURE" --out "$WORK/torch"
  else
    /usr/bin/python3 scripts/bench_torch.py --family "$FAMILY" "${WEIGHTS[@]}" \
      --steps "$STEPS" --batch "$BATCH" --cfg "$CFG" --temperature "$TEMPERATURE" \
      --write "$WORK/torch" >/dev/null
  fi
}
seconds() {
  local start end
  start=$(date +%s.%N)
  "$@"
  end=$(date +%s.%N)
  echo "$end - $start" | bc -l
}
median() { sort -g | awk '{ t[NR] = $1 } END { print t[int((NR + 1) / 2)] }'; }

ours
torch
ours_times=() torch_times=()
for _ in $(seq "$RUNS"); do
  ours_times+=("$(seconds ours)")
  torch_times+=("$(seconds torch)")
done
[ "$(ls "$WORK/ours" | wc -l)" -eq "$BATCH" ] && [ "$(ls "$WORK/torch" | wc -l)" -eq "$BATCH" ]
mine=$(printf '%s\n' "${ours_times[@]}" | median)
theirs=$(printf '%s\n' "${torch_times[@]}" | median)
echo "| model | images | steps | ours (whole process) | ${OFFICIAL:+official sampler, }PyTorch (whole process) | ours / PyTorch |"
echo "| --- | ---: | ---: | ---: | ---: | ---: |"
printf '| %s | %s | %s | %.2f s | %.2f s | **%.2f** |\n' "$(basename "$MODEL")" "$BATCH" "$STEPS" \
  "$mine" "$theirs" "$(echo "$mine / $theirs" | bc -l)"
echo "runs (s): ours ${ours_times[*]}; PyTorch ${torch_times[*]}"
