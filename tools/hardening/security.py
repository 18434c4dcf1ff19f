"""(e) Security: path-like model ids get 404 without touching the filesystem outside the models directory (watched
with strace when available); response headers carry no server internals; error messages carry no filesystem paths.
"""
import json
import os
import re
import shutil
import subprocess
import time
import urllib.parse

from common import FORBIDDEN_IN_MESSAGES, Results, alive, health, multipart, parse_args, request

IDS = ["../../etc/passwd", "..%2f..%2fetc%2fpasswd", "%2e%2e%2f%2e%2e%2fetc%2fpasswd", "%2e%2e/%2e%2e/etc/passwd", "/etc/passwd",
       "%2Fetc%2Fpasswd", "/work/main/models/tiny.en", "%2Fwork%2Fmain%2Fmodels%2Ftiny.en", "/proc/self/environ", "tiny.en/../tiny.en", "tiny.en%2F..%2Ftiny.en",
       "..", ".", "%2e%2e", "....//....//etc/passwd", "..\\..\\etc\\passwd", "tiny.en%00", "tiny.en\x00x", "~root", "$HOME",
       "file:///etc/passwd", "tiny.en/model.bin", "tiny.en%2Fmodel.bin", "../models/tiny.en", "..%252f..%252fetc%252fpasswd",
       "%c0%ae%c0%ae%2fetc%2fpasswd", "a" * 5000]
VERSIONISH = re.compile(r"\d+\.\d+|swift|hummingbird|nio|linux|debian", re.I)


def main():
    args = parse_args(__doc__, lambda p: p.add_argument("--models-dir", default="models"))
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
        import re as _re
        models = os.path.realpath(args.models_dir)
        nss = {"/etc/nsswitch.conf", "/etc/passwd", "/etc/group"}  # owner look-ups by FileManager.attributesOfItem
        outside = []
        for line in lines:
            for path in _re.findall(r'"([^"]*)"', line):
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


if __name__ == "__main__":
    main()
