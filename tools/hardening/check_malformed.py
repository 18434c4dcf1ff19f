"""(a) Malformed requests: each must get the right 4xx in OpenAI's error shape, and /health must answer after each.

Parser-level rejections (request smuggling, header floods) come from the HTTP layer: there a 400/431 or a closed
connection is accepted, but never a desynchronised follow-up request.
"""
import base64
import json
import threading
import time

from common import Connection, Results, error_shape_problem, health, multipart, parse_args, alive

TRANSCRIBE = "/v1/audio/transcriptions"
SMALL_WAV = b"RIFF" + b"\x00" * 64  # never decoded: every case here fails before the audio stage


def raw_post(host, port, path, content_type, body, extra_headers=()):
    head = f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\nContent-Length: {len(body)}\r\n"
    if content_type is not None:
        head += f"Content-Type: {content_type}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in extra_headers) + "\r\n"
    return head.encode("latin-1") + body


def multipart_cases(host, port):
    """(name, request bytes, accepted statuses)."""
    cases = []
    body, _ = multipart([("model", "whisper-1")], [("file", "a.wav", SMALL_WAV, "audio/wav")], boundary="b0undary")
    cases.append(("multipart missing boundary", raw_post(host, port, TRANSCRIBE, "multipart/form-data", body), {400}))
    cases.append(("multipart empty boundary", raw_post(host, port, TRANSCRIBE, "multipart/form-data; boundary=", body), {400}))
    cases.append(("multipart duplicated boundary", raw_post(host, port, TRANSCRIBE, "multipart/form-data; boundary=x; boundary=b0undary", body), {400}))
    cases.append(("multipart duplicated boundary (reversed)", raw_post(host, port, TRANSCRIBE, "multipart/form-data; boundary=b0undary; boundary=x", body), {400}))
    huge = "B" * 10240
    body_huge, ctype_huge = multipart([("model", "whisper-1")], [("file", "a.wav", SMALL_WAV, "audio/wav")], boundary=huge)
    cases.append(("multipart 10 KB boundary", raw_post(host, port, TRANSCRIBE, ctype_huge, body_huge), {400, 431}))
    nameless = (b"--b0undary\r\nContent-Disposition: form-data\r\n\r\nwhisper-1\r\n"
                b"--b0undary\r\nContent-Disposition: form-data; filename=\"a.wav\"\r\n\r\n" + SMALL_WAV + b"\r\n--b0undary--\r\n")
    cases.append(("multipart parts without names", raw_post(host, port, TRANSCRIBE, "multipart/form-data; boundary=b0undary", nameless), {400}))
    no_disposition = b"--b0undary\r\nContent-Type: text/plain\r\n\r\nx\r\n--b0undary--\r\n"
    cases.append(("multipart part without Content-Disposition", raw_post(host, port, TRANSCRIBE, "multipart/form-data; boundary=b0undary", no_disposition), {400}))
    body0, ctype = multipart([("model", "whisper-1")], [("file", "a.wav", b"", "audio/wav")])
    cases.append(("multipart file part of 0 bytes", raw_post(host, port, TRANSCRIBE, ctype, body0), {400}))
    body_nofile, ctype = multipart([("model", "whisper-1")])
    cases.append(("multipart without file", raw_post(host, port, TRANSCRIBE, ctype, body_nofile), {400}))
    body_many, ctype = multipart([(f"f{i}", "v") for i in range(10000)] + [("model", "whisper-1")], [("file", "a.wav", SMALL_WAV, "audio/wav")])
    cases.append(("multipart 10,000 form fields", raw_post(host, port, TRANSCRIBE, ctype, body_many), {400}))
    truncated, ctype = multipart([("model", "whisper-1")], [("file", "a.wav", SMALL_WAV, "audio/wav")])
    cases.append(("multipart truncated (no closing boundary)", raw_post(host, port, TRANSCRIBE, ctype, truncated[:-20]), {400}))
    cases.append(("multipart garbage body", raw_post(host, port, TRANSCRIBE, "multipart/form-data; boundary=b0undary", bytes(range(256)) * 8), {400}))
    body_big_field, ctype = multipart([("model", "whisper-1"), ("language", "x" * 100_000)], [("file", "a.wav", SMALL_WAV, "audio/wav")])
    cases.append(("multipart 100 KB text field", raw_post(host, port, TRANSCRIBE, ctype, body_big_field), {400}))
    body_bad_format, ctype = multipart([("model", "whisper-1"), ("response_format", "xml")], [("file", "a.wav", SMALL_WAV, "audio/wav")])
    cases.append(("multipart unknown response_format", raw_post(host, port, TRANSCRIBE, ctype, body_bad_format), {400}))
    body_bad_temp, ctype = multipart([("model", "whisper-1"), ("temperature", "NaN")], [("file", "a.wav", SMALL_WAV, "audio/wav")])
    cases.append(("multipart temperature NaN", raw_post(host, port, TRANSCRIBE, ctype, body_bad_temp), {400}))
    return cases


def json_cases(host, port):
    cases = []
    post = lambda name, body, ok=frozenset({400}), path=TRANSCRIBE: cases.append((name, raw_post(host, port, path, "application/json", body), set(ok)))
    post("JSON that is not JSON", b"{this is not json")
    post("JSON empty body", b"")
    post("JSON top-level array", b"[1,2,3]")
    post("JSON top-level string", b"\"audio\"")
    post("JSON invalid UTF-8", b"{\"audio\":\"\xff\xfe\"}")
    post("JSON base64 that is not base64", json.dumps({"audio": "!!!not base64???", "model": "whisper-1"}).encode())
    post("JSON base64 wrong type", json.dumps({"audio": 12345, "model": "whisper-1"}).encode())
    post("JSON base64 empty", json.dumps({"audio": "", "model": "whisper-1"}).encode())
    post("JSON nested 10,000 deep (arrays)", b"{\"audio\":" + b"[" * 10000 + b"]" * 10000 + b"}")
    post("JSON nested 10,000 deep (objects)", b"{\"a\":" * 10000 + b"1" + b"}" * 10000)
    post("JSON nested 100,000 deep (unclosed)", b"[" * 100000)
    post("JSON huge number", b"{\"audio\":\"AAAA\",\"temperature\":1e999999}")
    post("JSON 1 MB string key", b"{\"" + b"k" * 1_000_000 + b"\":1}")
    post("chat completions not JSON", b"nope", path="/v1/chat/completions")
    post("chat completions no audio", json.dumps({"model": "whisper-1", "messages": [{"role": "user", "content": "hi"}]}).encode(), path="/v1/chat/completions")
    return cases


def content_type_cases(host, port):
    cases = []
    body, _ = multipart([("model", "whisper-1")], [("file", "a.wav", SMALL_WAV, "audio/wav")])
    for ctype in ["text/plain", "application/xml", "application/x-www-form-urlencoded", "audio/wav", "multipart/mixed; boundary=hardeningboundary7MA4YWxk",
                  "application/octet-stream", "", "*/*", "application/json-seq", "\u00e9t\u00e9/x"]:
        cases.append((f"content type {ctype!r}", raw_post(host, port, TRANSCRIBE, ctype, body), {415}))
    cases.append(("no content type", raw_post(host, port, TRANSCRIBE, None, body), {415}))
    cases.append(("chat completions as multipart", raw_post(host, port, "/v1/chat/completions", "multipart/form-data; boundary=hardeningboundary7MA4YWxk", body), {415}))
    cases.append(("GET on a POST route", f"GET {TRANSCRIBE} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n".encode(), {405}))
    cases.append(("TRACE on a GET route", f"TRACE /v1/models HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n".encode(), {405}))
    cases.append(("unknown route", f"GET /v1/nothing-here HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n".encode(), {404}))
    return cases


def run_simple(args, results, category_cases, category):
    ok_count, problems = 0, []
    for name, raw, expected in category_cases:
        conn = Connection(args.host, args.port, timeout=30)
        try:
            conn.send(raw)
            response = conn.read_response()
        except (OSError, ValueError) as error:
            response, problem = None, f"no response ({error.__class__.__name__})"
        finally:
            conn.close()
        if response is not None:
            problem = None
            if response.status not in expected:
                problem = f"status {response.status}, expected {sorted(expected)}: {response.body[:200]!r}"
            else:
                problem = error_shape_problem(response)
        healthy, _ = health(args.host, args.port)
        if not healthy or not alive(args.pid):
            problem = (problem or "") + " /health failed afterwards"
        results.record(name, problem is None, problem or f"-> {response.status}", inputs=1)
        ok_count += problem is None
    return ok_count


def smuggling(args, results):
    """Conflicting framing headers followed by a legitimate request on the same connection: the answer must be one 4xx
    and the connection closed (a second answer means the server read past a framing it could not trust)."""
    host = f"Host: {args.host}:{args.port}\r\n".encode()
    smuggled = b"GET /v1/smuggled HTTP/1.1\r\n" + host + b"\r\n"
    follow_up = b"GET /v1/models HTTP/1.1\r\n" + host + b"\r\n"
    chunked_body = b"0\r\n\r\n" + smuggled
    variants = [
        ("CL + TE: chunked", b"Content-Length: %d\r\nTransfer-Encoding: chunked\r\n" % len(chunked_body), chunked_body),
        ("TE: chunked + CL", b"Transfer-Encoding: chunked\r\nContent-Length: 4\r\n", chunked_body),
        ("CL + TE: chunked (CL short)", b"Content-Length: 3\r\nTransfer-Encoding: chunked\r\n", chunked_body),
        ("duplicate CL, different values", b"Content-Length: 5\r\nContent-Length: %d\r\n" % (5 + len(smuggled)), b"hello" + smuggled),
        ("CL with comma list", b"Content-Length: 5, %d\r\n" % (5 + len(smuggled)), b"hello" + smuggled),
        ("TE: chunked, identity + CL", b"Transfer-Encoding: chunked, identity\r\nContent-Length: %d\r\n" % len(chunked_body), chunked_body),
        ("TE: xchunked + CL", b"Transfer-Encoding: xchunked\r\nContent-Length: 5\r\n", b"hello" + smuggled),
        ("TE with space before colon", b"Transfer-Encoding : chunked\r\nContent-Length: %d\r\n" % len(chunked_body), chunked_body),
        ("TE obs-fold", b"Transfer-Encoding: identity\r\n chunked\r\nContent-Length: %d\r\n" % len(chunked_body), chunked_body),
        ("negative CL", b"Content-Length: -1\r\n", smuggled),
        ("CL overflow", b"Content-Length: 99999999999999999999999\r\n", smuggled),
        ("chunk size overflow", b"Transfer-Encoding: chunked\r\n", b"fffffffffffffffffffff\r\nx\r\n0\r\n\r\n" + smuggled),
        ("bare LF line endings", b"Content-Length: 0\nTransfer-Encoding: chunked\n", chunked_body),
    ]
    for name, framing, body in variants:
        conn = Connection(args.host, args.port, timeout=10)
        statuses, problem = [], None
        try:
            conn.send(b"POST /v1/audio/transcriptions HTTP/1.1\r\n" + host + b"Content-Type: application/json\r\n" + framing + b"\r\n" + body)
            time.sleep(0.05)
            try:
                conn.send(follow_up)
            except OSError:
                pass
            for _ in range(3):
                try:
                    response = conn.read_response()
                except (OSError, ValueError):
                    break
                statuses.append(response.status)
                if b"/v1/smuggled" in response.body or b"smuggled" in response.body:
                    problem = f"smuggled request was served: {response.status} {response.body[:120]!r}"
        finally:
            conn.close()
        if problem is None and statuses and not 400 <= statuses[0] < 500:
            problem = f"first response {statuses[0]}, expected a 4xx or a closed connection"
        if problem is None and len(statuses) > 1:
            problem = f"{len(statuses)} responses {statuses}: the connection was not closed after the 4xx"
        healthy, _ = health(args.host, args.port)
        if not healthy or not alive(args.pid):
            problem = (problem or "") + " /health failed afterwards"
        results.record(f"smuggling: {name}", problem is None, problem or f"responses {statuses or 'none (closed)'}")


def header_floods(args, results):
    floods = [
        ("1,000 headers", b"".join(b"X-Flood-%d: v\r\n" % i for i in range(1000))),
        ("10,000 headers", b"".join(b"X-Flood-%d: v\r\n" % i for i in range(10000))),
        ("one 100 KB header", b"X-Big: " + b"a" * 100_000 + b"\r\n"),
        ("1 MB of headers", b"".join(b"X-F%d: " % i + b"b" * 1000 + b"\r\n" for i in range(1000))),
        ("100 KB request target", None),
        ("NUL in header value", b"X-Nul: a\x00b\r\n"),
        ("invalid header name", b"X Bad Name: v\r\n"),
    ]
    for name, headers in floods:
        if headers is None:
            raw = b"GET /v1/models?" + b"q" * 100_000 + b" HTTP/1.1\r\nHost: %s:%d\r\nConnection: close\r\n\r\n" % (args.host.encode(), args.port)
        else:
            raw = b"GET /health HTTP/1.1\r\nHost: %s:%d\r\nConnection: close\r\n" % (args.host.encode(), args.port) + headers + b"\r\n"
        conn = Connection(args.host, args.port, timeout=10)
        status, problem = None, None
        try:
            try:
                conn.send(raw)
            except OSError:
                pass
            try:
                status = conn.read_response().status
            except (OSError, ValueError):
                status = "closed"
        finally:
            conn.close()
        healthy, seconds = health(args.host, args.port)
        if not healthy or not alive(args.pid):
            problem = "/health failed afterwards"
        results.record(f"header flood: {name}", problem is None, problem or f"-> {status}; /health {seconds * 1000:.0f} ms")


def main():
    args = parse_args(__doc__)
    results = Results(args.results, "malformed")
    print("== (a) malformed requests", flush=True)
    for label, cases in [("multipart", multipart_cases(args.host, args.port)), ("json", json_cases(args.host, args.port)),
                         ("content-type", content_type_cases(args.host, args.port))]:
        run_simple(args, results, cases, label)
    smuggling(args, results)
    header_floods(args, results)


if __name__ == "__main__":
    main()
