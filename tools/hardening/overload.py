"""(d) Overload: 4x the queue's capacity of concurrent transcriptions of a 3 s clip for a bounded time. Every request
must get its transcript (identical to the single-request one) or 429/503 with Retry-After; none unanswered; peak RSS
under a stated bound; /health p99 < 100 ms, measured by a parallel thread.
"""
import os
import collections
import threading
import time

from common import Results, alive, health, multipart, parse_args, peak_rss_mb, percentile, request, rss_mb

FIXTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Tests/Fixtures/speech/meeting-time.wav")


def main():
    args = parse_args(__doc__, lambda p: (p.add_argument("--queue-size", type=int, default=4),
                                          p.add_argument("--duration", type=float, default=0),
                                          p.add_argument("--rss-bound-mb", type=float, default=1024)))
    duration = args.duration or (120 if args.long else 30)
    clients = 4 * args.queue_size
    results = Results(args.results, "overload")
    print(f"== (d) overload: {clients} concurrent clients for {duration:.0f} s, RSS bound {args.rss_bound_mb:.0f} MiB", flush=True)
    with open(FIXTURE, "rb") as f:
        body, ctype = multipart([("model", "whisper-1"), ("response_format", "text")], [("file", "clip.wav", f.read(), "audio/wav")])
    headers = {"Content-Type": ctype}
    reference = request(args.host, args.port, "POST", "/v1/audio/transcriptions", body, headers, timeout=120)
    if reference.status != 200:
        results.record("single-request reference transcript", False, f"-> {reference.status} {reference.body[:120]!r}")
        return
    expected = reference.body
    rss_before = rss_mb(args.pid)

    lock = threading.Lock()
    statuses = collections.Counter()
    problems = []
    unanswered = 0
    latencies = []
    deadline = time.monotonic() + duration

    def client(index):
        nonlocal unanswered
        while time.monotonic() < deadline:
            start = time.monotonic()
            try:
                response = request(args.host, args.port, "POST", "/v1/audio/transcriptions", body, headers, timeout=180)
            except (OSError, ValueError) as error:
                with lock:
                    unanswered += 1
                    problems.append(f"client {index}: no answer ({error!r})")
                continue
            elapsed = time.monotonic() - start
            problem = None
            if response.status == 200:
                if response.body != expected:
                    problem = f"wrong transcript {response.body[:80]!r}"
            elif response.status in (429, 503):
                if not response.header("retry-after"):
                    problem = f"{response.status} without Retry-After"
            else:
                problem = f"unexpected {response.status}: {response.body[:120]!r}"
            with lock:
                statuses[response.status] += 1
                if response.status == 200:
                    latencies.append(elapsed)
                if problem:
                    problems.append(problem)
            if response.status != 200:
                time.sleep(0.2)

    health_latencies, health_failures = [], 0

    def prober():
        nonlocal health_failures
        while time.monotonic() < deadline:
            ok, seconds = health(args.host, args.port)
            health_latencies.append(seconds)
            health_failures += not ok
            time.sleep(0.05)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)] + [threading.Thread(target=prober)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    peak = peak_rss_mb(args.pid)
    p50, p99 = percentile(health_latencies, 50) * 1000, percentile(health_latencies, 99) * 1000
    total = sum(statuses.values())
    print(f"    statuses {dict(sorted(statuses.items()))}; transcription latency p50 {percentile(latencies, 50):.2f} s, "
          f"max {max(latencies or [0]):.2f} s; RSS before {rss_before:.0f} MiB, peak (VmHWM) {peak:.0f} MiB; "
          f"/health p50 {p50:.1f} ms p99 {p99:.1f} ms over {len(health_latencies)} probes")
    for problem in problems[:8]:
        print(f"    problem: {problem}")
    results.record("every request answered", unanswered == 0, f"{total} answered, {unanswered} unanswered", inputs=total + unanswered,
                   unanswered=unanswered)
    results.record("200 with the reference transcript or 429/503 with Retry-After", not [p for p in problems if "no answer" not in p],
                   f"statuses {dict(sorted(statuses.items()))}; {len(problems)} problems", inputs=0)
    results.record("some transcriptions succeeded under overload", statuses[200] > 0, f"{statuses[200]} transcripts", inputs=0)
    results.record(f"peak RSS under {args.rss_bound_mb:.0f} MiB", peak < args.rss_bound_mb, f"VmHWM {peak:.0f} MiB", inputs=0, peak_rss_mb=round(peak))
    results.record("/health p99 < 100 ms under overload", health_failures == 0 and p99 < 100,
                   f"p99 {p99:.1f} ms, {health_failures} failed of {len(health_latencies)}", inputs=len(health_latencies),
                   health_p99_ms=round(p99, 1))
    results.record("server alive", alive(args.pid) and health(args.host, args.port)[0])


if __name__ == "__main__":
    main()
