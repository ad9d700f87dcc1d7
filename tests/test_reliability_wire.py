"""Issue 12, answers lost or misread and bounded reads, through a real loopback socket.

Each test plays a server byte by byte (``raw_server``: the status line, the headers and every body
write are the test's own) on asyncio and on trio, and checks what the client makes of it: a
compressed event stream, a Content-Type in capitals, a JSON value written twice, a validation
error in the same read as earlier fields, a huge HTML page, unparseable retry headers, a Groq
in-stream error, and the served simulator stopping when the client leaves.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import anyio
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

import streamstruct

pytestmark = pytest.mark.anyio

DONE = b"data: [DONE]\n\n"


class User(BaseModel):
    name: str
    age: int


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
