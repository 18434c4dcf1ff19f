"""Every kind of real response of a live whisper-server validated against docs/openapi.json (OpenAPI 3.1).

For each request: the status must be documented for the path and method, the Content-Type must be one the document
lists for that status, and JSON bodies must match the schema (JSON Schema 2020-12, $refs resolved in the document).
Run through Tests/SDK/run.sh, which starts the server and sets WHISPER_SERVER_URL and WHISPER_FIXTURES.
"""

import base64
import json
import os
import pathlib

import urllib.error
import urllib.request
import uuid

import jsonschema
import pytest

BASE_URL = os.environ.get("WHISPER_SERVER_URL", "http://127.0.0.1:8084/v1").removesuffix("/v1")
FIXTURES = pathlib.Path(os.environ.get("WHISPER_FIXTURES", pathlib.Path(__file__).parents[1] / "Fixtures" / "speech"))
SPEECH = (FIXTURES / "hello-world.wav").read_bytes()
DOCUMENT = json.loads((pathlib.Path(__file__).parents[2] / "docs" / "openapi.json").read_text())


def pointer(*parts):
    return "#/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def resolve(node):
    while isinstance(node, dict) and "$ref" in node:
        target = DOCUMENT
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def check(response, path, method):
    """Validates one response against the document; returns the parsed JSON body, if any."""
    operation = DOCUMENT["paths"][path][method]
    responses = operation["responses"]
    status = str(response.status_code)
    assert status in responses, f"{method.upper()} {path}: status {status} is not documented ({list(responses)})"
    documented = resolve(responses[status])
    media = response.headers.get("content-type", "")
    content = documented.get("content", {})
    match = next((name for name in content if name.split(";")[0].strip() == media.split(";")[0].strip()), None)
    assert match is not None, f"{method.upper()} {path} {status}: Content-Type {media!r} not in {list(content)}"
    schema = content[match].get("schema")
    if match.startswith("application/json"):
        body = response.json()
        if schema is not None:
            root = dict(DOCUMENT)
            root["$ref"] = pointer("paths", path, method, "responses", status, "content", match, "schema") if "$ref" not in responses[status] \
                else resolve_pointer(responses[status]["$ref"], match)
            jsonschema.Draft202012Validator(root).validate(body)
        return body
    assert response.content, f"{method.upper()} {path} {status}: empty body"
    return None


def resolve_pointer(reference, media):
    return reference + "/" + "/".join(["content", media.replace("~", "~0").replace("/", "~1"), "schema"])


class Response:
    def __init__(self, status_code, headers, content):
        self.status_code, self.headers, self.content = status_code, headers, content
        self.text = content.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.content)


class Client:
    """Just enough of an HTTP client (standard library only): JSON, raw and multipart bodies."""

    def request(self, method, path, content=None, headers=None, json=None, data=None, files=None):
        headers = dict(headers or {})
        if json is not None:
            content, headers["content-type"] = globals()["json"].dumps(json).encode(), "application/json"
        elif files is not None or data is not None:
            boundary = uuid.uuid4().hex
            parts = []
            for name, value in (data or {}).items():
                for item in value if isinstance(value, list) else [value]:
                    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{item}\r\n'.encode())
            for name, (filename, payload, *rest) in (files or {}).items():
                kind = rest[0] if rest else "application/octet-stream"
                head = f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\nContent-Type: {kind}\r\n\r\n'
                parts.append(head.encode() + payload + b"\r\n")
            content = b"".join(parts) + f"--{boundary}--\r\n".encode()
            headers["content-type"] = f"multipart/form-data; boundary={boundary}"
        request = urllib.request.Request(BASE_URL + path, data=content, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=120) as answer:
                return Response(answer.status, {k.lower(): v for k, v in answer.headers.items()}, answer.read())
        except urllib.error.HTTPError as error:
            return Response(error.code, {k.lower(): v for k, v in error.headers.items()}, error.read())

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path, **kwargs):
        return self.request("POST", path, **kwargs)


@pytest.fixture(scope="module")
def http():
    return Client()


def transcribe(http, path="/v1/audio/transcriptions", audio=SPEECH, **fields):
    data = {"model": "whisper-1", **fields}
    return http.post(path, data=data, files={"file": ("speech.wav", audio, "audio/wav")})


@pytest.mark.parametrize("response_format", ["json", "text", "srt", "vtt", "verbose_json"])
def test_transcription_formats(http, response_format):
    fields = {"response_format": response_format}
    if response_format == "verbose_json":
        fields["timestamp_granularities[]"] = ["word", "segment"]
    response = transcribe(http, **fields)
    assert response.status_code == 200
    check(response, "/v1/audio/transcriptions", "post")


def test_transcription_extras(http):
    logprobs = transcribe(http, **{"include[]": "logprobs"})
    assert logprobs.status_code == 200
    assert check(logprobs, "/v1/audio/transcriptions", "post")["logprobs"]
    vad = transcribe(http, response_format="verbose_json", chunking_strategy='{"type":"server_vad","threshold":0.5}')
    assert vad.status_code == 200
    assert check(vad, "/v1/audio/transcriptions", "post")["filtered"] == []
    body = {"model": "whisper-1", "audio": base64.b64encode(SPEECH).decode(), "chunking_strategy": "auto", "include": ["logprobs"]}
    dialect = http.post("/v1/audio/transcriptions", json=body)
    assert dialect.status_code == 200
    check(dialect, "/v1/audio/transcriptions", "post")
    refused = transcribe(http, chunking_strategy="sometimes")
    assert refused.status_code == 400
    assert check(refused, "/v1/audio/transcriptions", "post")["error"]["param"] == "chunking_strategy"


def test_transcription_stream(http):
    response = transcribe(http, stream="true")
    assert response.status_code == 200
    check(response, "/v1/audio/transcriptions", "post")
    events = [json.loads(line[5:]) for line in response.text.splitlines() if line.startswith("data:") and line[5:].strip() != "[DONE]"]
    assert events and events[-1]["type"] == "transcript.text.done"


def test_transcription_json_dialect(http):
    body = {"model": "whisper-1", "audio": base64.b64encode(SPEECH).decode()}
    response = http.post("/v1/audio/transcriptions", json=body)
    assert response.status_code == 200
    check(response, "/v1/audio/transcriptions", "post")


def test_translation_refused_by_english_only_model(http):
    response = transcribe(http, path="/v1/audio/translations")
    assert response.status_code == 400
    assert check(response, "/v1/audio/translations", "post")["error"]["code"] == "model_cannot_translate"


def test_chat_completion(http):
    audio = base64.b64encode(SPEECH).decode()
    body = {"model": "whisper-1", "messages": [{"role": "user", "content": [{"type": "input_audio", "input_audio": {"data": audio, "format": "wav"}}]}]}
    response = http.post("/v1/chat/completions", json=body)
    assert response.status_code == 200
    check(response, "/v1/chat/completions", "post")
    streamed = http.post("/v1/chat/completions", json=dict(body, stream=True))
    assert streamed.status_code == 200
    check(streamed, "/v1/chat/completions", "post")


@pytest.mark.parametrize(
    "request_kwargs, status",
    [
        ({"data": {"model": "whisper-1"}, "files": {"other": ("x.txt", b"x")}}, 400),
        ({"content": b"hello", "headers": {"content-type": "text/plain"}}, 415),
        ({"data": {"model": "whisper-1"}, "files": {"file": ("x.wav", b"RIFF" + bytes(2000), "audio/wav")}}, 415),
        ({"data": {"model": "no-such-model"}, "files": {"file": ("x.wav", SPEECH, "audio/wav")}}, 404),
    ],
)
def test_transcription_errors(http, request_kwargs, status):
    response = http.post("/v1/audio/transcriptions", **request_kwargs)
    assert response.status_code == status, response.text
    body = check(response, "/v1/audio/transcriptions", "post")
    assert set(body["error"]) >= {"message", "type", "param", "code"}


def test_models(http):
    check(http.get("/v1/models"), "/v1/models", "get")
    check(http.get("/v1/models/tiny.en"), "/v1/models/{id}", "get")
    missing = http.get("/v1/models/no-such-model")
    assert missing.status_code == 404
    check(missing, "/v1/models/{id}", "get")


def test_operational_endpoints(http):
    check(http.get("/health"), "/health", "get")
    check(http.get("/ready"), "/ready", "get")
    metrics = http.get("/metrics")
    check(metrics, "/metrics", "get")
    assert "whisper_http_requests_total" in metrics.text
    served = http.get("/openapi.json")
    check(served, "/openapi.json", "get")
    assert served.json() == DOCUMENT, "the served document is docs/openapi.json"
