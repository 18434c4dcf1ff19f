#!/usr/bin/env bash
# Measures WhisperAudio decode speed (× real time, one core) on 10-minute MP3, M4A/AAC and 16 kHz WAV files.
# Generates the files with espeak-ng and ffmpeg into a temporary directory, then runs the release-mode benchmark test.
# Usage: tools/bench_decode.sh [scratch path, default .build-audio]   (PACKAGE_PATH overrides the package, default the repo)
set -euo pipefail
cd "$(dirname "$0")/.."
scratch="${1:-.build-audio}"
package="${PACKAGE_PATH:-.}"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT

espeak-ng -w "$dir/speech.wav" "The quick brown fox jumps over the lazy dog. Whisper server decodes audio from memory, quickly."
# 10 minutes: the speech clip looped, mixed with a quiet sine so that no stretch is digital silence.
ffmpeg -nostdin -hide_banner -loglevel error -y -stream_loop -1 -i "$dir/speech.wav" \
    -f lavfi -i "sine=frequency=220:sample_rate=22050" \
    -filter_complex "[0:a][1:a]amix=inputs=2:weights=1 0.05:duration=first,aresample=44100" -t 600 -ac 2 "$dir/source.wav"
ffmpeg -nostdin -hide_banner -loglevel error -y -i "$dir/source.wav" -c:a libmp3lame -b:a 128k "$dir/bench.mp3"
ffmpeg -nostdin -hide_banner -loglevel error -y -i "$dir/source.wav" -c:a aac -b:a 128k "$dir/bench.m4a"
ffmpeg -nostdin -hide_banner -loglevel error -y -i "$dir/source.wav" -ar 16000 -ac 1 -c:a pcm_s16le "$dir/bench.wav"
ls -l "$dir"/bench.*

for file in bench.mp3 bench.m4a; do  # the ffmpeg tool on one thread, CPU seconds, for comparison
    /usr/bin/time -f "ffmpeg tool: $file %U s CPU, %e s wall" \
        ffmpeg -nostdin -hide_banner -loglevel error -threads 1 -i "$dir/$file" -ar 16000 -ac 1 -f f32le -y /dev/null
done

WHISPER_BENCH=1 WHISPER_BENCH_DIR="$dir" swift test -c release --package-path "$package" --scratch-path "$scratch" --filter "BenchmarkTests" 2>&1 |
    grep -E "bench:|passed|failed|error"
