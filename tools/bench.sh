#!/usr/bin/env bash
# Side-by-side speed of our engine and faster-whisper (int8 and float32) on the same files.
#   ours: .build/release/whisper-server bench FILE... --json   (skipped with a message when not built;
#         WHISPER_SERVER_BIN overrides the path)
#   peer: tools/bench_peer.py FILE... --json                  (tools/.venv, made by tools/setup_venv.sh)
# Speeds are audio seconds / wall seconds (× real time); "ours/fw" > 1 means we are faster. Where FILE has a
# FILE-without-extension.txt beside it (the fixtures' source texts), the word error rate of each transcript is shown.
# With --repeat N, ours and the peer run alternately N times (this shared machine's speed moves by tens of percent
# from one minute to the next) and the table shows medians, each ratio with its range over the N pairs of runs.
# Usage: tools/bench.sh [--beam-size N] [--threads N] [--encoder-precision float32|bfloat16]
#                       [--decoder-weights checkpoint|int8] [--repeat N] [--json] FILE...
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BEAM=1
THREADS=2
JSON=0
REPEAT=1
PRECISION=float32
DECODER=checkpoint
FILES=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --beam-size) BEAM="$2"; shift 2 ;;
        --threads) THREADS="$2"; shift 2 ;;
        --encoder-precision) PRECISION="$2"; shift 2 ;;
        --decoder-weights) DECODER="$2"; shift 2 ;;
        --repeat) REPEAT="$2"; shift 2 ;;
        --json) JSON=1; shift ;;
        -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
        *) FILES+=("$1"); shift ;;
    esac
done
[[ ${#FILES[@]} -gt 0 ]] || { echo "usage: tools/bench.sh [--beam-size N] [--threads N] [--encoder-precision P] [--json] FILE..." >&2; exit 2; }

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
BIN="${WHISPER_SERVER_BIN:-$ROOT/.build/release/whisper-server}"

if [[ ! -x "$BIN" ]]; then
    echo "bench: $BIN not found (build it with: swift build -c release --product whisper-server); showing faster-whisper only" >&2
fi
"$ROOT/tools/setup_venv.sh"
for run in $(seq 1 "$REPEAT"); do
    echo "{}" > "$WORK/ours.$run.json"
    if [[ -x "$BIN" ]]; then
        echo "bench: run $run/$REPEAT: ours: $BIN bench (beam $BEAM, encoder $PRECISION, decoder $DECODER, OPENBLAS_NUM_THREADS=$THREADS)" >&2
        if ! (cd "$ROOT" && OPENBLAS_NUM_THREADS="$THREADS" "$BIN" bench "${FILES[@]}" --beam-size "$BEAM" \
            --encoder-precision "$PRECISION" --decoder-weights "$DECODER" --json) > "$WORK/ours.$run.json"; then
            echo "bench: our bench failed; showing faster-whisper only" >&2
            echo "{}" > "$WORK/ours.$run.json"
        fi
    fi
    echo "bench: run $run/$REPEAT: peer: faster-whisper int8 and float32 (beam $BEAM, $THREADS threads)" >&2
    "$ROOT/tools/.venv/bin/python" "$ROOT/tools/bench_peer.py" "${FILES[@]}" --beam-size "$BEAM" --threads "$THREADS" --json \
        > "$WORK/peer.$run.json"
done

python3 - "$WORK" "$REPEAT" "$JSON" "$ROOT/tools" <<'PY'
import json, os, statistics, sys

sys.path.insert(0, sys.argv[4])
from wer import wer

work, repeat = sys.argv[1], int(sys.argv[2])
reports = [json.load(open(os.path.join(work, f"ours.{run}.json"))) for run in range(1, repeat + 1)]
peers = [json.load(open(os.path.join(work, f"peer.{run}.json"))) for run in range(1, repeat + 1)]
report, peer = reports[0], peers[0]
precision = report.get("encoder_precision", "float32") + " encoder, " + report.get("decoder_weights", "checkpoint") + " decoder"
as_json = sys.argv[3] == "1"


def speed(r):
    return r["audio_seconds"] / r["wall_seconds"] if r and r.get("wall_seconds") else None


def find(rows, file, **match):
    for r in rows:
        if all(r.get(k) == v for k, v in match.items()) and (r["file"] == file or os.path.basename(r["file"]) == os.path.basename(file)):
            return r
    return None


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


rows = []
for file in dict.fromkeys(r["file"] for r in peer["files"]):
    runs = []  # (ours, fw int8, fw float32) per run
    for ours_report, peer_report in zip(reports, peers):
        runs.append((find(ours_report.get("files", []), file), find(peer_report["files"], file, compute_type="int8"),
                     find(peer_report["files"], file, compute_type="float32")))
    first = next(r for r in runs[0] if r)
    row = {"file": file, "audio_seconds": first["audio_seconds"], "runs": repeat}
    source = os.path.splitext(file)[0] + ".txt"
    reference = open(source).read() if os.path.exists(source) else None
    for index, tag in enumerate(("ours", "fw_int8", "fw_float32")):
        results = [run[index] for run in runs if run[index]]
        if not results:
            row[tag] = None
            continue
        row[tag] = {"speed": round(median(speed(r) for r in results), 2),
                    "wall_seconds": round(median(r["wall_seconds"] for r in results), 3),
                    "peak_rss_mb": max(r["peak_rss_mb"] for r in results)}
        if reference is not None and results[0].get("text") is not None:
            row[tag]["wer"] = round(wer(reference, results[0]["text"]), 4)
    if row["ours"]:
        ours_runs = [run[0] for run in runs if run[0]]
        row["ours"]["encoder_ms_per_window"] = median(r.get("encoder_ms_per_window") for r in ours_runs)
        row["ours"]["decoder_ms_per_token"] = median(r.get("decoder_ms_per_token") for r in ours_runs)
    for index, tag in ((1, "ours_vs_fw_int8"), (2, "ours_vs_fw_float32")):
        ratios = [speed(run[0]) / speed(run[index]) for run in runs if run[0] and run[index]]
        row[tag] = round(median(ratios), 3) if ratios else None
        row[tag + "_range"] = [round(min(ratios), 3), round(max(ratios), 3)] if ratios else None
    rows.append(row)

if as_json:
    json.dump({"peer": peer["tool"], "beam_size": peer["beam_size"], "threads": peer["threads"], "encoder_precision": precision,
               "files": rows}, sys.stdout, indent=1)
    print()
    sys.exit(0)


def cell(x, fmt):
    return format(x, fmt) if x is not None else "-".rjust(len(format(0, fmt)))


def spread(row, tag):
    span = row.get(tag + "_range")
    return f" ({span[0]:.2f}–{span[1]:.2f})" if repeat > 1 and span else ""


print(f"× real time (audio/wall) and peak RSS MB; ours with a {precision}; {peer['tool']}, beam {peer['beam_size']}, "
      f"{peer['threads']} threads; WER against the source text where there is one"
      + (f"; medians of {repeat} alternating runs, ratio ranges in brackets" if repeat > 1 else ""))
print(f"{'file':26s} {'audio s':>8s} | {'ours':>7s} {'RSS':>5s} {'enc ms':>7s} {'ms/tok':>7s} | {'fw int8':>7s} {'RSS':>5s} | "
      f"{'fw f32':>7s} {'RSS':>5s} | {'ours/int8':>9s} {'ours/f32':>9s} | {'WER ours':>8s} {'int8':>6s} {'f32':>6s}")
for r in rows:
    o, i8, f32 = r["ours"] or {}, r["fw_int8"] or {}, r["fw_float32"] or {}
    print(f"{os.path.basename(r['file'])[:26]:26s} {r['audio_seconds']:8.2f} | {cell(o.get('speed'), '7.1f')} {cell(o.get('peak_rss_mb'), '5.0f')} "
          f"{cell(o.get('encoder_ms_per_window'), '7.1f')} {cell(o.get('decoder_ms_per_token'), '7.2f')} | "
          f"{cell(i8.get('speed'), '7.1f')} {cell(i8.get('peak_rss_mb'), '5.0f')} | {cell(f32.get('speed'), '7.1f')} {cell(f32.get('peak_rss_mb'), '5.0f')} | "
          f"{cell(r['ours_vs_fw_int8'], '9.2f')}{spread(r, 'ours_vs_fw_int8')} {cell(r['ours_vs_fw_float32'], '9.2f')}"
          f"{spread(r, 'ours_vs_fw_float32')} | "
          f"{cell(o.get('wer'), '8.3f')} {cell(i8.get('wer'), '6.3f')} {cell(f32.get('wer'), '6.3f')}")
PY
