"""(e) Security: path-like model ids get 404 without touching the filesystem outside the models directory (watched
with strace when available); response headers carry no server internals; error messages carry no filesystem paths;
with API keys configured (a second server) every route answers 401 without a key or with a wrong one, except /health
and /ready.
"""
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import urllib.parse

from common import FORBIDDEN_IN_MESSAGES, ROOT, Results, alive, health, multipart, parse_args, request, start_server, stop

IDS = ["../../etc/passwd", "..%2f..%2fetc%2fpasswd", "%2e%2e%2f%2e%2e%2fetc%2fpasswd", "%2e%2e/%2e%2e/etc/passwd", "/etc/passwd",
       "%2Fetc%2Fpasswd", "/work/main/models/tiny.en", "%2Fwork%2Fmain%2Fmodels%2Ftiny.en", "/proc/self/environ", "tiny.en/../tiny.en", "tiny.en%2F..%2Ftiny.en",
       "..", ".", "%2e%2e", "....//....//etc/passwd", "..\\..\\etc\\passwd", "tiny.en%00", "tiny.en\x00x", "~root", "$HOME",
       "file:///etc/passwd", "tiny.en/model.bin", "tiny.en%2Fmodel.bin", "../models/tiny.en", "..%252f..%252fetc%252fpasswd",
       "%c0%ae%c0%ae%2fetc%2fpasswd", "a" * 5000]
VERSIONISH = re.compile(r"\d+\.\d+|swift|hummingbird|nio|linux|debian", re.I)


def keys_required(args, results):
    """Every route of the served OpenAPI document, plus HEAD of each GET, without a key and with a wrong one."""
    key = "sk-hardening-" + os.urandom(12).hex()
    with tempfile.TemporaryDirectory(prefix="whisper-hardening-keys-") as workdir:
        process, port = start_server(args.binary, os.path.join(ROOT, "models"), os.path.join(workdir, "keys.log"), "--preload",
                                     env={"WHISPER_API_KEYS": f"hardening:{key}"}, ready=True)
        try:
            document = request("127.0.0.1", port, "GET", "/openapi.json", headers={"Authorization": f"Bearer {key}"}).json() or {}
            routes = []
            for path, operations in document.get("paths", {}).items():
                concrete = re.sub(r"\{[^}]+\}", "tiny.en", path)
                for method in operations:
                    if method.upper() in ("GET", "POST", "PUT", "PATCH", "DELETE"):
                        routes.append((method.upper(), path, concrete))
                        if method.upper() == "GET":
                            routes.append(("HEAD", path, concrete))
            open_paths = {"/health", "/ready"}
            wrong, checked = [], 0
            for method, path, concrete in routes:
                for label, headers in (("no key", {}), ("wrong key", {"Authorization": "Bearer sk-wrong"}),
                                       ("wrong X-API-Key", {"X-API-Key": "sk-wrong"})):
                    response = request("127.0.0.1", port, method, concrete, b"{}" if method == "POST" else b"",
                                       dict(headers, **({"Content-Type": "application/json"} if method == "POST" else {})))
                    checked += 1
                    expected = 200 if path in open_paths else 401
                    if response.status != expected:
                        wrong.append(f"{method} {concrete} ({label}) -> {response.status}, expected {expected}")
                    elif expected == 401 and method != "HEAD" and error_problem(response):
                        wrong.append(f"{method} {concrete} ({label}): {error_problem(response)}")
            with_key = request("127.0.0.1", port, "GET", "/v1/models", headers={"Authorization": f"Bearer {key}"})
            results.record("keys configured: every route without a valid key -> 401 (except /health, /ready)",
                           not wrong and len(routes) >= 9 and with_key.status == 200,
                           "; ".join(wrong[:4]) or f"{len(routes)} routes x 3 ways checked; with the key GET /v1/models -> {with_key.status}",
                           inputs=checked)
        finally:
            stop(process)


def error_problem(response):
    body = response.json()
    if not isinstance(body, dict) or "error" not in body:
        return f"not OpenAI's error shape: {response.body[:80]!r}"
    if not response.header("www-authenticate"):
        return "no WWW-Authenticate header"
    return None


def main():
    args = parse_args(__doc__, lambda p: (p.add_argument("--models-dir", default="models"), p.add_argument("--binary", required=True)))
    results = Results(args.results, "security")
    print("== (e) security", flush=True)
    tracer = None
    trace_path = "/tmp/whisper-hardening-strace.txt"
    if shutil.which("strace"):
        tracer = subprocess.Popen(["strace", "-f", "-qq", "-e", "trace=%file", "-o", trace_path, "-p", str(args.pid)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.0)
    responses = []
    wrong = []
    for raw in IDS:
        path_id = raw.replace("\x00", "%00").replace(" ", "%20").replace("\\", "%5C")
        response = request(args.host, args.port, "GET", "/v1/models/" + path_id)
        responses.append(response)
        if response.status not in (400, 404):
            wrong.append(f"GET /v1/models/{raw[:40]} -> {response.status}")
        body, ctype = multipart([("model", raw), ("response_format", "text")], [("file", "a.wav", b"RIFF" + b"\0" * 100, "audio/wav")])
        response = request(args.host, args.port, "POST", "/v1/audio/transcriptions", body, {"Content-Type": ctype})
        responses.append(response)
        if response.status not in (400, 404):
            wrong.append(f"POST model={raw[:40]!r} -> {response.status}")
        response = request(args.host, args.port, "POST", "/v1/audio/transcriptions", json.dumps({"model": raw, "audio": "UklGRg=="}).encode(),
                           {"Content-Type": "application/json"})
        responses.append(response)
        if response.status not in (400, 404):
            wrong.append(f"POST JSON model={raw[:40]!r} -> {response.status}")
    results.record("path-like model ids -> 404 (GET /v1/models/{id}, multipart, JSON)", not wrong, "; ".join(wrong[:5]) or "all 404/400",
                   inputs=3 * len(IDS))
    if tracer:
        time.sleep(0.5)
        tracer.terminate()
        tracer.wait(timeout=10)
        with open(trace_path, errors="replace") as f:
            lines = f.read().splitlines()
        os.remove(trace_path)
        models = os.path.realpath(args.models_dir)
        nss = {"/etc/nsswitch.conf", "/etc/passwd", "/etc/group"}  # owner look-ups by FileManager.attributesOfItem
        outside = []
        for line in lines:
            for path in re.findall(r'"([^"]*)"', line):
                if path and (".." in path or not (path.startswith(models) or path in nss or path.startswith("/proc/") or path.startswith("/sys/"))):
                    outside.append(line)
        results.record("no file access outside the models directory during the probes (strace)", not outside,
                       f"{len(lines)} file syscalls traced; suspicious: {outside[:3]}", inputs=0)
    else:
        print("    strace not installed: file-access tracing skipped")

    # Headers and messages over a variety of responses.
    probes = [("GET", "/health"), ("GET", "/ready"), ("GET", "/v1/models"), ("GET", "/v1/models/whisper-1"), ("GET", "/nope"),
              ("POST", "/v1/audio/transcriptions"), ("DELETE", "/v1/models"), ("HEAD", "/health"), ("OPTIONS", "/v1/models")]
    for method, path in probes:
        responses.append(request(args.host, args.port, method, path))
    leaks = []
    for response in responses:
        for key, value in response.headers:
            lowered = key.lower()
            if lowered in ("x-powered-by", "x-runtime", "x-aspnet-version", "x-debug") or lowered.startswith("x-swift"):
                leaks.append(f"{key}: {value}")
            if lowered == "server" and VERSIONISH.search(value):
                leaks.append(f"{key}: {value}")
            if any(s in value for s in FORBIDDEN_IN_MESSAGES):
                leaks.append(f"{key}: {value[:80]}")
    results.record("response headers carry no server internals", not leaks, "; ".join(sorted(set(leaks))[:5]) or
                   f"server header: {sorted({r.header('server') for r in responses if r.header('server')}) or 'none'}", inputs=len(responses))
    path_leaks = []
    for response in responses:
        if b"/work/main/models/tiny.en" in response.body:
            continue  # the probe's own id echoed back
        text = response.body.decode("utf-8", "replace")
        for needle in FORBIDDEN_IN_MESSAGES + ("Fatal error", "Swift/", "stack trace"):
            if needle in text:
                path_leaks.append(f"{response.status}: {text[:120]}")
    results.record("error messages contain no filesystem paths", not path_leaks, "; ".join(path_leaks[:3]) or "clean", inputs=0)
    results.record("server alive", alive(args.pid) and health(args.host, args.port)[0])
    keys_required(args, results)


if __name__ == "__main__":
    main()
