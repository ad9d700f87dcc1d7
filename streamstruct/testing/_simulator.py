"""The simulator: an ASGI app that answers ``POST /v1/chat/completions`` as the OpenAI API does.

It exists so that streamstruct (and anything else that speaks the protocol, the official ``openai``
package included) can be tested against byte-exact ``chat.completion.chunk`` streams, with faults
on demand, without a network or an API key. It is written by hand against the ASGI spec, with no
web framework, so that ``httpx.ASGITransport(app=simulator)`` works with nothing but httpx; the
same object is served over real loopback sockets by :func:`streamstruct.testing.serve` (uvicorn).

The module is split in two, like the library's own pipeline:

* a sans-I/O **planner** (:func:`_plan`): request body + reply + settings -> status, headers and a
  list of steps (bytes to send, pauses, stalls, where to drop the connection). Everything that
  decides *what* goes on the wire happens here, without ``await``.
* a thin **ASGI shell** (:meth:`Simulator.__call__`) that executes the steps with ``send`` and
  ``anyio.sleep`` (so it runs on asyncio and trio alike).

The app never calls ``send`` inside a cancel scope or task group. That keeps it runnable by
:class:`streamstruct.testing.StreamingASGITransport`, which steps the app inside the reading task.

What is answered (see :class:`Reply`): a scripted value (serialised as compact JSON; a ``str`` is
sent as is), or by default a value generated from the request's JSON schema by
:func:`streamstruct.testing.generate_value`. Where it goes: into ``tool_calls[].function.arguments``
when the request has ``tools`` and a ``tool_choice`` other than ``"none"``; otherwise into
``content`` (optionally wrapped in a Markdown ```` ```json ```` fence with prose around it).
"""

from __future__ import annotations

import enum
import itertools
import json
import math
import random
import string
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping, Sequence
from dataclasses import KW_ONLY, dataclass, field
from typing import Any, Final, Literal, TypeAlias, final

import anyio
import httpx

from ._generate import generate_value

__all__ = [
    "Disconnect",
    "ErrorEvent",
    "ErrorStatus",
    "Fault",
    "MissingDone",
    "Refusal",
    "Reply",
    "SimulatedDisconnect",
    "Simulator",
    "Stall",
    "Truncate",
]

# ASGI 3 callables, typed loosely as the spec does (messages are dicts with a "type").
Scope: TypeAlias = MutableMapping[str, Any]
Message: TypeAlias = MutableMapping[str, Any]
Receive: TypeAlias = Callable[[], Awaitable[Message]]
Send: TypeAlias = Callable[[Message], Awaitable[None]]

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


class SimulatedDisconnect(httpx.RemoteProtocolError):
    """Raised by the app to drop the connection (see :class:`Disconnect`).

    It is an ``httpx.RemoteProtocolError`` with httpx's own wording, so in-process clients see
    the same exception type as over a socket; :func:`~streamstruct.testing.serve` keeps uvicorn
    from logging it as an application error.
    """

    def __init__(self) -> None:
        super().__init__(
            "peer closed connection without sending complete message body (incomplete chunked read)"
        )


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


# ---------------------------------------------------------------------------------------------
# The ASGI shell.
# ---------------------------------------------------------------------------------------------


@final
class Simulator:
    """An OpenAI-compatible chat-completions server, as an ASGI 3 application.

    Use it in process with ``httpx.AsyncClient(transport=httpx.ASGITransport(app=simulator))``
    (or :class:`~streamstruct.testing.StreamingASGITransport` to see the stream arrive delta by
    delta), or over loopback with ``serve(simulator)``. Point a client at base URL
    ``http://<host>/v1``; ``POST /v1/chat/completions`` and ``POST /chat/completions`` answer.

    ``responses`` scripts the answers: a ``list``/``tuple`` is a queue consumed one per request
    (requests past its end get generated values); any other value - a :class:`Reply`, a JSON-able
    value or a raw ``str`` - answers *every* request. ``script()`` appends to the queue later.

    Streaming shape: ``chunk_size`` characters per delta (an ``int``, or a sequence cycled
    through for irregular splits), ``delay`` seconds between events, a ``: keep-alive`` comment
    after every ``keep_alive_every`` events, and ``line_ending`` for every line of the SSE body.
    ``seed`` seeds generated values when the request has no ``seed`` of its own. ``style``
    ``"md_json"`` wraps JSON content in a Markdown fence with prose around it.

    ``requests`` lists the JSON bodies posted to chat completions (in arrival order, including
    those refused with a 400) and ``request_headers`` their headers, so a test can assert what
    its client sent. A refused request does not use up a scripted answer. The object is safe to
    share with the server thread that :func:`~streamstruct.testing.serve` starts.
    """

    def __init__(
        self,
        *,
        responses: object = None,
        seed: int = 0,
        chunk_size: int | Sequence[int] = 4,
        delay: float = 0.0,
        keep_alive_every: int | None = None,
        line_ending: LineEnding = "\n",
        style: Style = "json",
        faults: Fault | Sequence[Fault] = (),
    ) -> None:
        if line_ending not in ("\n", "\r\n", "\r"):
            raise ValueError(f"line_ending must be LF, CRLF or CR, got {line_ending!r}")
        if keep_alive_every is not None and keep_alive_every < 1:
            raise ValueError("keep_alive_every must be a positive number of events")
        if delay < 0:
            raise ValueError("delay must not be negative")
        self._settings = _Settings(
            seed=seed,
            chunk_size=_chunk_sizes(chunk_size),
            delay=delay,
            keep_alive_every=keep_alive_every,
            line_ending=line_ending,
            style=style,
            faults=_faults(faults),
        )
        self._lock = threading.Lock()
        self._queue: list[Reply] = []
        self._default: Reply = Reply()
        self._count = itertools.count()
        self.requests: list[dict[str, Any]] = []
        """The JSON objects posted to chat completions, oldest first."""
        self.request_headers: list[dict[str, str]] = []
        """The headers of those requests (lower-case names), in the same order."""
        if isinstance(responses, (list, tuple)):
            self.script(*responses)
        elif responses is not None:
            self._default = _as_reply(responses)

    def script(self, *responses: object) -> None:
        """Queue answers for the next requests, one each, after any already queued.

        Each is a :class:`Reply`, a JSON-able value or a raw ``str`` (a list here is one JSON
        array answer, not a sequence).
        """
        replies = [_as_reply(r) for r in responses]
        with self._lock:
            self._queue.extend(replies)

    @property
    def app(self) -> Simulator:
        """The ASGI application: the simulator itself (for APIs that ask for ``app=``)."""
        return self

    def _next_reply(self) -> tuple[Reply, int]:
        with self._lock:
            reply = self._queue.pop(0) if self._queue else self._default
            return reply, next(self._count)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection scope (``http``, or ``lifespan`` for completeness)."""
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            raise ValueError(f"the simulator only speaks HTTP, not {scope['type']!r}")

        path = str(scope.get("path", "")).rstrip("/")
        method = str(scope.get("method", "GET")).upper()
        body = await _read_body(receive)
        headers = _headers(scope)
        request_id = f"req_{uuid.uuid4().hex}"

        if path in ("/v1/models", "/models") and method == "GET":
            await _send_json(send, 200, _models_body(), request_id)
            return
        if path not in ("/v1/chat/completions", "/chat/completions"):
            await _send_error(send, 404, f"Unknown request URL: {method} {path}.", request_id)
            return
        if method != "POST":
            await _send_error(send, 405, f"Method {method} not allowed for {path}.", request_id)
            return
        try:
            request = json.loads(body)
        except ValueError:
            await _send_error(
                send,
                400,
                "We could not parse the JSON body of your request. (HINT: This likely means you "
                "aren't using your HTTP library correctly. The OpenAI API expects a JSON payload.)",
                request_id,
            )
            return
        if not isinstance(request, dict):
            await _send_error(send, 400, "The request body must be a JSON object.", request_id)
            return
        with self._lock:
            self.requests.append(request)
            self.request_headers.append(headers)
        try:
            ask = _read_ask(request)
        except _BadRequest as exc:  # refused before any reply is taken from the queue
            await _send_error(send, 400, exc.message, request_id, param=exc.param, code=exc.code)
            return
        reply, number = self._next_reply()
        plan = _plan(ask, reply, self._settings, number=number, request_id=request_id)
        await _execute(plan, receive, send)


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


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(bytes(message.get("body", b"")))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _headers(scope: Scope) -> dict[str, str]:
    return {
        bytes(k).decode("latin-1").lower(): bytes(v).decode("latin-1")
        for k, v in scope.get("headers", ())
    }


def _models_body() -> dict[str, Any]:
    return {
        "object": "list",
        "data": [{"id": "sim-1", "object": "model", "created": 1700000000, "owned_by": "sim"}],
    }


async def _send_json(
    send: Send,
    status: int,
    body: Mapping[str, Any],
    request_id: str,
    extra_headers: Iterable[tuple[str, str]] = (),
) -> None:
    data = json.dumps(body).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(data)).encode()),
        (b"x-request-id", request_id.encode()),
        *((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in extra_headers),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data, "more_body": False})


async def _send_error(
    send: Send,
    status: int,
    message: str,
    request_id: str,
    *,
    param: str | None = None,
    code: str | None = None,
) -> None:
    error = {"message": message, "type": "invalid_request_error", "param": param, "code": code}
    await _send_json(send, status, {"error": error}, request_id)


async def _execute(plan: _Plan, receive: Receive, send: Send) -> None:
    """Carry out a plan: the only place that talks ASGI for a chat completion."""
    await send({"type": "http.response.start", "status": plan.status, "headers": plan.headers})
    sent = 0
    for step in plan.steps:
        if isinstance(step, bytes):
            if plan.drop_after is not None and sent + len(step) > plan.drop_after:
                part = step[: plan.drop_after - sent]
                if part:
                    await send({"type": "http.response.body", "body": part, "more_body": True})
                raise SimulatedDisconnect()
            await send({"type": "http.response.body", "body": step, "more_body": True})
            sent += len(step)
        elif await _stall(receive, step.seconds):
            # A pause between deltas or a stall: either way the client has gone, and there is
            # nobody to send the rest to (a served simulator would go on pausing, unheard, and
            # hold up the server's shutdown until it is cancelled).
            return
    if plan.drop_after is not None:
        raise SimulatedDisconnect()
    await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _stall(receive: Receive, seconds: float) -> bool:
    """Send nothing for ``seconds`` (a pause or a stall); return True early if the client
    disconnects.

    Listening with ``receive()`` (rather than a bare sleep) lets a served simulator notice a
    client that gave up, so the server can shut down without waiting out the stall. Nothing is
    sent inside the cancel scope.
    """
    with anyio.move_on_after(seconds):
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return True
    return False


# ---------------------------------------------------------------------------------------------
# The sans-I/O planner.
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Pause:
    seconds: float


@dataclass(frozen=True, slots=True)
class _StallStep:
    seconds: float


_Step: TypeAlias = bytes | _Pause | _StallStep


@dataclass(frozen=True, slots=True)
class _Plan:
    """Everything the shell needs: status, headers, the steps, and where to cut the body."""

    status: int
    headers: list[tuple[bytes, bytes]]
    steps: list[_Step]
    drop_after: int | None = None


class _BadRequest(Exception):
    def __init__(self, message: str, *, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code


@dataclass(frozen=True, slots=True)
class _Ask:
    """What the request asks for, read once from its body."""

    model: str
    stream: bool
    include_usage: bool
    include_obfuscation: bool
    seed: int | None
    tool_name: str | None  # None: answer in content
    tool_choice_named: bool
    parallel_tool_calls: bool
    schema: Mapping[str, Any] | bool | None
    prompt_tokens: int


def _read_ask(request: Mapping[str, Any]) -> _Ask:
    model = request.get("model")
    if not isinstance(model, str) or not model:
        raise _BadRequest("you must provide a model parameter", param="model")
    messages = request.get("messages")
    if not isinstance(messages, list) or not messages:
        raise _BadRequest(
            "Missing required parameter: 'messages'.",
            param="messages",
            code="missing_required_parameter",
        )
    stream_options = request.get("stream_options")
    if not isinstance(stream_options, Mapping):
        stream_options = {}
    tools = [t for t in request.get("tools") or () if isinstance(t, Mapping)]
    tool_choice = request.get("tool_choice", "auto" if tools else "none")
    tool: Mapping[str, Any] | None = None
    named = isinstance(tool_choice, Mapping)
    if tools and tool_choice != "none":
        if named:
            wanted = (tool_choice.get("function") or {}).get("name")
            tool = next((t for t in tools if (t.get("function") or {}).get("name") == wanted), None)
            if tool is None:
                raise _BadRequest(
                    f"Invalid value for 'tool_choice': no function named {wanted!r} was "
                    "specified in the 'tools' parameter.",
                    param="tool_choice",
                )
        else:
            tool = tools[0]
    schema: Mapping[str, Any] | bool | None
    if tool is not None:
        function = tool.get("function") or {}
        schema = function.get("parameters") or {"type": "object", "properties": {}}
        tool_name = str(function.get("name", "function"))
    else:
        tool_name = None
        schema = _schema_for_content(request.get("response_format"), messages)
    seed = request.get("seed")
    return _Ask(
        model=model,
        stream=request.get("stream") is True,
        include_usage=bool(stream_options.get("include_usage")),
        include_obfuscation=stream_options.get("include_obfuscation", True) is not False,
        seed=seed if isinstance(seed, int) and not isinstance(seed, bool) else None,
        tool_name=tool_name,
        tool_choice_named=named,
        parallel_tool_calls=request.get("parallel_tool_calls", True) is not False,
        schema=schema,
        prompt_tokens=max(1, len(json.dumps(messages)) // 4),
    )


def _schema_for_content(
    response_format: object, messages: Sequence[object]
) -> Mapping[str, Any] | bool | None:
    """The schema a content answer must follow: from ``response_format``, else from the prompt.

    JSON mode (``json_object``) and prompt-only modes (Markdown JSON) put the schema in a
    message; the first JSON object in a system/developer message, then a user message, that looks
    like a schema is taken. No schema at all gives ``None`` and the answer ``{}``.
    """
    if isinstance(response_format, Mapping) and response_format.get("type") == "json_schema":
        json_schema = response_format.get("json_schema") or {}
        schema = json_schema.get("schema")
        return schema if isinstance(schema, (Mapping, bool)) else {}
    texts: list[str] = []
    for roles in (("system", "developer"), ("user",)):
        for message in messages:
            if isinstance(message, Mapping) and message.get("role") in roles:
                texts.extend(_texts(message.get("content")))
    for text in texts:
        found = _embedded_schema(text)
        if found is not None:
            return found
    return None


def _texts(content: object) -> list[str]:
    if isinstance(content, str):
        return [content]
    if isinstance(content, list):
        return [
            part["text"]
            for part in content
            if isinstance(part, Mapping) and isinstance(part.get("text"), str)
        ]
    return []


_SCHEMA_KEYS: Final = frozenset({"properties", "$defs", "definitions", "anyOf", "oneOf", "$schema"})


def _embedded_schema(text: str) -> Mapping[str, Any] | None:
    decoder = json.JSONDecoder()
    start = text.find("{")
    while start != -1:
        try:
            value, _end = decoder.raw_decode(text, start)
        except ValueError:
            pass
        else:
            if isinstance(value, dict) and (value.keys() & _SCHEMA_KEYS or "type" in value):
                return value
        start = text.find("{", start + 1)
    return None


def _asks_for_items(ask: _Ask) -> bool:
    """Whether a tools request asks for a list as parallel calls, one item per call.

    That is what a client asks when its tool is the item's schema (no ``items`` property of its
    own) and any number of calls is welcome (``tool_choice`` not naming one function).
    """
    if ask.tool_choice_named or not ask.parallel_tool_calls:
        return False
    properties = ask.schema.get("properties") if isinstance(ask.schema, Mapping) else None
    return not (isinstance(properties, Mapping) and "items" in properties)


def _plan(ask: _Ask, reply: Reply, settings: _Settings, *, number: int, request_id: str) -> _Plan:
    """Decide the whole response to one request: status, headers, every byte and pause."""
    faults = (*settings.faults, *_faults(reply.faults))
    for fault in faults:
        if isinstance(fault, ErrorStatus):
            return _error_plan(fault, request_id)

    ids = random.Random(f"ids:{settings.seed}:{number}")
    value_seed = ask.seed if ask.seed is not None else settings.seed
    style = reply.style or settings.style

    # What is said, as text per channel: tool-call arguments or content.
    value = reply.value
    if value is _GENERATED:
        value = {} if ask.schema is None else generate_value(ask.schema, seed=value_seed)
    calls: list[tuple[str, str]] = []  # (call id, arguments)
    content: str | None = None
    if ask.tool_name is not None:
        items = value.get("items") if isinstance(value, Mapping) else None
        per_item = reply.tool_calls == "per_item" or (
            reply.tool_calls == "auto" and _asks_for_items(ask) and isinstance(items, list)
        )
        if per_item and ask.parallel_tool_calls and isinstance(items, list):
            # One call per item, whose arguments are the item: how a model answers when the
            # tool's parameters are the item's schema and parallel calls are allowed.
            texts = [_dump(item) for item in items] or [_dump(value)]
        else:
            texts = [value if isinstance(value, str) else _dump(value)]
        calls = [(f"call_{_random_text(ids, 24)}", a) for a in texts]
        finish_reason = "stop" if ask.tool_choice_named else "tool_calls"
    else:
        if isinstance(value, str):
            content = value
        elif style == "md_json":
            pretty = json.dumps(value, indent=2, ensure_ascii=False)
            content = (
                f"Here is the JSON you asked for:\n\n```json\n{pretty}\n```\n\n"
                "Let me know if you need anything else."
            )
        else:
            content = _dump(value)
        finish_reason = "stop"

    refusal = next((f for f in faults if isinstance(f, Refusal)), None)
    truncate = next((f for f in faults if isinstance(f, Truncate)), None)
    if refusal is not None:
        calls, content, finish_reason = [], None, "stop"
    elif truncate is not None:
        budget = truncate.after_chars
        if content is not None:
            content = content[:budget]
        kept: list[tuple[str, str]] = []
        for call_id, args in calls:
            if budget <= 0 and kept:
                break
            kept.append((call_id, args[: max(budget, 0)]))
            budget -= len(args)
        calls = kept
        finish_reason = truncate.finish_reason
    if reply.finish_reason is not None:
        finish_reason = reply.finish_reason

    said = refusal.text if refusal is not None else content or "".join(a for _, a in calls)
    usage = {
        "prompt_tokens": ask.prompt_tokens,
        "completion_tokens": max(1, math.ceil(len(said) / 4)),
        "total_tokens": ask.prompt_tokens + max(1, math.ceil(len(said) / 4)),
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }
    envelope = {
        "id": f"chatcmpl-{_random_text(ids, 29)}",
        "created": int(time.time()),
        "model": ask.model,
        "fingerprint": f"fp_{ids.getrandbits(40):010x}",
    }
    error = next((f for f in faults if isinstance(f, ErrorEvent)), None)
    disconnect = next((f for f in faults if isinstance(f, Disconnect)), None)
    stall = next((f for f in faults if isinstance(f, Stall)), None)

    if not ask.stream:
        if error is not None:
            return _error_plan(
                ErrorStatus(500, message=error.message, type=error.type, code=error.code),
                request_id,
            )
        message: dict[str, Any] = {
            "role": "assistant",
            "content": content,
            "refusal": refusal.text if refusal is not None else None,
            "annotations": [],
        }
        if calls:
            message["tool_calls"] = [
                {
                    "id": call_id,
                    "type": "function",
                    "function": {"name": ask.tool_name, "arguments": a},
                }
                for call_id, a in calls
            ]
        body = {
            "id": envelope["id"],
            "object": "chat.completion",
            "created": envelope["created"],
            "model": ask.model,
            "choices": [
                {"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason}
            ],
            "usage": usage,
            "service_tier": "default",
            "system_fingerprint": envelope["fingerprint"],
        }
        data = json.dumps(body, ensure_ascii=False).encode()
        steps: list[_Step] = []
        if stall is not None:
            steps.append(_StallStep(stall.seconds))
        steps.append(data)
        return _Plan(
            status=200,
            headers=[
                (b"content-type", b"application/json"),
                (b"content-length", str(len(data)).encode()),
                (b"x-request-id", request_id.encode()),
            ],
            steps=steps,
            drop_after=None if disconnect is None else disconnect.after_bytes,
        )

    # Streaming: a list of chunk payloads, each flagged by whether it is a text delta (the
    # unit that ErrorEvent.after and Stall.after count).
    chunk_sizes = (
        _chunk_sizes(reply.chunk_size) if reply.chunk_size is not None else settings.chunk_size
    )
    sizes = itertools.cycle(chunk_sizes)

    def pieces(text: str) -> list[str]:
        out: list[str] = []
        position = 0
        while position < len(text):
            size = next(sizes)
            out.append(text[position : position + size])
            position += size
        return out

    events: list[tuple[dict[str, Any], bool]] = []  # (delta, counts as a text delta)
    if refusal is not None:
        events.append(({"role": "assistant", "content": None, "refusal": ""}, False))
        events.extend(({"refusal": p}, True) for p in pieces(refusal.text))
    elif ask.tool_name is not None:
        events.append(({"role": "assistant", "content": None}, False))
        for index, (call_id, args) in enumerate(calls):
            opening = {
                "index": index,
                "id": call_id,
                "type": "function",
                "function": {"name": ask.tool_name, "arguments": ""},
            }
            events.append(({"tool_calls": [opening]}, False))
            events.extend(
                ({"tool_calls": [{"index": index, "function": {"arguments": p}}]}, True)
                for p in pieces(args)
            )
    else:
        events.append(({"role": "assistant", "content": "", "refusal": None}, False))
        events.extend(({"content": p}, True) for p in pieces(content or ""))

    def chunk(choices: list[dict[str, Any]], usage_value: object = None) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "id": envelope["id"],
            "object": "chat.completion.chunk",
            "created": envelope["created"],
            "model": ask.model,
            "service_tier": "default",
            "system_fingerprint": envelope["fingerprint"],
            "choices": choices,
        }
        if ask.include_usage:
            payload["usage"] = usage_value
        if ask.include_obfuscation and choices:
            payload["obfuscation"] = _random_text(ids, ids.randint(2, 12))
        return payload

    def choice(delta: dict[str, Any], reason: str | None = None) -> dict[str, Any]:
        return {"index": 0, "delta": delta, "logprobs": None, "finish_reason": reason}

    frames: list[tuple[bytes, bool]] = [
        (_sse_data(_dump(chunk([choice(delta)])), settings.line_ending), counts)
        for delta, counts in events
    ]

    # Faults that cut the stream short or pause it, placed after N text deltas.
    def position(after: int) -> int:
        if after <= 0:
            return 0
        seen = 0
        for index, (_frame, counts) in enumerate(frames):
            seen += counts
            if seen >= after:
                return index + 1
        return len(frames)

    end = len(frames)
    error_at = position(error.after) if error is not None else None
    if error_at is not None:
        end = error_at
    tail: list[bytes] = []
    if error is not None:
        body = {
            "error": {
                "message": error.message,
                "type": error.type,
                "param": error.param,
                "code": error.code,
            }
        }
        tail.append(_sse_data(_dump(body), settings.line_ending))
    else:
        tail.append(_sse_data(_dump(chunk([choice({}, finish_reason)])), settings.line_ending))
        if ask.include_usage:
            tail.append(_sse_data(_dump(chunk([], usage)), settings.line_ending))
        if not any(isinstance(f, MissingDone) for f in faults):
            tail.append(_sse_data("[DONE]", settings.line_ending))

    data_frames = [frame for frame, _counts in frames[:end]] + tail
    stall_at = position(stall.after) if stall is not None else None
    delay = reply.delay if reply.delay is not None else settings.delay
    steps = []
    for index, frame in enumerate(data_frames):
        if index == stall_at and stall is not None:
            steps.append(_StallStep(stall.seconds))
        if index > 0 and delay > 0:
            steps.append(_Pause(delay))
        steps.append(frame)
        every = settings.keep_alive_every
        if every is not None and (index + 1) % every == 0 and index + 1 < len(data_frames):
            steps.append(_sse_comment("keep-alive", settings.line_ending))
    return _Plan(
        status=200,
        headers=[
            (b"content-type", b"text/event-stream; charset=utf-8"),
            (b"cache-control", b"no-cache"),
            (b"x-request-id", request_id.encode()),
        ],
        steps=steps,
        drop_after=None if disconnect is None else disconnect.after_bytes,
    )


def _error_plan(fault: ErrorStatus, request_id: str) -> _Plan:
    message, type_, code = _DEFAULT_ERRORS.get(
        fault.status,
        (
            "The request failed.",
            "server_error" if fault.status >= 500 else "invalid_request_error",
            None,
        ),
    )
    error = {
        "message": fault.message if fault.message is not None else message,
        "type": fault.type if fault.type is not None else type_,
        "param": fault.param,
        "code": fault.code if fault.code is not None else code,
    }
    data = json.dumps({"error": error}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(data)).encode()),
        (b"x-request-id", request_id.encode()),
    ]
    if fault.retry_after is not None:
        seconds = fault.retry_after
        text = str(int(seconds)) if float(seconds).is_integer() else repr(float(seconds))
        headers.append((b"retry-after", text.encode()))
    headers.extend(
        (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in fault.headers.items()
    )
    return _Plan(status=fault.status, headers=headers, steps=[data])


def _dump(value: object) -> str:
    """Compact JSON, as the API writes it; non-ASCII stays raw UTF-8 on the wire."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _sse_data(data: str, line_ending: str) -> bytes:
    return f"data: {data}{line_ending}{line_ending}".encode()


def _sse_comment(text: str, line_ending: str) -> bytes:
    return f": {text}{line_ending}{line_ending}".encode()


_ID_ALPHABET: Final = string.ascii_letters + string.digits


def _random_text(rng: random.Random, length: int) -> str:
    return "".join(rng.choice(_ID_ALPHABET) for _ in range(length))
