"""The I/O shell's shortcut gives what its plain path gives: reads inline in ``_next_batch``.

``_BaseStream.inline_reads`` (on by default) reads a fast consumer's steps without a deadline in
``_next_batch`` itself, a coroutine less per snapshot than ``_advance``. Each stream here runs
twice through the simulator, the shortcut on and off, and everything a caller can observe is
compared: what it yielded (snapshots dumped, events, items), the final value or the error (its
type, message, partial result and text), the text, usage, finish reason and attempts.

Border: only the comparison of the two paths; what each stream yields is checked in
``test_client_streaming.py`` and ``test_client_reasks.py``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from pydantic import BaseModel, Field
from shared_support import CheckedUser as User

import streamstruct
from streamstruct import Mode
from streamstruct._io._stream import _BaseStream
from streamstruct.testing import (
    Disconnect,
    ErrorEvent,
    MissingDone,
    Reply,
    Simulator,
    Stall,
    StreamingASGITransport,
    Truncate,
)

pytestmark = pytest.mark.anyio

MESSAGES = [{"role": "user", "content": "Make up a person."}]
ALICE = {"name": "Alice", "age": 28, "bio": 'Likes "quotes", {braces}, [brackets] and \\ too.'}
PEOPLE = [
    {"name": "Ann", "age": 31, "bio": "}{ ]["},
    {"name": "Bo", "age": 42, "bio": 'a "quoted" {"fake": "object"}'},
    {"name": "Cy", "age": 53, "bio": "ends with a brace }"},
]
SPLITS = [1, 3, (2, 7, 1, 13)]


class Aged(BaseModel):
    name: str
    age: int = Field(ge=0)


@asynccontextmanager
async def connected(
    simulator: Simulator, **options: Any
) -> AsyncIterator[streamstruct.AsyncClient]:
    async with (
        httpx.AsyncClient(transport=StreamingASGITransport(simulator)) as http,
        streamstruct.AsyncClient(
            base_url="http://simulator/v1", api_key="sk-test", http_client=http, **options
        ) as client,
    ):
        yield client


def shown(value: Any) -> Any:
    """What a yielded value shows: a model's dump, an event's repr."""
    return value.model_dump() if isinstance(value, BaseModel) else repr(value)


async def observed(
    monkeypatch: pytest.MonkeyPatch,
    inline: bool,
    simulator: Callable[[], Simulator],
    consume: Callable[[streamstruct.AsyncClient], Any],
    **options: Any,
) -> dict[str, Any]:
    """Everything a caller sees of one stream, the shortcut on or off."""
    monkeypatch.setattr(_BaseStream, "inline_reads", inline)
    # Never taken for slow (a pause of the machine's over 20 ms would make one run catch up and
    # yield fewer snapshots than the other, whichever path it took).
    monkeypatch.setattr("streamstruct._io._stream_iterator.SLOW_CONSUMER", float("inf"))
    got: list[Any] = []
    seen: dict[str, Any] = {}
    async with connected(simulator(), **options) as client:
        stream = consume(client)
        try:
            values = stream.events() if isinstance(stream, _EventsOnly) else stream
            async for value in values:
                got.append(shown(value))
            seen["final"] = shown(await stream.get_final())
        except streamstruct.StreamStructError as error:
            partial = error.partial
            seen["error"] = (type(error), str(error), error.text, shown(partial))
        seen.update(
            got=got,
            text=stream.text,
            usage=stream.usage,
            finish_reason=stream.finish_reason,
            attempts=stream.attempts,
        )
    return seen


async def both_paths(
    monkeypatch: pytest.MonkeyPatch,
    simulator: Callable[[], Simulator],
    consume: Callable[[streamstruct.AsyncClient], Any],
    **options: Any,
) -> dict[str, Any]:
    fast = await observed(monkeypatch, True, simulator, consume, **options)
    plain = await observed(monkeypatch, False, simulator, consume, **options)
    assert fast == plain
    return fast


def partial_of(model: type[BaseModel], **options: Any) -> Callable[[Any], Any]:
    return lambda client: client.chat.completions.create_partial(
        model="m", response_model=model, messages=MESSAGES, **options
    )


@pytest.mark.parametrize("split", SPLITS)
@pytest.mark.parametrize("mode", list(Mode))
async def test_snapshots_and_final_value(
    monkeypatch: pytest.MonkeyPatch, mode: Mode, split: Any
) -> None:
    style = "md_json" if mode is Mode.MD_JSON else "json"
    seen = await both_paths(
        monkeypatch,
        lambda: Simulator(responses=Reply(ALICE, style=style), chunk_size=split),
        partial_of(User),
        mode=mode,
    )
    assert seen["final"] == ALICE
    assert len(seen["got"]) > 3


@pytest.mark.parametrize("split", SPLITS)
async def test_events(monkeypatch: pytest.MonkeyPatch, split: Any) -> None:
    def consume(client: Any) -> Any:
        stream = partial_of(User)(client)
        return _EventsOnly(stream)

    seen = await both_paths(
        monkeypatch, lambda: Simulator(responses=Reply(ALICE), chunk_size=split), consume
    )
    assert any("FieldCompleted" in event for event in seen["got"])


@pytest.mark.parametrize("split", SPLITS)
async def test_items(monkeypatch: pytest.MonkeyPatch, split: Any) -> None:
    seen = await both_paths(
        monkeypatch,
        lambda: Simulator(
            responses=Reply({"items": PEOPLE}, tool_calls="per_item"), chunk_size=split
        ),
        lambda client: client.chat.completions.create_iterable(
            model="m", response_model=User, messages=MESSAGES
        ),
    )
    assert seen["got"] == PEOPLE


FAULTS: dict[str, Callable[[], Simulator]] = {
    "disconnect": lambda: Simulator(
        responses=Reply(ALICE), faults=Disconnect(after_bytes=4000), chunk_size=3
    ),
    "broken json": lambda: Simulator(
        responses=Reply(ALICE, faults=Truncate(after_chars=20, finish_reason="length")),
        chunk_size=3,
    ),
    "missing done": lambda: Simulator(responses=Reply(ALICE, faults=MissingDone()), chunk_size=3),
    "error event": lambda: Simulator(
        responses=Reply(
            ALICE, faults=ErrorEvent(after=5, message="The server had an error.", type="x")
        ),
        chunk_size=3,
    ),
    "stall": lambda: Simulator(responses=Reply(ALICE, faults=Stall(after=4)), chunk_size=3),
}


@pytest.mark.parametrize("fault", FAULTS)
async def test_faults(monkeypatch: pytest.MonkeyPatch, fault: str) -> None:
    seen = await both_paths(
        monkeypatch, FAULTS[fault], partial_of(User), timeout=0.3, max_retries=0
    )
    assert ("error" in seen) is (fault != "missing done")


async def test_a_reask(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = await both_paths(
        monkeypatch,
        lambda: Simulator(responses=[{"name": "Ann", "age": -3}, {"name": "Ann", "age": 30}]),
        partial_of(Aged, max_reasks=1),
    )
    assert seen["attempts"] == 2
    assert seen["final"] == {"name": "Ann", "age": 30}


async def test_the_shortcut_is_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    """Not a comparison of a path with itself: on, ``_advance`` only opens the stream."""
    calls = 0
    advance = _BaseStream._advance

    def counted(self: Any) -> Awaitable[Any]:
        nonlocal calls
        calls += 1
        return advance(self)

    monkeypatch.setattr(_BaseStream, "_advance", counted)
    for inline, most in ((True, 1), (False, None)):
        calls = 0
        seen = await observed(
            monkeypatch, inline, lambda: Simulator(responses=Reply(ALICE)), partial_of(User)
        )
        if most is None:
            assert calls >= len(seen["got"])
        else:
            assert calls == most


ANN = {"name": "Ann", "age": 1}
BO = {"name": "Bo", "age": 2}
CY = {"name": "Cy", "age": 3}


async def test_items_before_a_reask_are_yielded_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The second item is read inline; the re-ask then owes nothing already yielded."""
    seen = await both_paths(
        monkeypatch,
        lambda: Simulator(
            responses=[
                Reply({"items": [ANN, BO, {"name": "Dee", "age": -4}]}),
                Reply({"items": [CY]}),
            ],
            chunk_size=5,
        ),
        lambda client: client.chat.completions.create_iterable(
            model="m", response_model=Aged, messages=MESSAGES, max_reasks=1
        ),
    )
    assert [item for item in seen["got"] if isinstance(item, dict)] == [ANN, BO, CY]


def _chunk(content: str | None = None, finish: str | None = None) -> bytes:
    delta = {} if content is None else {"content": content}
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    chunk = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m"}
    return b"data: " + json.dumps({**chunk, "choices": [choice]}).encode() + b"\n\n"


class _Body(httpx.AsyncByteStream):
    """An event stream from a list of frames; an exception in it is raised where it stands. One
    pass over them, however often it is iterated (``sent``: what it handed over)."""

    def __init__(self, frames: list[bytes | Exception]) -> None:
        self.sent = 0
        self._frames = self._run(frames)

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._frames

    async def aclose(self) -> None:
        await self._frames.aclose()

    async def _run(self, frames: list[bytes | Exception]) -> AsyncGenerator[bytes, None]:
        for frame in frames:
            if isinstance(frame, Exception):
                raise frame
            self.sent += len(frame)
            yield frame


async def _stream_of(body: _Body) -> Any:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=body)

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    client = streamstruct.AsyncClient(
        base_url="http://x/v1", api_key="sk-x", http_client=http, max_retries=0
    )
    return client.chat.completions.create_partial(
        model="m", response_model=Aged, mode=Mode.JSON, messages=MESSAGES
    )


@pytest.mark.parametrize("inline", [True, False])
async def test_after_broken_json_the_read_on_is_bounded(
    monkeypatch: pytest.MonkeyPatch, inline: bool
) -> None:
    """Broken JSON, then 200 KB more: the stream looks at most 64 KiB further for the finish
    reason (look_ahead), on either path."""
    monkeypatch.setattr(_BaseStream, "inline_reads", inline)
    broken = [_chunk(piece) for piece in ('{"name": "Al', 'ice", "age": 2', "8 x")]
    body = _Body(
        [*broken, *[_chunk("y" * 100)] * 2000, _chunk(finish="length"), b"data: [DONE]\n\n"]
    )
    stream = await _stream_of(body)
    with pytest.raises(streamstruct.JSONParseError) as caught:
        async for _ in stream:
            pass
    assert type(caught.value) is streamstruct.JSONParseError  # not TruncatedJSONError
    assert body.sent < 100_000


@pytest.mark.parametrize("inline", [True, False])
async def test_a_connection_lost_after_done_leaves_the_answer_whole(
    monkeypatch: pytest.MonkeyPatch, inline: bool
) -> None:
    monkeypatch.setattr(_BaseStream, "inline_reads", inline)
    answer = [_chunk(piece) for piece in ('{"name": "Al', 'ice", "age": ', "28}")]
    lost = httpx.ReadError("connection reset after [DONE]")
    body = _Body([*answer, _chunk(finish="stop"), b"data: [DONE]\n\n", lost])
    stream = await _stream_of(body)
    async for _ in stream:
        pass
    assert (await stream.get_final()).name == "Alice"


class _EventsOnly:
    """A stream whose ``events()`` :func:`observed` iterates rather than its snapshots."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def events(self) -> Any:
        return self._stream.events()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)
