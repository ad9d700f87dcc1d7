"""The exceptions streamstruct raises, all under one root.

The tree::

    StreamStructError                    root: catch this to catch everything streamstruct raises
    ├── ProtocolError                    the server's bytes do not follow the protocol (not its answer)
    │   ├── SSEError                     the byte stream is not usable Server-Sent Events
    │   │   └── SSELimitError            an unfinished line or event grew past the decoder's cap
    │   ├── EventDataError (APIError)    an event's data is not JSON
    │   ├── MalformedChunkError (APIError)  a chunk or body is JSON of the wrong shape; names the path
    │   ├── NotEventStreamError (APIError)  an HTML page (a proxy's, a login page) came instead
    │   └── BodyNotJSONError (StreamInterruptedError)  a whole ``application/json`` body does not parse
    ├── JSONParseError (ValueError)      the JSON text is invalid or ends too early; says where
    │   ├── JSONDepthError               nesting deeper than ``max_depth``
    │   └── JSONStringTooLongError       one string longer than ``max_string_chars``
    ├── APIError                         anything that went wrong talking to the API
    │   ├── APIConnectionError           no response: connect failure, connection reset
    │   │   └── APITimeoutError          connect timeout, or the stream stalled past the read timeout
    │   ├── APIStatusError               an HTTP error status, or an error event inside a 200 stream
    │   │   ├── BadRequestError          400
    │   │   ├── AuthenticationError      401
    │   │   ├── PermissionDeniedError    403
    │   │   ├── NotFoundError            404
    │   │   ├── ConflictError            409
    │   │   ├── UnprocessableEntityError 422
    │   │   ├── RateLimitError           429
    │   │   └── InternalServerError      5xx
    │   └── StreamInterruptedError       the connection was lost after the stream began
    ├── ResponseError                    the model's answer cannot become the response model
    │   ├── IncompleteOutputError        finish_reason "length"/"content_filter" before the JSON closed
    │   │   └── TruncatedJSONError       ... after the JSON had already gone wrong (also a JSONParseError)
    │   ├── RefusalError                 the model refused; carries its text
    │   └── ResponseValidationError      a field, an item or the whole object failed validation
    ├── ResponseTooLargeError            the response passed ``max_response_bytes``
    ├── InvalidArgumentError             an argument of the client or of a call is wrong; names it
    │   ├── InvalidArgumentTypeError     of the wrong type (also a TypeError)
    │   │   └── UnsupportedResponseModelError  a response_model pydantic cannot validate; names it
    │   └── InvalidArgumentValueError    a value that cannot work (also a ValueError)
    └── ClientUsageError (RuntimeError)  the client cannot serve the call as it is used
        └── ClientClosedError            the client was closed (``aclose()``, ``close()``, ``with``)

The :class:`ProtocolError` branch gathers what used to be spread over three classes; each of its
subclasses also keeps the class it was raised as before (``APIError``, ``StreamInterruptedError``),
so an ``except`` written for the old class still catches it. ``SSEError`` moved under it, still
under the root.

Every error raised once a stream has begun carries ``partial`` (the last snapshot: a partial model, a
list of the items yielded so far, or ``None``) and ``text`` (the raw JSON text received so far), so that
nothing received is lost. They are plain attributes, set by whoever raises the error.

Every error pickles (``__reduce__`` below), with all its attributes; a ``Partial[M]`` snapshot in
``partial`` pickles too, rebuilt from ``M`` (see :mod:`._partial`).
"""

from __future__ import annotations

from typing import Any

from ._path import Path

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "BodyNotJSONError",
    "ClientClosedError",
    "ClientUsageError",
    "ConflictError",
    "EventDataError",
    "IncompleteOutputError",
    "InternalServerError",
    "InvalidArgumentError",
    "InvalidArgumentTypeError",
    "InvalidArgumentValueError",
    "JSONDepthError",
    "JSONParseError",
    "JSONStringTooLongError",
    "MalformedChunkError",
    "NotEventStreamError",
    "NotFoundError",
    "PermissionDeniedError",
    "ProtocolError",
    "RateLimitError",
    "RefusalError",
    "ResponseError",
    "ResponseTooLargeError",
    "ResponseValidationError",
    "SSEError",
    "SSELimitError",
    "StreamInterruptedError",
    "StreamStructError",
    "TruncatedJSONError",
    "UnprocessableEntityError",
    "UnsupportedResponseModelError",
]


class StreamStructError(Exception):
    """The root of every error streamstruct raises.

    ``partial`` is the last snapshot built before the error (``None`` when nothing was built) and
    ``text`` the raw structured-output text received so far (``""`` before the stream began).
    """

    partial: Any = None
    text: str = ""

    def __init__(self, message: str, *, partial: Any = None, text: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.partial = partial
        self.text = text

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[Any, ...]:
        # Errors take keyword-only arguments, which the default reduction (``cls(*args)``) cannot
        # give back: rebuild bare, then restore every attribute (multiprocessing, caches, logs).
        return (_rebuild, (type(self), self.message), self.__dict__)


def _rebuild(cls: type[StreamStructError], message: str) -> StreamStructError:
    error = cls.__new__(cls)
    Exception.__init__(error, message)
    return error


class ProtocolError(StreamStructError):
    """The server's bytes do not follow the protocol: not an event stream, an event whose data is
    not JSON, a chunk of the wrong shape. Not the model's answer (see :class:`ResponseError`): the
    transport or the server (a proxy, a gateway, a server speaking another dialect) is at fault.
    """


class SSEError(ProtocolError):
    """The response body is not a usable Server-Sent Events stream."""


class SSELimitError(SSEError):
    """An unfinished SSE line or event grew past the decoder's size cap."""

    def __init__(self, message: str, *, limit: int) -> None:
        super().__init__(message)
        self.limit = limit


class JSONParseError(StreamStructError, ValueError):
    """The JSON text is invalid, or ended before the value was complete.

    ``offset`` is the character offset of the offending character (or of the end of input), counted
    from the start of the whole text fed to the parser; ``line`` and ``column`` are 1-based.
    ``expected`` says what the parser was looking for there.
    """

    def __init__(
        self,
        message: str,
        *,
        offset: int,
        line: int,
        column: int,
        expected: str = "",
        partial: Any = None,
        text: str = "",
    ) -> None:
        where = f"at offset {offset} (line {line}, column {column})"
        super().__init__(
            f"{message}: expected {expected} {where}" if expected else f"{message} {where}",
            partial=partial,
            text=text,
        )
        self.reason = message
        self.offset = offset
        self.line = line
        self.column = column
        self.expected = expected


class JSONDepthError(JSONParseError):
    """The JSON value nests deeper than the parser's ``max_depth``."""


class JSONStringTooLongError(JSONParseError):
    """One string (a value or a key) is longer than the parser's ``max_string_chars``: a server
    writing one string forever is stopped here, long before ``max_response_bytes``."""


class APIError(StreamStructError):
    """Something went wrong talking to the API.

    ``attempts`` is how many requests were made before giving up (retries included).
    """

    attempts: int = 1


class APIConnectionError(APIError):
    """The request got no response: the connection failed or was reset before the body began."""


class APITimeoutError(APIConnectionError):
    """Connecting took too long, or the stream stalled longer than the read timeout."""


class APIStatusError(APIError):
    """The API answered with an error: an HTTP error status, or an error event inside a stream.

    ``status_code`` is the HTTP status (for an in-stream error event, the code the event gave when it
    is numeric, else the 200 of the response), ``body`` the parsed error object (the value of the
    ``"error"`` key when present) or the raw text, ``request_id`` the ``x-request-id`` header.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        body: Any = None,
        request_id: str | None = None,
        partial: Any = None,
        text: str = "",
    ) -> None:
        super().__init__(message, partial=partial, text=text)
        self.status_code = status_code
        self.body = body
        self.request_id = request_id


class BadRequestError(APIStatusError):
    """HTTP 400."""


class AuthenticationError(APIStatusError):
    """HTTP 401: the API key is missing, wrong or revoked."""


class PermissionDeniedError(APIStatusError):
    """HTTP 403."""


class NotFoundError(APIStatusError):
    """HTTP 404: often an unknown model or a wrong ``base_url``."""


class ConflictError(APIStatusError):
    """HTTP 409."""


class UnprocessableEntityError(APIStatusError):
    """HTTP 422."""


class RateLimitError(APIStatusError):
    """HTTP 429: rate limited, or out of quota."""


class InternalServerError(APIStatusError):
    """HTTP 5xx."""


class StreamInterruptedError(APIError):
    """The connection was lost, or the stream ended, before the answer was complete."""


class EventDataError(ProtocolError, APIError):
    """An event's ``data`` is not JSON (also an :class:`APIError`, as it was raised before)."""


class MalformedChunkError(ProtocolError, APIError):
    """A chunk (or a whole completion body) is JSON of the wrong shape: ``choices`` not a list,
    ``delta`` not an object, ...; the message names the path, what came and what was expected.
    Also an :class:`APIError`, as it was raised before."""


class NotEventStreamError(ProtocolError, APIError):
    """The server answered with an HTML page (a proxy's, a login page) instead of an event stream;
    the message quotes its first bytes. Also an :class:`APIError`, as it was raised before."""


class BodyNotJSONError(ProtocolError, StreamInterruptedError):
    """The server ignored ``"stream": true`` and answered ``application/json``, but the body does
    not parse. Also a :class:`StreamInterruptedError`, as it was raised before."""


class ResponseError(StreamStructError):
    """The model's answer cannot become the response model."""


class IncompleteOutputError(ResponseError):
    """The model stopped (``finish_reason`` ``"length"`` or ``"content_filter"``) before its JSON closed."""

    def __init__(
        self, message: str, *, finish_reason: str, partial: Any = None, text: str = ""
    ) -> None:
        super().__init__(message, partial=partial, text=text)
        self.finish_reason = finish_reason


class TruncatedJSONError(IncompleteOutputError, JSONParseError):
    """The model was stopped (``finish_reason`` ``"length"`` or ``"content_filter"``) after its JSON
    had already become invalid: both an :class:`IncompleteOutputError` (``finish_reason``) and a
    :class:`JSONParseError` (``offset``, ``line``, ``column``, ``expected``, ``reason``: where the
    JSON went wrong). The parse error is also its ``__cause__``.
    """

    def __init__(
        self,
        message: str,
        *,
        finish_reason: str,
        parse_error: JSONParseError,
        partial: Any = None,
        text: str = "",
    ) -> None:
        StreamStructError.__init__(self, message, partial=partial, text=text)
        self.finish_reason = finish_reason
        self.reason = parse_error.reason
        self.offset = parse_error.offset
        self.line = parse_error.line
        self.column = parse_error.column
        self.expected = parse_error.expected


class RefusalError(ResponseError):
    """The model refused to answer; ``refusal`` is its text."""

    def __init__(self, message: str, *, refusal: str, partial: Any = None, text: str = "") -> None:
        super().__init__(message, partial=partial, text=text)
        self.refusal = refusal


class ResponseValidationError(ResponseError):
    """A field, an item or the whole object failed pydantic validation.

    ``errors`` is pydantic's list of error dicts, ``path`` where in the JSON the failing value sits,
    ``index`` the item's position for an ``Iterable`` response and ``raw`` the failing value's JSON text
    when it is known.

    ``attempts_errors``: with ``max_reasks`` > 0, the error of every attempt, oldest first, this
    one last, once every re-ask failed (``attempts_errors[0]`` rejected the first answer); ``[]``
    when no re-ask was allowed. The re-asks themselves are not raised: ``events()`` shows each as a
    ``Reasked`` event.
    """

    def __init__(
        self,
        message: str,
        *,
        errors: list[Any] | None = None,
        path: Path = (),
        index: int | None = None,
        raw: str | None = None,
        partial: Any = None,
        text: str = "",
    ) -> None:
        super().__init__(message, partial=partial, text=text)
        self.errors = errors or []
        self.path = path
        self.index = index
        self.raw = raw
        self.attempts_errors: list[ResponseValidationError] = []


class ResponseTooLargeError(StreamStructError):
    """The response body grew past ``max_response_bytes``."""

    def __init__(self, message: str, *, limit: int, partial: Any = None, text: str = "") -> None:
        super().__init__(message, partial=partial, text=text)
        self.limit = limit


class InvalidArgumentError(StreamStructError):
    """An argument given to a client or to a call cannot work; raised when the call is made.

    ``argument`` names it (``"messages"``, ``"messages[1]"``, ``"timeout"``, ...). The message says
    what was expected and what came, but never repeats an ``api_key`` or a header's value.
    """

    def __init__(self, message: str, *, argument: str) -> None:
        super().__init__(message)
        self.argument = argument


class InvalidArgumentTypeError(InvalidArgumentError, TypeError):
    """An argument of the wrong type (also a ``TypeError``)."""


class UnsupportedResponseModelError(InvalidArgumentTypeError):
    """The ``response_model`` is not a type pydantic can validate and describe with a JSON schema
    (a function, an arbitrary class, a value instead of a type, a bare ``Iterable``).

    An :class:`InvalidArgumentTypeError` (so also a ``TypeError``) whose ``argument`` is
    ``"response_model"``; ``response_model`` is the type given.
    """

    def __init__(self, message: str, *, response_model: Any) -> None:
        super().__init__(message, argument="response_model")
        self.response_model = response_model


class InvalidArgumentValueError(InvalidArgumentError, ValueError):
    """An argument of the right type whose value cannot work (also a ``ValueError``)."""


class ClientUsageError(StreamStructError, RuntimeError):
    """The client cannot serve the call as it is used: a sync client called from its own event
    loop thread (it would wait for itself), for one. Also a ``RuntimeError``."""


class ClientClosedError(ClientUsageError):
    """The client, or the ``http_client`` it was given, was closed before this call."""
