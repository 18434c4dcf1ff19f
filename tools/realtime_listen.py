#!/usr/bin/env python3
"""Streams an audio file to whisper-server's Realtime endpoint at real-time pace and prints the live transcript.

    pip install websockets
    python3 tools/realtime_listen.py recording.wav                          # ws://127.0.0.1:8084, server VAD
    python3 tools/realtime_listen.py --url ws://host:8084 --key $KEY talk.mp3
    python3 tools/realtime_listen.py --manual --chunk-ms 100 talk.flac      # no VAD: one commit at the end

Any format ffmpeg reads is converted to PCM16 mono 24 kHz (OpenAI's Realtime input format). Deltas are printed as
they arrive; each finished turn is printed on its own line with its item id, and with --events every server event
is printed as JSON instead.
"""

import argparse
import asyncio
import base64
import json
import subprocess
import sys
import time

import websockets


def pcm24k(path):
    """The file as PCM16 mono 24 kHz, through ffmpeg."""
    return subprocess.run(
        ["ffmpeg", "-v", "error", "-i", path, "-ac", "1", "-ar", "24000", "-f", "s16le", "-"],
        check=True, capture_output=True).stdout


async def send_audio(ws, audio, chunk_ms, manual, tail_seconds):
    step = 24000 * 2 * chunk_ms // 1000
    audio = audio + b"\x00\x00" * int(24000 * tail_seconds)
    start = time.monotonic()
    for index, offset in enumerate(range(0, len(audio), step)):
        chunk = base64.b64encode(audio[offset:offset + step]).decode()
        await ws.send(json.dumps({"type": "input_audio_buffer.append", "audio": chunk}))
        await asyncio.sleep(max(0, start + (index + 1) * chunk_ms / 1000 - time.monotonic()))
    if manual:
        await ws.send(json.dumps({"type": "input_audio_buffer.commit"}))


async def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file")
    parser.add_argument("--url", default="ws://127.0.0.1:8084", help="server base URL (ws:// or wss://)")
    parser.add_argument("--key", help="API key, if the server requires one")
    parser.add_argument("--model", default="whisper-1")
    parser.add_argument("--language")
    parser.add_argument("--chunk-ms", type=int, default=40, help="audio per append, in milliseconds")
    parser.add_argument("--manual", action="store_true", help="no server VAD: commit once at the end")
    parser.add_argument("--events", action="store_true", help="print every server event as JSON")
    args = parser.parse_args()

    audio = pcm24k(args.file)
    headers = {"Authorization": f"Bearer {args.key}"} if args.key else {}
    url = args.url.rstrip("/") + "/v1/realtime?intent=transcription"
    async with websockets.connect(url, additional_headers=headers, max_size=None) as ws:
        transcription = {"model": args.model}
        if args.language:
            transcription["language"] = args.language
        input_settings = {"transcription": transcription}
        if args.manual:
            input_settings["turn_detection"] = None
        await ws.send(json.dumps({"type": "session.update",
                                  "session": {"type": "transcription", "audio": {"input": input_settings}}}))
        sender = asyncio.create_task(send_audio(ws, audio, args.chunk_ms, args.manual, 0 if args.manual else 1.0))
        pending = set()
        async for message in ws:
            event = json.loads(message)
            kind = event["type"]
            if args.events:
                print(json.dumps(event), flush=True)
            elif kind == "conversation.item.input_audio_transcription.delta":
                print(event["delta"], end="", flush=True)
            elif kind == "conversation.item.input_audio_transcription.completed":
                print(f"\n[{event['item_id']}] {event['transcript']}", flush=True)
            elif kind == "error":
                print(f"\nerror: {event['error']['message']}", file=sys.stderr, flush=True)
            if kind == "input_audio_buffer.committed":
                pending.add(event["item_id"])
            if kind in ("conversation.item.input_audio_transcription.completed",
                        "conversation.item.input_audio_transcription.failed"):
                pending.discard(event["item_id"])
                if sender.done() and not pending:
                    break
        await sender


if __name__ == "__main__":
    asyncio.run(main())
