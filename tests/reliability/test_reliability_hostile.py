"""A hostile server, over a real socket: every limit raises its own clear error, memory stays bounded.

* one SSE line that never ends (no line break, ever): the SSE line cap (8 MiB);
* a string that never ends, spread over well-formed events: ``max_response_bytes``;
* 100,000 nested arrays in the answer: ``max_depth`` (1000), with no ``RecursionError``;
* a 1 GB response: ``max_response_bytes`` stops reading long before, and the server sees the
  client leave.

Memory is measured with ``tracemalloc`` around the client's work: the peak must stay within a
small multiple of the limit in force, not grow with what the server is willing to send.
"""

from __future__ import annotations

import tracemalloc
from pathlib import Path
from typing import Any

import anyio
import pytest
from pydantic import BaseModel
from reliability_support import (
    KEY,
    MESSAGES,
    ServerLog,
    Writer,
    checked_out,
    content_chunk,
    frame,
    raw_server,
)

import streamstruct

pytestmark = pytest.mark.anyio

MiB = 1024 * 1024


class User(BaseModel):
    name: Any
    age: int = 0


async def consume(url: str, **options: Any) -> tuple[BaseException | None, int, int]:
    """Run one stream to its end; (the error, the peak traced memory, connections checked out)."""
    async with streamstruct.AsyncClient(
        api_key=KEY, base_url=url, mode="json_schema", max_retries=0, **options
    ) as client:
        stream = client.chat.completions.create_partial(
            model="m", response_model=User, messages=MESSAGES
        )
        tracemalloc.start()
        error: BaseException | None = None
        try:
            async for _ in stream:
                pass
        except streamstruct.StreamStructError as caught:
            error = caught
        finally:
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        return error, peak, checked_out(client._http)


async def gone_promptly(log: ServerLog) -> None:
    await log.last.wait_gone(within=2.0)


async def test_an_endless_sse_line_hits_the_line_cap() -> None:
    block = b"a" * (256 * 1024)

    async def respond(writer: Writer, headers: dict[str, str]) -> None:
        await writer.start_chunked()
        await writer.chunk(
            b'data: {"choices": [{"index": 0, "delta": {"content": "{\\"name\\": \\"'
        )
        while True:  # no line break, ever
            await writer.chunk(block)

    async with raw_server(respond) as (url, log):
        error, peak, busy = await consume(url)
        await gone_promptly(log)
    assert type(error) is streamstruct.SSELimitError
    assert error.limit == 8 * MiB
    assert "max_line_bytes" in str(error)
    assert busy == 0
    assert log.last.sent < 64 * MiB  # it stopped reading soon after the cap
    assert peak < 4 * 8 * MiB, f"peak {peak / MiB:.1f} MiB for an 8 MiB cap"


async def test_an_endless_string_hits_max_response_bytes() -> None:
    piece = frame(content_chunk("lalala " * 1000))

    async def respond(writer: Writer, headers: dict[str, str]) -> None:
        await writer.start_chunked()
        await writer.chunk(frame(content_chunk('{"name": "')))
        while True:  # well-formed events, one string that never closes
            await writer.chunk(piece)

    limit = 2 * MiB
    async with raw_server(respond) as (url, log):
        error, peak, busy = await consume(url, max_response_bytes=limit)
        await gone_promptly(log)
    assert type(error) is streamstruct.ResponseTooLargeError
    assert error.limit == limit
    assert "max_response_bytes=2097152" in str(error)
    assert error.partial.name.startswith("lalala lalala")
    assert error.text.startswith('{"name": "lalala')
    assert busy == 0
    assert peak < 16 * limit, f"peak {peak / MiB:.1f} MiB for a {limit / MiB:.0f} MiB limit"


async def test_a_hundred_thousand_nested_arrays_hit_max_depth() -> None:
    deep = '{"name": ' + "[" * 100_000

    async def respond(writer: Writer, headers: dict[str, str]) -> None:
        await writer.start_chunked()
        for start in range(0, len(deep), 5000):
            await writer.chunk(frame(content_chunk(deep[start : start + 5000])))
        await writer.chunk(frame(content_chunk(finish="stop")) + frame("[DONE]"))
        await writer.end_chunked()

    async with raw_server(respond) as (url, _log):
        error, peak, busy = await consume(url)
    assert type(error) is streamstruct.JSONDepthError
    assert "1000" in str(error)
    assert error.offset == len('{"name": ') + 999  # the bracket one level too deep (root: 1)
    assert error.text.startswith('{"name": [[[')
    assert busy == 0
    assert peak < 16 * MiB


async def test_a_one_gigabyte_response_is_cut_off_at_max_response_bytes() -> None:
    block = b"".join(frame(content_chunk("x" * 1000)) for _ in range(60))  # ~64 KiB of events
    gigabyte = 1024 * MiB

    async def respond(writer: Writer, headers: dict[str, str]) -> None:
        await writer.start_chunked()
        await writer.chunk(frame(content_chunk('{"name": "')))
        while writer.connection.sent < gigabyte:
            await writer.chunk(block)
        await writer.chunk(frame(content_chunk('"}', finish="stop")) + frame("[DONE]"))
        await writer.end_chunked()

    limit = 4 * MiB
    async with raw_server(respond) as (url, log):
        with anyio.fail_after(20):
            error, peak, busy = await consume(url, max_response_bytes=limit)
        await gone_promptly(log)
    assert type(error) is streamstruct.ResponseTooLargeError
    assert error.limit == limit
    assert busy == 0
    assert log.last.sent < 64 * MiB, f"the server wrote {log.last.sent / MiB:.0f} MiB"
    assert peak < 16 * limit, f"peak {peak / MiB:.1f} MiB for a {limit / MiB:.0f} MiB limit"


async def test_the_limits_are_documented_defaults() -> None:
    client = streamstruct.AsyncClient(api_key=KEY, base_url="http://127.0.0.1:9/v1")
    async with client:
        assert client.max_response_bytes == 256 * MiB
        assert client.max_depth == 1000
        assert client.deadline is None
        assert client.timeout.connect == 10.0
        assert client.timeout.read == 60.0
        assert client.max_retries == 2
    doc = (Path(__file__).parents[2] / "docs" / "reliability.md").read_text()
    for needle in (
        "`max_response_bytes`",
        "256 MiB",
        "`max_depth`",
        "| 1000 |",
        "8 MiB",
        "`deadline`",
    ):
        assert needle in doc
