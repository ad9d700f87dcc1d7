"""The raw text a stream keeps, with its long strings shared with the parser's values (see
``_core._text``): ``stream.text`` and every error's ``text`` are still exactly the text received,
in the content modes and the tool modes (sync client: the reader is the same for both)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from pydantic import BaseModel
from shared_support import pieces

import streamstruct
from benchmarks.memory import Article
from streamstruct._core._text import PACK_CHARS

MESSAGES = [{"role": "user", "content": "x"}]
SSE = {"content-type": "text/event-stream"}


def _paragraph(i: int) -> str:
    return f"Paragraph {i}: " + "some words of prose, " * 40 + ('\u00e9\U0001f600 "q"' * (i % 3))


# Past PACK_CHARS, so that the skeleton is packed and the strings are taken out of it.
ARTICLE = {
    "title": "On keeping one copy",
    "sections": [
        {"heading": f"Part {s}", "paragraphs": [_paragraph(10 * s + p) for p in range(10)]}
        for s in range(12)
    ],
}
TEXT = json.dumps(ARTICLE, ensure_ascii=False)
assert len(TEXT) > 1.5 * PACK_CHARS


def _content(piece: str) -> dict[str, Any]:
    return {"content": piece}


def _arguments(piece: str) -> dict[str, Any]:
    return {"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}


def _body(text: str, delta: Any, *, end: bool) -> bytes:
    events = [{"choices": [{"index": 0, "delta": delta(piece)}]} for piece in pieces(text, 7)]
    if delta is _arguments:
        head = {"index": 0, "id": "call_0", "type": "function", "function": {"name": "Article"}}
        events.insert(0, {"choices": [{"index": 0, "delta": {"tool_calls": [head]}}]})
    if end:
        events.append({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    body = b"".join(b"data: " + json.dumps(event).encode() + b"\n\n" for event in events)
    return body + (b"data: [DONE]\n\n" if end else b"")


def _client(body: bytes) -> streamstruct.Client:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, headers=SSE, content=body))
    return streamstruct.Client(base_url="http://x/v1", transport=transport, max_retries=0)


MODES = {"json_schema": _content, "tools": _arguments}


def _read_all(text: str, model: type[BaseModel], mode: str) -> tuple[Any, Any]:
    """The sync stream of ``text`` as ``model`` (7 characters a delta), read to the end, and
    its final value."""
    with _client(_body(text, MODES[mode], end=True)) as client:
        stream = client.chat.completions.create_partial(
            model="m", response_model=model, messages=MESSAGES, mode=mode
        )
        for _ in stream:
            pass
        return stream, stream.get_final()


@pytest.mark.parametrize("mode", list(MODES))
def test_the_text_of_a_whole_answer_is_the_text_received(mode: str) -> None:
    stream, final = _read_all(TEXT, Article, mode)
    assert stream.text == TEXT
    log = stream._stream._reader._text_parts  # type: ignore[attr-defined]
    # The paragraphs with no escape, those closed by the first PACK_CHARS characters at
    # least (the text since may wait to be settled), are the final object's own strings.
    plain = [p for s in final.sections for p in s.paragraphs if p.isascii()]
    settled = [p for p in plain if TEXT.index(p) + len(p) < PACK_CHARS]
    assert len(settled) > 10
    assert [id(p) for p in log._shared[: len(settled)]] == [id(p) for p in settled]


@pytest.mark.parametrize("cut", [len(TEXT) // 2, len(TEXT) - 300, PACK_CHARS + 5])
@pytest.mark.parametrize("mode", list(MODES))
def test_an_error_mid_answer_carries_the_text_received(mode: str, cut: int) -> None:
    """Invalid JSON after ``cut`` characters (here, perhaps inside a string), and the same text
    cut off without an end: each error's text is what came (7 characters a piece), byte for
    byte."""
    broken = TEXT[:cut] + "\x01 not JSON"
    with (
        _client(_body(broken, MODES[mode], end=True)) as client,
        pytest.raises(streamstruct.StreamStructError) as caught,
    ):
        client.chat.completions.create(
            model="m", response_model=Article, messages=MESSAGES, mode=mode
        )
    assert caught.value.text == broken[: (cut // 7 + 1) * 7]  # up to the piece refused
    with (
        _client(_body(TEXT[:cut], MODES[mode], end=False)) as client,
        pytest.raises(streamstruct.StreamStructError) as caught,
    ):
        client.chat.completions.create(
            model="m", response_model=Article, messages=MESSAGES, mode=mode
        )
    assert caught.value.text == TEXT[:cut]


def test_each_tool_call_of_an_iterable_keeps_its_text() -> None:
    with _client(_body(TEXT, _arguments, end=True)) as client:
        stream = client.chat.completions.create_iterable(
            model="m", response_model=Article, messages=MESSAGES, mode="tools"
        )
        items = list(stream)
        assert [item.model_dump() for item in items] == [ARTICLE]
        assert stream.text == TEXT


class Answer(BaseModel):
    body: str


@pytest.mark.parametrize("mode", list(MODES))
def test_one_long_field_at_the_end_is_shared_once_the_stream_ends(mode: str) -> None:
    # The answer's last string is still held back at the last settle (nothing came after it
    # to put one off to): the end of the stream settles it, so the text is not kept twice.
    text = json.dumps({"body": "word " * 40_000})
    stream, final = _read_all(text, Answer, mode)
    reader = stream._stream._reader  # type: ignore[attr-defined]
    log = reader._text_parts if mode == "json_schema" else reader._calls[0].log
    assert [id(s) for s in log._shared] == [id(final.body)]
    assert sum(map(len, log._chunks)) + sum(map(len, log._waiting)) < 20
    assert stream.text == text
