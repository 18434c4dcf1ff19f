#!/usr/bin/env python3
"""Reference log-mel spectrogram of a speech fixture, in plain numpy (float64), cross-checked
against faster-whisper's FeatureExtractor.

The maths follow openai-whisper's log_mel_spectrogram(audio, padding=N_SAMPLES):
  samples int16 / 32768, followed by 30 s (480000) of zeros
  STFT: n_fft 400, hop 160, periodic Hann window, reflect padding of 200 on both sides
        (torch.stft(center=True)), power |X|^2, the last frame dropped
  80 Slaney mel filters (librosa.filters.mel(sr=16000, n_fft=400, n_mels=80, htk=False,
        norm="slaney"), reimplemented below)
  log10(max(x, 1e-10)), clamped to (global max - 8), then (x + 4) / 4
  the first 3000 frames form the 30 s window.

Writes Tests/Fixtures/mel/NAME.mel80.f32: little-endian float32, shape [80, F] row-major, the
first F = samples // 160 frames (the frames that cover the clip; whisper's content_frames),
and Tests/Fixtures/mel/NAME.json describing it. Run inside the tools venv:

    tools/.venv/bin/python tools/mel_reference.py [NAME ...]     (default: hello-world)
"""

import argparse
import json
import os
import sys
import wave

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SPEECH_DIR = os.path.join(ROOT, "Tests", "Fixtures", "speech")
MEL_DIR = os.path.join(ROOT, "Tests", "Fixtures", "mel")

SAMPLE_RATE = 16000
N_FFT = 400
HOP = 160
N_MELS = 80
N_SAMPLES = 30 * SAMPLE_RATE  # padding appended, as openai-whisper's padding=N_SAMPLES
N_FRAMES = N_SAMPLES // HOP  # 3000 frames per window


def load_wav(path: str) -> np.ndarray:
    """16 kHz mono 16-bit PCM WAV -> float64 samples (int16 / 32768)."""
    with wave.open(path, "rb") as w:
        if (w.getnchannels(), w.getsampwidth(), w.getframerate()) != (1, 2, SAMPLE_RATE):
            sys.exit(f"mel_reference: {path} is not 16 kHz mono 16-bit PCM")
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    return data.astype(np.float64) / 32768.0


# Slaney mel scale: linear below 1 kHz (3 mels per 200 Hz), logarithmic above (27 mels per factor 6.4).
MEL_F_SP = 200.0 / 3.0
MEL_MIN_LOG_HZ = 1000.0
MEL_MIN_LOG_MEL = MEL_MIN_LOG_HZ / MEL_F_SP
MEL_LOGSTEP = np.log(6.4) / 27.0


def hz_to_mel(f: np.ndarray) -> np.ndarray:
    f = np.asarray(f, dtype=np.float64)
    log_part = MEL_MIN_LOG_MEL + np.log(np.maximum(f, MEL_MIN_LOG_HZ) / MEL_MIN_LOG_HZ) / MEL_LOGSTEP
    return np.where(f >= MEL_MIN_LOG_HZ, log_part, f / MEL_F_SP)


def mel_to_hz(m: np.ndarray) -> np.ndarray:
    m = np.asarray(m, dtype=np.float64)
    return np.where(m >= MEL_MIN_LOG_MEL, MEL_MIN_LOG_HZ * np.exp(MEL_LOGSTEP * (m - MEL_MIN_LOG_MEL)), MEL_F_SP * m)


def mel_filterbank(sr: int = SAMPLE_RATE, n_fft: int = N_FFT, n_mels: int = N_MELS) -> np.ndarray:
    """[n_mels, n_fft // 2 + 1] triangles between fmin 0 and fmax sr / 2, Slaney area normalisation."""
    fft_freqs = np.arange(n_fft // 2 + 1, dtype=np.float64) * sr / n_fft
    mel_points = np.linspace(hz_to_mel(0.0), hz_to_mel(sr / 2.0), n_mels + 2)
    hz_points = mel_to_hz(mel_points)
    weights = np.zeros((n_mels, fft_freqs.size))
    for m in range(n_mels):
        left, centre, right = hz_points[m], hz_points[m + 1], hz_points[m + 2]
        rising = (fft_freqs - left) / (centre - left)
        falling = (right - fft_freqs) / (right - centre)
        weights[m] = np.maximum(0.0, np.minimum(rising, falling)) * (2.0 / (right - left))
    return weights


def power_spectrogram(samples: np.ndarray) -> np.ndarray:
    """[n_fft // 2 + 1, frames] |STFT|^2 with torch.stft(center=True) framing, last frame dropped."""
    padded = np.pad(samples, (N_FFT // 2, N_FFT // 2), mode="reflect")
    n_frames = 1 + (padded.size - N_FFT) // HOP
    n = np.arange(N_FFT)
    window = 0.5 - 0.5 * np.cos(2.0 * np.pi * n / N_FFT)  # periodic Hann
    power = np.empty((N_FFT // 2 + 1, n_frames - 1))
    for t in range(n_frames - 1):
        frame = padded[t * HOP : t * HOP + N_FFT] * window
        power[:, t] = np.abs(np.fft.rfft(frame)) ** 2
    return power


def log_mel(samples: np.ndarray) -> np.ndarray:
    """[80, 3000] whisper log-mel of the first window of samples followed by 30 s of zeros."""
    audio = np.concatenate([samples, np.zeros(N_SAMPLES)])
    mel = mel_filterbank() @ power_spectrogram(audio)
    log_spec = np.log10(np.maximum(mel, 1e-10))
    log_spec = np.maximum(log_spec, log_spec.max() - 8.0)
    return ((log_spec + 4.0) / 4.0)[:, :N_FRAMES]


def faster_whisper_mel(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """faster-whisper's log-mel for the same samples: (padding=N_SAMPLES, padding=160 as transcribe uses)."""
    from faster_whisper.feature_extractor import FeatureExtractor

    extractor = FeatureExtractor(feature_size=N_MELS)
    x = samples.astype(np.float32)
    return extractor(x, padding=N_SAMPLES)[:, :N_FRAMES], extractor(x)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", default=["hello-world"], help="speech fixture names (WAV)")
    args = parser.parse_args()
    os.makedirs(MEL_DIR, exist_ok=True)
    for name in args.names:
        samples = load_wav(os.path.join(SPEECH_DIR, name + ".wav"))
        ours = log_mel(samples)
        frames = samples.size // HOP
        theirs, theirs_transcribe = faster_whisper_mel(samples)
        diff = float(np.abs(ours - theirs).max())
        diff_content = float(np.abs(ours[:, :frames] - theirs[:, :frames]).max())
        diff_transcribe = float(np.abs(ours[:, :frames] - theirs_transcribe[:, :frames]).max())
        print(f"mel_reference: {name}: {frames} frames; max |numpy - FeatureExtractor| "
              f"= {diff:.3g} over [80, 3000], {diff_content:.3g} over the first {frames} frames, "
              f"{diff_transcribe:.3g} vs FeatureExtractor(padding=160) as transcribe() calls it")

        out = ours[:, :frames].astype("<f4")
        with open(os.path.join(MEL_DIR, name + ".mel80.f32"), "wb") as f:
            f.write(np.ascontiguousarray(out).tobytes())
        floor = float(ours[:, -1].max())
        meta = {
            "n_mels": N_MELS,
            "frames": frames,
            "dtype": "float32 little-endian",
            "layout": "[n_mels, frames] row-major (mel band major)",
            "source": f"speech/{name}.wav",
            "samples": int(samples.size),
            "sample_format": "int16 / 32768",
            "padding_seconds": 30,
            "window_frames": N_FRAMES,
            "pad_value": round(floor, 6),
            "pad_value_note": "value of every frame of the 3000-frame window that holds only padding (global max - 8, then (x+4)/4)",
            "faster_whisper_window": "transcribe() feeds the first `frames` frames and pads the 3000-frame window with 0.0, "
                                     "not pad_value; the log clamp uses the max over the whole file",
            "max_abs_vs_faster_whisper": float(f"{diff:.3g}"),
            "max_abs_vs_faster_whisper_transcribe_padding": float(f"{diff_transcribe:.3g}"),
            "computed_in": "float64 numpy (tools/mel_reference.py), stored as float32",
        }
        with open(os.path.join(MEL_DIR, name + ".json"), "w", encoding="utf-8") as f:
            json.dump(meta, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()
