"""``Client``: the synchronous API, a thin shim over ``AsyncClient`` through one anyio portal.

One implementation: every sync call runs the async one on an event loop that the client keeps in
a background thread for its lifetime (``anyio.from_thread.start_blocking_portal``). Streams are
adapted item by item — each ``next()`` asks the loop for the next snapshot — so a sync ``for``
loop sees partials in real time, not at the end. A sync iteration that is abandoned (``break``,
an exception, garbage collection) closes the async stream, and so the HTTP response.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Awaitable, Callable, Generator, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, Generic, Literal, TypeVar, final, overload

import httpx
from anyio.from_thread import BlockingPortal, start_blocking_portal
from pydantic import BaseModel
from typing_extensions import Unpack

from .._core._json import DEFAULT_MAX_STRING_CHARS
from .._core._wire import Usage
from .._errors import ClientClosedError, ClientUsageError
from .._model._partial import Partial
from .._request._arguments import check_stream_flag
from .._request._dialects import Api
from .._request._modes import Mode, ModeName
from .._request._options import CallOptions
from .._response._reader import DEFAULT_MAX_RESPONSE_BYTES
from ._client import DEFAULT_MAX_RETRIES, AsyncClient
from ._stream import AsyncIterableStream, AsyncPartialStream, StreamEvent

__all__ = ["Client", "IterableStream", "PartialStream"]

_M = TypeVar("_M", bound=BaseModel)
_T = TypeVar("_T")
_R = TypeVar("_R")


@final
class _Loop:
    """The event loop thread behind one sync client; stopped by ``close()`` or at collection."""

    def __init__(self, backend: str) -> None:
        self._manager: AbstractContextManager[BlockingPortal] | None = start_blocking_portal(
            backend
        )
        self.portal = self._manager.__enter__()
        self._lock = threading.Lock()
        self._thread = self.portal.call(_thread_id)

    def call(self, func: Callable[..., Awaitable[_R]], *args: Any) -> _R:
        if self._manager is None:
            raise ClientClosedError("this Client is closed (close() or the end of its with block)")
        if threading.get_ident() == self._thread:
            # The loop would wait for itself: anyio says so with a bare RuntimeError.
            raise ClientUsageError(
                "a sync Client was called from its own event loop thread (from async code it "
                "runs, such as a custom transport): use an AsyncClient there"
            )
        return self.portal.call(func, *args)

    @property
    def running(self) -> bool:
        return self._manager is not None

    def stop(self) -> None:
        with self._lock:
            manager, self._manager = self._manager, None
        if manager is not None:
            manager.__exit__(None, None, None)


async def _thread_id() -> int:
    return threading.get_ident()


_END = object()


async def _next_or_end(iterator: Any) -> Any:
    try:
        return await iterator.__anext__()
    except StopAsyncIteration:
        return _END


def _iterate(loop: _Loop, make_iterator: Callable[[], Any]) -> Generator[Any, None, None]:
    """Drive an async iterator from sync code, one item per portal call; close it on exit."""
    iterator = loop.call(_make, make_iterator)
    try:
        while True:
            item = loop.call(_next_or_end, iterator)
            if item is _END:
                return
            yield item
    finally:
        # A generator abandoned after its client was closed is finalised with no loop to run
        # on; closing the client closed every connection, so there is nothing left to close.
        aclose = getattr(iterator, "aclose", None)
        if aclose is not None and loop.running:
            loop.call(aclose)


async def _make(make_iterator: Callable[[], Any]) -> Any:
    # Made on the loop's thread, so that the async generator belongs to that loop.
    return make_iterator()


class _SyncStream(Generic[_R]):
    def __init__(self, loop: _Loop, stream: Any) -> None:
        self._loop = loop
        self._stream = stream

    @property
    def usage(self) -> Usage | None:
        """Token usage, once the server sent it."""
        return self._stream.usage  # type: ignore[no-any-return]

    @property
    def finish_reason(self) -> str | None:
        """Why the model stopped, once known."""
        return self._stream.finish_reason  # type: ignore[no-any-return]

    @property
    def text(self) -> str:
        """The raw JSON text received so far."""
        return self._stream.text  # type: ignore[no-any-return]

    @property
    def trailing(self) -> str:
        """In a content mode, what the model wrote after the answer's JSON value, or ``""``."""
        return self._stream.trailing  # type: ignore[no-any-return]

    @property
    def reasoning(self) -> str | None:
        """The model's reasoning so far, or None: never part of the answer."""
        return self._stream.reasoning  # type: ignore[no-any-return]

    @property
    def request_id(self) -> str | None:
        return self._stream.request_id  # type: ignore[no-any-return]

    @property
    def attempts(self) -> int:
        """How many answers were asked for: 1, plus one per re-ask (``max_reasks``)."""
        return self._stream.attempts  # type: ignore[no-any-return]

    @property
    def response(self) -> httpx.Response | None:
        return self._stream.response  # type: ignore[no-any-return]

    def open(self) -> None:
        """Send the request now (errors before the stream, such as a 401, are raised here)."""
        self._loop.call(self._stream._open)

    def close(self) -> None:
        """Close the stream and its HTTP response (idempotent)."""
        self._loop.call(self._stream.aclose)

    def __enter__(self: _S) -> _S:
        self.open()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


_S = TypeVar("_S", bound="_SyncStream[Any]")


@final
class PartialStream(_SyncStream[_T]):
    """The sync form of :class:`~streamstruct.AsyncPartialStream`."""

    def __iter__(self) -> Iterator[Partial[_T]]:
        return _iterate(self._loop, self._stream.__aiter__)

    def events(self) -> Iterator[StreamEvent]:
        """Typed events, as :meth:`AsyncPartialStream.events`."""
        return _iterate(self._loop, self._stream.events)

    def get_final(self) -> _T:
        """The validated model: reads the rest of the stream if needed."""
        return self._loop.call(self._stream.get_final)  # type: ignore[no-any-return]

    @property
    def partial(self) -> Any:
        return self._stream.partial


@final
class IterableStream(_SyncStream[_T]):
    """The sync form of :class:`~streamstruct.AsyncIterableStream`."""

    def __iter__(self) -> Iterator[_T]:
        return _iterate(self._loop, self._stream.__aiter__)

    def get_final(self) -> list[_T]:
        return self._loop.call(self._stream.get_final)

    @property
    def items(self) -> list[_T]:
        return self._stream.items  # type: ignore[no-any-return]


@final
class Client:
    """The synchronous client: the same options and API as :class:`~streamstruct.AsyncClient`.

    It runs an event loop in a background thread until :meth:`close` (or ``with`` exit, or
    garbage collection). ``backend`` picks that loop: ``"asyncio"`` (default) or ``"trio"``.
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | httpx.URL | None = None,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        mode: Mode | ModeName = Mode.TOOLS,
        default_headers: Mapping[str, str] | None = None,
        max_response_bytes: int | None = DEFAULT_MAX_RESPONSE_BYTES,
        max_depth: int = 1000,
        max_string_chars: int | None = DEFAULT_MAX_STRING_CHARS,
        backoff: float = 0.5,
        backend: Literal["asyncio", "trio"] = "asyncio",
        transport: httpx.AsyncBaseTransport | None = None,
        deadline: float | None = None,
        limits: httpx.Limits | None = None,
        api: Api = "chat",
    ) -> None:
        self._loop = _Loop(backend)
        options: dict[str, Any] = {
            "api": api,
            "api_key": api_key,
            "base_url": base_url,
            "timeout": timeout,
            "max_retries": max_retries,
            "mode": mode,
            "default_headers": default_headers,
            "max_response_bytes": max_response_bytes,
            "max_depth": max_depth,
            "max_string_chars": max_string_chars,
            "backoff": backoff,
            "deadline": deadline,
            "limits": limits,
        }

        async def build() -> AsyncClient:
            # Made on the loop's thread: the pool belongs to that loop.
            return AsyncClient(transport=transport, **options)

        try:
            self._async = self._loop.call(build)
        except BaseException:
            self._loop.stop()  # a bad argument (e.g. transport and limits) leaves no thread behind
            raise
        self._finalizer = weakref.finalize(self, _shutdown, self._loop, self._async)
        self.chat = Chat(self._loop, self._async)

    def __repr__(self) -> str:
        return repr(self._async).replace("AsyncClient", "Client", 1)

    @property
    def base_url(self) -> httpx.URL:
        return self._async.base_url

    @property
    def api(self) -> Api:
        """The wire dialect spoken: ``"chat"``, ``"responses"`` or ``"anthropic"``."""
        return self._async.api

    def close(self) -> None:
        """Close the connection pool and stop the event loop thread."""
        self._finalizer()

    def __enter__(self) -> Client:
        if not self._loop.running:
            raise ClientClosedError("this Client is closed (close() or the end of its with block)")
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _shutdown(loop: _Loop, client: AsyncClient) -> None:
    try:
        loop.call(client.aclose)
    finally:
        loop.stop()


@final
class Chat:
    """``client.chat`` (sync)."""

    def __init__(self, loop: _Loop, client: AsyncClient) -> None:
        self.completions = Completions(loop, client)


@final
class Completions:
    """``client.chat.completions`` (sync): the same methods as the async ones."""

    def __init__(self, loop: _Loop, client: AsyncClient) -> None:
        self._loop = loop
        self._completions = client.chat.completions

    @overload
    def create_partial(
        self,
        *,
        model: str,
        response_model: type[_T],
        messages: Sequence[Mapping[str, Any]],
        stream: Literal[True] = True,
        **options: Unpack[CallOptions],
    ) -> PartialStream[_T]: ...

    @overload
    def create_partial(
        self,
        *,
        model: str,
        response_model: Any,
        messages: Sequence[Mapping[str, Any]],
        stream: Literal[True] = True,
        **options: Unpack[CallOptions],
    ) -> PartialStream[Any]: ...

    def create_partial(
        self,
        *,
        model: str,
        response_model: Any,
        messages: Sequence[Mapping[str, Any]],
        stream: Literal[True] = True,
        **options: Unpack[CallOptions],
    ) -> PartialStream[Any]:
        """As :meth:`AsyncCompletions.create_partial`; iterate for ``Partial[M]`` snapshots."""
        made: AsyncPartialStream[Any] = self._completions.create_partial(
            model=model, response_model=response_model, messages=messages, stream=stream, **options
        )
        return PartialStream(self._loop, made)

    @overload
    def create_iterable(
        self,
        *,
        model: str,
        response_model: type[_T],
        messages: Sequence[Mapping[str, Any]],
        stream: Literal[True] = True,
        **options: Unpack[CallOptions],
    ) -> IterableStream[_T]: ...

    @overload
    def create_iterable(
        self,
        *,
        model: str,
        response_model: Any,
        messages: Sequence[Mapping[str, Any]],
        stream: Literal[True] = True,
        **options: Unpack[CallOptions],
    ) -> IterableStream[Any]: ...

    def create_iterable(
        self,
        *,
        model: str,
        response_model: Any,
        messages: Sequence[Mapping[str, Any]],
        stream: Literal[True] = True,
        **options: Unpack[CallOptions],
    ) -> IterableStream[Any]:
        """As :meth:`AsyncCompletions.create_iterable`; iterate for validated items."""
        made: AsyncIterableStream[Any] = self._completions.create_iterable(
            model=model, response_model=response_model, messages=messages, stream=stream, **options
        )
        return IterableStream(self._loop, made)

    @overload
    def create(
        self,
        *,
        model: str,
        response_model: type[_M],
        messages: Sequence[Mapping[str, Any]],
        stream: Literal[False] = False,
        **options: Unpack[CallOptions],
    ) -> _M: ...

    @overload
    def create(
        self,
        *,
        model: str,
        response_model: type[_M],
        messages: Sequence[Mapping[str, Any]],
        stream: Literal[True],
        **options: Unpack[CallOptions],
    ) -> PartialStream[_M]: ...

    @overload
    def create(
        self,
        *,
        model: str,
        response_model: type[_T],
        messages: Sequence[Mapping[str, Any]],
        stream: Literal[False] = False,
        **options: Unpack[CallOptions],
    ) -> _T: ...

    @overload
    def create(
        self,
        *,
        model: str,
        response_model: Any,
        messages: Sequence[Mapping[str, Any]],
        stream: bool = False,
        **options: Unpack[CallOptions],
    ) -> Any: ...

    def create(
        self,
        *,
        model: str,
        response_model: Any,
        messages: Sequence[Mapping[str, Any]],
        stream: bool = False,
        **options: Unpack[CallOptions],
    ) -> Any:
        """As :meth:`AsyncCompletions.create`: the validated model, or with ``stream=True`` a stream."""
        check_stream_flag(stream)  # as the async client does: a truthy "no" must not stream
        if stream:
            result = self._completions.create(
                model=model,
                response_model=response_model,
                messages=messages,
                stream=True,
                **options,
            )
            if isinstance(result, AsyncPartialStream):
                return PartialStream(self._loop, result)
            return IterableStream(self._loop, result)

        async def run() -> Any:
            # The coroutine is made on the loop, only once the loop is known to be running.
            return await self._completions.create(
                model=model, response_model=response_model, messages=messages, **options
            )

        # Checked here, when the call is made, rather than on the loop's thread.
        self._completions._check("create", model, messages, options)
        return self._loop.call(run)
