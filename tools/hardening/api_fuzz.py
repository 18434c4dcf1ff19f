"""(g) API fuzzing: schemathesis against the OpenAPI document the server serves (/openapi.json) and the live server,
every operation, one worker (two threads hit a Python 3.11 AST race inside Hypothesis), every check except
positive_data_acceptance (a schema cannot say "decodable audio", so schema-valid uploads of random bytes are rightly
refused with 400/415/422). Its own server has API keys configured (so the ignored_auth check means something) and no
rate limits (so the run measures the API, not the limiter).
Figures: generated cases, failures by check; no 500 may occur and every response must match the document.
"""
import argparse
import os
import re
import subprocess
import tempfile
import time

from common import ROOT, Results, request, start_server, stop


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--binary", required=True)
    parser.add_argument("--results", required=True)
    parser.add_argument("--schemathesis", required=True, help="path of the schemathesis executable")
    parser.add_argument("--long", action="store_true")
    parser.add_argument("--seed", type=int, default=1234)
    args = parser.parse_args()
    results = Results(args.results, "api-fuzz")
    examples = 1000 if args.long else 50
    minimum = 5000 if args.long else 1000
    print(f"== (g) API fuzzing with schemathesis: up to {examples} examples per operation and phase, seed {args.seed}", flush=True)
    key = "sk-fuzz-" + os.urandom(12).hex()
    with tempfile.TemporaryDirectory(prefix="whisper-hardening-fuzz-") as workdir:
        log = os.path.join(workdir, "server.log")
        process, port = start_server(args.binary, os.path.join(ROOT, "models"), log, "--preload", "--max-upload-mb", "4",
                                     "--rate-limit-requests", "0", "--rate-limit-audio-seconds", "0", "--request-timeout", "60",
                                     env={"WHISPER_API_KEYS": f"fuzz:{key}"}, ready=True)
        try:
            started = time.monotonic()
            command = [os.path.abspath(args.schemathesis), "run", f"http://127.0.0.1:{port}/openapi.json", "--checks", "all",
                       "--exclude-checks", "positive_data_acceptance", "--max-examples", str(examples), "--seed", str(args.seed),
                       "--workers", "1", "--request-timeout", "60", "--header", f"Authorization: Bearer {key}",
                       "--suppress-health-check", "all", "--no-color", "--output-truncate", "true"]
            run = subprocess.run(command, capture_output=True, text=True, cwd=workdir,
                                 env=dict(os.environ, SCHEMATHESIS_HOOKS="", NO_COLOR="1"))
            seconds = time.monotonic() - started
            output = run.stdout + run.stderr
            with open(os.path.join(ROOT, "tools", "hardening", ".last-schemathesis.txt"), "w") as f:
                f.write(output)
            cases = re.search(r"(\d+) generated", output)
            cases = int(cases.group(1)) if cases else 0
            failures = re.findall(r"ST\d+ ([^:\n]+): (\d+)", output.split("SUMMARY")[-1])
            errors = re.search(r"Errors:\n((?:\s+.+\n)+)", output)
            server_errors = [f for f in failures if "server error" in f[0].lower()]
            alive = process.poll() is None and request("127.0.0.1", port, "GET", "/health", timeout=5).status == 200
            with open(log, errors="replace") as f:
                crashed = [line for line in f if "Fatal error" in line or "Segmentation" in line]
            print(f"    {cases} cases in {seconds:.0f} s; schemathesis exit {run.returncode}; failures {failures or 'none'}")
            if run.returncode != 0:
                tail = output.strip().splitlines()[-25:]
                print("    " + "\n    ".join(tail))
            results.record(f"at least {minimum} generated cases over every operation", cases >= minimum,
                           f"{cases} cases in {seconds:.0f} s", inputs=cases, schemathesis_cases=cases)
            results.record("no 500s", not server_errors and alive and not crashed,
                           f"{server_errors or 'none'}; server alive: {alive}", inputs=0)
            results.record("every response matches the document (all checks)", run.returncode == 0 and not failures and not errors,
                           ("; ".join(f"{name}: {count}" for name, count in failures) or (errors.group(1).strip()[:200] if errors else "")
                            or "schemathesis passed"), inputs=0)
        finally:
            stop(process)


if __name__ == "__main__":
    main()
