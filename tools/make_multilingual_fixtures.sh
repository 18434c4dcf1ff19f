#!/usr/bin/env bash
# Synthesizes the multilingual fixtures in Tests/Fixtures/multilingual from manifest.json there:
# espeak-ng (voice = the clip's language) -> sox 16 kHz mono 16-bit -> FLAC. Deterministic for one espeak-ng version.
# Usage: tools/make_multilingual_fixtures.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="$ROOT/Tests/Fixtures/multilingual"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
python3 - "$DIR/manifest.json" <<'PY' | while IFS=$'\t' read -r name language text; do
import json, sys
for clip in json.load(open(sys.argv[1]))["clips"]:
    print(f'{clip["name"]}\t{clip["language"]}\t{clip["text"]}')
PY
    espeak-ng -v "$language" -w "$WORK/raw.wav" "$text" </dev/null
    sox -R -D -V1 "$WORK/raw.wav" -r 16000 -c 1 -b 16 -e signed-integer "$WORK/$name.wav"
    ffmpeg -nostdin -loglevel error -y -i "$WORK/$name.wav" -c:a flac -compression_level 8 -fflags +bitexact "$DIR/$name.flac"
done
