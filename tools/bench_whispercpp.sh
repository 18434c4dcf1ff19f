#!/usr/bin/env bash
# whisper.cpp as a speed peer: a virtual environment with the pywhispercpp wheel (tools/.venv-whispercpp, made once),
# then tools/bench_whispercpp.py with the given arguments. Needs the ggml weights of `make model-formats`.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/tools/.venv-whispercpp"
if [[ ! -x "$VENV/bin/python" ]] || ! "$VENV/bin/python" -c "import pywhispercpp, numpy" 2>/dev/null; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q pywhispercpp==1.5.1 numpy
fi
exec "$VENV/bin/python" "$ROOT/tools/bench_whispercpp.py" "$@"
