#!/usr/bin/env python3
"""Server-side speed figures for issue 8, against a built whisper-server (standard library only).

  tools/bench_server.py [--binary .build/release/whisper-server] [--clip-seconds 30] [--concurrency 4,8] [--workers 8]
                        [--encoder-precision float32|bfloat16] [--decoder-weights checkpoint|int8]

Prints, each measured on a fresh server with tiny.en preloaded:
  - model load time (from /v1/models after --preload) and idle RSS with the model loaded;
  - first request vs second request latency on the same clip, on --starts fresh servers (median);
  - throughput (audio seconds per wall second) of max(concurrency) requests sent one at a time, then with N concurrent
    clients for each N, peak RSS, and the ratio to one at a time, in --rounds rounds whose order alternates (the
    machine's speed drifts over a run: each round's ratio compares runs seconds apart; medians and ranges); every
    transcript must equal the lone request's (determinism), or the run fails;
  - lone-request latency with the configured workers vs `--workers 1` (requests fully serialised, as before batching),
    both servers up at once and asked in turn (the machine's speed drifts over a run);
  - the floor for max(concurrency) concurrent requests: their encoder windows at the machine's sgemm throughput
    (bfloat16: at their measured speed) plus the decoder steps at the GEMV kernel's bandwidth (weights read once per batched step), from
    `whisper-server bench`, and how close the measured throughput comes to it;
  - the ceiling of the concurrent/one-at-a-time ratio: a lone request's engine time with its decoder steps replaced by
    their share of the batched floor (the encoder and everything else cost the same batched or not);
  - where the engine's time went in each configuration (from /metrics: encoder windows, prompts, decoder steps and
    their mean batch), and the bound that implies: with decoder steps free, the concurrent run would still take its
    encoder windows and prompts;
  - memory per concurrent request: (peak RSS at max(concurrency) clients - idle RSS) / max(concurrency);
  - slowdown of a lone request while another process keeps one core busy (`yes > /dev/null`), median of
    --contention-runs pairs in alternating order.
"""
import argparse
import concurrent.futures
import json
import os
import statistics
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


ENGINE_WORK = ("encoder", "prompt", "alignment", "decoder_step", "warm_up")


def engine_activity(port):
    """The engine's counters from /metrics: seconds of the cores per kind of work, decoder passes and the
    transcriptions they advanced."""
    response = common.request("127.0.0.1", port, "GET", "/metrics", timeout=30)
    if response.status != 200:
        raise RuntimeError(f"/metrics answered {response.status}")
    values = {}
    for line in response.body.decode().splitlines():
        if line.startswith("whisper_engine_seconds_total{") or line.startswith("whisper_decoder_pass_sessions_"):
            name, value = line.rsplit(" ", 1)
            values[name] = float(value)
    activity = {work: values[f'whisper_engine_seconds_total{{work="{work}"}}'] for work in ENGINE_WORK}
    activity["passes"] = values["whisper_decoder_pass_sessions_count"]
    activity["sessions"] = values["whisper_decoder_pass_sessions_sum"]
    return activity


def measured_with_activity(port, send, audio, n, reference):
    """`send`'s (wall seconds, mean latency) and what the engine did meanwhile (differences of /metrics)."""
    before = engine_activity(port)
    wall, latency = send(port, audio, n, reference)
    after = engine_activity(port)
    return wall, latency, {key: after[key] - before[key] for key in after}


def serve(binary, log, workers, queue_size, precision, decoder):
    started = time.monotonic()
    process, port = common.start_server(binary, os.path.join(ROOT, "models"), log, "--preload", "--workers", str(workers),
                                        "--queue-size", str(queue_size), "--encoder-precision", precision,
                                        "--decoder-weights", decoder, ready=True)
    return process, port, time.monotonic() - started


def one_at_a_time(port, audio, n, reference):
    """Sends `n` requests one after another: (wall seconds, mean latency)."""
    start = time.monotonic()
    for _ in range(n):
        text, _ = transcribe(port, audio, "clip.wav")
        if text != reference:
            raise RuntimeError("a transcript sent one at a time differs from the first one")
    wall = time.monotonic() - start
    return wall, wall / n


def concurrently(port, audio, n, reference):
    """Sends `n` requests at once from `n` clients: (wall seconds, mean latency)."""
    start = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=n) as pool:
        results = [f.result() for f in [pool.submit(transcribe, port, audio, "clip.wav") for _ in range(n)]]
    wall = time.monotonic() - start
    if any(text != reference for text, _ in results):
        raise RuntimeError(f"a transcript under {n} concurrent clients differs from the lone request's")
    return wall, sum(latency for _, latency in results) / n


def first_requests(args, work, most, audio, reference):
    """Starts a fresh server and times its first two requests: (seconds to ready, first, second)."""
    process, port, ready = serve(args.binary, os.path.join(work, "server-start.log"), args.workers, most * 2,
                                 args.encoder_precision, args.decoder_weights)
    try:
        time.sleep(1)
        text, first = transcribe(port, audio, "clip.wav")
        if text != reference:
            raise RuntimeError("a fresh server's transcript differs from the first server's")
        return ready, first, transcribe(port, audio, "clip.wav")[1]
    finally:
        common.stop(process)


def engine_figures(binary, clip, precision, decoder):
    """`whisper-server bench --json` on the clip (second run: warm), all cores."""
    output = subprocess.run([binary, "bench", "--json", "--models-dir", os.path.join(ROOT, "models"), "--model", "tiny.en",
                             "--runs", "2", "--encoder-precision", precision, "--decoder-weights", decoder, clip], check=True, capture_output=True, text=True).stdout
    report = json.loads(output)
    return report, report["files"][-1]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default=os.path.join(ROOT, ".build", "release", "whisper-server"))
    parser.add_argument("--clip-seconds", type=float, default=30.0)
    parser.add_argument("--concurrency", default="4,8")
    parser.add_argument("--workers", type=int, default=8, help="the server's --workers (default: the server's default, 8)")
    parser.add_argument("--encoder-precision", default="float32", choices=["float32", "bfloat16"])
    parser.add_argument("--decoder-weights", default="checkpoint", choices=["checkpoint", "int8"])
    parser.add_argument("--lone-runs", type=int, default=6, help="lone requests timed per configuration, in turn (median)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of one-at-a-time and concurrent runs (median ratio)")
    parser.add_argument("--starts", type=int, default=3, help="fresh servers whose first two requests are timed (median)")
    parser.add_argument("--contention-runs", type=int, default=3, help="alone/with `yes` pairs (median slowdown)")
    args = parser.parse_args()
    levels = [int(n) for n in args.concurrency.split(",")]
    most = max(levels)

    work = tempfile.mkdtemp()
    clip = os.path.join(work, "clip.wav")
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", os.path.join(ROOT, "Tests", "Fixtures", "speech", "long-form.flac"),
                    "-t", str(args.clip_seconds), "-ar", "16000", "-ac", "1", clip], check=True)
    audio = open(clip, "rb").read()
    report, engine = engine_figures(args.binary, clip, args.encoder_precision, args.decoder_weights)

    process, port, ready_seconds = serve(args.binary, os.path.join(work, "server.log"), args.workers, most * 2, args.encoder_precision, args.decoder_weights)
    try:
        time.sleep(1)
        idle_rss = common.rss_mb(process.pid)
        reference, first = transcribe(port, audio, "clip.wav")
        _, second = transcribe(port, audio, "clip.wav")
        starts = [(ready_seconds, first, second)]
        for _ in range(args.starts - 1):
            starts.append(first_requests(args, work, most, audio, reference))
        ready_median = statistics.median(ready for ready, _, _ in starts)
        first_ratios = [first / second for _, first, second in starts]
        print(f"--workers {args.workers}: start to ready (process start + tiny.en load) {ready_median:.2f} s "
              f"(median of {len(starts)} starts); idle RSS with tiny.en loaded {idle_rss:.0f} MB")
        print(f"first request / second request {statistics.median(first_ratios):.2f} (median of {len(starts)} fresh "
              f"servers: {', '.join(f'{first:.2f}/{second:.2f} s' for _, first, second in starts)})")

        # Each round runs every configuration, in the reverse order of the round before, and compares them within it.
        configurations = [(f"{most} one at a time", most, one_at_a_time)] + [
            (f"{n} concurrent", n, concurrently) for n in levels]
        sequential = configurations[0][0]
        runs = {label: [] for label, _, _ in configurations}  # (wall, throughput, mean latency) per round
        activities = {label: [] for label, _, _ in configurations}  # the engine's counters' differences per round
        ratios = {label: [] for label, _, _ in configurations}
        for round_index in range(args.rounds):
            order = configurations if round_index % 2 == 0 else configurations[::-1]
            measured = {}
            for label, n, send in order:
                wall, latency, activity = measured_with_activity(port, send, audio, n, reference)
                measured[label] = (wall, latency)
                activities[label].append(activity)
            sequential_throughput = most * args.clip_seconds / measured[sequential][0]
            for label, n, _ in configurations:
                wall, latency = measured[label]
                throughput = n * args.clip_seconds / wall
                runs[label].append((wall, throughput, latency))
                ratios[label].append(throughput / sequential_throughput)
        peak_at_most = common.peak_rss_mb(process.pid)  # VmHWM: the peak since start, reached under the most clients
        measured_at_most = statistics.median(throughput for _, throughput, _ in runs[f"{most} concurrent"])
        ratio_at_most = statistics.median(ratios[f"{most} concurrent"])

        slowdowns = []
        for run in range(args.contention_runs):
            times = {}
            for busy in (False, True) if run % 2 == 0 else (True, False):
                if busy:
                    hog = subprocess.Popen(["yes"], stdout=subprocess.DEVNULL)
                    time.sleep(0.5)
                try:
                    times[busy] = transcribe(port, audio, "clip.wav")[1]
                finally:
                    if busy:
                        hog.kill()
                        hog.wait()
            slowdowns.append((times[False], times[True]))

        serial, serial_port, _ = serve(args.binary, os.path.join(work, "server-1.log"), 1, most * 2, args.encoder_precision, args.decoder_weights)
        try:
            transcribe(serial_port, audio, "clip.wav")
            times = {port: [], serial_port: []}
            for run in range(args.lone_runs):
                for target in (port, serial_port) if run % 2 == 0 else (serial_port, port):
                    times[target].append(transcribe(target, audio, "clip.wav")[1])
            lone, old_lone = statistics.median(times[port]), statistics.median(times[serial_port])
        finally:
            common.stop(serial)
    finally:
        common.stop(process)

    print()
    print(f"{args.clip_seconds:.0f} s clip, --workers {args.workers}, {args.rounds} rounds in alternating order: medians "
          f"(the ratio's range over the rounds)")
    print(f"{'requests':>18s} {'wall s':>7s} {'audio s/s':>9s} {'vs one at a time':>22s} {'mean latency s':>14s}")
    for label, _, _ in configurations:
        wall, throughput, latency = (statistics.median(column) for column in zip(*runs[label]))
        spread = "" if label == sequential else f"({min(ratios[label]):.2f}-{max(ratios[label]):.2f})"
        print(f"{label:>18s} {wall:7.2f} {throughput:9.1f} {statistics.median(ratios[label]):10.2f} {spread:>11s} "
              f"{latency:14.2f}")
    print(f"peak RSS {peak_at_most:.0f} MB")
    print()
    print("where the engine's time went (from /metrics, medians; seconds of the cores, half the cores counting half)")
    print(f"{'requests':>18s} {'encoder':>8s} {'prompts':>8s} {'decoder steps':>14s} {'mean batch':>10s} {'cores idle':>10s}")
    exclusive = {}
    for label, _, _ in configurations:
        rows = [(a["encoder"], a["prompt"] + a["alignment"] + a["warm_up"], a["decoder_step"],
                 a["sessions"] / max(1, a["passes"]), wall - sum(a[work] for work in ENGINE_WORK))
                for a, (wall, _, _) in zip(activities[label], runs[label])]
        encoder, prompts, steps, batch, idle = (statistics.median(column) for column in zip(*rows))
        exclusive[label] = statistics.median(row[0] + row[1] for row in rows)
        print(f"{label:>18s} {encoder:8.2f} {prompts:8.2f} {steps:14.2f} {batch:10.1f} {idle:10.2f}")
    sequential_wall = statistics.median(wall for wall, _, _ in runs[sequential])
    print(f"bound: with its decoder steps free, {most} concurrent would still take {exclusive[f'{most} concurrent']:.2f} s "
          f"(its encoder windows and prompts, which batching does not shrink) -> at most "
          f"{sequential_wall / exclusive[f'{most} concurrent']:.2f}x one at a time; measured {ratio_at_most:.2f}x")

    print()
    print(f"lone request: --workers {args.workers} {lone:.2f} s, --workers 1 {old_lone:.2f} s "
          f"(ratio {lone / old_lone:.3f}; median of {args.lone_runs}, asked in turn)")

    windows = engine["encoded_windows"]
    encoder_gemm = windows * report["encoder_gflop_per_window"] / report["sgemm_gflops"]
    if report.get("encoder_precision") == "bfloat16":
        encoder_gemm = windows * engine["encoder_ms_per_window"] / 1000  # no sgemm bound: its measured speed
    bandwidth = report["gemv_gb_per_second"] * 1e9
    steps = engine["decoder_steps"]
    weights_floor = steps * report["decoder_step_bytes"] / bandwidth
    cross_floor = steps * most * report["cross_attention_bytes_per_window"] / bandwidth
    floor = most * encoder_gemm + weights_floor
    print()
    print(f"engine alone (whisper-server bench, {report['threads']} threads): sgemm {report['sgemm_gflops']:.1f} GFLOP/s, "
          f"{windows} encoder windows of {report['encoder_gflop_per_window']:.2f} GFLOP = {encoder_gemm * 1000:.0f} ms at sgemm "
          f"speed (measured {windows * engine['encoder_ms_per_window']:.0f} ms); GEMV {report['gemv_gb_per_second']:.1f} GB/s; "
          f"{steps} decoder steps, {report['decoder_step_bytes'] / 1e6:.1f} MB of weights each "
          f"(measured {engine['decoder_ms_per_token']:.2f} ms/step alone)")
    print(f"floor for {most} concurrent: {most} x {encoder_gemm * 1000:.0f} ms encoder + {steps} steps x "
          f"{report['decoder_step_bytes'] / 1e6:.1f} MB / {report['gemv_gb_per_second']:.1f} GB/s = {floor:.2f} s "
          f"-> {most * args.clip_seconds / floor:.1f} audio s/s; measured {measured_at_most:.1f} "
          f"({measured_at_most / (most * args.clip_seconds / floor) * 100:.0f}% of the floor's throughput)")
    print(f"  (each sequence also reads {report['cross_attention_bytes_per_window'] / 1e6:.1f} MB of cross-attention keys/values "
          f"per step: + {cross_floor:.2f} s at {most} concurrent -> {most * args.clip_seconds / (floor + cross_floor):.1f} audio s/s, "
          f"measured {measured_at_most / (most * args.clip_seconds / (floor + cross_floor)) * 100:.0f}% of that)")
    # What batching can gain at most: the encoder (compute-bound) and the rest of a request (prompts, features) cost the
    # same batched or not; only the steps shrink, at best to the bandwidth floor shared by `most` sequences.
    alone_wall = engine["wall_seconds"]
    alone_steps = steps * engine["decoder_ms_per_token"] / 1000
    batched_wall = alone_wall - alone_steps + (weights_floor / most + cross_floor / most)
    print(f"ceiling of the ratio: a request alone {alone_wall:.2f} s of engine time, of which {alone_steps:.2f} s decoder steps; "
          f"with its steps at the batched floor ({(weights_floor + cross_floor) / most:.2f} s) {batched_wall:.2f} s -> at most "
          f"{alone_wall / batched_wall:.2f}x one at a time; measured {ratio_at_most:.2f}x")
    print(f"memory per concurrent request: ({peak_at_most:.0f} - {idle_rss:.0f}) / {most} = {(peak_at_most - idle_rss) / most:.0f} MB")
    print(f"contention: slowdown {statistics.median(busy / alone for alone, busy in slowdowns):.2f}x with `yes` busy "
          f"(median of {len(slowdowns)} pairs in alternating order: "
          f"{', '.join(f'{alone:.2f} -> {busy:.2f} s' for alone, busy in slowdowns)})")


if __name__ == "__main__":
    main()
