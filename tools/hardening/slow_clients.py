"""(c) Slow and large clients: slowloris (headers and body trickled one byte per second) must be cut off by a
timeout while /health stays fast; a body over the limit gets 413 after reading at most about the limit; 200 idle
connections do not stop new requests being served; on a second server with a connection limit of 20, connections
over the limit wait until the header timeout closes the idle ones, then are served.
"""
import os
import socket
import tempfile
import threading
import time

from common import ROOT, Connection, Results, alive, health, multipart, parse_args, percentile, request, start_server, stop

FIXTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Tests/Fixtures/speech/short-0.8s.wav")


def trickle(host, port, prefix, payload, window, outcome, key):
    """Sends prefix at once, then payload one byte per second; records when the server closed the connection."""
    start = time.monotonic()
    sock = socket.create_connection((host, port), timeout=window + 5)
    try:
        sock.sendall(prefix)
        sock.settimeout(1.0)
        for byte in payload:
            if time.monotonic() - start > window:
                outcome[key] = ("still open", time.monotonic() - start)
                return
            try:
                data = sock.recv(4096)
                if data == b"" or data:
                    outcome[key] = (f"closed by server ({data[:12]!r})", time.monotonic() - start)
                    return
            except socket.timeout:
                pass
            except OSError:
                outcome[key] = ("reset by server", time.monotonic() - start)
                return
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                outcome[key] = ("reset by server", time.monotonic() - start)
                return
        outcome[key] = ("payload exhausted", time.monotonic() - start)
    finally:
        sock.close()


def slowloris(args, results, window, cutoff):
    head = f"POST /v1/audio/transcriptions HTTP/1.1\r\nHost: {args.host}\r\nContent-Type: application/json\r\n".encode()
    trickled_headers = b"X-Slow-" + b"a" * 200 + b": b\r\n" * 10
    body_prefix = head + b"Content-Length: 100000\r\n\r\n{\"audio\":\""
    outcome = {}
    threads = []
    for i in range(5):
        threads.append(threading.Thread(target=trickle, args=(args.host, args.port, head, trickled_headers, window, outcome, f"headers{i}")))
        threads.append(threading.Thread(target=trickle, args=(args.host, args.port, body_prefix, b"A" * 1000, window, outcome, f"body{i}")))
    for t in threads:
        t.start()
    latencies, failures = [], 0
    while any(t.is_alive() for t in threads):
        ok, seconds = health(args.host, args.port)
        latencies.append(seconds)
        failures += not ok
        time.sleep(0.1)
    for t in threads:
        t.join()
    p99 = percentile(latencies, 99) * 1000
    results.record("/health stays fast during slowloris", failures == 0 and p99 < 100,
                   f"{len(latencies)} probes, {failures} failed, p99 {p99:.1f} ms", inputs=len(latencies))
    for kind in ("headers", "body"):
        cut = [outcome[k] for k in outcome if k.startswith(kind)]
        worst = max((seconds if "closed" in what or "reset" in what else float("inf")) for what, seconds in cut)
        results.record(f"slowloris {kind} trickled 1 B/s cut off within {cutoff:.0f} s", worst <= cutoff,
                       "; ".join(sorted({f"{what} after {seconds:.0f} s" for what, seconds in cut})), inputs=len(cut))


def over_limit(args, results, limit_bytes):
    # Announced too large: answered 413 before the body is sent.
    body_head = b"--b\r\nContent-Disposition: form-data; name=\"prompt\"\r\n\r\n"
    conn = Connection(args.host, args.port, timeout=10)
    try:
        conn.send(b"POST /v1/audio/transcriptions HTTP/1.1\r\nHost: %s\r\nContent-Type: multipart/form-data; boundary=b\r\n"
                  b"Content-Length: %d\r\n\r\n" % (args.host.encode(), 100 * 1024 * 1024) + body_head + b"x" * 65536)
        response = conn.read_response()
        status = response.status
    except (OSError, ValueError) as error:
        status = f"no answer ({error.__class__.__name__})"
    finally:
        conn.close()
    results.record("100 MB text field (Content-Length announced) -> 413 before reading it", status == 413,
                   f"-> {status} after sending 64 KiB of 100 MiB")

    # Not announced (chunked): the server must stop after about the limit.
    sock = socket.create_connection((args.host, args.port), timeout=30)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536)
    sent, status, answer = 0, None, b""
    stop = threading.Event()

    def reader():
        nonlocal answer
        try:
            while not stop.is_set():
                data = sock.recv(65536)
                if not data:
                    break
                answer += data
                if b"\r\n\r\n" in answer:
                    break
        except OSError:
            pass
        stop.set()

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        sock.sendall(b"POST /v1/audio/transcriptions HTTP/1.1\r\nHost: %s\r\nContent-Type: multipart/form-data; boundary=b\r\n"
                     b"Transfer-Encoding: chunked\r\n\r\n" % args.host.encode())
        chunk = b"x" * 65536
        frame = b"%x\r\n" % len(chunk) + chunk + b"\r\n"
        while not stop.is_set() and sent < 200 * 1024 * 1024:
            sock.sendall(frame)
            sent += len(chunk)
    except OSError:
        pass
    stop.set()
    thread.join(timeout=10)
    sock.close()
    status = int(answer.split(b" ")[1]) if answer.startswith(b"HTTP/1.1 ") else "no answer"
    slack = 8 * 1024 * 1024  # kernel socket buffers on both sides
    results.record("chunked body over the limit -> 413 after about the limit", status == 413 and sent <= limit_bytes * 1.1 + slack,
                   f"-> {status} after the client sent {sent / 1048576:.1f} MiB (limit {limit_bytes / 1048576:.1f} MiB + 8 MiB buffers)",
                   sent_mb=round(sent / 1048576, 1))


def idle_connections(args, results, count):
    sockets = []
    try:
        for i in range(count):
            s = socket.create_connection((args.host, args.port), timeout=5)
            if i % 2:
                s.sendall(b"GET /health HTTP/1.1\r\nHost: %s\r\n" % args.host.encode())  # half a request
            sockets.append(s)
        time.sleep(0.5)
        latencies, failures = [], 0
        for _ in range(20):
            ok, seconds = health(args.host, args.port)
            latencies.append(seconds)
            failures += not ok
        with open(FIXTURE, "rb") as f:
            body, ctype = multipart([("model", "whisper-1"), ("response_format", "text")], [("file", "a.wav", f.read(), "audio/wav")])
        start = time.monotonic()
        try:
            status = request(args.host, args.port, "POST", "/v1/audio/transcriptions", body, {"Content-Type": ctype}, timeout=60).status
        except OSError as error:
            status = repr(error)
        transcribe_seconds = time.monotonic() - start
        p99 = percentile(latencies, 99) * 1000
        results.record(f"{count} idle connections do not block new requests", failures == 0 and status == 200,
                       f"/health 20/20 ok={failures == 0} p99 {p99:.1f} ms; transcription -> {status} in {transcribe_seconds:.2f} s",
                       inputs=count)
    finally:
        for s in sockets:
            s.close()


def connection_limit(args, results, limit=20, header_timeout=2):
    with tempfile.TemporaryDirectory(prefix="whisper-hardening-limit-") as workdir:
        process, port = start_server(args.binary, os.path.join(ROOT, "models"), os.path.join(workdir, "limit.log"),
                                     "--max-connections", str(limit), "--header-timeout", str(header_timeout))
        sockets = []
        try:
            for _ in range(limit + 10):
                sockets.append(socket.create_connection((args.host, port), timeout=5))
            time.sleep(0.3)
            start = time.monotonic()
            immediate, _ = health(args.host, port, timeout=1)
            served, seconds = health(args.host, port, timeout=header_timeout * 3 + 5)
            waited = time.monotonic() - start
            closed = 0
            for s in sockets[:limit]:
                s.settimeout(0.5)
                try:
                    closed += s.recv(1) == b""
                except OSError:
                    closed += 1
            ok = not immediate and served and closed == limit and process.poll() is None
            results.record(f"connection limit {limit}: over it new connections wait; idle ones closed after {header_timeout} s", ok,
                           f"{limit + 10} idle connections; a new request at once: {'served' if immediate else 'waits'}; "
                           f"served after {waited:.1f} s; {closed}/{limit} accepted idle connections closed by the server",
                           inputs=limit + 12)
        finally:
            for s in sockets:
                s.close()
            stop(process)


def main():
    args = parse_args(__doc__, lambda p: (p.add_argument("--max-upload-mb", type=float, default=25),
                                          p.add_argument("--cutoff", type=float, default=0),
                                          p.add_argument("--binary", required=True)))
    results = Results(args.results, "slow-large")
    window = 120 if args.long else 25
    cutoff = args.cutoff or (60 if args.long else 20)
    print(f"== (c) slow and large clients (slowloris window {window} s, cut-off expected within {cutoff:.0f} s)", flush=True)
    slowloris(args, results, window, cutoff)
    over_limit(args, results, int(args.max_upload_mb * 1024 * 1024))
    idle_connections(args, results, 200)
    results.record("server alive", alive(args.pid) and health(args.host, args.port)[0])
    connection_limit(args, results)


if __name__ == "__main__":
    main()
