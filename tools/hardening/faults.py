"""(f) Faults, each on its own server: a corrupt model in a temporary models directory (clear 500 for that model,
the others keep working; a model reachable only through '..' stays unreachable), and SIGTERM during a request
(the process must exit; exit code and the in-flight request's fate are recorded).
"""
import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

from common import Results, error_shape_problem, multipart, request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(binary, models_dir, log_path, *extra):
    port = free_port()
    log = open(log_path, "ab")
    process = subprocess.Popen([binary, "serve", "--host", "127.0.0.1", "--port", str(port), "--models-dir", models_dir,
                                "--workers", "1", "--queue-size", "4", *extra], stdout=log, stderr=subprocess.STDOUT)
    for _ in range(300):
        try:
            if request("127.0.0.1", port, "GET", "/health", timeout=2).status == 200:
                return process, port
        except OSError:
            pass
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}; see {log_path}")
        time.sleep(0.1)
    raise RuntimeError("server did not start")


def transcribe(port, model, fixture="short-0.8s.wav", timeout=120):
    with open(os.path.join(ROOT, "Tests", "Fixtures", "speech", fixture), "rb") as f:
        body, ctype = multipart([("model", model), ("response_format", "json")], [("file", fixture, f.read(), "audio/wav")])
    return request("127.0.0.1", port, "POST", "/v1/audio/transcriptions", body, {"Content-Type": ctype}, timeout=timeout)


def corrupt_model(args, results, workdir):
    models = os.path.join(workdir, "models")
    os.makedirs(models)
    shutil.copytree(os.path.join(ROOT, "models", "tiny.en"), os.path.join(models, "good"))
    shutil.copytree(os.path.join(ROOT, "models", "tiny.en"), os.path.join(models, "broken"))
    with open(os.path.join(models, "broken", "model.bin"), "r+b") as f:
        f.truncate(4096)
    os.makedirs(os.path.join(models, "garbage"))
    with open(os.path.join(models, "garbage", "model.bin"), "wb") as f:
        f.write(os.urandom(65536))
    outside = os.path.join(workdir, "outside")
    shutil.copytree(os.path.join(models, "good"), os.path.join(outside, "evil"))
    process, port = start(args.binary, models, os.path.join(workdir, "corrupt.log"), "--default-model", "good")
    try:
        for model in ("broken", "garbage", "broken"):
            response = transcribe(port, model)
            body = response.json() or {}
            message = (body.get("error") or {}).get("message", "")
            problem = None if response.status == 500 else f"status {response.status}"
            problem = problem or error_shape_problem(response)
            if problem is None and "model" not in message:
                problem = f"message does not say the model failed: {message}"
            results.record(f"corrupt model '{model}' -> clear 500", problem is None, problem or f"-> 500 {message[:110]!r}")
        response = transcribe(port, "good")
        results.record("other models keep working after a corrupt one", response.status == 200,
                       f"-> {response.status} {response.body[:80]!r}")
        for model in ("../outside/evil", "..%2Foutside%2Fevil", os.path.join(outside, "evil")):
            response = transcribe(port, model)
            results.record(f"model outside the models dir '{model[-30:]}' unreachable", response.status == 404, f"-> {response.status}")
        response = request("127.0.0.1", port, "GET", "/v1/models")
        ids = [m.get("id") for m in (response.json() or {}).get("data", [])]
        results.record("listing shows only the models dir's entries", "evil" not in ids, f"ids {ids}")
        results.record("server alive after faults", process.poll() is None)
    finally:
        process.terminate()
        process.wait(timeout=30)


def sigterm_during_request(args, results, workdir):
    models = os.path.join(ROOT, "models")
    process, port = start(args.binary, models, os.path.join(workdir, "sigterm.log"), "--preload")
    for _ in range(600):
        try:
            if request("127.0.0.1", port, "GET", "/ready", timeout=2).status == 200:
                break
        except OSError:
            pass
        time.sleep(0.1)
    outcome = {}

    def inflight():
        try:
            response = transcribe(port, "whisper-1", fixture="lighthouse.wav", timeout=60)
            outcome["status"] = response.status
            outcome["body"] = response.body[:80]
        except (OSError, ValueError) as error:
            outcome["status"] = f"no answer ({error.__class__.__name__})"

    thread = threading.Thread(target=inflight)
    thread.start()
    time.sleep(0.3)
    sent = time.monotonic()
    process.send_signal(signal.SIGTERM)
    try:
        code = process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        code = "still running after 60 s"
        process.kill()
        process.wait()
    exited_after = time.monotonic() - sent
    thread.join(timeout=70)
    results.record("SIGTERM during a request: process exits", isinstance(code, int),
                   f"exit code {code} after {exited_after:.1f} s; in-flight request -> {outcome.get('status')} {outcome.get('body', b'')!r}",
                   exit_code=code, inflight=str(outcome.get("status")))


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--binary", required=True)
    parser.add_argument("--results", required=True)
    parser.add_argument("--long", action="store_true")
    args = parser.parse_args()
    results = Results(args.results, "faults")
    print("== (f) faults", flush=True)
    with tempfile.TemporaryDirectory(prefix="whisper-hardening-") as workdir:
        try:
            corrupt_model(args, results, workdir)
        except Exception as error:  # a failure to set up is a failed check, not a crash of the runner
            results.record("corrupt model setup", False, repr(error))
        try:
            sigterm_during_request(args, results, workdir)
        except Exception as error:
            results.record("SIGTERM setup", False, repr(error))


if __name__ == "__main__":
    main()
