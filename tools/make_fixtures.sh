#!/usr/bin/env bash
# Synthesizes the committed speech fixtures in Tests/Fixtures/speech from the
# source texts beside them (NAME.txt), deterministically:
#   espeak-ng (voice en-us, default rate) -> sox (16 kHz mono 16-bit PCM, no dither)
# and writes Tests/Fixtures/speech/manifest.json (tools/fixture_manifest.py).
#
#   speech clips   NAME.wav          every NAME.txt not listed below (3-30 s each)
#   long-form      long-form.flac    >= 3 min, paragraphs separated by 2 s pauses, peak -9 dBFS
#   short-0.8s     short-0.8s.wav    one word, padded/trimmed to exactly 0.8 s
#   quiet-speech   quiet-speech.wav  speech normalised to a -30 dBFS peak
#   silence-30s    silence-30s.wav   30 s of digital silence
#   noise-30s      noise-30s.wav     30 s of seeded uniform white noise, amplitude 0.1
#
# Usage: tools/make_fixtures.sh [--check]
#   --check  regenerate into a temporary folder and compare with the committed files
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SRC="$ROOT/Tests/Fixtures/speech"
OUT="$SRC"
CHECK=0
if [[ "${1:-}" == "--check" ]]; then
    CHECK=1
    OUT="$(mktemp -d)"
fi

for tool in espeak-ng sox soxi ffmpeg python3; do
    command -v "$tool" >/dev/null || { echo "make_fixtures: $tool is missing (apt-get install espeak-ng sox ffmpeg)" >&2; exit 1; }
done

RATE=16000
VOICE=en-us
WORK="$(mktemp -d)"
cleanup() {
    rm -rf "$WORK"
    if [[ $CHECK == 1 ]]; then rm -rf "$OUT"; fi
}
trap cleanup EXIT

# espeak-ng TEXTFILE OUT.wav [SOX EFFECTS...]: speak, then resample to 16 kHz mono 16-bit without dither.
speak() {
    local text="$1" out="$2"
    shift 2
    espeak-ng -v "$VOICE" -w "$WORK/raw.wav" -f "$text"
    sox -R -D -V1 "$WORK/raw.wav" -r "$RATE" -c 1 -b 16 -e signed-integer "$out" "$@"
}

SPECIAL=" long-form short-0.8s quiet-speech "
for text in "$SRC"/*.txt; do
    name="$(basename "$text" .txt)"
    [[ "$SPECIAL" == *" $name "* ]] && continue
    speak "$text" "$OUT/$name.wav"
done

speak "$SRC/short-0.8s.txt" "$OUT/short-0.8s.wav" pad 0 1 trim 0 0.8
speak "$SRC/quiet-speech.txt" "$OUT/quiet-speech.wav" norm -30

# long-form: one SSML document, a 2 s pause between paragraphs (blank lines in the text).
python3 - "$SRC/long-form.txt" > "$WORK/long-form.ssml" <<'PY'
import html, sys
paragraphs = [" ".join(p.split()) for p in open(sys.argv[1], encoding="utf-8").read().split("\n\n") if p.strip()]
print("<speak>" + '\n<break time="2s"/>\n'.join(html.escape(p, quote=False) for p in paragraphs) + "</speak>")
PY
espeak-ng -v "$VOICE" -m -w "$WORK/raw.wav" -f "$WORK/long-form.ssml"
sox -R -D -V1 "$WORK/raw.wav" -r "$RATE" -c 1 -b 16 -e signed-integer "$WORK/long-form.wav" norm -9
ffmpeg -nostdin -loglevel error -y -i "$WORK/long-form.wav" -map_metadata -1 -fflags +bitexact -flags:a +bitexact \
    -c:a flac -compression_level 12 "$OUT/long-form.flac"

sox -R -D -V1 -n -r "$RATE" -c 1 -b 16 -e signed-integer "$OUT/silence-30s.wav" trim 0 30

python3 - "$OUT/noise-30s.wav" "$RATE" <<'PY'
import array, random, sys, wave
rate = int(sys.argv[2])
rng = random.Random(20240601)
samples = array.array("h", (round(rng.uniform(-0.1, 0.1) * 32767) for _ in range(30 * rate)))
if sys.byteorder != "little":
    samples.byteswap()
with wave.open(sys.argv[1], "wb") as w:
    w.setnchannels(1)
    w.setsampwidth(2)
    w.setframerate(rate)
    w.writeframes(samples.tobytes())
PY

python3 "$ROOT/tools/fixture_manifest.py" --speech-dir "$OUT" --text-dir "$SRC" > "$WORK/manifest.json"
mv "$WORK/manifest.json" "$OUT/manifest.json"

if [[ $CHECK == 1 ]]; then
    status=0
    for f in "$OUT"/*; do
        cmp -s "$f" "$SRC/$(basename "$f")" || { echo "make_fixtures: differs: $(basename "$f")" >&2; status=1; }
    done
    [[ $status == 0 ]] && echo "make_fixtures: committed fixtures match a fresh build" >&2
    exit $status
fi
echo "make_fixtures: wrote $(ls "$OUT" | wc -l) files to $OUT ($(du -sh "$OUT" | cut -f1))" >&2
