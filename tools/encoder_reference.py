#!/usr/bin/env python3
"""Layer-by-layer debugging reference for one short fixture, from CTranslate2 on the same weights.

Feeds the numpy reference log-mel of tools/mel_reference.py to
ctranslate2.models.Whisper(model, device="cpu", compute_type="float32"), as two [1, 80, 3000] windows:
  faster_whisper  the clip's samples // 160 frames, then 0.0 up to 3000 frames: what
                  faster-whisper's transcribe() feeds (pad_or_trim pads the features with zeros);
                  the goldens come from this one
  openai_whisper  log_mel_spectrogram(audio, padding=30 s)[:, :3000]: the padding frames hold the
                  log floor (global max - 8), as openai-whisper and whisper.cpp feed them
and writes a small summary per window to Tests/Fixtures/reference/NAME.encoder.json:
  encoder  output shape, first 8 values and mean/std of frames 0, 100, 750 and 1499, overall mean/std
  decode   for the prompts [sot, notimestamps] and [sot] (timestamp mode): greedy token ids,
           score, no_speech_prob and the top-5 logits (ids, values) of the first 3 decode steps.
           The logits are raw (pre-softmax), after CTranslate2's suppress_tokens/suppress_blank masks;
           "logsumexp" lets one turn them into log-probabilities.
Run inside the tools venv:

    tools/.venv/bin/python tools/encoder_reference.py [NAME] [--model models/tiny.en]
"""

import argparse
import json
import os
import sys

import ctranslate2
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mel_reference  # noqa: E402

ROOT = mel_reference.ROOT
OUT_DIR = os.path.join(ROOT, "Tests", "Fixtures", "reference")
FRAMES = (0, 100, 750, 1499)
STEPS = 3
TOP_K = 5


def r6(x: float) -> float:
    return float(f"{float(x):.6g}")


def special_tokens(model_dir: str) -> dict[str, int]:
    """Ids of Whisper's special tokens from vocabulary.txt (one token per line, line number = id)."""
    with open(os.path.join(model_dir, "vocabulary.txt"), encoding="utf-8") as f:
        vocab = {line.rstrip("\n"): i for i, line in enumerate(f)}
    return {
        "sot": vocab["<|startoftranscript|>"],
        "eot": vocab["<|endoftext|>"],
        "notimestamps": vocab["<|notimestamps|>"],
        "timestamp_begin": vocab["<|0.00|>"],
    }


def frame_summary(encoded: np.ndarray) -> dict:
    return {
        str(t): {
            "first8": [r6(v) for v in encoded[0, t, :8]],
            "mean": r6(encoded[0, t].astype(np.float64).mean()),
            "std": r6(encoded[0, t].astype(np.float64).std()),
        }
        for t in FRAMES
    }


def decode_summary(model, features, prompt: list[int]) -> dict:
    result = model.generate(
        features, [prompt], beam_size=1, return_scores=True, return_logits_vocab=True, return_no_speech_prob=True
    )[0]
    steps = []
    for step, logits in enumerate(result.logits[0][:STEPS]):
        values = np.array(logits).astype(np.float64)
        top = np.argsort(-values, kind="stable")[:TOP_K]
        finite = values[values > -1e30]
        steps.append({
            "step": step,
            "top5_ids": [int(i) for i in top],
            "top5_logits": [r6(values[i]) for i in top],
            "logsumexp": r6(np.log(np.exp(finite - finite.max()).sum()) + finite.max()),
            "masked": int((values <= -1e30).sum()),
        })
    return {
        "prompt": prompt,
        "tokens": [int(t) for t in result.sequences_ids[0]],
        "score": r6(result.scores[0]),
        "no_speech_prob": r6(result.no_speech_prob),
        "steps": steps,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", nargs="?", default="hello-world", help="speech fixture name (WAV)")
    parser.add_argument("--model", default=os.path.join(ROOT, "models", "tiny.en"))
    args = parser.parse_args()

    samples = mel_reference.load_wav(os.path.join(mel_reference.SPEECH_DIR, args.name + ".wav"))
    mel = mel_reference.log_mel(samples).astype(np.float32)
    content = samples.size // mel_reference.HOP
    zero_padded = np.zeros_like(mel)
    zero_padded[:, :content] = mel[:, :content]
    model = ctranslate2.models.Whisper(args.model, device="cpu", compute_type="float32", intra_threads=2)
    tokens = special_tokens(args.model)
    windows = {}
    for variant, window in (("faster_whisper", zero_padded), ("openai_whisper", mel)):
        features = ctranslate2.StorageView.from_array(np.ascontiguousarray(window[None]))
        encoded = np.array(model.encode(features, to_cpu=True))
        windows[variant] = {
            "encoder": {
                "shape": list(encoded.shape),
                "mean": r6(encoded.astype(np.float64).mean()),
                "std": r6(encoded.astype(np.float64).std()),
                "frames": frame_summary(encoded),
            },
            "decode": {
                "greedy_notimestamps": decode_summary(model, features, [tokens["sot"], tokens["notimestamps"]]),
                "greedy_timestamps": decode_summary(model, features, [tokens["sot"]]),
            },
        }

    summary = {
        "source": f"speech/{args.name}.wav",
        "model": os.path.basename(os.path.normpath(args.model)),
        "ctranslate2": ctranslate2.__version__,
        "compute_type": "float32",
        "features": "tools/mel_reference.py log_mel of int16/32768 samples, [1, 80, 3000] windows",
        "content_frames": content,
        "special_tokens": tokens,
        "windows": windows,
    }
    os.makedirs(OUT_DIR, exist_ok=True)
    out = os.path.join(OUT_DIR, args.name + ".encoder.json")
    with open(out, "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=1)
        f.write("\n")
    for variant, w in windows.items():
        print(f"encoder_reference: {args.name} ({variant} padding): encoder {w['encoder']['shape']} "
              f"mean {w['encoder']['mean']} std {w['encoder']['std']}; "
              f"greedy {w['decode']['greedy_timestamps']['tokens']}", file=sys.stderr)
    print(f"encoder_reference: wrote {os.path.relpath(out, ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
