"""(b) Audio fuzzing through POST /v1/audio/transcriptions: seeded mutations of the speech fixtures and their
mp3/ogg/m4a/flac variants. Reports crashes (must be 0), 5xx answers other than 503 (must be 0), the status
distribution and the slowest case. Only a capped number of mutants is allowed to reach the model; the rest are cut
short so they are rejected before inference.
"""
import collections
import glob
import os
import random
import subprocess
import tempfile
import threading
import time

from common import Results, alive, error_shape_problem, health, multipart, parse_args, request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIXTURES = ["short-0.8s.wav", "hello-world.wav", "quick-fox.wav", "weather.wav"]
FORMATS = [("wav", "audio/wav", ["-c:a", "pcm_s16le"]), ("mp3", "audio/mpeg", ["-c:a", "libmp3lame", "-b:a", "32k"]),
           ("ogg", "audio/ogg", ["-c:a", "libopus", "-b:a", "16k"]), ("m4a", "audio/mp4", ["-c:a", "aac", "-b:a", "32k"]),
           ("flac", "audio/flac", ["-c:a", "flac"])]


def make_bases(workdir):
    """1-second clips of each fixture in each format (ffmpeg), plus the committed WAVs' first second unchanged."""
    bases = []
    for fixture in FIXTURES:
        source = os.path.join(ROOT, "Tests", "Fixtures", "speech", fixture)
        for ext, ctype, codec in FORMATS:
            out = os.path.join(workdir, f"{fixture}.{ext}")
            result = subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", source, "-t", "1", "-ac", "1", "-ar", "16000", *codec, out],
                                    capture_output=True)
            if result.returncode == 0:
                with open(out, "rb") as f:
                    bases.append((f"{fixture}.{ext}", ctype, f.read()))
    return bases


def mutate(rng, data, force_short):
    data = bytearray(data)
    kinds = []
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        kind = rng.choice(["bitflip", "truncate", "overwrite", "duplicate", "header-bitflip", "zero-run"])
        kinds.append(kind)
        if not data:
            break
        if kind == "bitflip":
            for _ in range(rng.randint(1, 32)):
                i = rng.randrange(len(data))
                data[i] ^= 1 << rng.randrange(8)
        elif kind == "header-bitflip":
            for _ in range(rng.randint(1, 4)):
                i = rng.randrange(min(len(data), 128))
                data[i] ^= 1 << rng.randrange(8)
        elif kind == "truncate":
            del data[rng.randrange(len(data)):]
        elif kind == "overwrite":
            i = rng.randrange(len(data))
            n = rng.randint(1, 64)
            data[i:i + n] = bytes(rng.choice([0, 0xFF, rng.randrange(256)]) for _ in range(n))
        elif kind == "duplicate":
            i = rng.randrange(len(data))
            n = rng.randint(1, min(4096, len(data) - i))
            j = rng.randrange(len(data))
            data[j:j] = data[i:i + n]
        elif kind == "zero-run":
            i = rng.randrange(len(data))
            data[i:i + rng.randint(1, 512)] = b"\x00" * min(512, len(data) - i)
    if force_short:
        del data[rng.randint(0, 300):]
        kinds.append("cut<300B")
    return bytes(data), "+".join(kinds)


def main():
    args = parse_args(__doc__, lambda p: (p.add_argument("--count", type=int, default=0), p.add_argument("--decode-cap", type=int, default=0),
                                          p.add_argument("--budget", type=float, default=0, help="seconds before sending stops")))
    count = args.count or (20000 if args.long else 2000)
    decode_cap = args.decode_cap or (2000 if args.long else 12)
    results = Results(args.results, "audio-fuzz")
    print(f"== (b) audio fuzzing: {count} mutants, at most ~{decode_cap} allowed to reach the model", flush=True)
    with tempfile.TemporaryDirectory() as workdir:
        bases = make_bases(workdir)
    results.record("fixtures converted", len(bases) >= len(FIXTURES) * 3, f"{len(bases)} base clips", inputs=len(bases))

    lock = threading.Lock()
    statuses = collections.Counter()
    codes = collections.Counter()
    slowest = (0.0, "")
    bad = []  # (index, description, problem)
    unanswered = 0
    timings = []
    decoded = 0
    next_index = 0

    def worker():
        nonlocal slowest, unanswered, decoded, next_index
        while True:
            with lock:
                if next_index >= count or time.monotonic() > stop_at:
                    return
                index = next_index
                next_index += 1
                force_short = decoded >= decode_cap or random.Random(args.seed * 7919 + index).random() < (0.5 if args.long else 0.95)
            rng = random.Random(args.seed * 1_000_003 + index)
            name, ctype, data = bases[rng.randrange(len(bases))]
            mutant, how = mutate(rng, data, force_short)
            fmt = rng.choice(["text", "json", "verbose_json", "srt"])
            body, content_type = multipart([("model", "whisper-1"), ("response_format", fmt), ("temperature", "0")],
                                           [("file", name, mutant, ctype)])
            description = f"#{index} {name} {how} ({len(mutant)} B, {fmt})"
            start = time.monotonic()
            try:
                response = request(args.host, args.port, "POST", "/v1/audio/transcriptions", body,
                                   {"Content-Type": content_type}, timeout=120)
            except (OSError, ValueError) as error:
                with lock:
                    unanswered += 1
                    bad.append((index, description, f"no answer: {error!r}"))
                continue
            elapsed = time.monotonic() - start
            problem = None
            if response.status >= 500 and response.status != 503:
                problem = f"{response.status}: {response.body[:160]!r}"
            elif response.status >= 400:
                problem = error_shape_problem(response)
                if problem is None:
                    codes[response.json()["error"].get("code")] += 1
            with lock:
                statuses[response.status] += 1
                if response.status == 200:
                    decoded += 1
                timings.append((elapsed, f"{description} -> {response.status}"))
                if elapsed > slowest[0]:
                    slowest = (elapsed, f"{description} -> {response.status}")
                if problem:
                    bad.append((index, description, problem))

    started = time.monotonic()
    stop_at = started + (args.budget or (3600 if args.long else 200))
    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    last_report = time.monotonic()
    while any(t.is_alive() for t in threads):
        time.sleep(1)
        if time.monotonic() - last_report > 20:
            last_report = time.monotonic()
            print(f"    ... {next_index}/{count} sent, statuses {dict(statuses)}", flush=True)
        if not alive(args.pid):
            break
    for t in threads:
        t.join(timeout=130)
    elapsed = time.monotonic() - started
    survived = alive(args.pid) and health(args.host, args.port)[0]
    total = sum(statuses.values())
    print(f"    statuses: {dict(sorted(statuses.items()))}; error codes: {dict(codes.most_common(8))}")
    print(f"    slowest case: {slowest[1]} in {slowest[0]:.2f} s; {total} answered in {elapsed:.0f} s")
    for seconds, description in sorted(timings, reverse=True)[:5]:
        print(f"    slow: {seconds:.2f} s {description}")
    for index, description, problem in bad[:10]:
        print(f"    problem: {description}: {problem}")
    results.record("no crash (server alive and /health answers)", survived, f"crashes {0 if survived else 1}", inputs=total,
                   crashes=0 if survived else 1)
    results.record("every mutant answered", unanswered == 0, f"unanswered {unanswered}", inputs=0, unanswered=unanswered)
    results.record("no 5xx other than 503, errors in OpenAI shape", not [b for b in bad if "no answer" not in b[2]],
                   f"{len(bad)} problems; statuses {dict(sorted(statuses.items()))}", inputs=0)
    results.record("count reached", total >= count, f"{total}/{count}; slowest {slowest[0]:.2f} s: {slowest[1]}", inputs=0,
                   slowest_s=round(slowest[0], 3), slowest_case=slowest[1])


if __name__ == "__main__":
    main()
