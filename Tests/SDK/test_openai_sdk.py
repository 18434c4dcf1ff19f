"""The official OpenAI Python SDK pointed at whisper-server with base_url: every call a client makes, unchanged.

Run through Tests/SDK/run.sh, which starts the server and sets WHISPER_SERVER_URL and WHISPER_FIXTURES.
"""

import json
import os
import pathlib
import subprocess
import tempfile

import openai
import pytest

BASE_URL = os.environ.get("WHISPER_SERVER_URL", "http://127.0.0.1:8084/v1")
FIXTURES = pathlib.Path(os.environ.get("WHISPER_FIXTURES", pathlib.Path(__file__).parents[1] / "Fixtures" / "speech"))
SPEECH = FIXTURES / "hello-world.wav"
GOLDEN = json.loads((FIXTURES.parent / "goldens" / "tiny.en.json").read_text())["greedy"]["hello-world"]["text"].strip()
MULTILINGUAL = FIXTURES.parent / "multilingual"
CLIPS = {clip["name"]: clip for clip in json.loads((MULTILINGUAL / "manifest.json").read_text())["clips"]}
SPEECH_OFFSET = 20.0


@pytest.fixture(scope="module")
def client():
    return openai.OpenAI(base_url=BASE_URL, api_key="not-needed", max_retries=0, timeout=120)


def transcribe(client, **kwargs):
    with SPEECH.open("rb") as audio:
        return client.audio.transcriptions.create(model="whisper-1", file=audio, **kwargs)


def test_json(client):
    result = transcribe(client)
    assert result.text == GOLDEN


def test_text(client):
    result = transcribe(client, response_format="text")
    assert isinstance(result, str)
    assert result.strip() == GOLDEN


def test_srt(client):
    result = transcribe(client, response_format="srt")
    assert result.startswith("1\n00:00:00,000 --> ")
    assert GOLDEN in result


def test_vtt(client):
    result = transcribe(client, response_format="vtt")
    assert result.startswith("WEBVTT\n\n00:00:00.000 --> ")


def test_verbose_json_with_words(client):
    result = transcribe(client, response_format="verbose_json", timestamp_granularities=["word", "segment"])
    assert result.text == GOLDEN
    assert result.language == "english"
    assert abs(result.duration - 3.74) < 0.05
    assert result.segments and result.segments[0].start == 0.0
    assert result.words and result.words[0].word.strip() == GOLDEN.split()[0]


def test_stream(client):
    with SPEECH.open("rb") as audio:
        stream = client.audio.transcriptions.create(model="whisper-1", file=audio, stream=True)
        events = list(stream)
    deltas = [event.delta for event in events if event.type == "transcript.text.delta"]
    assert deltas
    assert events[-1].type == "transcript.text.done"
    assert events[-1].text == GOLDEN
    assert "".join(deltas) == GOLDEN


def test_translation_with_english_only_model(client):
    with SPEECH.open("rb") as audio, pytest.raises(openai.BadRequestError) as raised:
        client.audio.translations.create(model="whisper-1", file=audio)
    assert "English-only and cannot translate" in str(raised.value)
    assert raised.value.param == "model"


def test_models_list(client):
    ids = [model.id for model in client.models.list()]
    assert "tiny.en" in ids
    assert "whisper-1" in ids
    assert client.models.retrieve("tiny.en").owned_by == "whisper-server"


def test_errors_carry_our_messages(client):
    with pytest.raises(openai.BadRequestError) as raised:
        transcribe(client, response_format="xml")
    assert "'xml' is not a supported response_format" in raised.value.message
    assert raised.value.param == "response_format"

    with SPEECH.open("rb") as audio, pytest.raises(openai.NotFoundError) as raised:
        client.audio.transcriptions.create(model="no-such-model", file=audio)
    assert "the model 'no-such-model' does not exist" in raised.value.message

    with pytest.raises(openai.BadRequestError) as raised:
        transcribe(client, temperature=3)
    assert raised.value.param == "temperature"

    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("../../etc/passwd")


def test_undecodable_audio(client):
    with pytest.raises(openai.APIStatusError) as raised:
        client.audio.transcriptions.create(model="whisper-1", file=("notes.wav", b"definitely not audio" * 10))
    assert raised.value.status_code in (415, 422)
    assert "invalid audio file" in raised.value.message


def test_word_timestamps_only(client):
    result = transcribe(client, response_format="verbose_json", timestamp_granularities=["word"])
    assert result.text == GOLDEN
    assert result.segments is None
    words = result.words
    assert len(words) >= 8
    assert "".join(word.word for word in words).strip() == GOLDEN
    assert all(word.start <= word.end for word in words)
    assert all(a.start <= b.start for a, b in zip(words, words[1:]))


def test_language_detection_with_base(client):
    for name in ("de-weather", "es-school"):
        with (MULTILINGUAL / f"{name}.flac").open("rb") as audio:
            result = client.audio.transcriptions.create(model="base", file=audio, response_format="verbose_json")
        assert result.language == {"de": "german", "es": "spanish"}[CLIPS[name]["language"]]
        assert result.text


def test_translation_with_base(client):
    clip = CLIPS["de-weather"]
    with (MULTILINGUAL / "de-weather.flac").open("rb") as audio:
        result = client.audio.translations.create(model="base", file=audio)
    words = set(result.text.lower().replace(",", " ").replace(".", " ").split())
    assert words & set(clip["english_words"]), result.text
    assert words & {"the", "is", "and", "we", "to", "in"}, result.text


@pytest.fixture(scope="module")
def speech_in_noise():
    """hello-world.wav 20 s into 44 s of the noise fixture at a tenth of its level (about 20 dB below the speech)."""
    with tempfile.TemporaryDirectory() as directory:
        path = pathlib.Path(directory) / "speech-in-noise.wav"
        subprocess.run(
            ["sox", "-m", "-v", "1", f"|sox {FIXTURES / 'hello-world.wav'} -p pad {SPEECH_OFFSET} 20",
             "-v", "0.1", f"|sox {FIXTURES / 'noise-30s.wav'} -p repeat 1 trim 0 43.74", str(path)],
            check=True)
        yield path.read_bytes()


@pytest.mark.parametrize("strategy", ["auto", {"type": "server_vad", "threshold": 0.5, "prefix_padding_ms": 300, "silence_duration_ms": 500}])
def test_chunking_strategy(client, speech_in_noise, strategy):
    result = client.audio.transcriptions.create(
        model="whisper-1", file=("noisy.wav", speech_in_noise), response_format="verbose_json", chunking_strategy=strategy)
    # tiny.en hears the clip's first words differently in noise; the rest must be right.
    assert result.text.endswith("this is a test on the speech recognition server."), result.text
    assert abs(result.duration - 43.74) < 0.05
    assert result.segments
    assert abs(result.segments[0].start - SPEECH_OFFSET) < 0.6
    assert all(SPEECH_OFFSET - 0.6 <= segment.start and segment.end <= SPEECH_OFFSET + 4.2 for segment in result.segments)


def test_bad_chunking_strategy(client):
    with pytest.raises(openai.BadRequestError) as raised:
        transcribe(client, chunking_strategy={"type": "server_vad", "threshold": 7})
    assert raised.value.param == "chunking_strategy"
    assert "between 0 and 1" in raised.value.message


def test_include_logprobs(client):
    result = transcribe(client, include=["logprobs"])
    assert result.text == GOLDEN
    assert result.logprobs
    assert all(entry.logprob <= 0 for entry in result.logprobs)
    assert "".join(entry.token for entry in result.logprobs).strip() == GOLDEN
    assert all(bytes(int(b) for b in entry.bytes) == entry.token.encode() for entry in result.logprobs)
    with pytest.raises(openai.BadRequestError) as raised:
        transcribe(client, include=["logprobs"], response_format="verbose_json")
    assert raised.value.param == "include"


def test_prompt_hints_vocabulary(client):
    with (FIXTURES / "moon-landing.wav").open("rb") as audio:
        plain = client.audio.transcriptions.create(model="whisper-1", file=audio)
    with (FIXTURES / "moon-landing.wav").open("rb") as audio:
        prompted = client.audio.transcriptions.create(model="whisper-1", file=audio, prompt="Neil Armstrong, Apollo 11.")
    assert "Armstrong" not in plain.text
    assert "Armstrong" in prompted.text


def test_verbose_json_reports_filtered_text(client):
    result = transcribe(client, response_format="verbose_json")
    assert result.model_extra["filtered"] == []


def test_models_say_what_they_can_do(client):
    transcribe(client)
    tiny = client.models.retrieve("tiny.en").model_extra["whisper"]
    assert tiny["languages"] == ["en"]
    assert tiny["translate"] is False
    assert tiny["word_timestamps"] is True
    assert tiny["format"] == "ctranslate2"
    assert tiny["size_bytes"] > 30_000_000
    assert 30_000_000 < tiny["parameters"] < 45_000_000
    with (MULTILINGUAL / "de-train.flac").open("rb") as audio:
        client.audio.transcriptions.create(model="base", file=audio)
    base = client.models.retrieve("base").model_extra["whisper"]
    assert base["translate"] is True and base["multilingual"] is True
    assert len(base["languages"]) >= 99 and {"de", "fr", "es", "en"} <= set(base["languages"])
    assert 70_000_000 < base["parameters"] < 80_000_000
