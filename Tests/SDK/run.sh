#!/usr/bin/env bash
# Runs the official OpenAI Python SDK, and the OpenAPI conformance test (every real response validated against
# docs/openapi.json), against a live whisper-server.
#
#   Tests/SDK/run.sh                 # builds the server (release), creates .venv-sdk, runs pytest
#   WHISPER_SERVER_BIN=path run.sh   # uses an already built binary
#
# Needs: python3 with venv, network access to PyPI for `openai` and `pytest` (first run only), models/tiny.en.
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"

venv="$root/.venv-sdk"
if [[ ! -x "$venv/bin/python" ]]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --upgrade pip
    "$venv/bin/pip" install --quiet openai pytest jsonschema
fi
"$venv/bin/python" -c 'import jsonschema' 2>/dev/null || "$venv/bin/pip" install --quiet jsonschema

binary="${WHISPER_SERVER_BIN:-}"
if [[ -z "$binary" ]]; then
    scratch="${WHISPER_SCRATCH_PATH:-.build-server}"
    swift build --scratch-path "$scratch" -c release --product whisper-server
    binary="$(swift build --scratch-path "$scratch" -c release --show-bin-path)/whisper-server"
fi

port="$("$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
log="$(mktemp)"
"$binary" serve --host 127.0.0.1 --port "$port" --models-dir "$root/models" --workers 2 --preload >"$log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -f "$log"' EXIT

for _ in $(seq 1 200); do
    if curl -fsS "http://127.0.0.1:$port/ready" >/dev/null 2>&1; then break; fi
    if ! kill -0 "$server" 2>/dev/null; then cat "$log"; echo "server exited" >&2; exit 1; fi
    sleep 0.1
done

WHISPER_SERVER_URL="http://127.0.0.1:$port/v1" WHISPER_FIXTURES="$root/Tests/Fixtures/speech" \
    "$venv/bin/python" -m pytest -v "$root/Tests/SDK/test_openai_sdk.py" "$root/Tests/SDK/test_openapi_conformance.py" "$@"
