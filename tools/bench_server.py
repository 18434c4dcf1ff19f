#!/usr/bin/env python3
"""Server-side speed figures for issue 8, against a built whisper-server (standard library only).

  tools/bench_server.py [--binary .build/release/whisper-server] [--clip-seconds 30] [--concurrency 1,4,8]

Prints, each measured on a fresh server with tiny.en preloaded:
  - model load time (from /v1/models after --preload) and idle RSS with the model loaded;
  - first request vs second request latency on the same clip;
  - throughput (audio seconds per wall second) with N concurrent clients for each N, peak RSS, and the ratio to
    N = 1; every transcript must equal the lone request's (determinism), or the run fails;
  - slowdown of a lone request while another process keeps one core busy (`yes > /dev/null`).
"""
import argparse
import concurrent.futures
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "hardening"))
import common  # noqa: E402  (raw HTTP and multipart helpers of the hardening campaign)

ROOT = common.ROOT


def transcribe(port, audio, name):
    body, ctype = common.multipart([("model", "tiny.en"), ("response_format", "json")], [("file", name, audio, "audio/wav")])
    start = time.monotonic()
    response = common.request("127.0.0.1", port, "POST", "/v1/audio/transcriptions", body, {"Content-Type": ctype}, timeout=600)
    elapsed = time.monotonic() - start
    if response.status != 200:
        raise RuntimeError(f"transcription failed: {response.status} {response.body[:200]!r}")
    return json.loads(response.body)["text"], elapsed


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default=os.path.join(ROOT, ".build", "release", "whisper-server"))
    parser.add_argument("--clip-seconds", type=float, default=30.0)
    parser.add_argument("--concurrency", default="1,4,8")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    levels = [int(n) for n in args.concurrency.split(",")]

    work = tempfile.mkdtemp()
    clip = os.path.join(work, "clip.wav")
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", os.path.join(ROOT, "Tests", "Fixtures", "speech", "long-form.flac"),
                    "-t", str(args.clip_seconds), "-ar", "16000", "-ac", "1", clip], check=True)
    audio = open(clip, "rb").read()
    log = os.path.join(work, "server.log")

    started = time.monotonic()
    process, port = common.start_server(args.binary, os.path.join(ROOT, "models"), log, "--preload", "--workers",
                                        str(args.workers), "--queue-size", str(max(levels) * 2), ready=True)
    ready_seconds = time.monotonic() - started
    try:
        time.sleep(1)
        idle_rss = common.rss_mb(process.pid)
        reference, first = transcribe(port, audio, "clip.wav")
        _, second = transcribe(port, audio, "clip.wav")
        print(f"start to ready (process start + tiny.en load): {ready_seconds:.2f} s; idle RSS with tiny.en loaded: {idle_rss:.0f} MB")
        print(f"first request {first:.2f} s, second {second:.2f} s (first/second {first / second:.2f})")

        print(f"{'clients':>7s} {'wall s':>7s} {'audio s/s':>9s} {'vs 1':>6s} {'mean latency s':>14s} {'peak RSS MB':>11s} (peak since start)")
        base = None
        for n in levels:
            start = time.monotonic()
            with concurrent.futures.ThreadPoolExecutor(max_workers=n) as pool:
                futures = [pool.submit(transcribe, port, audio, "clip.wav") for _ in range(n)]
                results = [f.result() for f in futures]
            wall = time.monotonic() - start
            if any(text != reference for text, _ in results):
                raise RuntimeError(f"a transcript under {n} concurrent clients differs from the lone request's")
            throughput = n * args.clip_seconds / wall
            base = base or throughput
            latency = sum(t for _, t in results) / n
            print(f"{n:7d} {wall:7.2f} {throughput:9.1f} {throughput / base:6.2f} {latency:14.2f} {common.peak_rss_mb(process.pid):11.0f}")

        _, alone = transcribe(port, audio, "clip.wav")
        hog = subprocess.Popen(["yes"], stdout=subprocess.DEVNULL)
        try:
            time.sleep(0.5)
            _, contended = transcribe(port, audio, "clip.wav")
        finally:
            hog.kill()
        print(f"contention: alone {alone:.2f} s, with `yes` busy {contended:.2f} s (slowdown {contended / alone:.2f}x)")
    finally:
        common.stop(process)


if __name__ == "__main__":
    main()
