#!/usr/bin/env bash
# The queue's cost (README "Many machines"; docs/performance.md): the same glyph images made
# in-process, through Redis with 1 worker (all cores), and with 2 workers (1 thread each), on this
# machine. Runs interleaved, REPS times each; prints one line per run (seconds of the whole
# `generate` command). Worker start-up is outside the timed command. Needs redis-server.
#
#   bash scripts/bench_queue.sh [COUNT_PER_CLASS=64] [REPS=3]
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${1:-64}
REPS=${2:-3}
# Deno itself, not npx: a worker must be the process that a signal stops.
DENO=("$(npx -y deno@2 eval 'console.log(Deno.execPath())')")
WORK=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
redis-server --port "$PORT" --bind 127.0.0.1 --save "" --appendonly no --daemonize yes \
  --pidfile "$WORK/redis.pid" >/dev/null
QUEUE=redis://127.0.0.1:$PORT
ARGS=(--class A,B --count "$COUNT" --seed 1 --quiet --out "$WORK/out")
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  redis-cli -p "$PORT" shutdown nosave >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

start_workers() { # COUNT THREADS
  PIDS=()
  for k in $(seq 1 "$1"); do
    "${DENO[@]}" run -A main.ts worker --queue "$QUEUE" --model models/glyphs --threads "$2" \
      >"$WORK/w$k.log" 2>&1 &
    PIDS+=($!)
  done
  for k in $(seq 1 "$1"); do
    for _ in $(seq 1 240); do grep -q "taking shards" "$WORK/w$k.log" && break; sleep 0.5; done
  done
}
stop_workers() {
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  PIDS=()
}
timed() { # LABEL COMMAND…
  local label=$1 start end
  shift
  rm -rf "$WORK/out"
  redis-cli -p "$PORT" flushall >/dev/null
  start=$(date +%s.%N)
  "$@" >/dev/null
  end=$(date +%s.%N)
  echo "$label $(echo "$end - $start" | bc) s, $(ls "$WORK/out" | grep -c '\.png$') images"
}
for _ in $(seq 1 "$REPS"); do
  timed local "${DENO[@]}" task generate "${ARGS[@]}"
  start_workers 1 "$(nproc)"
  timed "1-worker" "${DENO[@]}" task generate "${ARGS[@]}" --queue "$QUEUE"
  stop_workers
  start_workers 2 1
  timed "2-workers" "${DENO[@]}" task generate "${ARGS[@]}" --queue "$QUEUE"
  grep -ah "image(s) in" "$WORK"/w*.log | sed 's/^/  shard: /'
  stop_workers
done
