"""(r) Uploads that cost far more than their size (issue 24), each against a server of its own whose peak resident
memory (VmHWM, reset before each upload) is read from /proc:
- an MP4 and an MKV whose video track has frames of tens of megapixels and whose audio is the warm-up request's
  speech: the audio is transcribed, no video frame is decoded, the peak barely moves;
- two hours of Opus: the peak grows by the decoded samples and a bounded rest (the spectrogram is computed window by
  window);
- a 16 KiB prompt of one word: it costs no more than a 16 KiB prompt of ordinary words.
"""
import argparse
import os
import subprocess
import tempfile
import time

from common import ROOT, Results, fixture, multipart, request, start_server, stop

MIB = 1 << 20
# No rate limits (a 2 h upload is over the default audio-seconds budget) and a decode timeout a loaded machine cannot reach.
LIMITS = ["--rate-limit-requests", "0", "--rate-limit-audio-seconds", "0", "--decode-timeout", "600", "--request-timeout", "1200"]


def ffmpeg(*arguments):
    subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *arguments], check=True)


def memory(pid, field):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def reset_peak(pid):
    with open(f"/proc/{pid}/clear_refs", "w") as f:
        f.write("5")


def post(port, audio, filename, fields=()):
    body, ctype = multipart([("model", "whisper-1"), *fields], [("file", filename, audio, "application/octet-stream")])
    start = time.monotonic()
    response = request("127.0.0.1", port, "POST", "/v1/audio/transcriptions", body, {"Content-Type": ctype}, timeout=900)
    return response, time.monotonic() - start


def measured(args, workdir, name, audio, filename, warm_up, fields=()):
    """(response, seconds, peak growth in bytes) of one upload to a fresh server warmed up with `warm_up`."""
    process, port = start_server(args.binary, os.path.join(ROOT, "models"), os.path.join(workdir, f"{name}.log"), "--preload",
                                 *LIMITS, ready=True)
    try:
        post(port, warm_up, "warm-up")
        idle = memory(process.pid, "VmRSS")
        reset_peak(process.pid)
        response, seconds = post(port, audio, filename, fields)
        return response, seconds, memory(process.pid, "VmHWM") - idle
    finally:
        stop(process)


def video_tracks(args, results, workdir):
    for container, size, codecs in [
        ("mp4", "8192x4320:rate=5", ["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac"]),
        ("mkv", "8192x8192:rate=1", ["-c:v", "png", "-c:a", "flac"]),
    ]:
        path = os.path.join(workdir, f"video.{container}")
        twin = os.path.join(workdir, f"audio.{container}")
        speech = os.path.join(ROOT, "Tests", "Fixtures", "speech", "hello-world.wav")
        ffmpeg("-f", "lavfi", "-i", f"color=c=gray:size={size}:duration=2", "-i", speech, *codecs, path)
        ffmpeg("-i", speech, *codecs[-2:], twin)  # the same audio without video warms the server up
        with open(path, "rb") as f:
            data = f.read()
        with open(twin, "rb") as f:
            warm_up = f.read()
        response, seconds, growth = measured(args, workdir, f"video-{container}", data, f"video.{container}", warm_up)
        results.record(f"{container} with a huge video track: audio only, peak < 48 MiB", response.status == 200 and growth < 48 * MIB,
                       f"-> {response.status} in {seconds:.1f} s, peak +{growth / MIB:.0f} MiB for {len(data) >> 10} KiB",
                       peak_growth_mib=round(growth / MIB), seconds=round(seconds, 1))


def long_opus(args, results, workdir):
    seconds = 7190
    path = os.path.join(workdir, "long.opus")
    ffmpeg("-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono", "-t", str(seconds), "-c:a", "libopus", "-b:a", "6k",
           "-compression_level", "0", "-frame_duration", "60", "-f", "ogg", path)
    with open(path, "rb") as f:
        data = f.read()
    response, elapsed, growth = measured(args, workdir, "long-opus", data, "long.opus", fixture("hello-world.wav"))
    samples = seconds * 16000 * 4
    results.record("2 h of Opus: peak < samples + 150 MiB", response.status == 200 and growth - samples < 150 * MIB,
                   f"-> {response.status} in {elapsed:.0f} s, peak +{growth / MIB:.0f} MiB (samples {samples / MIB:.0f} MiB)",
                   peak_growth_mib=round(growth / MIB), seconds=round(elapsed))


def long_prompt(args, results, workdir):
    state = 0x9E3779B97F4A7C15
    letters = []
    for _ in range(16 * 1024):
        state = (state * 6364136223846793005 + 1442695040888963407) % (1 << 64)
        letters.append(chr(ord("a") + (state >> 33) % 26))
    word = "".join(letters)
    sentence = "The lighthouse keeper wrote the weather in his log every evening. "
    ordinary = (sentence * (16 * 1024 // len(sentence) + 1))[:16 * 1024]
    process, port = start_server(args.binary, os.path.join(ROOT, "models"), os.path.join(workdir, "prompt.log"), "--preload",
                                 *LIMITS, ready=True)
    try:
        audio = fixture("hello-world.wav")
        post(port, audio, "hello-world.wav")
        usual, usual_seconds = post(port, audio, "hello-world.wav", [("prompt", ordinary)])
        one, one_seconds = post(port, audio, "hello-world.wav", [("prompt", word)])
        results.record("16 KiB one-word prompt costs no more than a normal one",
                       usual.status == 200 and one.status == 200 and one_seconds < 2 * usual_seconds + 2,
                       f"one word -> {one.status} in {one_seconds:.2f} s, ordinary words -> {usual.status} in {usual_seconds:.2f} s",
                       seconds=round(one_seconds, 2))
    finally:
        stop(process)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--binary", required=True)
    parser.add_argument("--results", required=True)
    parser.add_argument("--long", action="store_true")
    args = parser.parse_args()
    results = Results(args.results, "resources")
    print("== (r) resources", flush=True)
    with tempfile.TemporaryDirectory(prefix="whisper-hardening-") as workdir:
        for name, check in [("video tracks", video_tracks), ("long prompt", long_prompt), ("long Opus", long_opus)]:
            try:
                check(args, results, workdir)
            except Exception as error:  # a failure to set up is a failed check, not a crash of the runner
                results.record(f"{name} setup", False, repr(error))


if __name__ == "__main__":
    main()
