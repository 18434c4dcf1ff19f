#!/usr/bin/env python3
"""Writes the golden transcripts of the speech fixtures with faster-whisper (the correctness oracle).

Run inside the tools venv (tools/setup_venv.sh):

    tools/.venv/bin/python tools/goldens.py [--model models/tiny.en] [--out Tests/Fixtures/goldens/tiny.en.json]

Three passes over every fixture in Tests/Fixtures/speech/manifest.json, all with
language "en", no VAD, condition_on_previous_text=True, timestamps on:
  greedy  beam_size=1, best_of=1, temperature=0.0 only
  beam5   the library defaults: beam_size=5, best_of=5, temperatures 0.0, 0.2, ... 1.0
  words   greedy with word_timestamps=True (only the words are kept)
Sampling at a fallback temperature is seeded (ctranslate2.set_random_seed) so that
reruns give the same file. Floats are rounded to 4 decimals. A WER summary of the
greedy texts against the espeak-ng source texts goes to stderr.
"""

import argparse
import json
import os
import sys
import time

import ctranslate2
import faster_whisper
from faster_whisper import WhisperModel, decode_audio

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wer import wer  # noqa: E402  (tools/wer.py, plain python)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SPEECH_DIR = os.path.join(ROOT, "Tests", "Fixtures", "speech")
SEED = 1234
COMMON = dict(
    language="en",
    vad_filter=False,
    condition_on_previous_text=True,
    without_timestamps=False,
)
PASSES = {
    "greedy": dict(beam_size=1, best_of=1, temperature=0.0),
    "beam5": dict(),  # library defaults
    "words": dict(beam_size=1, best_of=1, temperature=0.0, word_timestamps=True),
}


def r4(x: float) -> float:
    return round(float(x), 4)


def segment_json(segment) -> dict:
    return {
        "id": segment.id,
        "seek": segment.seek,
        "start": r4(segment.start),
        "end": r4(segment.end),
        "text": segment.text,
        "tokens": list(segment.tokens),
        "temperature": r4(segment.temperature),
        "avg_logprob": r4(segment.avg_logprob),
        "compression_ratio": r4(segment.compression_ratio),
        "no_speech_prob": r4(segment.no_speech_prob),
    }


def transcribe(model: WhisperModel, audio, options: dict) -> list:
    ctranslate2.set_random_seed(SEED)
    segments, _ = model.transcribe(audio, **COMMON, **options)
    return list(segments)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=os.path.join(ROOT, "models", "tiny.en"))
    parser.add_argument("--model-name", default="tiny.en")
    parser.add_argument("--out", default=None, help="default: Tests/Fixtures/goldens/MODEL_NAME.json")
    parser.add_argument("--only", nargs="*", help="fixture names to run (for a quick look; does not write --out)")
    args = parser.parse_args()
    out = args.out or os.path.join(ROOT, "Tests", "Fixtures", "goldens", args.model_name + ".json")

    with open(os.path.join(SPEECH_DIR, "manifest.json"), encoding="utf-8") as f:
        fixtures = sorted(json.load(f)["fixtures"], key=lambda x: x["name"])
    if args.only:
        fixtures = [x for x in fixtures if x["name"] in args.only]

    model = WhisperModel(args.model, device="cpu", compute_type="float32", cpu_threads=2)
    result = {
        "model": args.model_name,
        "faster_whisper": faster_whisper.__version__,
        "ctranslate2": ctranslate2.__version__,
        "settings": {
            "compute_type": "float32",
            "cpu_threads": 2,
            "audio": "Tests/Fixtures/speech/FILE decoded to 16 kHz mono, int16 / 32768",
            "common": COMMON,
            "passes": {k: v or "library defaults (beam_size=5, best_of=5, temperature 0.0..1.0)" for k, v in PASSES.items()},
            "sampling_seed": SEED,
        },
        "greedy": {},
        "beam5": {},
        "words": {},
    }
    summary = []
    for fixture in fixtures:
        name = fixture["name"]
        audio = decode_audio(os.path.join(SPEECH_DIR, fixture["file"]), sampling_rate=16000)
        started = time.monotonic()
        for pass_name, options in PASSES.items():
            segments = transcribe(model, audio, options)
            if pass_name == "words":
                result["words"][name] = [
                    {"word": w.word, "start": r4(w.start), "end": r4(w.end), "probability": r4(w.probability)}
                    for s in segments
                    for w in (s.words or [])
                ]
            else:
                result[pass_name][name] = {
                    "text": "".join(s.text for s in segments),
                    "segments": [segment_json(s) for s in segments],
                }
        elapsed = time.monotonic() - started
        text = fixture.get("text")
        greedy_text = result["greedy"][name]["text"]
        score = wer(text, greedy_text) if text is not None else None
        summary.append((name, fixture["duration"], score, greedy_text))
        print(f"goldens: {name:14s} {fixture['duration']:7.2f}s  {elapsed:6.2f}s  "
              f"WER {'   -  ' if score is None else f'{score:.3f}'}  {greedy_text.strip()[:70]!r}", file=sys.stderr)

    scored = [s for _, _, s, _ in summary if s is not None]
    if scored:
        print(f"goldens: mean greedy WER vs source text over {len(scored)} clips: {sum(scored) / len(scored):.4f}",
              file=sys.stderr)
    if args.only:
        return
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w", encoding="utf-8") as f:
        json.dump(result, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(f"goldens: wrote {os.path.relpath(out, ROOT)} ({os.path.getsize(out)} bytes)", file=sys.stderr)


if __name__ == "__main__":
    main()
