"""Helpers shared by the ``test_reliability_*`` modules (not a test module itself).

* :func:`raw_server`: a small HTTP/1.1 server on 127.0.0.1, written here with anyio (so it runs
  on asyncio and trio), that answers each request with a handler and records, per connection,
  how many bytes it wrote and *when it learnt that the client went away* (the peer closed, or a
  write failed) - what the cancellation tests assert server-side.
* :func:`checked_out`: how many connections of an httpx pool are in use (a request holds them),
  so that every test can assert the pool is back to zero after an error or an early exit.
* :class:`Leaks`: a snapshot of tasks, threads and open file descriptors to compare with later.
"""

from __future__ import annotations

import gc
import json
import os
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

import anyio
import anyio.abc
import httpx
import pytest

import streamstruct
from streamstruct._io import _pool

KEY = "sk-reliability-SECRET-4d2e9f81c7a3"
MESSAGES = [{"role": "user", "content": "Make up a person."}]


# -- the flavours: the async client on asyncio and on trio, and the sync client ------------------
#
# A test module that imports ``flavour`` and ``anyio_backend`` from here runs each test three
# times; its ``anyio_backend`` overrides conftest's, so the sync flavour gets an event loop too.


@pytest.fixture(params=["asyncio", "trio", "sync"])
def flavour(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def anyio_backend(flavour: str) -> str:
    """The async client on asyncio and on trio, and the sync client (whose loop is its own)."""
    return "asyncio" if flavour == "sync" else flavour


# -- the raw server --------------------------------------------------------------------------------


#: For tests of the client's own connection pool, used only with the httpcore it was written for.
needs_pool = pytest.mark.skipif(
    not _pool.POOL_FITS, reason="another httpcore: the client keeps httpcore's own pool"
)


@dataclass
class Connection:
    """One accepted connection, as the server saw it."""

    opened_at: float
    sent: int = 0
    gone_at: float | None = None  # when the server learnt that the client had gone
    requests: list[dict[str, str]] = field(default_factory=list)
    gone: anyio.Event = field(default_factory=anyio.Event)

    def left(self) -> None:
        if self.gone_at is None:
            self.gone_at = anyio.current_time()
        self.gone.set()

    async def wait_gone(self, within: float) -> float:
        """Wait until the server learns that the client went away; return how long after now."""
        started = anyio.current_time()
        with anyio.fail_after(within):
            await self.gone.wait()
        return anyio.current_time() - started


@dataclass
class ServerLog:
    connections: list[Connection] = field(default_factory=list)

    @property
    def last(self) -> Connection:
        return self.connections[-1]


class Writer:
    """What a handler writes with: counts bytes and notes a failed write as the client leaving."""

    def __init__(self, stream: anyio.abc.ByteStream, connection: Connection) -> None:
        self._stream = stream
        self.connection = connection

    async def send(self, data: bytes) -> None:
        try:
            await self._stream.send(data)
        except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
            self.connection.left()
            raise
        self.connection.sent += len(data)

    async def chunk(self, data: bytes) -> None:
        await self.send(b"%x\r\n%s\r\n" % (len(data), data))

    async def start_chunked(self, content_type: str = "text/event-stream") -> None:
        await self.send(
            f"HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\n"
            "transfer-encoding: chunked\r\n\r\n".encode()
        )

    async def end_chunked(self) -> None:
        await self.send(b"0\r\n\r\n")


Handler = Callable[[Writer, dict[str, str]], Awaitable[None]]


@asynccontextmanager
async def serve_tcp(
    handle: Callable[[anyio.abc.SocketStream], Awaitable[None]],
) -> AsyncIterator[str]:
    """Serve ``handle`` for each connection on 127.0.0.1 (a free port) until the block ends;
    yields ``http://127.0.0.1:PORT``. The tests' own small HTTP servers all stand on this."""
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    port = listener.extra(anyio.abc.SocketAttribute.local_port)
    async with listener, anyio.create_task_group() as tasks:
        tasks.start_soon(listener.serve, handle)
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            tasks.cancel_scope.cancel()


async def receive_head(stream: anyio.abc.ByteStream, buffer: bytes) -> tuple[bytes, bytes]:
    """Receive until ``buffer`` holds a whole request head: (the head, what came after it)."""
    while b"\r\n\r\n" not in buffer:
        buffer += await stream.receive()
    head, _, rest = buffer.partition(b"\r\n\r\n")
    return head, rest


@asynccontextmanager
async def serve_kept_alive(
    respond: Callable[[anyio.abc.SocketStream, bytes], Awaitable[bool]],
    *,
    on_connect: Callable[[], None] | None = None,
    on_close: Callable[[], None] | None = None,
) -> AsyncIterator[str]:
    """An HTTP/1.1 server on 127.0.0.1 that keeps its connections: for each request (its body read
    by ``content-length`` and dropped) ``respond(client, head)`` answers, and says whether the
    connection goes on. Yields the base URL."""

    async def handle(client: anyio.abc.SocketStream) -> None:
        if on_connect is not None:
            on_connect()
        buffer = b""
        async with client:
            try:
                while True:
                    head, buffer = await receive_head(client, buffer)
                    length = next(
                        (
                            int(line.split(b":", 1)[1])
                            for line in head.lower().split(b"\r\n")
                            if line.startswith(b"content-length:")
                        ),
                        0,
                    )
                    while len(buffer) < length:
                        buffer += await client.receive()
                    buffer = buffer[length:]
                    if not await respond(client, head):
                        break
            except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError):
                pass
        if on_close is not None:
            on_close()

    async with serve_tcp(handle) as base_url:
        yield base_url


async def _read_head(stream: anyio.abc.ByteStream) -> dict[str, str] | None:
    """The request's headers, its body read and dropped; ``None`` if the client left first."""
    try:
        return await _read_request(stream)
    except (anyio.EndOfStream, anyio.BrokenResourceError, OSError):
        return None


async def _read_request(stream: anyio.abc.ByteStream) -> dict[str, str]:
    buffer = b""
    while b"\r\n\r\n" not in buffer:
        buffer += await stream.receive()
    head, _, rest = buffer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {":target": lines[0].split(" ")[1], ":head": head.decode("latin-1")}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        rest += await stream.receive()
    return headers


@asynccontextmanager
async def raw_server(handler: Handler) -> AsyncIterator[tuple[str, ServerLog]]:
    """Serve one request per connection on 127.0.0.1 until the block ends; yield the base URL.

    While the handler writes, a second task waits on the socket: a client that closes its end is
    noticed at once (``EndOfStream``), not only at the next failed write.
    """
    log = ServerLog()

    async def handle(client: anyio.abc.SocketStream) -> None:
        connection = Connection(opened_at=anyio.current_time())
        log.connections.append(connection)
        async with client:
            headers = await _read_head(client)
            if headers is None:  # the client left before its request was complete
                connection.left()
                return
            connection.requests.append(headers)
            writer = Writer(client, connection)
            async with anyio.create_task_group() as tasks:

                async def watch() -> None:
                    try:
                        while await client.receive():
                            pass
                    except (anyio.EndOfStream, anyio.BrokenResourceError, OSError):
                        pass
                    connection.left()
                    tasks.cancel_scope.cancel()

                tasks.start_soon(watch)
                with suppress(anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
                    await handler(writer, headers)
                tasks.cancel_scope.cancel()

    async with serve_tcp(handle) as base_url:
        yield f"{base_url}/v1", log


def frame(payload: object) -> bytes:
    data = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
    return f"data: {data}\n\n".encode()


def content_chunk(content: str | None = None, finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-r",
        "object": "chat.completion.chunk",
        "choices": [
            {
                "index": 0,
                "delta": {} if content is None else {"content": content},
                "finish_reason": finish,
            }
        ],
    }


async def endless(writer: Writer, headers: dict[str, str], *, interval: float = 0.005) -> None:
    """A 200 stream whose object never ends: a string that grows forever, a little at a time."""
    await writer.start_chunked()
    await writer.chunk(frame(content_chunk('{"name": "')))
    while True:
        await writer.chunk(frame(content_chunk("lalala " * 8)))
        await anyio.sleep(interval)


# -- the pool, tasks, threads, descriptors ---------------------------------------------------------


def checked_out(http: httpx.AsyncClient) -> int:
    """Connections of ``http``'s pool in use: the requests the pool is serving or queueing (each
    holds a connection until its response is closed), or the connections not idle, if more."""
    pool = http._transport._pool  # type: ignore[attr-defined]
    busy = [c for c in pool.connections if not c.is_idle() and not c.is_closed()]
    return max(len(pool._requests), len(busy))


def pool_of(client: streamstruct.AsyncClient | streamstruct.Client) -> httpx.AsyncClient:
    if isinstance(client, streamstruct.Client):
        return client._async._http
    return client._http


# Worker-thread pools that outlive a call by design (idle workers are reused, then time out):
# asyncio's default executor and trio's thread cache resolve host names, anyio's runs to_thread.
_POOLED = ("asyncio_", "Trio thread", "AnyIO worker thread", "ThreadPoolExecutor")


def own_threads() -> set[int]:
    """The idents of the live threads, pooled worker threads left out."""
    return {t.ident or 0 for t in threading.enumerate() if not t.name.startswith(_POOLED)}


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _serving(name: str) -> bool:
    """A task of a test's own server (its listeners and connection handlers), not the client's."""
    return "raw_server" in name or "Listener.serve" in name


@dataclass
class Leaks:
    """Tasks, threads and descriptors now; :meth:`check` compares with a later moment."""

    tasks: int
    threads: set[int]
    fds: int

    @classmethod
    def now(cls) -> Leaks:
        """Taken with no garbage collection: compare after the same, with :meth:`check`."""
        try:
            tasks = len([t for t in anyio.get_running_tasks() if not _serving(t.name)])
        except RuntimeError:
            tasks = 0
        return cls(tasks, own_threads(), open_fds())

    async def check(self, *, fd_slack: int = 0) -> None:
        # Give closing tasks scheduled by finalizers a moment to run.
        for attempt in range(100):
            if attempt % 20 == 10:  # costly in a big test process: only when it seems needed
                gc.collect()
            await anyio.sleep(0.002 if attempt < 10 else 0.01)
            after = Leaks.now()
            if (
                after.tasks <= self.tasks
                and after.threads <= self.threads
                and after.fds <= self.fds + fd_slack
            ):
                return
        assert after.tasks <= self.tasks, f"tasks: {self.tasks} before, {after.tasks} after"
        assert after.threads <= self.threads, "a thread was left behind"
        assert after.fds <= self.fds + fd_slack, f"fds: {self.fds} before, {after.fds} after"
