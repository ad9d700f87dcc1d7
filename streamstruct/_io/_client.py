"""``AsyncClient``: requests, retries, error mapping.

I/O layer. ``client.chat.completions`` (:mod:`._completions`) builds the request from the
caller's arguments and the mode's :class:`~streamstruct._request._modes.RequestPlan`; the client
sends it with retries while no response body has begun,
maps HTTP errors to :class:`~streamstruct.APIStatusError` subclasses, and hands the open response
to a stream object (:mod:`._stream`). Beside it: the URLs and the key (:mod:`._endpoint`), the
pieces of one POST (:mod:`._sending`), the connection pool workaround (:mod:`._pool`), response
bodies (:mod:`._body`), the sync shim (:mod:`._sync`).

What is retried: connection failures and timeouts before a response, and the statuses 408, 409,
429 and 5xx (unless the server says ``x-should-retry: false``, or a 429 says the quota is spent),
with exponential backoff and jitter, honouring ``Retry-After`` up to :data:`MAX_RETRY_AFTER`
seconds. Nothing is retried once the body of a 2xx response has begun: from then on a lost
connection is :class:`~streamstruct.StreamInterruptedError`, since the tokens were already paid for.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Mapping
from typing import Final, final

import anyio
import httpx

from .._core._json import DEFAULT_MAX_STRING_CHARS
from .._core._redact import Redactor
from .._core._wire import status_error
from .._errors import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    ClientClosedError,
    ClientUsageError,
)
from .._request._arguments import (
    check_api_key,
    check_backoff,
    check_count,
    check_deadline,
    check_headers,
    check_max_retries,
    check_mode,
    check_pool_choice,
    check_timeout,
)
from .._request._dialects import (
    Api,
    check_api,
    dialect,
)
from .._request._modes import (
    Mode,
    ModeName,
)
from .._response._reader import DEFAULT_MAX_RESPONSE_BYTES
from . import _endpoint
from ._body import ACCEPT_ENCODING
from ._completions import AsyncChat
from ._lifecycle import close_response
from ._pool import use_own_pool
from ._sending import (
    DEFAULT_TIMEOUT,
    RequestBody,
    error_body,
    error_code,
    failure_reason,
    retry_after,
    timeout_of,
)
from ._stream import InBandRetry

__all__ = ["DEFAULT_TIMEOUT", "MAX_RETRY_AFTER", "AsyncClient"]


DEFAULT_MAX_RETRIES: Final = 2
DEFAULT_LIMITS: Final = httpx.Limits(max_connections=1000, max_keepalive_connections=100)
"""Streams hold their connection for the whole answer: httpx's default of 100 connections would
queue the 101st concurrent stream, and its pool bookkeeping then grows with the queue."""
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

    ``api`` picks the wire dialect: ``"chat"`` (default, ``POST /chat/completions``),
    ``"responses"`` (OpenAI's Responses API, ``POST /responses``) or ``"anthropic"`` (Anthropic
    Messages, ``POST /v1/messages``: the key defaults to ``ANTHROPIC_API_KEY`` and goes in
    ``x-api-key``, the base URL to ``ANTHROPIC_BASE_URL``, else ``https://api.anthropic.com``).
    docs/dialects.md says what each reads and sends.
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
        api: Api = "chat",
    ) -> None:
        self.api: Api = check_api(api)
        self._dialect = speaks = dialect(self.api)
        check_max_retries(max_retries)
        check_backoff(backoff)
        check_deadline(deadline)
        if max_response_bytes is not None:
            check_count("max_response_bytes", max_response_bytes)
        check_count("max_depth", max_depth)
        check_api_key(api_key)
        check_timeout(timeout)
        check_headers(default_headers)
        if max_string_chars is not None:
            check_count("max_string_chars", max_string_chars)
        key = api_key if api_key is not None else os.environ.get(speaks.key_variable)
        self._api_key = _endpoint.api_key(key)
        self._redactor = Redactor.for_key(self._api_key.reveal() if self._api_key else None)
        self.base_url = _endpoint.base_url(
            base_url, variable=speaks.base_url_variable, default=speaks.default_base_url
        )
        self.timeout = timeout_of(timeout)
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
        check_pool_choice(http_client, transport, limits)
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
                use_own_pool(http_client)
        self._http = http_client
        self.chat = AsyncChat(self)

    def __repr__(self) -> str:
        key = "set" if self._api_key else "none"
        api = "" if self.api == "chat" else f"api={self.api!r}, "
        return f"AsyncClient({api}base_url={_endpoint.shown_url(self.base_url)!r}, api_key={key}, mode={self.mode.name})"

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
            if self._dialect.key_header == "Authorization":
                headers["Authorization"] = f"Bearer {self._api_key.reveal()}"
            else:  # Anthropic's x-api-key, and no Authorization header
                headers[self._dialect.key_header] = self._api_key.reveal()
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
        """POST ``content`` (the JSON body, see :func:`~streamstruct._io._sending.encoded`) to ``/chat/completions`` with
        retries; return the open, successful response.

        The response is streamed (its body not read): the caller owns it and must close it.
        """
        self._check_open()  # a stream made before the client was closed, opened after
        url = _endpoint.url_for(self.base_url, self._dialect.path)
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
            request.stream = RequestBody(content)
            delay: float | None
            try:
                response = await self._http.send(request, stream=True)
            except httpx.TransportError as exc:
                error: APIError = self._transport_error(exc, url)
                cause: BaseException = exc
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

    def _transport_error(self, exc: httpx.TransportError, url: httpx.URL) -> APIError:
        """The error a send that got no response is reported as (retried, unless raised here)."""
        if isinstance(exc, httpx.TimeoutException):
            waiting = (
                "connecting to"
                if isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout)
                else "waiting for a response from"
            )
            where = _endpoint.origin(url)
            return APITimeoutError(f"timed out {waiting} {where} ({type(exc).__name__})")
        reason = self._redact(failure_reason(exc))
        error = APIConnectionError(
            f"could not connect to {_endpoint.origin(url)}: {type(exc).__name__}: {reason}"
        )
        if isinstance(exc, httpx.LocalProtocolError | httpx.UnsupportedProtocol):
            # The request itself cannot be sent (a bad header, a bad URL): no retry helps, and
            # the original exception may quote the header, so it is dropped.
            raise error from None
        return error

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
        received = error_body(response)
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
        request_id = response.headers.get(self._dialect.request_id_header)
        error = status_error(status, body, request_id=request_id)
        should = response.headers.get("x-should-retry")
        if should is not None:
            retryable = should.lower() == "true"
        else:
            retryable = status in _RETRY_STATUSES or status >= 500
            if status == 429 and error_code(error.body) == "insufficient_quota":
                retryable = False  # waiting does not refill a spent quota
        return error, retry_after(response.headers), retryable

    def _in_band_retry(self, max_retries: int) -> InBandRetry:
        """How an error event that came before any output is retried (Responses, Anthropic):
        as the same status would be (Anthropic's ``overloaded_error`` is a 529), up to
        ``max_retries`` times; the chat dialect keeps raising them."""

        def delay(error: APIStatusError, retried: int) -> float | None:
            status = error.status_code
            if retried >= max_retries or status is None:
                return None
            if status not in _RETRY_STATUSES and status < 500:
                return None
            if status == 429 and error_code(error.body) == "insufficient_quota":
                return None
            return self._retry_delay(retried + 1, None)

        return delay

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
