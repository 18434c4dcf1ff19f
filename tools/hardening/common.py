"""Shared helpers for the hardening campaign: raw HTTP over sockets, multipart bodies, result recording.

Every check script takes --url (http://127.0.0.1:PORT), --pid (server process id) and --results (a JSON-lines file
the runner summarises). Standard library only.
"""
import argparse
import json
import os
import socket
import subprocess
import time
import urllib.parse

FORBIDDEN_IN_MESSAGES = ("/work", "/root", "/home", ".swift", "/tmp/")
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def fixture(name):
    """The bytes of a speech fixture under Tests/Fixtures/speech."""
    with open(os.path.join(ROOT, "Tests", "Fixtures", "speech", name), "rb") as f:
        return f.read()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(binary, models_dir, log_path, *extra, env=None, ready=False):
    """Starts `whisper-server serve` on a free loopback port (1 worker, queue 4 unless `extra` says otherwise) and
    waits until /health (or /ready when `ready`) answers 200. Returns (process, port)."""
    port = free_port()
    log = open(log_path, "ab")
    process = subprocess.Popen([binary, "serve", "--host", "127.0.0.1", "--port", str(port), "--models-dir", models_dir,
                                "--workers", "1", "--queue-size", "4", *extra], stdout=log, stderr=subprocess.STDOUT,
                               env=dict(os.environ, **(env or {})))
    probe = "/ready" if ready else "/health"
    for _ in range(600):
        try:
            if request("127.0.0.1", port, "GET", probe, timeout=2).status == 200:
                return process, port
        except OSError:
            pass
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}; see {log_path}")
        time.sleep(0.1)
    process.kill()
    raise RuntimeError("server did not start")


def transcribe(port, model, fixture_name="short-0.8s.wav", timeout=120, headers=None):
    """POST /v1/audio/transcriptions of a fixture as OpenAI's form, on a fresh connection."""
    body, ctype = multipart([("model", model), ("response_format", "json")], [("file", fixture_name, fixture(fixture_name), "audio/wav")])
    return request("127.0.0.1", port, "POST", "/v1/audio/transcriptions", body, dict(headers or {}, **{"Content-Type": ctype}), timeout=timeout)


def stop(process, timeout=30):
    """SIGTERM, then SIGKILL if the server is still running after `timeout` seconds; returns its exit code."""
    if process.poll() is None:
        process.terminate()
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait()


def parse_args(description, extra=None):
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--url", required=True, help="http://127.0.0.1:PORT of a running whisper-server")
    parser.add_argument("--pid", type=int, required=True, help="the server's process id (liveness, RSS)")
    parser.add_argument("--results", required=True, help="JSON-lines file results are appended to")
    parser.add_argument("--long", action="store_true", help="long mode: larger counts and durations")
    parser.add_argument("--seed", type=int, default=1234)
    if extra:
        extra(parser)
    args = parser.parse_args()
    url = urllib.parse.urlsplit(args.url)
    args.host, args.port = url.hostname, url.port
    return args


class Results:
    """Collects check outcomes; each is printed and appended to the results file."""

    def __init__(self, path, category):
        self.path, self.category = path, category
        self.failed = 0

    def record(self, check, ok, detail="", inputs=1, **figures):
        row = {"category": self.category, "check": check, "ok": bool(ok), "detail": detail, "inputs": inputs}
        row.update(figures)
        with open(self.path, "a") as f:
            f.write(json.dumps(row) + "\n")
        print(f"  [{'PASS' if ok else 'FAIL'}] {self.category}/{check} ({inputs} inputs) {detail}", flush=True)
        if not ok:
            self.failed += 1
        return ok


class RawResponse:
    def __init__(self, status, reason, headers, body):
        self.status, self.reason, self.headers, self.body = status, reason, headers, body

    def header(self, name):
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def __repr__(self):
        return f"<{self.status} {self.body[:160]!r}>"


class Connection:
    """One TCP connection; send raw bytes, read any number of HTTP/1.1 responses from it."""

    def __init__(self, host, port, timeout=30.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.file = self.sock.makefile("rb")

    def send(self, data):
        self.sock.sendall(data)

    def read_response(self, head_only=False):
        line = self.file.readline(65537)
        if not line:
            raise ConnectionError("connection closed before a response")
        parts = line.decode("latin-1").rstrip("\r\n").split(" ", 2)
        status = int(parts[1])
        reason = parts[2] if len(parts) > 2 else ""
        headers = []
        while True:
            line = self.file.readline(65537)
            if line in (b"\r\n", b"\n", b""):
                break
            key, _, value = line.decode("latin-1").partition(":")
            headers.append((key.strip(), value.strip()))
        response = RawResponse(status, reason, headers, b"")
        if head_only or status in (204, 304) or 100 <= status < 200:
            return response
        if (response.header("transfer-encoding") or "").lower() == "chunked":
            body = bytearray()
            while True:
                size = int(self.file.readline(1024).split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.file.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                body += self.file.read(size)
                self.file.readline(3)
            response.body = bytes(body)
        elif response.header("content-length") is not None:
            response.body = self.file.read(int(response.header("content-length")))
        else:
            response.body = self.file.read()
        return response

    def close(self):
        try:
            self.file.close()
            self.sock.close()
        except OSError:
            pass


def request(host, port, method, path, body=b"", headers=None, timeout=60.0):
    """One request on a fresh connection (Connection: close), returning a RawResponse."""
    headers = dict(headers or {})
    head = f"{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n"
    if body or method in ("POST", "PUT"):
        headers.setdefault("Content-Length", str(len(body)))
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    conn = Connection(host, port, timeout)
    try:
        conn.send(head.encode("latin-1") + body)
        return conn.read_response(head_only=(method == "HEAD"))
    finally:
        conn.close()


def health(host, port, timeout=5.0):
    """(ok, seconds) for GET /health."""
    start = time.monotonic()
    try:
        response = request(host, port, "GET", "/health", timeout=timeout)
        return response.status == 200, time.monotonic() - start
    except (OSError, ValueError):
        return False, time.monotonic() - start


def alive(pid):
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:
        with open(f"/proc/{pid}/status") as f:
            return "\nState:\tZ" not in f.read()
    except OSError:
        return False


def status_mb(pid, field):
    """A memory figure from /proc/PID/status in MiB: VmHWM is the peak resident set, VmRSS the current one."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mb(pid):
    return status_mb(pid, "VmHWM")


def rss_mb(pid):
    return status_mb(pid, "VmRSS")


def multipart(fields, files=(), boundary="hardeningboundary7MA4YWxk"):
    """(body, content_type) for text fields [(name, value)] and files [(name, filename, bytes, content_type)]."""
    out = bytearray()
    for name, value in fields:
        out += f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n".encode()
        out += value if isinstance(value, bytes) else str(value).encode()
        out += b"\r\n"
    for name, filename, data, content_type in files:
        out += (
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\n"
            f"Content-Type: {content_type}\r\n\r\n"
        ).encode()
        out += data + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out), f"multipart/form-data; boundary={boundary}"


def error_shape_problem(response):
    """None if the body is OpenAI's error shape with a clean message, else what is wrong."""
    body = response.json()
    if not isinstance(body, dict) or not isinstance(body.get("error"), dict):
        return f"not OpenAI error JSON: {response.body[:120]!r}"
    error = body["error"]
    missing = [k for k in ("message", "type", "param", "code") if k not in error]
    if missing:
        return f"error object lacks {missing}"
    if not isinstance(error["message"], str) or not error["message"]:
        return "empty message"
    leaked = [s for s in FORBIDDEN_IN_MESSAGES if s in error["message"]]
    if leaked:
        return f"message leaks {leaked}: {error['message'][:160]}"
    return None


def percentile(values, p):
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, int(round(p / 100 * (len(ordered) - 1)))))
    return ordered[index]
