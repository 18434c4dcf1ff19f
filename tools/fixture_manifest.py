#!/usr/bin/env python3
"""Writes the manifest of the speech fixtures (JSON on stdout).

Plain python3 (no third-party modules); FLAC lengths come from `soxi -s`.
Called by tools/make_fixtures.sh; usable alone:

    python3 tools/fixture_manifest.py --speech-dir Tests/Fixtures/speech > manifest.json
"""

import argparse
import hashlib
import json
import os
import subprocess
import sys
import wave

SAMPLE_RATE = 16000
SPECIAL_KINDS = {
    "long-form": "long",
    "silence-30s": "silence",
    "noise-30s": "noise",
    "short-0.8s": "short",
    "quiet-speech": "quiet",
}
AUDIO_EXTENSIONS = (".wav", ".flac")


def tool_version(command: list[str]) -> str:
    """First line of a tool's version output, or "unknown"."""
    try:
        out = subprocess.run(command, capture_output=True, text=True, check=False)
    except OSError:
        return "unknown"
    lines = (out.stdout or out.stderr).strip().splitlines()
    return lines[0].strip() if lines else "unknown"


def frame_count(path: str) -> int:
    """Number of samples per channel in a WAV (wave module) or FLAC (soxi) file."""
    if path.endswith(".wav"):
        with wave.open(path, "rb") as w:
            if (w.getnchannels(), w.getsampwidth(), w.getframerate()) != (1, 2, SAMPLE_RATE):
                sys.exit(f"fixture_manifest: {path} is not 16 kHz mono 16-bit PCM")
            return w.getnframes()
    out = subprocess.run(["soxi", "-s", path], capture_output=True, text=True, check=True)
    return int(out.stdout.strip())


def sha256(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--speech-dir", required=True, help="folder holding the audio fixtures")
    parser.add_argument("--text-dir", help="folder holding NAME.txt source texts (default: --speech-dir)")
    args = parser.parse_args()
    text_dir = args.text_dir or args.speech_dir

    fixtures = []
    for file in sorted(os.listdir(args.speech_dir)):
        name, ext = os.path.splitext(file)
        if ext not in AUDIO_EXTENSIONS:
            continue
        path = os.path.join(args.speech_dir, file)
        text_path = os.path.join(text_dir, name + ".txt")
        text = None
        if os.path.exists(text_path):
            with open(text_path, encoding="utf-8") as f:
                text = " ".join(f.read().split())
        samples = frame_count(path)
        fixtures.append({
            "name": name,
            "file": file,
            "kind": SPECIAL_KINDS.get(name, "speech"),
            "duration": round(samples / SAMPLE_RATE, 4),
            "samples": samples,
            "bytes": os.path.getsize(path),
            "sha256": sha256(path),
            "text": text,
        })

    manifest = {
        "generator": "tools/make_fixtures.sh",
        "sample_rate": SAMPLE_RATE,
        "channels": 1,
        "sample_format": "int16 PCM (float sample = int16 / 32768)",
        "voice": "espeak-ng en-us, default rate",
        "espeak_ng": tool_version(["espeak-ng", "--version"]),
        "sox": tool_version(["sox", "--version"]),
        "ffmpeg": tool_version(["ffmpeg", "-version"]),
        "fixtures": fixtures,
    }
    json.dump(manifest, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
