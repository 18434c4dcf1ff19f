#!/usr/bin/env python3
"""whisper.cpp (through the pywhispercpp wheel) on the same files, as a second peer for tools/bench.sh.

  tools/bench_whispercpp.sh FILE... [--model models/tiny.en-ggml-f16/ggml-model.bin] [--threads 2] [--beam-size 1]

The ggml weights come from tools/convert_model.py (make model-formats). Prints one line per file: audio seconds,
wall seconds of transcribe(), × real time, peak RSS MB (each file in its own child process), and the text's start.
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def child(path, model_path, threads, beam):
    import numpy as np
    from pywhispercpp.model import Model

    pcm = subprocess.run(
        ["ffmpeg", "-v", "quiet", "-i", path, "-f", "f32le", "-ac", "1", "-ar", "16000", "-"],
        capture_output=True, check=True).stdout
    audio = np.frombuffer(pcm, dtype=np.float32)
    params = dict(n_threads=threads, print_progress=False, print_realtime=False)
    if beam > 1:
        params.update(params_sampling_strategy=1, beam_search={"beam_size": beam, "patience": -1.0})
    model = Model(model_path, **params)
    start = time.monotonic()
    segments = model.transcribe(audio)
    wall = time.monotonic() - start
    print(json.dumps({
        "file": path, "audio_seconds": len(audio) / 16000, "wall_seconds": wall,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "text": " ".join(s.text for s in segments).strip()}))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("files", nargs="+")
    parser.add_argument("--model", default=os.path.join(ROOT, "models/tiny.en-ggml-f16/ggml-model.bin"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--beam-size", type=int, default=1)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.files[0], args.model, args.threads, args.beam_size)
        return
    print(f"whisper.cpp (pywhispercpp), {os.path.relpath(args.model, ROOT)}, beam {args.beam_size}, {args.threads} threads")
    print(f"{'file':<28} {'audio s':>8} {'wall s':>8} {'× real time':>12} {'peak RSS MB':>12}")
    for path in args.files:
        out = subprocess.run(
            [sys.executable, __file__, path, "--model", args.model, "--threads", str(args.threads),
             "--beam-size", str(args.beam_size), "--child"], capture_output=True, text=True, check=True).stdout
        r = json.loads(out.strip().splitlines()[-1])
        print(f"{os.path.basename(path):<28} {r['audio_seconds']:8.2f} {r['wall_seconds']:8.3f} "
              f"{r['audio_seconds'] / r['wall_seconds']:12.1f} {r['peak_rss_mb']:12.0f}")
        print(f"  {r['text'][:100]}")


if __name__ == "__main__":
    main()
