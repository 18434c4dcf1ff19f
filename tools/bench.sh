#!/usr/bin/env bash
# Side-by-side speed of our engine and faster-whisper (int8 and float32) on the same files.
#   ours: .build/release/whisper-server bench FILE... --json   (skipped with a message when not built;
#         WHISPER_SERVER_BIN overrides the path)
#   peer: tools/bench_peer.py FILE... --json                  (tools/.venv, made by tools/setup_venv.sh)
# Speeds are audio seconds / wall seconds (× real time); "ours/fw" > 1 means we are faster. Where FILE has a
# FILE-without-extension.txt beside it (the fixtures' source texts), the word error rate of each transcript is shown.
# Usage: tools/bench.sh [--beam-size N] [--threads N] [--encoder-precision float32|bfloat16]
#                       [--decoder-weights checkpoint|int8] [--json] FILE...
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BEAM=1
THREADS=2
JSON=0
PRECISION=float32
DECODER=checkpoint
FILES=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --beam-size) BEAM="$2"; shift 2 ;;
        --threads) THREADS="$2"; shift 2 ;;
        --encoder-precision) PRECISION="$2"; shift 2 ;;
        --decoder-weights) DECODER="$2"; shift 2 ;;
        --json) JSON=1; shift ;;
        -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
        *) FILES+=("$1"); shift ;;
    esac
done
[[ ${#FILES[@]} -gt 0 ]] || { echo "usage: tools/bench.sh [--beam-size N] [--threads N] [--encoder-precision P] [--json] FILE..." >&2; exit 2; }

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
BIN="${WHISPER_SERVER_BIN:-$ROOT/.build/release/whisper-server}"

echo "{}" > "$WORK/ours.json"
if [[ -x "$BIN" ]]; then
    echo "bench: ours: $BIN bench (beam $BEAM, encoder $PRECISION, decoder $DECODER, OPENBLAS_NUM_THREADS=$THREADS)" >&2
    if ! (cd "$ROOT" && OPENBLAS_NUM_THREADS="$THREADS" "$BIN" bench "${FILES[@]}" --beam-size "$BEAM" \
        --encoder-precision "$PRECISION" --decoder-weights "$DECODER" --json) > "$WORK/ours.json"; then
        echo "bench: our bench failed; showing faster-whisper only" >&2
        echo "{}" > "$WORK/ours.json"
    fi
else
    echo "bench: $BIN not found (build it with: swift build -c release --product whisper-server); showing faster-whisper only" >&2
fi

"$ROOT/tools/setup_venv.sh"
echo "bench: peer: faster-whisper int8 and float32 (beam $BEAM, $THREADS threads)" >&2
"$ROOT/tools/.venv/bin/python" "$ROOT/tools/bench_peer.py" "${FILES[@]}" --beam-size "$BEAM" --threads "$THREADS" --json > "$WORK/peer.json"

python3 - "$WORK/ours.json" "$WORK/peer.json" "$JSON" "$ROOT/tools" <<'PY'
import json, os, sys

sys.path.insert(0, sys.argv[4])
from wer import wer

report = json.load(open(sys.argv[1]))
ours = report.get("files", [])
precision = report.get("encoder_precision", "float32") + " encoder, " + report.get("decoder_weights", "checkpoint") + " decoder"
peer = json.load(open(sys.argv[2]))
as_json = sys.argv[3] == "1"


def speed(r):
    return r["audio_seconds"] / r["wall_seconds"] if r and r.get("wall_seconds") else None


def find(rows, file, **match):
    for r in rows:
        if all(r.get(k) == v for k, v in match.items()) and (r["file"] == file or os.path.basename(r["file"]) == os.path.basename(file)):
            return r
    return None


rows = []
for file in dict.fromkeys(r["file"] for r in peer["files"]):
    o = find(ours, file)
    i8 = find(peer["files"], file, compute_type="int8")
    f32 = find(peer["files"], file, compute_type="float32")
    row = {"file": file, "audio_seconds": (o or f32 or i8)["audio_seconds"]}
    source = os.path.splitext(file)[0] + ".txt"
    reference = open(source).read() if os.path.exists(source) else None
    for tag, r in (("ours", o), ("fw_int8", i8), ("fw_float32", f32)):
        row[tag] = None if r is None else {"speed": round(speed(r), 2), "wall_seconds": r["wall_seconds"], "peak_rss_mb": r["peak_rss_mb"]}
        if r is not None and reference is not None and r.get("text") is not None:
            row[tag]["wer"] = round(wer(reference, r["text"]), 4)
    if o:
        row["ours"]["encoder_ms_per_window"] = o.get("encoder_ms_per_window")
        row["ours"]["decoder_ms_per_token"] = o.get("decoder_ms_per_token")
    for tag, r in (("ours_vs_fw_int8", i8), ("ours_vs_fw_float32", f32)):
        row[tag] = round(speed(o) / speed(r), 3) if o and r else None
    rows.append(row)

if as_json:
    json.dump({"peer": peer["tool"], "beam_size": peer["beam_size"], "threads": peer["threads"], "encoder_precision": precision,
               "files": rows}, sys.stdout, indent=1)
    print()
    sys.exit(0)


def cell(x, fmt):
    return format(x, fmt) if x is not None else "-".rjust(len(format(0, fmt)))


print(f"× real time (audio/wall) and peak RSS MB; ours with a {precision}; {peer['tool']}, beam {peer['beam_size']}, "
      f"{peer['threads']} threads; WER against the source text where there is one")
print(f"{'file':26s} {'audio s':>8s} | {'ours':>7s} {'RSS':>5s} {'enc ms':>7s} {'ms/tok':>7s} | {'fw int8':>7s} {'RSS':>5s} | "
      f"{'fw f32':>7s} {'RSS':>5s} | {'ours/int8':>9s} {'ours/f32':>9s} | {'WER ours':>8s} {'int8':>6s} {'f32':>6s}")
for r in rows:
    o, i8, f32 = r["ours"] or {}, r["fw_int8"] or {}, r["fw_float32"] or {}
    print(f"{os.path.basename(r['file'])[:26]:26s} {r['audio_seconds']:8.2f} | {cell(o.get('speed'), '7.1f')} {cell(o.get('peak_rss_mb'), '5.0f')} "
          f"{cell(o.get('encoder_ms_per_window'), '7.1f')} {cell(o.get('decoder_ms_per_token'), '7.2f')} | "
          f"{cell(i8.get('speed'), '7.1f')} {cell(i8.get('peak_rss_mb'), '5.0f')} | {cell(f32.get('speed'), '7.1f')} {cell(f32.get('peak_rss_mb'), '5.0f')} | "
          f"{cell(r['ours_vs_fw_int8'], '9.2f')} {cell(r['ours_vs_fw_float32'], '9.2f')} | "
          f"{cell(o.get('wer'), '8.3f')} {cell(i8.get('wer'), '6.3f')} {cell(f32.get('wer'), '6.3f')}")
PY
