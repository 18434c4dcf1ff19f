#!/usr/bin/env python3
"""Speed and memory of faster-whisper (the peer) on audio files, int8 and float32.

Run inside the tools venv (tools/setup_venv.sh):

    tools/.venv/bin/python tools/bench_peer.py FILE... [--beam-size 1] [--threads 2] [--json]
        [--model models/tiny.en] [--compute-types int8,float32]

Every (compute type, file) pair runs in its own child process, so that its peak RSS
(os.wait4's ru_maxrss) belongs to that pair alone. The child loads the model, warms up
once on the first 10 s of the file, then times transcribe(FILE) from the path (audio
decoding included, segments consumed) with language "en", no VAD, temperature 0 only.
rtf = audio seconds / wall seconds (times faster than real time).
JSON: {"tool", "model", "beam_size", "threads", "files": [{"file", "compute_type",
"audio_seconds", "wall_seconds", "rtf", "load_seconds", "tokens", "peak_rss_mb", "text"}]}
"""

import argparse
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WARMUP_SECONDS = 10


def worker(args: argparse.Namespace) -> None:
    """Child: one compute type, one file; prints one JSON object."""
    from faster_whisper import WhisperModel, decode_audio

    started = time.monotonic()
    model = WhisperModel(args.model, device="cpu", compute_type=args.compute_type, cpu_threads=args.threads)
    load_seconds = time.monotonic() - started
    options = dict(language="en", beam_size=args.beam_size, best_of=1, temperature=0.0, vad_filter=False)

    warmup = decode_audio(args.file, sampling_rate=16000)[: WARMUP_SECONDS * 16000]
    list(model.transcribe(warmup, **options)[0])

    started = time.monotonic()
    segments, info = model.transcribe(args.file, **options)
    segments = list(segments)
    wall = time.monotonic() - started
    json.dump({
        "audio_seconds": round(info.duration, 3),
        "wall_seconds": round(wall, 4),
        "rtf": round(info.duration / wall, 2),
        "load_seconds": round(load_seconds, 3),
        "tokens": sum(len(s.tokens) for s in segments),
        "text": "".join(s.text for s in segments).strip(),
    }, sys.stdout)


def run_pair(args: argparse.Namespace, compute_type: str, file: str) -> dict:
    command = [sys.executable, os.path.abspath(__file__), "--worker", "--compute-type", compute_type,
               "--model", args.model, "--beam-size", str(args.beam_size), "--threads", str(args.threads), file]
    child = subprocess.Popen(command, stdout=subprocess.PIPE)
    out = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        sys.exit(f"bench_peer: {compute_type} on {file} failed with exit code {child.returncode}")
    result = json.loads(out)
    return {
        "file": file,
        "compute_type": compute_type,
        "audio_seconds": result["audio_seconds"],
        "wall_seconds": result["wall_seconds"],
        "rtf": result["rtf"],
        "load_seconds": result["load_seconds"],
        "tokens": result["tokens"],
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),  # Linux: KiB
        "text": result["text"],
    }


def print_table(report: dict) -> None:
    print(f"{report['tool']}, model {os.path.basename(report['model'])}, beam {report['beam_size']}, "
          f"{report['threads']} threads (rtf = audio / wall)")
    print(f"{'file':30s} {'compute':8s} {'audio s':>8s} {'wall s':>8s} {'rtf':>7s} {'tokens':>7s} {'peak RSS MB':>12s}")
    for r in report["files"]:
        print(f"{os.path.basename(r['file'])[:30]:30s} {r['compute_type']:8s} {r['audio_seconds']:8.2f} "
              f"{r['wall_seconds']:8.3f} {r['rtf']:7.1f} {r['tokens']:7d} {r['peak_rss_mb']:12.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", metavar="FILE")
    parser.add_argument("--model", default=os.path.join(ROOT, "models", "tiny.en"))
    parser.add_argument("--beam-size", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--compute-types", default="int8,float32", help="comma-separated CTranslate2 compute types")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--compute-type", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        args.file = args.files[0]
        worker(args)
        return

    import faster_whisper

    report = {
        "tool": f"faster-whisper {faster_whisper.__version__}",
        "model": args.model,
        "beam_size": args.beam_size,
        "threads": args.threads,
        "files": [
            run_pair(args, compute_type, file)
            for file in args.files
            for compute_type in args.compute_types.split(",")
        ],
    }
    if args.json:
        json.dump(report, sys.stdout, indent=1)
        print()
    else:
        print_table(report)


if __name__ == "__main__":
    main()
