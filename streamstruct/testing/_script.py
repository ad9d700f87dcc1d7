"""What a test scripts: replies, faults and the simulator's frozen settings.

Plain frozen values, no I/O: the ASGI shell (:mod:`._simulator`) holds them and the planner
(:mod:`._plan`) reads them. :class:`~streamstruct.testing.SimulatedDisconnect` (an httpx error)
lives with the shell that raises it.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import KW_ONLY, dataclass, field
from typing import Final, Literal, TypeAlias, final

__all__ = [
    "Disconnect",
    "ErrorEvent",
    "ErrorStatus",
    "Fault",
    "LineEnding",
    "MissingDone",
    "Refusal",
    "Reply",
    "Stall",
    "Style",
    "ToolCallLayout",
    "Truncate",
]

LineEnding: TypeAlias = Literal["\n", "\r\n", "\r"]
Style: TypeAlias = Literal["json", "md_json"]
ToolCallLayout: TypeAlias = Literal["auto", "single", "per_item"]

# ---------------------------------------------------------------------------------------------
# Faults: what can go wrong, on demand. Each one is a small frozen value; a reply or the whole
# simulator carries a tuple of them.
# ---------------------------------------------------------------------------------------------

_DEFAULT_ERRORS: Final[Mapping[int, tuple[str, str, str | None]]] = {
    # status: (message, type, code) - wording as recorded from the OpenAI API
    400: ("Invalid request.", "invalid_request_error", None),
    401: (
        "Incorrect API key provided: sk-sim***. You can find your API key at "
        "https://platform.openai.com/account/api-keys.",
        "invalid_request_error",
        "invalid_api_key",
    ),
    403: ("You are not allowed to access this resource.", "invalid_request_error", None),
    404: (
        "The model does not exist or you do not have access to it.",
        "invalid_request_error",
        "model_not_found",
    ),
    409: ("The request conflicts with another request.", "invalid_request_error", None),
    422: ("The request could not be processed.", "invalid_request_error", None),
    429: (
        "Rate limit reached for requests per min (RPM): Limit 3, Used 3, Requested 1. "
        "Please try again in 1s.",
        "requests",
        "rate_limit_exceeded",
    ),
    500: (
        "The server had an error while processing your request. Sorry about that!",
        "server_error",
        None,
    ),
    502: ("Bad gateway.", "server_error", None),
    503: ("The server is overloaded or not ready yet.", "server_error", None),
}


@final
@dataclass(frozen=True, slots=True)
class ErrorStatus:
    """Fail before the stream: an HTTP error status with an OpenAI error body.

    The body is ``{"error": {"message", "type", "param", "code"}}``; fields left ``None`` take
    the API's usual wording for ``status``. ``retry_after`` (seconds) adds a ``retry-after``
    header, as OpenAI sends with 429s; ``headers`` adds any others (e.g. ``x-should-retry``).
    """

    status: int = 500
    _: KW_ONLY
    message: str | None = None
    type: str | None = None
    code: str | None = None
    param: str | None = None
    retry_after: float | None = None
    headers: Mapping[str, str] = field(default_factory=dict, hash=False)


@final
@dataclass(frozen=True, slots=True)
class ErrorEvent:
    """Fail mid-stream: after ``after`` text deltas, send ``data: {"error": {...}}`` and end.

    Status 200 has already gone out, so this is how OpenAI reports a late failure: an error
    object in a data event, then the body ends without ``[DONE]``. Non-streaming requests get
    the same error as an HTTP 500 instead.
    """

    after: int = 0
    _: KW_ONLY
    message: str = "The server had an error while processing your request. Sorry about that!"
    type: str = "server_error"
    code: str | None = None
    param: str | None = None


@final
@dataclass(frozen=True, slots=True)
class Disconnect:
    """Drop the connection after ``after_bytes`` bytes of body (or at its end, if shorter).

    Over uvicorn the socket is closed mid-body, so the client's HTTP layer reports an incomplete
    chunked body (httpx: ``RemoteProtocolError``). In process the app raises
    :class:`SimulatedDisconnect` - an ``httpx.RemoteProtocolError`` - from ``send``'s caller, which
    :class:`~streamstruct.testing.StreamingASGITransport` surfaces mid-stream and
    ``httpx.ASGITransport`` (which buffers the whole body) surfaces from ``client.send()``.
    The status line and headers always go out first.
    """

    after_bytes: int = 0


@final
@dataclass(frozen=True, slots=True)
class Stall:
    """Go silent after ``after`` text deltas for ``seconds``, then carry on (if anyone listens).

    The default is an hour: long enough for any client read timeout. The stall ends early if
    the server learns that the client went away, so a served simulator shuts down promptly.
    Use it over :func:`~streamstruct.testing.serve` or
    :class:`~streamstruct.testing.StreamingASGITransport`: ``httpx.ASGITransport`` waits for the
    whole body, so there the request itself hangs until the stall ends or is cancelled.
    """

    after: int = 0
    seconds: float = 3600.0


@final
@dataclass(frozen=True, slots=True)
class Truncate:
    """Stop after ``after_chars`` characters of the answer, with ``finish_reason="length"``.

    This is what ``max_tokens`` does to structured output: a JSON document cut mid-value, then a
    normal finish chunk, usage and ``[DONE]``. ``finish_reason`` may be ``"content_filter"``.
    """

    after_chars: int
    finish_reason: Literal["length", "content_filter"] = "length"


@final
@dataclass(frozen=True, slots=True)
class Refusal:
    """Refuse: ``delta.refusal`` fragments instead of content, then ``finish_reason="stop"``."""

    text: str = "I'm sorry, but I can't assist with that request."


@final
@dataclass(frozen=True, slots=True)
class MissingDone:
    """End the body normally but without the ``data: [DONE]`` terminator."""


Fault: TypeAlias = ErrorStatus | ErrorEvent | Disconnect | Stall | Truncate | Refusal | MissingDone
"""Any one fault. Replies and the simulator take a sequence of them; they combine."""


# ---------------------------------------------------------------------------------------------
# Replies: what to answer.
# ---------------------------------------------------------------------------------------------


class _Generated(enum.Enum):
    TOKEN = "generated"


_GENERATED: Final = _Generated.TOKEN


@final
@dataclass(frozen=True, slots=True)
class Reply:
    """One scripted answer.

    ``value`` is what the model "says": any JSON-able value (sent as compact JSON), or a ``str``
    sent exactly as is (for malformed or hand-formatted output). Left out, the value is generated
    from the request's schema. The keyword fields override the simulator's settings for this one
    request; ``faults`` are added to the simulator's.

    ``tool_calls="per_item"`` splits a value of shape ``{"items": [...]}`` asked for with tools
    into parallel tool calls, one per item, each with the item as its arguments (as a model answers
    when the tool's parameters are the item's schema); a request with ``parallel_tool_calls: false``
    or a value of another shape gets a single call. ``"auto"`` (the default) does so when the
    request asks for a list that way: parallel calls allowed, ``tool_choice`` not naming one
    function, and a tool with no ``items`` property of its own; ``"single"`` never does. ``finish_reason`` replaces the one the
    simulator would send.
    """

    value: object = _GENERATED
    _: KW_ONLY
    faults: Fault | Sequence[Fault] = ()
    style: Style | None = None
    tool_calls: ToolCallLayout = "auto"
    finish_reason: str | None = None
    chunk_size: int | Sequence[int] | None = None
    delay: float | None = None

    def __post_init__(self) -> None:
        # Fail where the reply is written, not later inside the server as a 500.
        if self.chunk_size is not None:
            _chunk_sizes(self.chunk_size)
        if self.delay is not None and self.delay < 0:
            raise ValueError("delay must not be negative")
        object.__setattr__(self, "faults", _faults(self.faults))


@dataclass(frozen=True, slots=True)
class _Settings:
    """Simulator-wide defaults, frozen once so a running request never sees them change."""

    seed: int
    chunk_size: tuple[int, ...]
    delay: float
    keep_alive_every: int | None
    line_ending: LineEnding
    style: Style
    faults: tuple[Fault, ...]


def _as_reply(response: object) -> Reply:
    return response if isinstance(response, Reply) else Reply(response)


def _chunk_sizes(chunk_size: int | Sequence[int]) -> tuple[int, ...]:
    sizes = (chunk_size,) if isinstance(chunk_size, int) else tuple(chunk_size)
    if not sizes or any(not isinstance(s, int) or s < 1 for s in sizes):
        raise ValueError(f"chunk sizes must be positive integers, got {chunk_size!r}")
    return sizes


def _faults(faults: Fault | Sequence[Fault]) -> tuple[Fault, ...]:
    if isinstance(faults, Sequence):
        return tuple(faults)
    return (faults,)
