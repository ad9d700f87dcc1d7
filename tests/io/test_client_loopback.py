"""Over a real TCP socket on 127.0.0.1, against a small HTTP/1.1 server written here by hand.

The server (anyio, so it runs on asyncio and trio) answers with ``Transfer-Encoding: chunked`` and
sends the SSE body slowly, in small chunks whose boundaries fall inside SSE lines and inside
multi-byte UTF-8 characters, or misbehaves on purpose: closes the socket mid-body, stalls, never
answers. Nothing between the client and the bytes is simulated: this is httpx and httpcore on a
socket. The API key's secrecy (reprs, errors, DEBUG logs of httpx and httpcore) is checked here too,
where those libraries log the most.

Border: what only a real socket shows (chunked framing, cuts inside lines and characters, a peer
that closes or stalls, the libraries' logs); the same shapes over a mock are in ``test_client_http.py``.
"""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio
import anyio.abc
import anyio.to_thread
import httpx
import pytest
import web_support
from reliability_support import serve_tcp
from shared_support import UserWithBio as User

import streamstruct
from streamstruct import Mode

pytestmark = pytest.mark.anyio

KEY = "sk-loopback-7f3a9c2e5b1d"
MESSAGES = [{"role": "user", "content": "Make up a person."}]
ZOE = {"name": "Zoë 🦊 Müller", "age": 41, "bio": "naïve café — «quoted» 日本語 {and} [more]"}
ZOE_JSON = json.dumps(ZOE, ensure_ascii=False, separators=(",", ":"))


# -- the server ------------------------------------------------------------------------------------


@dataclass
class Request:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Seen:
    """What the server saw: every request, and how many connections were opened."""

    requests: list[Request] = field(default_factory=list)
    connections: int = 0


Respond = Callable[[anyio.abc.ByteStream, Request], Awaitable[bool]]
"""Answer one request; return whether to keep the connection open for the next one."""


async def read_request(stream: anyio.abc.ByteStream, buffer: bytearray) -> Request | None:
    """One HTTP/1.1 request (``None`` when the client closed the connection between requests)."""
    while b"\r\n\r\n" not in buffer:
        try:
            buffer += await stream.receive()
        except anyio.EndOfStream:
            return None
    head, _, rest = bytes(buffer).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, target, _version = lines[0].split(" ")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    body = bytearray(rest)
    while len(body) < length:
        body += await stream.receive()
    buffer[:] = body[length:]
    return Request(method, target, headers, bytes(body[:length]))


@asynccontextmanager
async def http_server(respond: Respond) -> AsyncIterator[tuple[str, Seen]]:
    """Serve on 127.0.0.1 (a free port) until the block ends; yields the base URL."""
    seen = Seen()

    async def handle(client: anyio.abc.SocketStream) -> None:
        seen.connections += 1
        buffer = bytearray()
        async with client:
            try:
                while True:
                    request = await read_request(client, buffer)
                    if request is None:
                        return
                    seen.requests.append(request)
                    if not await respond(client, request):
                        return
            except (anyio.BrokenResourceError, anyio.ClosedResourceError, anyio.EndOfStream):
                return  # the client hung up: nothing more to say

    async with serve_tcp(handle) as base_url:
        yield f"{base_url}/v1", seen


def frame(payload: object) -> bytes:
    data = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
    return f"data: {data}\n\n".encode()


def delta(content: str | None = None, finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "choices": [
            {
                "index": 0,
                "delta": {} if content is None else {"content": content},
                "finish_reason": finish,
            }
        ],
    }


def sse_body(text: str, *, size: int = 3, done: bool = True) -> bytes:
    """A content answer: ``text`` in deltas of ``size`` characters, the finish, usage, [DONE]."""
    frames = [frame(delta(text[i : i + size])) for i in range(0, len(text), size)]
    frames.append(frame(delta(finish="stop")))
    usage = {"prompt_tokens": 9, "completion_tokens": 30, "total_tokens": 39}
    frames.append(frame({"id": "chatcmpl-1", "choices": [], "usage": usage}))
    if done:
        frames.append(frame("[DONE]"))
    return b"".join(frames)


async def start_chunked(stream: anyio.abc.ByteStream, status: str = "200 OK") -> None:
    await stream.send(
        f"HTTP/1.1 {status}\r\n"
        "content-type: text/event-stream; charset=utf-8\r\n"
        "transfer-encoding: chunked\r\n"
        "x-request-id: req_loopback\r\n"
        "\r\n".encode()
    )


async def send_chunks(
    stream: anyio.abc.ByteStream, pieces: Sequence[bytes], *, delay: float = 0.001
) -> None:
    """Each piece as one chunk of the chunked encoding, with a pause after each."""
    for piece in pieces:
        await stream.send(b"%x\r\n%s\r\n" % (len(piece), piece))
        await anyio.sleep(delay)


async def end_chunks(stream: anyio.abc.ByteStream) -> None:
    await stream.send(b"0\r\n\r\n")


async def send_json(stream: anyio.abc.ByteStream, status: str, body: object) -> None:
    data = json.dumps(body, ensure_ascii=False).encode()
    await stream.send(
        f"HTTP/1.1 {status}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(data)}\r\nx-request-id: req_json\r\n\r\n".encode()
        + data
    )


def completion(text: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
        ],
    }


# -- the client side, async or sync ----------------------------------------------------------------


@pytest.fixture(params=["async", "sync"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def stream_partials(
    kind: str, url: str, **options: Any
) -> tuple[list[Any], list[float], Any, Any]:
    """(snapshots, their arrival times, the final model, the stream) from ``create_partial``
    with the async client, or with the sync one running in a worker thread."""
    options = {"api_key": KEY, "base_url": url, "mode": Mode.JSON_SCHEMA, **options}
    request = {"model": "m", "response_model": User, "messages": MESSAGES}
    if kind == "sync":

        def run() -> tuple[list[Any], list[float], Any, Any]:
            with streamstruct.Client(**options) as client:
                stream = client.chat.completions.create_partial(**request)
                snapshots, times = [], []
                for partial in stream:
                    snapshots.append(partial)
                    times.append(time.monotonic())
                return snapshots, times, stream.get_final(), stream

        return await anyio.to_thread.run_sync(run)
    async with streamstruct.AsyncClient(**options) as client:
        stream = client.chat.completions.create_partial(**request)
        snapshots, times = [], []
        async for partial in stream:
            snapshots.append(partial)
            times.append(time.monotonic())
        return snapshots, times, await stream.get_final(), stream


# -- a slow, chunked stream ------------------------------------------------------------------------


async def test_a_slow_chunked_stream_split_inside_lines_and_characters(kind: str) -> None:
    body = sse_body(ZOE_JSON, size=4)
    pieces = web_support.cut(body, (1, 2, 3, 5, 7, 11, 13, 17, 31, 64, 97))
    # The splits this test is about, checked rather than assumed: a chunk boundary inside a
    # multi-byte character, one inside an SSE line, one between an event's two newlines.
    boundaries = [sum(len(p) for p in pieces[:n]) for n in range(1, len(pieces))]
    assert any(body[b] & 0xC0 == 0x80 for b in boundaries)
    assert any(b"\n" not in body[b - 1 : b + 1] for b in boundaries)
    assert any(body[b - 1 : b + 1] == b"\n\n" for b in boundaries)

    async def respond(stream: anyio.abc.ByteStream, request: Request) -> bool:
        await start_chunked(stream)
        await send_chunks(stream, pieces)
        await end_chunks(stream)
        return True

    async with http_server(respond) as (url, seen):
        started = time.monotonic()
        snapshots, times, final, stream = await stream_partials(kind, url)
        elapsed = time.monotonic() - started

    assert final == User(**ZOE)
    assert snapshots[-1].model_dump() == ZOE
    assert len(snapshots) > 10
    for snapshot in snapshots:
        assert snapshot.name is None or ZOE["name"].startswith(snapshot.name)
        assert snapshot.bio is None or ZOE["bio"].startswith(snapshot.bio)
        assert snapshot.age in (None, 41)
    # They arrived as the server sent them, spread over the whole response.
    assert times[-1] - times[0] > elapsed / 4
    assert stream.text == ZOE_JSON
    assert stream.usage == streamstruct.Usage(9, 30, 39)
    assert stream.request_id == "req_loopback"

    [request] = seen.requests
    assert request.method == "POST"
    assert request.target == "/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.headers["content-type"] == "application/json"
    sent = request.json()
    assert sent["stream"] is True
    assert sent["stream_options"] == {"include_usage": True}
    assert sent["response_format"]["type"] == "json_schema"


async def test_the_server_closing_the_socket_mid_stream(kind: str) -> None:
    body = sse_body(ZOE_JSON)
    cut = len(body) // 2

    async def respond(stream: anyio.abc.ByteStream, request: Request) -> bool:
        await start_chunked(stream)
        await send_chunks(stream, web_support.cut(body[:cut], (9, 40)))
        return False  # and the socket closes, the chunked body unfinished

    async with http_server(respond) as (url, seen):
        with pytest.raises(streamstruct.StreamInterruptedError) as caught:
            await stream_partials(kind, url, max_retries=2)

    error = caught.value
    assert error.text
    assert ZOE_JSON.startswith(error.text)
    assert error.text != ZOE_JSON
    assert error.partial is not None
    assert ZOE["name"].startswith(error.partial.name)
    assert error.partial.bio is None or ZOE["bio"].startswith(error.partial.bio)
    assert isinstance(error.__cause__, httpx.RemoteProtocolError)
    assert len(seen.requests) == 1  # the body had begun: never retried


async def test_a_stall_mid_body_is_a_timeout_with_what_came() -> None:
    body = sse_body(ZOE_JSON)
    half = len(body) // 2

    async def respond(stream: anyio.abc.ByteStream, request: Request) -> bool:
        await start_chunked(stream)
        await send_chunks(stream, [body[:half]])
        await anyio.sleep(5)  # silence, far past the client's read timeout
        return False

    async with (
        http_server(respond) as (url, seen),
        streamstruct.AsyncClient(
            api_key=KEY, base_url=url, mode="json_schema", timeout=0.2
        ) as client,
    ):
        stream = client.chat.completions.create_partial(
            model="m", response_model=User, messages=MESSAGES
        )
        started = anyio.current_time()
        with anyio.fail_after(3), pytest.raises(streamstruct.APITimeoutError) as caught:
            async for _ in stream:
                pass
        waited = anyio.current_time() - started
    assert 0.15 < waited < 1.5
    assert caught.value.text
    assert ZOE_JSON.startswith(caught.value.text)
    assert caught.value.partial is not None
    assert len(seen.requests) == 1


async def test_a_server_that_never_answers_times_out_and_is_retried() -> None:
    async def respond(stream: anyio.abc.ByteStream, request: Request) -> bool:
        await anyio.sleep(5)  # no status line, ever
        return False

    async with (
        http_server(respond) as (url, seen),
        streamstruct.AsyncClient(
            api_key=KEY, base_url=url, timeout=0.15, max_retries=1, backoff=0.0
        ) as client,
    ):
        with anyio.fail_after(3), pytest.raises(streamstruct.APITimeoutError) as caught:
            await client.chat.completions.create(model="m", response_model=User, messages=MESSAGES)
    assert caught.value.attempts == 2
    assert len(seen.requests) == 2


async def test_nobody_listening_is_an_api_connection_error() -> None:
    with socket.socket() as probe:  # a port that was free a moment ago, closed again
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with streamstruct.AsyncClient(
        api_key=KEY, base_url=f"http://127.0.0.1:{port}/v1", max_retries=1, backoff=0.0
    ) as client:
        with pytest.raises(streamstruct.APIConnectionError) as caught:
            await client.chat.completions.create(model="m", response_model=User, messages=MESSAGES)
    assert type(caught.value) is streamstruct.APIConnectionError
    assert caught.value.attempts == 2
    assert f"127.0.0.1:{port}" in str(caught.value)


async def test_a_complete_stream_gives_its_connection_back_for_the_next_request() -> None:
    # The server keeps connections alive. A stream read to its end ([DONE] and the end of the
    # chunked body) leaves the connection reusable: the next request needs no new connection
    # (nor, against a real API, a new TLS handshake).
    body = sse_body(ZOE_JSON, size=8)

    async def respond(stream: anyio.abc.ByteStream, request: Request) -> bool:
        await start_chunked(stream)
        await send_chunks(stream, web_support.cut(body, (64,)), delay=0)
        await end_chunks(stream)
        return True

    async with (
        http_server(respond) as (url, seen),
        streamstruct.AsyncClient(api_key=KEY, base_url=url, mode="json_schema") as client,
    ):
        for _ in range(3):
            stream = client.chat.completions.create_partial(
                model="m", response_model=User, messages=MESSAGES
            )
            assert await stream.get_final() == User(**ZOE)
    assert len(seen.requests) == 3
    assert seen.connections == 1


# -- the API key stays secret ----------------------------------------------------------------------


async def test_the_api_key_stays_out_of_reprs_errors_and_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore", "streamstruct"):
        caplog.set_level(logging.DEBUG, logger=name)
    body = sse_body(ZOE_JSON)
    answers = iter(["json", "cut", "error", "error", "stall"])

    async def respond(stream: anyio.abc.ByteStream, request: Request) -> bool:
        what = next(answers)
        if what == "json":
            await send_json(stream, "200 OK", completion(ZOE_JSON))
            return True
        if what == "error":
            error = {"message": "Overloaded.", "type": "server_error", "param": None, "code": None}
            await send_json(stream, "503 Service Unavailable", {"error": error})
            return True
        await start_chunked(stream)
        await send_chunks(stream, [body[: len(body) // 2]])
        if what == "stall":
            await anyio.sleep(5)
        return False

    errors: list[BaseException] = []
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    async with http_server(respond) as (url, seen):
        client = streamstruct.AsyncClient(
            api_key=KEY, base_url=url, mode="json_schema", timeout=0.2, max_retries=1, backoff=0.0
        )
        async with client:
            assert KEY not in repr(client)
            assert KEY not in str(vars(client))
            assert await client.chat.completions.create(
                model="m", response_model=User, messages=MESSAGES
            ) == User(**ZOE)
            for expected in (
                streamstruct.StreamInterruptedError,  # the socket closed mid-body
                streamstruct.InternalServerError,  # 503, retried once, then given up
                streamstruct.APITimeoutError,  # the stream stalled
            ):
                stream = client.chat.completions.create_partial(
                    model="m", response_model=User, messages=MESSAGES
                )
                with pytest.raises(expected) as caught:
                    async for _ in stream:
                        pass
                errors.append(caught.value)
        unreachable = streamstruct.AsyncClient(
            api_key=KEY, base_url=f"http://127.0.0.1:{closed_port}/v1", max_retries=0
        )
        async with unreachable:
            with pytest.raises(streamstruct.APIConnectionError) as refused:
                await unreachable.chat.completions.create(
                    model="m", response_model=User, messages=MESSAGES
                )
            errors.append(refused.value)

    sync_client = await anyio.to_thread.run_sync(
        lambda: streamstruct.Client(api_key=KEY, base_url=url)
    )
    try:
        assert KEY not in repr(sync_client)
        assert KEY not in str(vars(sync_client))
    finally:
        await anyio.to_thread.run_sync(sync_client.close)

    assert len(seen.requests) == 5
    assert all(r.headers["authorization"] == f"Bearer {KEY}" for r in seen.requests)
    assert len(errors) == 4
    for error in errors:
        assert KEY not in str(error)
        assert KEY not in repr(error)
        assert all(KEY not in str(arg) for arg in error.args)
    # httpx and httpcore did log the requests, at DEBUG and INFO, with no key in them
    assert any(record.name.startswith("httpcore") for record in caplog.records)
    assert any(record.name.startswith("httpx") for record in caplog.records)
    assert KEY not in caplog.text
    for record in caplog.records:
        assert KEY not in record.getMessage()


async def test_an_error_body_that_echoes_the_key_does_not_leak_it(kind: str) -> None:
    # Some servers quote the key they were given in a 401 (OpenAI masks all but a few
    # characters; proxies and self-hosted servers do not always).
    async def respond(stream: anyio.abc.ByteStream, request: Request) -> bool:
        given = request.headers["authorization"].removeprefix("Bearer ")
        error = {
            "message": f"Incorrect API key provided: {given}.",
            "type": "invalid_request_error",
            "param": None,
            "code": "invalid_api_key",
        }
        await send_json(stream, "401 Unauthorized", {"error": error})
        return True

    async with http_server(respond) as (url, seen):
        with pytest.raises(streamstruct.AuthenticationError) as caught:
            await stream_partials(kind, url)
    assert seen.requests
    assert caught.value.status_code == 401
    assert "Incorrect API key provided" in str(caught.value)
    assert KEY not in str(caught.value)
    assert KEY not in repr(caught.value)
