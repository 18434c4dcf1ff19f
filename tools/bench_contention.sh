#!/usr/bin/env bash
# Slowdown under contention: one file transcribed by our engine and by faster-whisper (float32 and int8), alone and
# with one busy process (`yes > /dev/null`) on the machine. A fair share of 2 cores with one intruder is 1.5×.
# Usage: tools/bench_contention.sh [--threads N] [--encoder-precision float32|bfloat16] FILE
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
THREADS=2
PRECISION=float32
while [[ $# -gt 1 ]]; do
    case "$1" in
        --threads) THREADS="$2"; shift 2 ;;
        --encoder-precision) PRECISION="$2"; shift 2 ;;
        *) echo "usage: tools/bench_contention.sh [--threads N] [--encoder-precision P] FILE" >&2; exit 2 ;;
    esac
done
[[ $# -eq 1 ]] || { echo "usage: tools/bench_contention.sh [--threads N] [--encoder-precision P] FILE" >&2; exit 2; }
FILE="$1"
BIN="${WHISPER_SERVER_BIN:-$ROOT/.build/release/whisper-server}"
[[ -x "$BIN" ]] || { echo "bench: $BIN not found (swift build -c release --product whisper-server)" >&2; exit 1; }
"$ROOT/tools/setup_venv.sh"

ours() { OPENBLAS_NUM_THREADS="$THREADS" "$BIN" bench "$FILE" --encoder-precision "$PRECISION" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["files"][0]["wall_seconds"])'; }
peer() {
    "$ROOT/tools/.venv/bin/python" "$ROOT/tools/bench_peer.py" "$FILE" --beam-size 1 --threads "$THREADS" \
        --compute-types "$1" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["files"][0]["wall_seconds"])'
}

declare -A ALONE BUSY
for engine in ours float32 int8; do
    run() { if [[ $engine == ours ]]; then ours; else peer "$engine"; fi; }
    ALONE[$engine]=$(run)
    yes > /dev/null &
    intruder=$!
    BUSY[$engine]=$(run)
    kill "$intruder"
    wait "$intruder" 2>/dev/null || true
done

printf '%-22s %10s %12s %9s\n' "engine ($THREADS threads)" "alone s" "with yes s" slowdown
for engine in ours float32 int8; do
    name=$engine; [[ $engine != ours ]] && name="faster-whisper $engine"
    printf '%-22s %10.2f %12.2f %8.2f×\n' "$name" "${ALONE[$engine]}" "${BUSY[$engine]}" \
        "$(python3 -c "print(${BUSY[$engine]} / ${ALONE[$engine]})")"
done
