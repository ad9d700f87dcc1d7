"""The pieces of one POST to ``/chat/completions``, apart from the client's retry loop.

I/O layer (httpx). The body as sent (:func:`request_body`, :func:`encoded`, :class:`RequestBody`),
and what an answer that is not a stream tells the retry loop: the error body
(:func:`error_body`), the delay it asks for (:func:`retry_after`), the reason of a transport error
(:func:`failure_reason`); and the timeout of a POST (:func:`timeout_of`, :data:`DEFAULT_TIMEOUT`).
"""

from __future__ import annotations

import email.utils
import json
import math
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any, Final, final

import httpx

from .._errors import APIError, InvalidArgumentTypeError, InvalidArgumentValueError
from .._request._modes import RequestPlan
from ._body import decoded_body

__all__ = [
    "DEFAULT_TIMEOUT",
    "RequestBody",
    "encoded",
    "error_body",
    "error_code",
    "failure_reason",
    "request_body",
    "retry_after",
    "timeout_of",
]

DEFAULT_TIMEOUT: Final = httpx.Timeout(60.0, connect=10.0)
"""Connect within 10 s; then at most 60 s between two reads (a stalled stream raises)."""


def timeout_of(value: float | httpx.Timeout | None) -> httpx.Timeout:
    """The ``httpx.Timeout`` for a client's or a call's ``timeout`` (None: the default)."""
    if value is None:
        return DEFAULT_TIMEOUT
    if isinstance(value, httpx.Timeout):
        return value
    return httpx.Timeout(value)


def request_body(model: str, plan: RequestPlan, extra: Mapping[str, Any]) -> dict[str, Any]:
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


def encoded(request: Mapping[str, Any]) -> bytes:
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


@final
class RequestBody(httpx.AsyncByteStream):
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


def error_body(response: httpx.Response) -> AsyncIterator[bytes]:
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


def failure_reason(exc: BaseException) -> str:
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


def error_code(body: object) -> object:
    return body.get("code") if isinstance(body, dict) else None


def retry_after(headers: httpx.Headers) -> float | None:
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
