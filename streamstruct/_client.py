"""``AsyncClient`` and ``client.chat.completions``: requests, retries, error mapping.

The only module that talks HTTP. It builds the request body from the caller's arguments and the
mode's :class:`~streamstruct._modes.RequestPlan`, sends it with retries while no response body
has begun, maps HTTP errors to :class:`~streamstruct.APIStatusError` subclasses, and hands the
open response to a stream object (:mod:`._stream`).

What is retried: connection failures and timeouts before a response, and the statuses 408, 409,
429 and 5xx (unless the server says ``x-should-retry: false``, or a 429 says the quota is spent),
with exponential backoff and jitter, honouring ``Retry-After`` up to :data:`MAX_RETRY_AFTER`
seconds. Nothing is retried once the body of a 2xx response has begun: from then on a lost
connection is :class:`~streamstruct.StreamInterruptedError`, since the tokens were already paid for.
"""

from __future__ import annotations

import email.utils
import json
import math
import os
import random
import re
import time
from collections.abc import AsyncIterator, Awaitable, Iterable, Mapping, Sequence
from typing import Any, Final, Literal, TypeVar, final, overload

import anyio
import httpcore
import httpx
from pydantic import BaseModel
from typing_extensions import Unpack

from ._arguments import (
    check_api_key,
    check_backoff,
    check_base_url,
    check_call,
    check_deadline,
    check_headers,
    check_max_retries,
    check_mode,
    check_stream_flag,
    check_stream_keyword,
    check_timeout,
)
from ._body import ACCEPT_ENCODING, decoded_body
from ._errors import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    ClientClosedError,
    ClientUsageError,
    InvalidArgumentTypeError,
    InvalidArgumentValueError,
)
from ._json import DEFAULT_MAX_STRING_CHARS
from ._lifecycle import close_response
from ._modes import Mode, ModeName, RequestPlan, plan_request, response_spec
from ._options import CallOptions, SplitOptions, split_options
from ._reader import DEFAULT_MAX_RESPONSE_BYTES, IterableReader, PartialReader, ResponseReader
from ._redact import Redactor
from ._stream import AsyncIterableStream, AsyncPartialStream
from ._wire import status_error

__all__ = ["DEFAULT_TIMEOUT", "MAX_RETRY_AFTER", "AsyncClient"]

_M = TypeVar("_M", bound=BaseModel)
_T = TypeVar("_T")

DEFAULT_BASE_URL: Final = "https://api.openai.com/v1"
DEFAULT_TIMEOUT: Final = httpx.Timeout(60.0, connect=10.0)
"""Connect within 10 s; then at most 60 s between two reads (a stalled stream raises)."""
DEFAULT_MAX_RETRIES: Final = 2
DEFAULT_LIMITS: Final = httpx.Limits(max_connections=1000, max_keepalive_connections=100)
"""Streams hold their connection for the whole answer: httpx's default of 100 connections would
queue the 101st concurrent stream, and its pool bookkeeping then grows with the queue."""
_EXPIRY_CHECK_SECONDS: Final = 1.0
"""How often the pool looks for expired idle connections (it always checks one before reuse)."""
MAX_RETRY_AFTER: Final = 60.0
"""The longest ``Retry-After`` honoured, in seconds; a longer one is waited for this long."""
_MAX_BACKOFF: Final = 8.0
_ERROR_BODY_LIMIT: Final = 1024 * 1024
_RETRY_STATUSES: Final = frozenset({408, 409, 429})
_HTTP_CLIENT_CLOSED: Final = (
    "the http_client given to this client is closed: keep it open while the client is used"
)


@final
class AsyncClient:
    """An asynchronous client for OpenAI-compatible chat-completion endpoints.

    ``api_key`` and ``base_url`` default to the ``OPENAI_API_KEY`` and ``OPENAI_BASE_URL``
    environment variables (``base_url`` then to ``https://api.openai.com/v1``); without a key no
    ``Authorization`` header is sent, as local servers need none. ``timeout`` (seconds, or an
    ``httpx.Timeout``) bounds connecting and the gap between two reads; ``max_retries`` how often a
    failed request is retried before its body begins; ``mode`` the default :class:`Mode`;
    ``http_client`` a caller's own ``httpx.AsyncClient`` (left open by :meth:`aclose`), or
    ``transport`` an httpx transport for the client's own pool (e.g. the simulator's);
    ``limits`` (an ``httpx.Limits``, default :data:`DEFAULT_LIMITS`) sizes the client's own pool,
    and goes with neither ``http_client`` nor ``transport``, which bring their own;
    ``max_response_bytes`` caps one response body (``None``: no cap); ``max_depth`` caps JSON
    nesting; ``max_string_chars`` one string of the answer (``None``: no cap); ``deadline`` (seconds, default ``None``: none) bounds a whole call - connecting,
    retries, waiting and the whole stream - however steadily the server keeps sending
    (:class:`~streamstruct.APITimeoutError` past it). ``docs/reliability.md`` lists every limit.
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | httpx.URL | None = None,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        mode: Mode | ModeName = Mode.TOOLS,
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        default_headers: Mapping[str, str] | None = None,
        max_response_bytes: int | None = DEFAULT_MAX_RESPONSE_BYTES,
        max_depth: int = 1000,
        max_string_chars: int | None = DEFAULT_MAX_STRING_CHARS,
        backoff: float = 0.5,
        deadline: float | None = None,
        limits: httpx.Limits | None = None,
    ) -> None:
        check_max_retries(max_retries)
        check_backoff(backoff)
        check_deadline(deadline)
        if max_response_bytes is not None:
            _check_count("max_response_bytes", max_response_bytes)
        _check_count("max_depth", max_depth)
        check_api_key(api_key)
        check_timeout(timeout)
        check_headers(default_headers)
        if max_string_chars is not None:
            _check_count("max_string_chars", max_string_chars)
        key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY")
        self._api_key = _api_key(key)
        self._redactor = Redactor.for_key(self._api_key.reveal() if self._api_key else None)
        self.base_url = _base_url(base_url)
        self.timeout = _timeout(timeout)
        self.max_retries = max_retries
        self.mode = check_mode(mode)
        self._closed = False
        self.max_response_bytes = max_response_bytes
        self.max_depth = max_depth
        self.max_string_chars = max_string_chars
        self.backoff = backoff
        self.deadline = deadline
        self._default_headers = dict(default_headers or {})
        self._own_http = http_client is None
        # No redirects: an API endpoint that redirects is misconfigured, and the Authorization
        # header must never follow a redirect to another host.
        if http_client is not None and transport is not None:
            raise InvalidArgumentValueError(
                "give http_client or transport, not both", argument="transport"
            )
        if http_client is not None and limits is not None:
            raise InvalidArgumentValueError(
                "limits size the client's own pool: give http_client or limits", argument="limits"
            )
        if transport is not None and limits is not None:
            # httpx hands a given transport every request as it is: limits would size nothing.
            raise InvalidArgumentValueError(
                "limits size the client's own pool: give transport or limits", argument="limits"
            )
        if http_client is None:
            # httpx builds the transport (a given one would turn off the proxies it mounts from
            # HTTPS_PROXY and the like); then its pool is swapped for ours.
            http_client = httpx.AsyncClient(
                timeout=self.timeout,
                follow_redirects=False,
                transport=transport,
                limits=limits or DEFAULT_LIMITS,
            )
            if transport is None:
                _use_own_pool(http_client)
        self._http = http_client
        self.chat = AsyncChat(self)

    def __repr__(self) -> str:
        key = "set" if self._api_key else "none"
        return f"AsyncClient(base_url={_shown_url(self.base_url)!r}, api_key={key}, mode={self.mode.name})"

    async def aclose(self) -> None:
        """Close the connection pool (not a ``http_client`` the caller passed in).

        The client is done with then: any later call raises :class:`~streamstruct.ClientClosedError`.
        """
        self._closed = True
        if self._own_http:
            await self._http.aclose()

    def _check_open(self) -> None:
        """Refuse a call on a closed client, or one whose ``http_client`` was closed by its owner."""
        if self._closed:
            raise ClientClosedError(
                "this client is closed (aclose(), close() or the end of its with block): "
                "make a new one"
            )
        if self._http.is_closed:
            raise ClientClosedError(_HTTP_CLIENT_CLOSED)

    async def __aenter__(self) -> AsyncClient:
        self._check_open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # -- sending ----------------------------------------------------------------------------------

    def _headers(self, extra: Mapping[str, str] | None = None) -> httpx.Headers:
        """The request's headers, merged by name in any case (a dict would send ``accept`` and
        ``Accept``, or two ``Authorization`` headers, side by side): ours, then
        ``default_headers`` over them, the call's ``extra_headers`` over those, then the API
        key's ``Authorization`` over all."""
        # Accept-Encoding: only what _body decodes, whatever httpx would offer (br and zstd when
        # installed).
        headers = httpx.Headers(
            {"Accept": "text/event-stream, application/json", "Accept-Encoding": ACCEPT_ENCODING}
        )
        headers.update(self._default_headers)
        if extra:
            headers.update(extra)
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key.reveal()}"
        headers["Content-Type"] = "application/json"
        return headers

    async def _send(
        self,
        content: bytes,
        *,
        timeout: httpx.Timeout,  # noqa: ASYNC109 - httpx's per-request timeouts, not a deadline
        max_retries: int,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """POST ``content`` (the JSON body, see :func:`_encoded`) to ``/chat/completions`` with
        retries; return the open, successful response.

        The response is streamed (its body not read): the caller owns it and must close it.
        """
        self._check_open()  # a stream made before the client was closed, opened after
        url = _endpoint(self.base_url, "chat/completions")
        attempt = 0
        while True:
            attempt += 1
            request = self._http.build_request(
                "POST",
                url,
                content=content,
                headers=self._headers(headers),
                timeout=timeout,
            )
            request.stream = _RequestBody(content)
            delay: float | None
            try:
                response = await self._http.send(request, stream=True)
            except httpx.TimeoutException as exc:
                waiting = (
                    "connecting to"
                    if isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout)
                    else "waiting for a response from"
                )
                error: APIError = APITimeoutError(
                    f"timed out {waiting} {_origin(url)} ({type(exc).__name__})"
                )
                cause: BaseException = exc
                delay = None
            except httpx.TransportError as exc:
                reason = self._redact(_reason(exc))
                error = APIConnectionError(
                    f"could not connect to {_origin(url)}: {type(exc).__name__}: {reason}"
                )
                if isinstance(exc, httpx.LocalProtocolError | httpx.UnsupportedProtocol):
                    # The request itself cannot be sent (a bad header, a bad URL): no retry
                    # helps, and the original exception may quote the header, so it is dropped.
                    raise error from None
                cause = exc
                delay = None
            except RuntimeError as exc:
                raise self._usage_error(exc) from exc
            else:
                if response.status_code < 300:
                    return response
                error, delay, retryable = await self._status_error(response)
                cause = error
                if not retryable:
                    error.attempts = attempt
                    raise error
            if attempt > max_retries:
                error.attempts = attempt
                if attempt > 1:
                    error.message += f" (gave up after {attempt} attempts)"
                raise error from (cause if cause is not error else None)
            await anyio.sleep(self._retry_delay(attempt, delay))

    def _usage_error(self, error: RuntimeError) -> ClientUsageError:
        """What httpx's bare ``RuntimeError`` on sending means here, typed."""
        if self._http.is_closed:  # closed by its owner while a request was on its way
            return ClientClosedError(_HTTP_CLIENT_CLOSED)
        # asyncio.run() twice with one client: its kept-alive connections belong to a closed loop.
        return ClientUsageError(
            f"the request could not be sent ({error}): a client's connections belong to the "
            "event loop they were made on, so use one client per event loop (per asyncio.run(), "
            "say), or close it before the loop ends"
        )

    async def _status_error(
        self, response: httpx.Response
    ) -> tuple[APIStatusError, float | None, bool]:
        """Read an error response; return the error, the delay it asks for, whether to retry."""
        raw = b""
        received = _error_body(response)
        try:
            # Decoded in bounded pieces (a small gzip body may inflate a thousandfold), and only
            # so far: httpx's aiter_bytes() would inflate each read whole.
            async for piece in received:
                raw += piece
                if len(raw) > _ERROR_BODY_LIMIT:
                    break
        except httpx.HTTPError:
            pass  # the error status is the news; a broken error body is not
        finally:
            await close_response(received, response)  # a half-read body's iterators ended (trio)
        # A server may quote the key it refused ("Incorrect API key provided: sk-..."): the
        # error's message and body must not carry it into logs and tracebacks. JSON is decoded
        # first, then the strings in it redacted: the key is found however it was escaped, and
        # the JSON's own text is never touched.
        text = raw.decode("utf-8", errors="replace")
        try:
            body: object = self._redact_value(json.loads(text))
        except (ValueError, RecursionError):  # json.loads recurses: a hostile nesting
            body = self._redact(text)
        status = response.status_code
        error = status_error(status, body, request_id=response.headers.get("x-request-id"))
        should = response.headers.get("x-should-retry")
        if should is not None:
            retryable = should.lower() == "true"
        else:
            retryable = status in _RETRY_STATUSES or status >= 500
            if status == 429 and _code(error.body) == "insufficient_quota":
                retryable = False  # waiting does not refill a spent quota
        return error, _retry_after(response.headers), retryable

    def _redact(self, text: str) -> str:
        """``text`` with the API key, if it holds it, replaced (see :mod:`._redact`)."""
        return text if self._redactor is None else self._redactor.text(text)

    def _redact_value(self, value: object) -> object:
        """A decoded JSON value with the API key replaced in every string in it."""
        return value if self._redactor is None else self._redactor.value(value)

    def _retry_delay(self, attempt: int, asked: float | None) -> float:
        if asked is not None:
            return min(asked, MAX_RETRY_AFTER)
        # The exponent stops growing long before 2.0 ** 1024 overflows (max_retries=10_000).
        delay = min(self.backoff * 2.0 ** min(attempt - 1, 64), _MAX_BACKOFF)
        return delay * (1 - 0.25 * random.random())  # jitter in (0.75, 1]


# -- the connection pool ---------------------------------------------------------------------------


class _Pool(httpcore.AsyncConnectionPool):
    """httpcore's connection pool, with the pass that hands out connections made O(connections).

    httpcore 1.x runs ``_assign_requests_to_connections`` whenever a request starts or a response
    closes, and under many concurrent kept-alive streams that pass goes wrong three ways:

    * an idle connection it hands to a request stays idle until that request's task sends on it,
      two event-loop turns later; every pass in between hands it out again, and all but one of the
      requests that got it fail with ``ConnectionNotAvailable`` and start over (encode/httpcore#822,
      #1110): 2 to 6 times per request measured at 10 to 1,000 streams, each time another pass;
    * each pass probes the socket of every idle connection (a system call each), and for each idle
      connection lists all of them again: O(connections x idle) per pass, so CPU per request grew
      with the number of streams;
    * that list counts all connections against ``max_keepalive_connections``, busy ones included,
      so a connection released while more than that many were open was closed, not reused.

    (The openai SDK's streams avoid all three by accident: they close the response at ``[DONE]``,
    before its end, which throws the connection away, so their pool never holds an idle one. Ours
    read to the end to keep the connection - a TLS handshake saved per request.)

    Here a connection assigned to a request is spoken for until the request ends; idle connections
    are counted once per pass; and only idle connections are probed for expiry, at most once per
    :data:`_EXPIRY_CHECK_SECONDS`, and one is always probed before it is reused, as before. A pass
    is still linear in connections + requests. Everything else - connecting, the request queue,
    closing - is httpcore's. HTTP/1.1 only (:func:`_use_own_pool` sees to it): an idle connection
    here is one that takes a single request, and a connection that is neither idle nor closed is
    serving the one request that holds it.
    """

    _next_expiry_check = 0.0

    def _assign_requests_to_connections(self) -> list[httpcore.AsyncConnectionInterface]:
        requests = self._requests
        # Spoken for: serving a request, or assigned to one that has not sent on it yet.
        taken = {request.connection for request in requests}
        now = time.monotonic()
        check_expiry = now >= self._next_expiry_check
        if check_expiry:
            self._next_expiry_check = now + _EXPIRY_CHECK_SECONDS
        closing: list[httpcore.AsyncConnectionInterface] = []
        kept: list[httpcore.AsyncConnectionInterface] = []
        idle: list[httpcore.AsyncConnectionInterface] = []
        for connection in self._connections:
            if connection.is_closed():
                # Nothing to close: forget it, even under a request. That request, if it ever
                # sends, gets ConnectionNotAvailable and starts over, as with httpcore's pool; one
                # that never ends (a plain asyncio cancel inside the response's aclose() leaves it
                # in _requests) must not pin a slot for ever.
                continue
            if connection in taken:
                kept.append(connection)
            elif not connection.is_idle():
                # Held by no request, yet busy: made for a request that was cancelled before it
                # used it (a plain asyncio cancel right after another task's pass handed it over;
                # encode/httpcore#1093). Nobody will ever connect it or hand it back.
                closing.append(connection)
            elif check_expiry and connection.has_expired():
                closing.append(connection)
            else:
                kept.append(connection)
                idle.append(connection)
        surplus = len(idle) - self._max_keepalive_connections
        if surplus > 0:
            closing += idle[:surplus]
            dropped = set(idle[:surplus])
            idle = idle[surplus:]
            kept = [connection for connection in kept if connection not in dropped]
        self._connections = kept

        for request in requests:
            if not request.is_queued():
                continue
            origin = request.request.url.origin
            chosen = self._reusable(origin, idle, closing)
            if chosen is None:
                if len(self._connections) >= self._max_connections:
                    if not idle:
                        continue  # stays queued until a connection is released
                    spare = idle.pop(0)  # make room: an idle connection to another origin
                    self._connections.remove(spare)
                    closing.append(spare)
                chosen = self.create_connection(origin)
                self._connections.append(chosen)
            request.assign_to_connection(chosen)
        return closing

    def _reusable(
        self,
        origin: httpcore.Origin,
        idle: list[httpcore.AsyncConnectionInterface],
        closing: list[httpcore.AsyncConnectionInterface],
    ) -> httpcore.AsyncConnectionInterface | None:
        """An idle connection to ``origin``, taken off ``idle``; expired ones met are closed."""
        index = 0
        while index < len(idle):
            connection = idle[index]
            if not (connection.can_handle_request(origin) and connection.is_available()):
                index += 1
                continue
            del idle[index]
            if not connection.has_expired():
                return connection
            # The server hung up, or it idled too long: close it, look further.
            self._connections.remove(connection)
            closing.append(connection)
        return None


def _use_own_pool(http: httpx.AsyncClient) -> None:
    """Put a :class:`_Pool` in place of httpcore's in ``http``'s default transport, where it fits.

    It fits the plain HTTP/1.1 pool of the httpcore versions ``_Pool`` was checked against
    (:data:`_POOL_FITS`), and takes over every setting httpx gave that pool. Anything else is left as
    httpx made it: HTTP/2 (whose connections take many requests each, which ``_Pool``'s "spoken for"
    rule would stop), a proxy's pool, including those httpx mounts from the environment
    (``HTTPS_PROXY``, ...), or another httpcore.
    """
    transport = http._transport
    if not (_POOL_FITS and isinstance(transport, httpx.AsyncHTTPTransport)):
        return
    stock = transport._pool
    if not (
        type(stock) is httpcore.AsyncConnectionPool
        and stock._http1
        and not stock._http2
        and getattr(stock, "_proxy", None) is None  # httpcore >= 1.0.6 has pools with a proxy
    ):
        return
    transport._pool = _Pool(
        ssl_context=stock._ssl_context,
        max_connections=stock._max_connections,
        max_keepalive_connections=stock._max_keepalive_connections,
        keepalive_expiry=stock._keepalive_expiry,
        http1=stock._http1,
        http2=stock._http2,
        retries=stock._retries,
        local_address=stock._local_address,
        uds=stock._uds,
        network_backend=stock._network_backend,
        socket_options=stock._socket_options,
    )


_POOL_VERSIONS: Final = ((1, 0, 3), (1, 1, 0))
"""The httpcore versions ``_Pool`` is known to fit, as [first, end): 1.0.0 to 1.0.2 lack
``AsyncPoolRequest``; 1.0.3 to 1.0.9 differ in typing and ``proxy=`` only."""


def _pool_fits(version: str) -> bool:
    """Whether httpcore ``version``'s pool is one ``_Pool`` was written against.

    ``_Pool`` overrides a private method and reads private attributes, so it is used only where
    they are known to mean what it assumes; elsewhere the client keeps httpcore's own pool.
    """
    match = re.match(r"(\d+)\.(\d+)\.(\d+)", version)
    if match is None:
        return False
    first, end = _POOL_VERSIONS
    return first <= (int(match[1]), int(match[2]), int(match[3])) < end


_POOL_FITS: Final = _pool_fits(httpcore.__version__)


@final
class _RequestBody(httpx.AsyncByteStream):
    """The request body, iterated by a plain iterator rather than an async generator.

    httpx's own byte stream is an async generator: a request cancelled while its body is being
    written leaves it half-run, and trio warns when such a generator is collected.
    """

    __slots__ = ("_content",)

    def __init__(self, content: bytes) -> None:
        self._content = content

    def __aiter__(self) -> AsyncIterator[bytes]:
        return _Once(self._content)


@final
class _Once:
    __slots__ = ("_content",)

    def __init__(self, content: bytes | None) -> None:
        self._content = content

    def __aiter__(self) -> _Once:
        return self

    async def __anext__(self) -> bytes:
        content, self._content = self._content, None
        if content is None:
            raise StopAsyncIteration
        return content


def _api_key(key: str | None) -> _Secret | None:
    """The key as it goes into the header: surrounding whitespace (a key read from a file ends
    with a newline) is dropped, and a key that cannot be a header value is refused here, in
    words that do not repeat it, rather than inside a request whose error would quote it."""
    if key is None:
        return None
    key = key.strip()
    if not key:
        return None
    if not key.isascii() or not key.isprintable():
        raise InvalidArgumentValueError(
            "the API key holds characters an HTTP header cannot carry (non-ASCII or control "
            "characters); check where it was read from",
            argument="api_key",
        )
    return _Secret(key)


def _error_body(response: httpx.Response) -> AsyncIterator[bytes]:
    """An error response's body, decoded as a stream's is (read from the body stream itself, as
    a stream's is, so that ``close_response`` can end it); as received when its coding is not one
    the client decodes (the status is the news, whatever the body)."""
    stream = response.stream
    assert isinstance(stream, httpx.AsyncByteStream)
    received = stream.__aiter__()
    try:
        return decoded_body(received, response)
    except APIError:
        return received


def _base_url(given: str | httpx.URL | None) -> httpx.URL:
    """``base_url``, else ``OPENAI_BASE_URL``, else OpenAI's: checked, ending with a slash."""
    if given is not None:
        url = check_base_url(given)
    else:
        from_environment = os.environ.get("OPENAI_BASE_URL")
        if from_environment:
            url = check_base_url(from_environment, argument="OPENAI_BASE_URL")
        else:
            url = httpx.URL(DEFAULT_BASE_URL)
    # Its path made to end with a slash; a query (Azure's ``?api-version=...``) is kept for every
    # request: ``URL.join`` would drop it, and a path without the slash would lose its last part.
    return url.copy_with(path=url.path.rstrip("/") + "/")


def _endpoint(base_url: httpx.URL, path: str) -> httpx.URL:
    """``path`` under ``base_url``, its query kept: ``http://h/v1/?a=1`` -> ``http://h/v1/path?a=1``."""
    return base_url.copy_with(path=base_url.path + path)


def _shown_url(url: httpx.URL) -> str:
    """The URL as a repr shows it: query values hidden, since a gateway may take a key there."""
    if not url.query:
        return str(url)
    names = "&".join(f"{name}=..." for name in dict.fromkeys(url.params.keys()))
    return str(url.copy_with(query=None)) + "?" + names


@final
class _Secret:
    """The API key, kept out of every repr, str and traceback that shows the client's state."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "<secret>"

    __str__ = __repr__


def _timeout(value: float | httpx.Timeout | None) -> httpx.Timeout:
    if value is None:
        return DEFAULT_TIMEOUT
    if isinstance(value, httpx.Timeout):
        return value
    return httpx.Timeout(value)


def _reason(exc: BaseException) -> str:
    """The first non-empty message down the exception's causes (trio's TLS errors have none)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        text = str(current)
        if text:
            return text
        current = current.__cause__ or current.__context__
    return "no reason given"


def _origin(url: httpx.URL) -> str:
    return f"{url.scheme}://{url.netloc.decode('ascii', errors='replace')}"


def _code(body: object) -> object:
    return body.get("code") if isinstance(body, dict) else None


def _retry_after(headers: httpx.Headers) -> float | None:
    """The delay a response asks for: ``retry-after-ms``, ``retry-after`` seconds or HTTP-date.

    ``None`` (the normal backoff) for a value that is none of these, or not a finite number of
    seconds >= 0 (``nan``, ``inf``, ``-1``, ``soon``): a bad header must not lose the error.
    """
    value = headers.get("retry-after-ms")
    if value is not None:
        milliseconds = _seconds(value)
        if milliseconds is not None:
            return milliseconds / 1000
    value = headers.get("retry-after")
    if value is None:
        return None
    seconds = _seconds(value)
    if seconds is not None:
        return seconds
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:  # Python before 3.10 said None for what later versions raise on
        return None  # pragma: no cover
    return max(when.timestamp() - time.time(), 0.0)


def _seconds(value: str) -> float | None:
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) and number >= 0 else None


@final
class AsyncChat:
    """``client.chat``."""

    def __init__(self, client: AsyncClient) -> None:
        self.completions = AsyncCompletions(client)


@final
class AsyncCompletions:
    """``client.chat.completions``: ``create``, ``create_partial`` and ``create_iterable``.

    Besides ``model``, ``response_model`` and ``messages`` each takes the keywords of
    :class:`~streamstruct._options.CallOptions`; any other is refused (``extra_body=`` for the rest).
    """

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    def create_partial(
        self,
        *,
        model: str,
        response_model: type[_M],
        messages: Sequence[Mapping[str, Any]],
        stream: Literal[True] = True,
        **options: Unpack[CallOptions],
    ) -> AsyncPartialStream[_M]:
        """Stream one ``response_model`` object: iterate for ``Partial[M]`` snapshots.

        Nothing is sent until the stream is awaited, entered or iterated. The OpenAI request
        parameters (``temperature``, ``max_tokens``, ``seed``, ...) go into the request body.
        """
        call = self._check("create_partial", model, messages, options)
        check_stream_keyword("create_partial", {"stream": stream})
        target = partial_origin(response_model)
        plan = plan_request(target, messages, mode=self._mode(call), strict=call.own.get("strict"))
        if plan.spec.iterable:
            raise InvalidArgumentTypeError(
                "create_partial takes a model as response_model; use create_iterable for "
                "Iterable[...]",
                argument="response_model",
            )
        return AsyncPartialStream(*self._stream_parts(model, plan, "partial", call))

    @overload
    def create_iterable(
        self,
        *,
        model: str,
        response_model: type[_T],
        messages: Sequence[Mapping[str, Any]],
        stream: Literal[True] = True,
        **options: Unpack[CallOptions],
    ) -> AsyncIterableStream[_T]: ...

    @overload
    def create_iterable(
        self,
        *,
        model: str,
        response_model: Any,
        messages: Sequence[Mapping[str, Any]],
        stream: Literal[True] = True,
        **options: Unpack[CallOptions],
    ) -> AsyncIterableStream[Any]: ...

    def create_iterable(
        self,
        *,
        model: str,
        response_model: Any,
        messages: Sequence[Mapping[str, Any]],
        stream: Literal[True] = True,
        **options: Unpack[CallOptions],
    ) -> AsyncIterableStream[Any]:
        """Stream many objects: each item is yielded, validated, the moment it closes.

        ``response_model`` is the item model (``User``), a union of models (``Cat | Dog``,
        discriminated or not), or ``Iterable[...]`` of either.
        """
        call = self._check("create_iterable", model, messages, options)
        check_stream_keyword("create_iterable", {"stream": stream})
        spec_input = response_model
        if not _is_iterable_annotation(response_model):
            spec_input = Iterable[response_model]
        plan = plan_request(
            spec_input, messages, mode=self._mode(call), strict=call.own.get("strict")
        )
        return AsyncIterableStream(*self._stream_parts(model, plan, "iterable", call))

    @overload
    def create(
        self,
        *,
        model: str,
        response_model: type[_M],
        messages: Sequence[Mapping[str, Any]],
        stream: Literal[False] = False,
        **options: Unpack[CallOptions],
    ) -> Awaitable[_M]: ...

    @overload
    def create(
        self,
        *,
        model: str,
        response_model: type[_M],
        messages: Sequence[Mapping[str, Any]],
        stream: Literal[True],
        **options: Unpack[CallOptions],
    ) -> AsyncPartialStream[_M]: ...

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
        """The validated ``response_model`` (``await`` it); with ``stream=True`` a stream.

        With ``stream=True``, ``response_model=User`` or ``Partial[User]`` gives the stream of
        :meth:`create_partial`, ``Iterable[User]`` that of :meth:`create_iterable`. Without it,
        ``Iterable[User]`` gives the list of items.
        """
        check_stream_flag(stream)
        self._check("create", model, messages, options)
        # Checked now, not when the coroutine of a whole answer is awaited.
        iterable = response_spec(partial_origin(response_model)).iterable
        # Made now (nothing is sent until it is used), so that whatever making it refuses is
        # raised when the call is made, not when the coroutine of a whole answer is awaited.
        made: AsyncPartialStream[Any] | AsyncIterableStream[Any]
        if iterable:
            made = self.create_iterable(
                model=model, response_model=response_model, messages=messages, **options
            )
        else:
            made = self.create_partial(
                model=model, response_model=response_model, messages=messages, **options
            )
        return made if stream else _read_whole(made)

    def _check(
        self, method: str, model: object, messages: object, options: Mapping[str, Any]
    ) -> SplitOptions:
        """The call's keywords and values, checked when it is made (not when the stream opens)."""
        self._client._check_open()
        call = split_options(method, options)
        own = call.own
        check_call(
            model=model,
            messages=messages,
            mode=own.get("mode"),
            strict=own.get("strict"),
            max_retries=own.get("max_retries"),
            timeout=own.get("timeout"),
            deadline=own.get("deadline"),
        )
        check_headers(call.headers, argument="extra_headers")
        return call

    def _mode(self, call: SplitOptions) -> Mode | ModeName:
        mode: Mode | ModeName | None = call.own.get("mode")
        return mode or self._client.mode

    def _stream_parts(
        self, model: str, plan: RequestPlan, kind: str, call: SplitOptions
    ) -> tuple[Any, Any, float | None, Redactor | None]:
        client = self._client
        request = _encoded(_body(model, plan, call.body))  # refused now if JSON cannot carry it
        timeout = call.own.get("timeout")
        resolved_timeout = _timeout(timeout) if timeout is not None else client.timeout
        max_retries = call.own.get("max_retries")
        retries = client.max_retries if max_retries is None else max_retries
        validation_context = call.own.get("validation_context")
        headers = call.headers

        async def open_response() -> httpx.Response:
            return await client._send(
                request, timeout=resolved_timeout, max_retries=retries, headers=headers
            )

        def make_reader(response: httpx.Response | None) -> ResponseReader[Any]:
            reader = PartialReader if kind == "partial" else IterableReader
            return reader(
                plan,
                validation_context=validation_context,
                max_response_bytes=client.max_response_bytes,
                max_depth=client.max_depth,
                max_string_chars=client.max_string_chars,
                request_id=response.headers.get("x-request-id") if response is not None else None,
                redactor=client._redactor,
            )

        deadline = _resolve_deadline(call.own.get("deadline"), client.deadline)
        return open_response, make_reader, deadline, client._redactor


async def _read_whole(stream: AsyncPartialStream[Any] | AsyncIterableStream[Any]) -> Any:
    # One implementation: the answer is streamed and read to its end. Streaming makes ``timeout``
    # bound the gap between two reads rather than the whole generation (a long answer would
    # otherwise time out, and be retried and paid for again), validates fields as they arrive,
    # and gives errors the partial result. A server that ignores ``"stream": true`` and answers
    # with a whole completion is read just as well.
    async with stream:
        return await stream.get_final()


def _encoded(request: Mapping[str, Any]) -> bytes:
    """The request body as sent. A value JSON cannot carry (a ``set``, ``bytes``, an object, a
    NaN, which the json module would write as the invalid ``NaN``) is refused when the call is
    made, naming its keyword, rather than with a bare ``TypeError`` when the stream opens."""
    try:
        text = json.dumps(request, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as error:
        name = next((key for key in request if not _sendable(request[key])), "the request")
        refused = (
            InvalidArgumentTypeError if isinstance(error, TypeError) else InvalidArgumentValueError
        )
        raise refused(f"{name} cannot be sent as JSON: {error}", argument=name) from None
    return text.encode()


def _sendable(value: object) -> bool:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return False
    return True


def _check_count(name: str, value: object) -> None:
    """A size or a depth: a positive int, said at once (not first when a stream opens, where the
    compiled reader checks its types)."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidArgumentTypeError(
            f"{name} must be an int, not {type(value).__name__} {value!r}", argument=name
        )
    if value < 1:
        raise InvalidArgumentValueError(f"{name} must be at least 1, not {value}", argument=name)


def _resolve_deadline(per_call: float | None, default: float | None) -> float | None:
    check_deadline(per_call)
    return default if per_call is None else per_call


def _body(model: str, plan: RequestPlan, extra: Mapping[str, Any]) -> dict[str, Any]:
    """The request body: the caller's parameters and ``extra_body``, then the mode's fields,
    then ours."""
    body: dict[str, Any] = dict(extra)
    body.update(plan.body)
    body["model"] = model
    body["messages"] = list(plan.messages)
    body["stream"] = True
    options = dict(body.get("stream_options") or {})
    options.setdefault("include_usage", True)
    body["stream_options"] = options
    return body


def partial_origin(response_model: Any) -> Any:
    """The model behind ``Partial[M]`` (``M`` itself for anything else)."""
    return getattr(response_model, "__streamstruct_model__", response_model)


def _is_iterable_annotation(response_model: Any) -> bool:
    try:
        return response_spec(response_model).iterable
    except TypeError:
        return False
