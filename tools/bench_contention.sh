#!/usr/bin/env bash
# Slowdown under contention: one file transcribed by our engine and by faster-whisper (float32 and int8), alone and
# with one busy process (`yes > /dev/null`) on the machine. A fair share of 2 cores with one intruder is 1.5×.
# Each engine runs --repeat pairs (alone and busy, the order alternating: the machine's speed drifts); the slowdown is
# the median of the pairs' ratios, with their range.
# Usage: tools/bench_contention.sh [--threads N] [--encoder-precision float32|bfloat16] [--repeat N] FILE
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
THREADS=2
PRECISION=float32
REPEAT=3
while [[ $# -gt 1 ]]; do
    case "$1" in
        --threads) THREADS="$2"; shift 2 ;;
        --encoder-precision) PRECISION="$2"; shift 2 ;;
        --repeat) REPEAT="$2"; shift 2 ;;
        *) echo "usage: tools/bench_contention.sh [--threads N] [--encoder-precision P] [--repeat N] FILE" >&2; exit 2 ;;
    esac
done
[[ $# -eq 1 ]] || { echo "usage: tools/bench_contention.sh [--threads N] [--encoder-precision P] [--repeat N] FILE" >&2; exit 2; }
FILE="$1"
BIN="${WHISPER_SERVER_BIN:-$ROOT/.build/release/whisper-server}"
[[ -x "$BIN" ]] || { echo "bench: $BIN not found (swift build -c release --product whisper-server)" >&2; exit 1; }
"$ROOT/tools/setup_venv.sh"

ours() { OPENBLAS_NUM_THREADS="$THREADS" "$BIN" bench "$FILE" --encoder-precision "$PRECISION" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["files"][0]["wall_seconds"])'; }
peer() {
    "$ROOT/tools/.venv/bin/python" "$ROOT/tools/bench_peer.py" "$FILE" --beam-size 1 --threads "$THREADS" \
        --compute-types "$1" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["files"][0]["wall_seconds"])'
}

busy() {
    yes > /dev/null &
    local intruder=$!
    sleep 0.5
    "$@"
    kill "$intruder"
    wait "$intruder" 2>/dev/null || true
}

declare -A PAIRS  # engine -> "alone busy" lines, one per pair
for engine in ours float32 int8; do
    run() { if [[ $engine == ours ]]; then ours; else peer "$engine"; fi; }
    for ((pair = 0; pair < REPEAT; pair++)); do
        if ((pair % 2 == 0)); then alone=$(run); contended=$(busy run); else contended=$(busy run); alone=$(run); fi
        PAIRS[$engine]+="$alone $contended"$'\n'
    done
done

printf '%-22s %10s %12s %9s  %s\n' "engine ($THREADS threads)" "alone s" "with yes s" slowdown "range over $REPEAT pairs"
for engine in ours float32 int8; do
    name=$engine; [[ $engine != ours ]] && name="faster-whisper $engine"
    printf '%s' "${PAIRS[$engine]}" | python3 -c '
import statistics, sys
name = sys.argv[1]
pairs = [tuple(map(float, line.split())) for line in sys.stdin if line.strip()]
ratios = [busy / alone for alone, busy in pairs]
print(f"{name:22s} {statistics.median(a for a, _ in pairs):10.2f} {statistics.median(b for _, b in pairs):12.2f} "
      f"{statistics.median(ratios):8.2f}×  {min(ratios):.2f}-{max(ratios):.2f}")' "$name"
done
