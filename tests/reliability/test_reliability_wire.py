"""Issue 12, answers lost or misread and bounded reads, through a real loopback socket.

Each test plays a server byte by byte (``raw_server``: the status line, the headers and every body
write are the test's own) on asyncio and on trio, and checks what the client makes of it: a
compressed event stream, a Content-Type in capitals, a JSON value written twice, a validation
error in the same read as earlier fields, a huge HTML page, unparseable retry headers, a Groq
in-stream error, and the served simulator stopping when the client leaves.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import tracemalloc
import zlib
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import anyio.to_thread
import httpx
import pytest
from pydantic import BaseModel, field_validator
from reliability_support import (
    KEY,
    MESSAGES,
    Leaks,
    Writer,
    checked_out,
    content_chunk,
    frame,
    pool_of,
    raw_server,
)
from shared_support import User

import streamstruct
from streamstruct._io import _sending
from streamstruct.testing import Reply, Simulator, serve

pytestmark = pytest.mark.anyio

DONE = b"data: [DONE]\n\n"


class Checked(BaseModel):
    name: str
    age: int

    @field_validator("age")
    @classmethod
    def adult(cls, age: int) -> int:
        if age < 18:
            raise ValueError("must be an adult")
        return age


def events(*contents: str, finish: str = "stop") -> list[bytes]:
    """The SSE events of an answer whose content comes in ``contents``, then the finish and [DONE]."""
    return [
        *(frame(content_chunk(piece)) for piece in contents),
        frame(content_chunk(finish=finish)),
        DONE,
    ]


def head(status: str = "200 OK", **headers: str) -> bytes:
    """A response head with the given headers (``content_type`` is ``content-type``)."""
    lines = [f"HTTP/1.1 {status}"]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def chunked(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


def writes(*parts: bytes | float) -> Callable[[Writer, dict[str, str]], Awaitable[None]]:
    """A handler that writes ``parts`` as they are (a float: a pause of that many seconds)."""

    async def handle(writer: Writer, headers: dict[str, str]) -> None:
        for part in parts:
            if isinstance(part, float):
                await anyio.sleep(part)
            else:
                await writer.send(part)

    return handle


def sse_response(body: list[bytes], **headers: str) -> list[bytes]:
    """A chunked 200 event stream: its head, then each piece of ``body`` as one chunk."""
    options = {"content_type": "text/event-stream", "transfer_encoding": "chunked", **headers}
    return [head(**options), *(chunked(piece) for piece in body), b"0\r\n\r\n"]


def client(url: str, **options: Any) -> streamstruct.AsyncClient:
    settings: dict[str, Any] = {
        "api_key": KEY,
        "base_url": url,
        "mode": "json_schema",
        "max_retries": 0,
        **options,
    }
    return streamstruct.AsyncClient(**settings)


async def final(url: str, model: type[BaseModel] = User, **options: Any) -> Any:
    """One ``create_partial`` read to its end: the final value, or the error it raised."""
    leaks = Leaks.now()
    async with client(url, **options) as api:
        stream = api.chat.completions.create_partial(
            model="m", response_model=model, messages=MESSAGES
        )
        try:
            async with stream:
                value = await stream.get_final()
        except streamstruct.StreamStructError as error:
            value = error
        assert checked_out(pool_of(api)) == 0
    await leaks.check()
    return value


# -- an in-stream error that names its status -------------------------------------------------------


async def test_a_groq_in_stream_error_maps_to_the_status_its_body_names() -> None:
    groq = {
        "error": {
            "message": "Failed to call a function. Please adjust your prompt.",
            "type": "invalid_request_error",
            "code": "tool_use_failed",
            "failed_generation": '{"name": "Al',
            "status_code": 400,
        }
    }
    body = sse_response([frame(content_chunk('{"name": "Al')), frame(groq)])
    async with raw_server(writes(*body)) as (url, _):
        error = await final(url)
    assert type(error) is streamstruct.BadRequestError
    assert error.status_code == 400
    assert error.body["code"] == "tool_use_failed"
    assert error.partial.name == "Al"
    assert error.text == '{"name": "Al'


# -- compressed event streams -----------------------------------------------------------------------


def compressor(coding: str) -> Any:
    """A zlib compressor writing ``coding``'s format: gzip, or deflate (the zlib format)."""
    return zlib.compressobj(wbits=31 if coding == "gzip" else 15)


@pytest.mark.parametrize("coding", ["gzip", "deflate"])
async def test_a_compressed_event_stream_is_decoded_as_it_streams(coding: str) -> None:
    """The first snapshot comes before the server writes the rest: the server waits for it."""
    squeeze = compressor(coding)
    first, *rest = events('{"name": "Alice"', ', "age": 28}')
    shown = anyio.Event()

    async def handle(writer: Writer, headers: dict[str, str]) -> None:
        assert "gzip" in headers["accept-encoding"]
        await writer.send(
            head(
                content_type="text/event-stream",
                content_encoding=coding,
                transfer_encoding="chunked",
            )
        )
        await writer.chunk(squeeze.compress(first) + squeeze.flush(zlib.Z_SYNC_FLUSH))
        await shown.wait()
        await writer.chunk(squeeze.compress(b"".join(rest)) + squeeze.flush())
        await writer.end_chunked()

    snapshots = []
    async with raw_server(handle) as (url, _), client(url) as api:
        stream = api.chat.completions.create_partial(
            model="m", response_model=User, messages=MESSAGES
        )
        with anyio.fail_after(5):
            async with stream:
                async for snapshot in stream:
                    snapshots.append(snapshot)
                    shown.set()
                user = await stream.get_final()
    assert snapshots[0].name == "Alice"
    assert snapshots[0].age is None
    assert user == User(name="Alice", age=28)
    assert stream.text == '{"name": "Alice", "age": 28}'


@pytest.mark.parametrize(
    ("coding", "says"),
    [
        ("br", "'br' (Accept-Encoding: gzip, deflate was sent): it was not asked for, and only"),
        ("zstd", "'zstd' (Accept-Encoding: gzip, deflate was sent): it was not asked for, and"),
        ("x-garbage", "only gzip and deflate are decoded here"),
        ("gzip, x-garbage", "'x-garbage'"),
    ],
)
async def test_a_coding_that_was_not_advertised_is_a_typed_error(coding: str, says: str) -> None:
    """br and zstd too, whether or not brotli or zstandard is installed: they are never asked for."""
    body = sse_response(events('{"name": "Al', 'ice", "age": 28}'), content_encoding=coding)
    async with raw_server(writes(*body)) as (url, log):
        error = await final(url)
    assert log.last.requests[0]["accept-encoding"] == "gzip, deflate"
    assert type(error) is streamstruct.APIError
    assert says in str(error)
    assert error.partial is None


async def test_gzip_is_refused_when_the_request_asked_for_identity() -> None:
    squeeze = compressor("gzip")
    body = sse_response(
        [squeeze.compress(b"".join(events(ALICE))) + squeeze.flush()], content_encoding="gzip"
    )
    async with raw_server(writes(*body)) as (url, log):
        error = await final(url, default_headers={"Accept-Encoding": "identity"})
    assert log.last.requests[0]["accept-encoding"] == "identity"
    assert type(error) is streamstruct.APIError
    assert "'gzip' (Accept-Encoding: identity was sent): it was not asked for" in str(error)


async def test_a_gzip_body_that_is_not_gzip_is_a_typed_error() -> None:
    squeeze = compressor("gzip")
    good = squeeze.compress(b"".join(events('{"name": "Al'))[:-20]) + squeeze.flush(
        zlib.Z_SYNC_FLUSH
    )
    body = sse_response([good, b"\x00garbage, not deflate data" * 4], content_encoding="gzip")
    async with raw_server(writes(*body)) as (url, _):
        error = await final(url)
    assert type(error) is streamstruct.APIError
    assert "not valid gzip" in str(error)
    assert error.partial.name == "Al"
    assert error.text == '{"name": "Al'


# -- Content-Type, as HTTP says ----------------------------------------------------------------------


COMPLETION = {
    "id": "chatcmpl-w",
    "object": "chat.completion",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": '{"name": "Alice", "age": 28}'},
            "finish_reason": "stop",
        }
    ],
}


@pytest.mark.parametrize(
    "content_type",
    ["TEXT/EVENT-STREAM", "Text/Event-Stream; charset=UTF-8", "text/event-stream ; charset=utf-8"],
)
async def test_an_event_stream_content_type_in_any_case_with_parameters(content_type: str) -> None:
    body = sse_response(events('{"name": "Al', 'ice", "age": 28}'), content_type=content_type)
    async with raw_server(writes(*body)) as (url, _):
        assert await final(url) == User(name="Alice", age=28)


@pytest.mark.parametrize(
    "content_type", ["APPLICATION/JSON", "Application/Json; Charset=UTF-8", "application/json;q=1"]
)
async def test_a_whole_json_completion_in_any_case_with_parameters(content_type: str) -> None:
    data = json.dumps(COMPLETION).encode()
    response = head(content_type=content_type, content_length=str(len(data))) + data
    async with raw_server(writes(response)) as (url, _):
        assert await final(url) == User(name="Alice", age=28)


@pytest.mark.parametrize("content_type", ["TEXT/HTML", "Text/Html; Charset=ISO-8859-1"])
async def test_an_html_page_in_any_case_is_named_as_such(content_type: str) -> None:
    page = b"<html><body>Sign in to the proxy</body></html>"
    response = head(content_type=content_type, content_length=str(len(page))) + page
    async with raw_server(writes(response)) as (url, _):
        error = await final(url)
    assert type(error) is streamstruct.NotEventStreamError
    assert "not an event stream" in str(error)
    assert "Sign in to the proxy" in str(error)


# -- bodies that are not event streams are read only as far as needed -------------------------------

HUGE = 48 * 1024 * 1024  # what the server offers
READ_AT_MOST = 16 * 1024 * 1024  # far more than was needed, far less than offered


def offering(content_type: str, first: bytes, filler: bytes) -> Callable[..., Awaitable[None]]:
    """A 200 of ``HUGE`` bytes: ``first``, then ``filler`` until the client stops reading."""

    async def handle(writer: Writer, headers: dict[str, str]) -> None:
        await writer.send(head(content_type=content_type, content_length=str(HUGE)) + first)
        sent = len(first)
        piece = filler * (65536 // len(filler))
        while sent < HUGE:
            await writer.send(piece[: HUGE - sent])
            sent += len(piece)

    return handle


async def test_a_huge_html_page_is_not_read_whole() -> None:
    handle = offering("text/html", b"<html><title>Gateway</title>", b"<p>padding</p>")
    async with raw_server(handle) as (url, log):
        error = await final(url)
        await log.last.wait_gone(within=5)
    assert type(error) is streamstruct.NotEventStreamError
    assert "Gateway" in str(error)
    assert log.last.sent < READ_AT_MOST


async def test_a_whole_json_body_past_max_response_bytes_is_not_read_whole() -> None:
    handle = offering("application/json", b'{"id": "x", "padding": "', b"x")
    async with raw_server(handle) as (url, log):
        error = await final(url, max_response_bytes=1024 * 1024)
        await log.last.wait_gone(within=5)
    assert type(error) is streamstruct.ResponseTooLargeError
    assert error.limit == 1024 * 1024
    assert log.last.sent < READ_AT_MOST


NOT_GZIP = b"\x1f\x8b\x08\x00 this is not deflate data, whatever the header says"


@pytest.mark.parametrize("content_type", ["text/html", "application/json"])
async def test_a_body_that_is_not_an_event_stream_and_does_not_decode_is_a_typed_error(
    content_type: str,
) -> None:
    response = head(
        content_type=content_type, content_encoding="gzip", content_length=str(len(NOT_GZIP))
    )
    async with raw_server(writes(response + NOT_GZIP)) as (url, _):
        error = await final(url)  # was a bare httpx.DecodingError
    assert type(error) is streamstruct.APIError
    assert "not valid gzip" in str(error)


@pytest.mark.parametrize("content_type", ["text/html", "application/json"])
async def test_a_body_that_is_not_an_event_stream_cut_short_is_a_typed_error(
    content_type: str,
) -> None:
    response = head(content_type=content_type, content_length="1000") + b'{"id": "<html>'
    async with raw_server(writes(response)) as (url, _):
        error = await final(url)  # was a bare httpx.RemoteProtocolError
    assert type(error) is streamstruct.StreamInterruptedError
    assert "the connection was lost" in str(error)


# A body that inflates a thousandfold: 64 MiB of blanks in an SSE comment, in 64 KiB of gzip.
BOMB = zlib.compress(b":" + b" " * (64 * 1024 * 1024) + b"\n\n", wbits=31)


async def _peak_while(call: Awaitable[Any]) -> tuple[Any, int]:
    """What ``call`` gives, and the most memory Python held above where it began meanwhile."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        value = await call
        return value, tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()


async def test_a_compressed_stream_that_inflates_a_thousandfold_stops_at_the_cap() -> None:
    stream = head(
        content_type="text/event-stream", content_encoding="gzip", content_length=str(len(BOMB))
    )
    async with raw_server(writes(stream + BOMB)) as (url, _):
        error, peak = await _peak_while(final(url, max_response_bytes=1024 * 1024))
    assert type(error) is streamstruct.ResponseTooLargeError
    assert peak < 16 * 1024 * 1024  # each read was inflated in bounded pieces, never whole


async def test_an_error_status_whose_body_inflates_a_thousandfold_is_read_only_so_far() -> None:
    refusal = head(
        "500 Internal Server Error",
        content_type="application/json",
        content_encoding="gzip",
        content_length=str(len(BOMB)),
    )
    async with raw_server(writes(refusal + BOMB)) as (url, _):
        error, peak = await _peak_while(final(url))
    assert type(error) is streamstruct.InternalServerError
    assert peak < 16 * 1024 * 1024  # 1 MiB of the body is kept, and no read inflated whole


# -- retry headers that do not parse, retry options that make no sense ------------------------------

BAD_DELAYS = [
    {"retry-after": "garbage"},
    {"retry-after": "nan"},
    {"retry-after": "inf"},
    {"retry-after": "-1"},
    {"retry-after": ""},
    {"retry-after-ms": "nan"},
    {"retry-after-ms": "inf"},
    {"retry-after-ms": "-5", "retry-after": "soon"},
]


@pytest.mark.parametrize("headers", BAD_DELAYS)
async def test_an_unparseable_retry_after_falls_back_to_the_backoff(
    headers: dict[str, str],
) -> None:
    limited = json.dumps({"error": {"message": "Slow down.", "code": "rate_limit_exceeded"}})
    refusal = head(
        "429 Too Many Requests",
        content_type="application/json",
        content_length=str(len(limited)),
        connection="close",  # the server takes one request per connection
        **{name.replace("-", "_"): value for name, value in headers.items()},
    )
    answers = [
        refusal + limited.encode(),
        b"".join(sse_response(events('{"name": "A", "age": 1}'))),
    ]

    async def handle(writer: Writer, request: dict[str, str]) -> None:
        await writer.send(answers.pop(0))

    async with raw_server(handle) as (url, log):
        with anyio.fail_after(10):  # inf was waited for as 60 s
            user = await final(url, max_retries=1, backoff=0.0)
    assert user == User(name="A", age=1)  # not a bare ValueError, and the 429 was retried
    assert len(log.connections) == 2


@pytest.mark.parametrize("headers", BAD_DELAYS)
def test_an_unparseable_retry_after_asks_for_no_delay(headers: dict[str, str]) -> None:
    assert _sending.retry_after(httpx.Headers(headers)) is None


@pytest.mark.parametrize("backoff", [0.0, 0.5])
def test_the_backoff_after_a_thousand_retries_is_still_a_delay(backoff: float) -> None:
    # 2.0 ** 1024 overflows a float: max_retries=10_000 ended its 1025th retry in OverflowError.
    api = streamstruct.AsyncClient(api_key=KEY, max_retries=10_000, backoff=backoff)
    for attempt in (1025, 10_000):
        assert 0.0 <= api._retry_delay(attempt, None) <= 8.0


@pytest.mark.parametrize(
    ("options", "error", "says"),
    [
        ({"backoff": -1}, ValueError, "backoff must be a finite number of seconds >= 0, not -1"),
        ({"backoff": float("nan")}, ValueError, "backoff must be a finite number"),
        ({"backoff": float("inf")}, ValueError, "backoff must be a finite number"),
        ({"backoff": "1"}, TypeError, "backoff must be a number of seconds, not str"),
        ({"backoff": True}, TypeError, "backoff must be a number of seconds, not bool"),
        ({"max_retries": -1}, ValueError, "max_retries must be >= 0, not -1"),
        ({"max_retries": 1.5}, TypeError, "max_retries must be an int, not float"),
        ({"max_retries": "2"}, TypeError, "max_retries must be an int, not str"),
    ],
)
@pytest.mark.parametrize("make", [streamstruct.AsyncClient, streamstruct.Client])
def test_invalid_retry_options_are_refused_when_the_client_is_made(
    make: Any, options: dict[str, Any], error: type[Exception], says: str
) -> None:
    with pytest.raises(error, match=re.escape(says)):
        make(api_key=KEY, **options)


# -- a validation error in the same read as the fields before it ------------------------------------


@pytest.mark.parametrize(
    "reads",
    [
        # every event in one read, then the same events one per read
        [['{"name": "Al', 'ice", ', '"age": 5}']],
        [['{"name": "Al'], ['ice", '], ['"age": 5}']],
        # the failing value in the same read as the end of the field before it
        [['{"name": "Al'], ['ice", ', '"age": 5}']],
        [['{"name": "Al'], ['ice", ', '"age": 5', "}"]],
    ],
)
async def test_a_validation_error_carries_the_last_valid_snapshot_however_reads_fall(
    reads: list[list[str]],
) -> None:
    parts: list[bytes | float] = [
        head(content_type="text/event-stream", transfer_encoding="chunked")
    ]
    for read in reads:
        parts += [chunked(b"".join(frame(content_chunk(piece)) for piece in read)), 0.05]
    parts += [chunked(b"".join(events(finish="stop"))), b"0\r\n\r\n"]
    async with raw_server(writes(*parts)) as (url, _):
        error = await final(url, model=Checked)
    assert type(error) is streamstruct.ResponseValidationError
    assert error.path == ("age",)
    assert error.partial is not None
    assert error.partial.name == "Alice"
    assert error.partial.age is None
    assert error.text == '{"name": "Alice", "age": 5}'


# -- the served simulator stops when the client leaves ----------------------------------------------


class Watched:
    """An ASGI app around the simulator that notes (in its server's thread) when each call ended."""

    def __init__(self, simulator: Simulator) -> None:
        self.simulator = simulator
        self.ended = threading.Event()
        self.failure: BaseException | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await self.simulator(scope, receive, send)
        except BaseException as error:
            self.failure = error
            raise
        finally:
            if scope["type"] == "http":
                self.ended.set()


async def test_the_served_simulator_stops_at_once_when_the_client_leaves(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Forty 0.5 s pauses between the deltas: 20 s of answer, of which the client reads one delta.
    app = Watched(Simulator(responses=Reply({"name": "Alice", "age": 28}), chunk_size=1, delay=0.5))
    with caplog.at_level(logging.DEBUG):
        async with serve(app) as url:
            async with client(url) as api:
                stream = api.chat.completions.create_partial(
                    model="m", response_model=User, messages=MESSAGES
                )
                async with stream:
                    async for _ in stream:
                        break  # and the stream is closed: the client leaves
            # The simulator's call returns while it is still pausing, not 20 s later.
            assert await anyio.to_thread.run_sync(app.ended.wait, 5.0)
    assert app.failure is None
    logged = [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info]
    assert not logged, [r.getMessage() for r in logged]


# -- a JSON value written twice, or followed by anything ---------------------------------------------

ALICE = '{"name": "Alice", "age": 28}'


async def read(url: str, **options: Any) -> tuple[Any, Any]:
    """:func:`final`, with the stream: (the final value or the error, the stream)."""
    async with client(url, **options) as api:
        stream = api.chat.completions.create_partial(
            model="m", response_model=User, messages=MESSAGES
        )
        try:
            async with stream:
                return await stream.get_final(), stream
        except streamstruct.StreamStructError as error:
            return error, stream


@pytest.mark.parametrize(
    ("mode", "content", "trailing"),
    [
        # a real gpt-4o json_schema recording wrote its object twice
        ("json_schema", [ALICE[:12], ALICE[12:] + ALICE[:5], ALICE[5:]], ALICE),
        ("json_schema", [ALICE, "\n", ALICE], "\n" + ALICE),
        ("json", [ALICE, "\n\nHope this helps!"], "\n\nHope this helps!"),
        ("json", [ALICE, " ", ALICE + "}"], " " + ALICE + "}"),
        # in a fenced block: what follows the value inside the block (after it, prose is ignored)
        ("md_json", ["Here:\n```json\n", ALICE, "\n", ALICE, "\n```\nDone."], "\n" + ALICE + "\n"),
        ("md_json", ["```json\n", ALICE, "\n```\n", "Done, and {more}."], ""),
    ],
)
async def test_the_first_complete_value_is_the_answer_and_the_rest_is_kept(
    mode: str, content: list[str], trailing: str
) -> None:
    body = sse_response(events(*content))
    async with raw_server(writes(*body)) as (url, _):
        value, stream = await read(url, mode=mode)
    assert value == User(name="Alice", age=28)
    assert stream.trailing == trailing
    assert stream.text.endswith(trailing)
    assert stream.text.strip().startswith(ALICE)


async def test_a_json_object_written_twice_in_the_iterable_content_mode() -> None:
    items = '{"items": [{"name": "A", "age": 1}, {"name": "B", "age": 2}]}'
    body = sse_response(events(items[:30], items[30:] + items[:7], items[7:]))
    async with raw_server(writes(*body)) as (url, _), client(url) as api:
        stream = api.chat.completions.create_iterable(
            model="m", response_model=User, messages=MESSAGES
        )
        async with stream:
            got = [item async for item in stream]
    assert got == [User(name="A", age=1), User(name="B", age=2)]
    assert stream.trailing == items


def test_the_sync_stream_says_what_trailed() -> None:
    async def main() -> None:
        body = sse_response(events(ALICE, ALICE))
        async with raw_server(writes(*body)) as (url, _):

            def call() -> tuple[Any, str, str]:
                with streamstruct.Client(api_key=KEY, base_url=url, mode="json") as api:
                    stream = api.chat.completions.create_partial(
                        model="m", response_model=User, messages=MESSAGES
                    )
                    with stream:
                        return stream.get_final(), stream.trailing, stream.text

            assert await anyio.to_thread.run_sync(call) == (
                User(name="Alice", age=28),
                ALICE,
                ALICE + ALICE,
            )

    anyio.run(main)


# -- cut by finish_reason "length" after broken JSON: both said --------------------------------------

BROKEN = ['{"name": "Al', 'ice", "age": 2 8', ', "more": "text']  # the JSON breaks at the 8


@pytest.mark.parametrize("same_read", [True, False])
@pytest.mark.parametrize("mode", ["json_schema", "json", "md_json"])
async def test_a_stream_cut_by_length_after_broken_json_says_both(
    same_read: bool, mode: str
) -> None:
    content = ["```json\n", *BROKEN] if mode == "md_json" else BROKEN
    pieces = events(*content, finish="length")
    if same_read:
        body = sse_response([b"".join(pieces)])
    else:  # one event per write, with a pause between them
        body = [head(content_type="text/event-stream", transfer_encoding="chunked")]
        for piece in pieces:
            body += [chunked(piece), 0.05]
        body.append(b"0\r\n\r\n")
    async with raw_server(writes(*body)) as (url, _):
        error, _ = await read(url, mode=mode)
    assert type(error) is streamstruct.TruncatedJSONError
    assert isinstance(error, streamstruct.IncompleteOutputError)
    assert isinstance(error, streamstruct.JSONParseError)
    assert error.finish_reason == "length"
    assert error.offset == len('{"name": "Alice", "age": 2 ')
    assert (error.line, error.column) == (1, error.offset + 1)
    assert 'finish_reason "length"' in str(error)
    assert f"at offset {error.offset}" in str(error)
    assert type(error.__cause__) is streamstruct.JSONParseError
    assert error.partial.name == "Al" if not same_read else error.partial is None
    assert error.text.startswith('{"name": "Alice", "age": 2 8')


async def test_broken_json_that_was_not_cut_is_a_parse_error_alone() -> None:
    body = sse_response(events(*BROKEN, finish="stop"))
    async with raw_server(writes(*body)) as (url, _):
        error, _ = await read(url)
    assert type(error) is streamstruct.JSONParseError
    assert error.offset == len('{"name": "Alice", "age": 2 ')


# -- the same through the sync client ---------------------------------------------------------------


def gzipped(body: list[bytes]) -> list[bytes]:
    squeeze = compressor("gzip")
    return [squeeze.compress(piece) + squeeze.flush(zlib.Z_SYNC_FLUSH) for piece in body]


SYNC_CASES = {
    "gzip": (
        sse_response(gzipped(events(ALICE[:9], ALICE[9:])), content_encoding="gzip"),
        User,
    ),
    "html in capitals": (
        [head(content_type="TEXT/HTML", content_length="13") + b"<html></html>"],
        streamstruct.NotEventStreamError,
    ),
    "groq error": (
        sse_response([frame({"error": {"message": "no", "status_code": 400}})]),
        streamstruct.BadRequestError,
    ),
    "broken, then length": (
        sse_response(events(*BROKEN, finish="length")),
        streamstruct.TruncatedJSONError,
    ),
    "written twice": (sse_response(events(ALICE, ALICE)), User),
}


@pytest.mark.parametrize("case", list(SYNC_CASES))
def test_the_sync_client_reads_the_wire_alike(case: str) -> None:
    body, expected = SYNC_CASES[case]

    async def main() -> None:
        async with raw_server(writes(*body)) as (url, _):

            def call() -> Any:
                with streamstruct.Client(api_key=KEY, base_url=url, mode="json_schema") as api:
                    try:
                        return api.chat.completions.create(
                            model="m", response_model=User, messages=MESSAGES
                        )
                    except streamstruct.StreamStructError as error:
                        return error

            outcome = await anyio.to_thread.run_sync(call)
        assert type(outcome) is expected
        if expected is User:
            assert outcome == User(name="Alice", age=28)

    anyio.run(main)
