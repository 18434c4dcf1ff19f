"""The official OpenAI Python SDK pointed at whisper-server with base_url: every call a client makes, unchanged.

Run through Tests/SDK/run.sh, which starts the server and sets WHISPER_SERVER_URL and WHISPER_FIXTURES.
"""

import json
import os
import pathlib

import openai
import pytest

BASE_URL = os.environ.get("WHISPER_SERVER_URL", "http://127.0.0.1:8084/v1")
FIXTURES = pathlib.Path(os.environ.get("WHISPER_FIXTURES", pathlib.Path(__file__).parents[1] / "Fixtures" / "speech"))
SPEECH = FIXTURES / "hello-world.wav"
GOLDEN = json.loads((FIXTURES.parent / "goldens" / "tiny.en.json").read_text())["greedy"]["hello-world"]["text"].strip()


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
