#!/usr/bin/env bash
# Creates tools/.venv with the reference tools (faster-whisper, numpy) pinned.
# Idempotent: quiet and fast when the stamp matches the pinned requirements.
# Usage: tools/setup_venv.sh
set -euo pipefail

TOOLS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$TOOLS_DIR/.venv"
REQUIREMENTS="$TOOLS_DIR/requirements.txt"   # faster-whisper==1.2.1, numpy and every dependency, pinned
STAMP="$VENV/.whisperserver-stamp"
WANT="$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1)"

if [[ -x "$VENV/bin/python" && -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" ]]; then
    exit 0
fi

PYTHON="${PYTHON:-python3}"
if [[ ! -x "$VENV/bin/python" ]]; then
    echo "setup_venv: creating $VENV" >&2
    "$PYTHON" -m venv "$VENV" || { echo "setup_venv: '$PYTHON -m venv' failed (on Debian: apt-get install python3-venv)" >&2; exit 1; }
fi
echo "setup_venv: installing $REQUIREMENTS" >&2
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQUIREMENTS"
"$VENV/bin/python" -c 'import faster_whisper, ctranslate2, numpy'
printf '%s' "$WANT" > "$STAMP"
echo "setup_venv: ready ($VENV)" >&2
