"""(f) Faults, each on its own server:
- a corrupt model in a temporary models directory: clear 500 for that model, the others keep working; a model
  reachable only through '..' stays unreachable;
- a model file deleted while the model is loaded: requests keep being served from memory until the server next lists
  the models directory, then the model is gone (404 model_not_found, a clear message); never a 500, other models work;
- SIGTERM during a request, and SIGTERM while the model is still loading: the in-flight request completes, exit 0;
- the inference pool saturated (worker and queue full) while the clients disconnect: their jobs are cancelled and the
  slots freed, proven by a following request being served promptly.
"""
import argparse
import os
import shutil
import signal
import socket
import tempfile
import threading
import time

from common import (ROOT, Results, error_shape_problem, fixture, multipart, request, start_server, stop, transcribe)


def model_copy(models, name):
    shutil.copytree(os.path.join(ROOT, "models", "tiny.en"), os.path.join(models, name))


def corrupt_model(args, results, workdir):
    models = os.path.join(workdir, "models")
    os.makedirs(models)
    model_copy(models, "good")
    model_copy(models, "broken")
    with open(os.path.join(models, "broken", "model.bin"), "r+b") as f:
        f.truncate(4096)
    os.makedirs(os.path.join(models, "garbage"))
    with open(os.path.join(models, "garbage", "model.bin"), "wb") as f:
        f.write(os.urandom(65536))
    outside = os.path.join(workdir, "outside")
    shutil.copytree(os.path.join(models, "good"), os.path.join(outside, "evil"))
    process, port = start_server(args.binary, models, os.path.join(workdir, "corrupt.log"), "--default-model", "good")
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
        stop(process)


def deleted_model(args, results, workdir):
    models = os.path.join(workdir, "models-deleted")
    os.makedirs(models)
    model_copy(models, "keeper")
    model_copy(models, "doomed")
    process, port = start_server(args.binary, models, os.path.join(workdir, "deleted.log"), "--default-model", "keeper", "--preload",
                                 ready=True)
    try:
        first = transcribe(port, "doomed")
        os.remove(os.path.join(models, "doomed", "model.bin"))
        from_memory = transcribe(port, "doomed")
        results.record("model file deleted while loaded: served from memory", first.status == 200 and from_memory.body == first.body,
                       f"before -> {first.status}, after deletion -> {from_memory.status} {from_memory.body[:60]!r}")
        time.sleep(1.1)  # the server lists its models directory at most once a second
        listing = request("127.0.0.1", port, "GET", "/v1/models")
        ids = [m.get("id") for m in (listing.json() or {}).get("data", [])]
        gone = transcribe(port, "doomed")
        message = ((gone.json() or {}).get("error") or {}).get("message", "")
        problem = error_shape_problem(gone) if gone.status == 404 else f"status {gone.status} {gone.body[:100]!r}"
        results.record("deleted model gone once the directory is listed again: clear 404", problem is None and "doomed" not in ids,
                       problem or f"listing {ids}; -> 404 {message!r}")
        other = transcribe(port, "keeper")
        results.record("other models keep working after a deletion", other.status == 200 and process.poll() is None,
                       f"-> {other.status}")
    finally:
        stop(process)


def read_text(path):
    with open(path, errors="replace") as log:
        return log.read()


def sigterm(args, results, workdir, during_load):
    """SIGTERM while a request is in flight; with `during_load` the server starts without its model (Whisper base, the
    larger one) so the request is still waiting for the load when the signal arrives."""
    extra = ["--default-model", "base"] if during_load else ["--preload"]
    # A long grace period: the check is that in-flight work completes, not how fast a loaded machine runs it.
    log_path = os.path.join(workdir, "sigterm-during-load.log" if during_load else "sigterm.log")
    process, port = start_server(args.binary, os.path.join(ROOT, "models"), log_path, *extra,
                                 "--shutdown-grace-seconds", "120", ready=not during_load)
    fixture_name = "short-0.8s.wav" if during_load else "meeting-time.wav"
    outcome = {}

    def inflight():
        try:
            response = transcribe(port, "whisper-1", fixture_name=fixture_name, timeout=120)
            outcome["status"], outcome["body"] = response.status, response.body[:80]
        except (OSError, ValueError) as error:
            outcome["status"] = f"no answer ({error.__class__.__name__})"

    thread = threading.Thread(target=inflight)
    thread.start()
    if during_load:
        # The model loads in a fraction of a second: signal as soon as the server logs that the load has started.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and '"loading model"' not in read_text(log_path):
            time.sleep(0.002)
    else:
        time.sleep(0.3)
    log_text = read_text(log_path)
    loading = '"loading model"' in log_text and '"loaded model"' not in log_text
    sent = time.monotonic()
    process.send_signal(signal.SIGTERM)
    code = stop(process, timeout=150)
    exited_after = time.monotonic() - sent
    thread.join(timeout=150)
    name = "SIGTERM during model load" if during_load else "SIGTERM during a request"
    suffix = "_during_load" if during_load else ""
    ok = code == 0 and outcome.get("status") == 200 and (loading or not during_load)
    results.record(f"{name}: in-flight request completes, exit 0", ok,
                   f"model loading at SIGTERM: {loading}; exit code {code} after {exited_after:.1f} s; "
                   f"in-flight -> {outcome.get('status')} {outcome.get('body', b'')!r}",
                   **{"exit_code" + suffix: code, "inflight" + suffix: str(outcome.get("status"))})


def saturated_disconnect(args, results, workdir):
    process, port = start_server(args.binary, os.path.join(ROOT, "models"), os.path.join(workdir, "saturated.log"), "--preload",
                                 "--queue-size", "1", "--request-timeout", "300", ready=True)
    try:
        body, ctype = multipart([("model", "whisper-1"), ("response_format", "text")],
                                [("file", "long.flac", fixture("long-form.flac"), "audio/flac")])
        begin = time.monotonic()
        baseline = transcribe(port, "whisper-1", timeout=60)
        baseline_seconds = time.monotonic() - begin
        head = (f"POST /v1/audio/transcriptions HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: {ctype}\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode()
        clients = []
        for expected in ({"running": 1, "waiting": 0}, {"running": 1, "waiting": 1}):
            sock = socket.create_connection(("127.0.0.1", port), timeout=30)
            sock.sendall(head + body)
            clients.append(sock)
            state = wait_for(port, expected, 60)
            if state != expected:
                results.record("pool saturated, clients disconnect: slots freed", False, f"scheduler never reached {expected}: {state}")
                return
        refused = transcribe(port, "whisper-1")
        saturated = refused.status == 429
        started = time.monotonic()
        for sock in clients:
            sock.close()
        state = wait_for(port, {"running": 0, "waiting": 0}, 60)
        freed_after = time.monotonic() - started
        begin = time.monotonic()
        follow = transcribe(port, "whisper-1", timeout=60)
        follow_seconds = time.monotonic() - begin
        # Promptly: about as fast as on an idle server (the cancelled job had minutes of audio left).
        prompt = follow_seconds < 2 * baseline_seconds + 3
        ok = (saturated and baseline.status == 200 and state == {"running": 0, "waiting": 0} and freed_after < 5
              and follow.status == 200 and prompt)
        results.record("pool saturated, clients disconnect: jobs cancelled, slots freed", ok,
                       f"third client while full -> {refused.status}; worker and queue empty {freed_after:.2f} s after the "
                       f"disconnects; next request -> {follow.status} in {follow_seconds:.2f} s (idle server: {baseline_seconds:.2f} s)",
                       freed_s=round(freed_after, 2))
    finally:
        stop(process)


def wait_for(port, expected, seconds):
    """Polls /ready until running/waiting equal `expected`; returns the last state seen."""
    state = {}
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        ready = request("127.0.0.1", port, "GET", "/ready", timeout=5).json() or {}
        state = {"running": ready.get("running"), "waiting": ready.get("waiting")}
        if state == expected:
            return state
        time.sleep(0.05)
    return state


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--binary", required=True)
    parser.add_argument("--results", required=True)
    parser.add_argument("--long", action="store_true")
    args = parser.parse_args()
    results = Results(args.results, "faults")
    print("== (f) faults", flush=True)
    with tempfile.TemporaryDirectory(prefix="whisper-hardening-") as workdir:
        for name, check in [("corrupt model", corrupt_model), ("deleted model", deleted_model),
                            ("SIGTERM during a request", lambda a, r, w: sigterm(a, r, w, during_load=False)),
                            ("SIGTERM during model load", lambda a, r, w: sigterm(a, r, w, during_load=True)),
                            ("saturated pool", saturated_disconnect)]:
            try:
                check(args, results, workdir)
            except Exception as error:  # a failure to set up is a failed check, not a crash of the runner
                results.record(f"{name} setup", False, repr(error))


if __name__ == "__main__":
    main()
