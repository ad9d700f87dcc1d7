"""Two ways to put the simulator behind an httpx client: a real server, and an in-process stream.

* :func:`serve` runs uvicorn on ``127.0.0.1`` on a free port in a background thread (its own
  asyncio loop, whatever the test runs on) and yields the base URL. Real sockets mean real
  chunked transfer encoding, real dropped connections and real read timeouts - and any client,
  in any language, can connect. uvicorn is the optional ``streamstruct[sim]`` extra, imported
  only here and only when a server starts.
* :class:`StreamingASGITransport` runs the app inside the task that reads the response, handing
  each ``http.response.body`` message to the client as it is sent. ``httpx.ASGITransport`` runs
  the app to completion and buffers the whole body before returning the response, so a client
  can never observe the stream arrive piece by piece, a stall hangs ``send()`` and a dropped
  connection fails ``send()`` rather than the read. This transport fixes all three with no
  extra dependency and no sockets, on asyncio and trio.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
import types
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Generator
from typing import TYPE_CHECKING, Any, Final, final

import anyio
import anyio.to_thread
import httpx

from ._simulator import Message, Scope, SimulatedDisconnect

if TYPE_CHECKING:
    import uvicorn

__all__ = ["ServedSimulator", "StreamingASGITransport", "serve"]

ASGIApp = Callable[
    [Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]
]

_STARTUP_TIMEOUT: Final = 10.0
_SHUTDOWN_TIMEOUT: Final = 10.0


# ---------------------------------------------------------------------------------------------
# serve(): uvicorn on loopback.
# ---------------------------------------------------------------------------------------------


class _HideSimulatedDisconnects(logging.Filter):
    """Keep uvicorn from logging a :class:`SimulatedDisconnect` as an application crash.

    Raising is how the app asks the server to drop the socket mid-body; uvicorn logs every
    exception that escapes an app with its traceback, which would bury real errors in noise.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, SimulatedDisconnect)


_FILTER: Final = _HideSimulatedDisconnects()


@final
class ServedSimulator:
    """A running uvicorn server for one ASGI app; a context manager, sync or async.

    Entering starts the server and returns the base URL (``http://127.0.0.1:PORT/v1``), which
    is also :attr:`url`; leaving stops it and joins its thread. The async form does the blocking
    start and stop in a worker thread, so it does not stall the event loop.
    """

    def __init__(self, app: ASGIApp) -> None:
        self._app = app
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self.url: str = ""
        """The base URL to give an OpenAI-compatible client, set once started."""

    def __enter__(self) -> str:
        self._start()
        return self.url

    def __exit__(self, *exc_info: object) -> None:
        self._stop()

    async def __aenter__(self) -> str:
        await anyio.to_thread.run_sync(self._start)
        return self.url

    async def __aexit__(self, *exc_info: object) -> None:
        await anyio.to_thread.run_sync(self._stop)

    def _start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("this server is already running; call serve() again for another")
        try:
            import uvicorn
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError(
                "serving the simulator needs uvicorn: pip install 'streamstruct[sim]'"
            ) from exc

        logging.getLogger("uvicorn.error").addFilter(_FILTER)  # idempotent
        # Bind the socket ourselves: port 0 picks a free port, and we know it before starting.
        # IPPROTO_TCP said explicitly: asyncio turns TCP_NODELAY on only for sockets that say so,
        # and without it every request on a reused connection waits ~40 ms (Nagle + delayed ACK).
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        config = uvicorn.Config(
            self._app,
            interface="asgi3",
            http="h11",
            ws="none",
            lifespan="off",
            log_config=None,  # leave the host's logging alone
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=1,  # a client that left mid-stream must not block exit
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=server.run,
            kwargs={"sockets": [sock]},
            name=f"streamstruct-simulator-{port}",
            daemon=True,
        )
        thread.start()
        deadline = time.monotonic() + _STARTUP_TIMEOUT
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                server.should_exit = True
                thread.join(_SHUTDOWN_TIMEOUT)
                sock.close()
                raise RuntimeError("the simulator's uvicorn server did not start")
            time.sleep(0.005)
        self._server, self._thread, self._socket = server, thread, sock
        self.url = f"http://127.0.0.1:{port}/v1"

    def _stop(self) -> None:
        server, thread, sock = self._server, self._thread, self._socket
        self._server = self._thread = self._socket = None
        if server is not None:
            server.should_exit = True
        if thread is not None:
            thread.join(_SHUTDOWN_TIMEOUT)
        if sock is not None:
            sock.close()


def serve(app: ASGIApp) -> ServedSimulator:
    """Serve ``app`` (normally a :class:`~streamstruct.testing.Simulator`) on 127.0.0.1.

    ::

        with serve(simulator) as base_url:            # or: async with serve(simulator) as ...
            client = openai.OpenAI(base_url=base_url, api_key="sk-sim")

    The port is free and chosen by the OS; the server runs in a daemon thread with its own
    asyncio loop, so it works the same under asyncio, trio or no event loop at all.
    """
    return ServedSimulator(app)


# ---------------------------------------------------------------------------------------------
# StreamingASGITransport: the app stepped inside the reader's task.
# ---------------------------------------------------------------------------------------------


@final
class _Outgoing:
    """What the app's ``send`` yields up the await chain, to be caught by :class:`_AppRunner`."""

    __slots__ = ("message",)

    def __init__(self, message: Message) -> None:
        self.message = message


@types.coroutine
def _hand_over(message: Message) -> Generator[Any, Any, None]:
    yield _Outgoing(message)


@final
class _AppRunner:
    """Drive an ASGI app coroutine by hand, one sent message at a time.

    ``next_message()`` resumes the app until it calls ``send``; everything the app awaits in
    between (sleeps, receives) is passed through to the event loop of whoever is waiting, so
    timeouts and cancellation of the reader reach the app. No task is spawned: the app only runs
    while somebody reads, like a server writing into a full socket buffer. The price: the app
    must not hold a cancel scope or task group across ``send`` (the simulator never does).
    """

    def __init__(self, coro: Coroutine[Any, Any, None]) -> None:
        self._coro = coro
        self.finished = False

    def next_message(self) -> Awaitable[Message | None]:
        """The next message the app sends, or ``None`` once the app has returned."""
        return _Step(self)

    def close(self) -> None:
        if not self.finished:
            self.finished = True
            self._coro.close()

    def _advance(self) -> Generator[Any, Any, Message | None]:
        if self.finished:
            return None
        value: Any = None
        error: BaseException | None = None
        while True:
            try:
                yielded = self._coro.throw(error) if error is not None else self._coro.send(value)
            except StopIteration:
                self.finished = True
                return None
            except BaseException:
                self.finished = True
                raise
            if isinstance(yielded, _Outgoing):
                return yielded.message
            try:
                value, error = (yield yielded), None
            except BaseException as exc:  # cancellation and the like: deliver it to the app
                value, error = None, exc


@final
class _Step:
    __slots__ = ("_runner",)

    def __init__(self, runner: _AppRunner) -> None:
        self._runner = runner

    def __await__(self) -> Generator[Any, Any, Message | None]:
        return self._runner._advance()


@final
class _StreamingBody(httpx.AsyncByteStream):
    def __init__(self, runner: _AppRunner, read_timeout: float | None) -> None:
        self._runner = runner
        self._read_timeout = read_timeout
        self._complete = False

    # An iterator class rather than an async generator: httpx drops the iterator of a response it
    # closes early, and an abandoned async generator makes trio warn (ResourceWarning).
    def __aiter__(self) -> AsyncIterator[bytes]:
        return self

    async def __anext__(self) -> bytes:
        while not self._complete:
            message = await self._next()
            if message is None:  # returned without finishing the body: as uvicorn, drop it
                raise SimulatedDisconnect()
            if message["type"] != "http.response.body":
                continue
            self._complete = not message.get("more_body", False)
            body = bytes(message.get("body", b""))
            if body:
                return body
        raise StopAsyncIteration

    async def _next(self) -> Message | None:
        if self._read_timeout is None:
            return await self._runner.next_message()
        try:
            with anyio.fail_after(self._read_timeout):
                return await self._runner.next_message()
        except TimeoutError:
            self._runner.close()
            raise httpx.ReadTimeout("timed out waiting for the simulated server") from None

    async def aclose(self) -> None:
        self._runner.close()


@final
class StreamingASGITransport(httpx.AsyncBaseTransport):
    """An httpx transport that streams an ASGI app's response as the app produces it.

    ``httpx.AsyncClient(transport=StreamingASGITransport(simulator))``. Unlike
    ``httpx.ASGITransport``, the response returns as soon as the app has sent its headers, and
    each body message reaches the client when sent: ``delay`` is observable between deltas, a
    :class:`~streamstruct.testing.Stall` trips the client's read timeout (``httpx.ReadTimeout``)
    and a :class:`~streamstruct.testing.Disconnect` fails the read mid-stream with
    ``httpx.RemoteProtocolError``. Any other exception from the app propagates as it is.

    The app runs in the reading task, only while the client reads (see :class:`_AppRunner`), so
    it must not keep a cancel scope or task group open across ``send``; the simulator doesn't.
    After the request body, the app's ``receive()`` waits until the response is closed.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        scope: Scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": request.method,
            "scheme": request.url.scheme,
            "path": request.url.path,
            "raw_path": request.url.raw_path.split(b"?")[0],
            "query_string": request.url.query,
            "root_path": "",
            "headers": [(k.lower(), v) for k, v in request.headers.raw],
            "client": ("127.0.0.1", 123),
            "server": (request.url.host, request.url.port),
        }
        delivered = False

        async def receive() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            await anyio.sleep_forever()  # the app is closed (GeneratorExit) with the response
            raise AssertionError("unreachable")  # pragma: no cover

        coro = self.app(scope, receive, _hand_over)
        if not isinstance(coro, Coroutine):
            raise TypeError("StreamingASGITransport needs an `async def` ASGI application")
        runner = _AppRunner(coro)
        timeouts = request.extensions.get("timeout", {})
        read_timeout = timeouts.get("read")
        stream = _StreamingBody(runner, read_timeout)
        start = await stream._next()
        if start is None or start["type"] != "http.response.start":
            runner.close()
            raise RuntimeError("the ASGI app did not start a response")
        headers = [(bytes(k), bytes(v)) for k, v in start.get("headers", ())]
        return httpx.Response(int(start["status"]), headers=headers, stream=stream, request=request)
