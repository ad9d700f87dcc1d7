"""The simulator: an ASGI app that answers ``POST /v1/chat/completions`` as the OpenAI API
does, and ``POST /v1/responses`` and ``POST /v1/messages`` as the Responses and Anthropic
Messages APIs do.

It exists so that streamstruct (and anything else that speaks the protocol, the official ``openai``
package included) can be tested against byte-exact ``chat.completion.chunk`` streams, with faults
on demand, without a network or an API key. It is written by hand against the ASGI spec, with no
web framework, so that ``httpx.ASGITransport(app=simulator)`` works with nothing but httpx; the
same object is served over real loopback sockets by :func:`streamstruct.testing.serve` (uvicorn).

The simulator is split like the library's own pipeline:

* what a test scripts (:mod:`._script`: replies, faults, settings) and what a request asks for
  (:mod:`._ask`), both plain values;
* a sans-I/O **planner** (:func:`._plan._plan`): request + reply + settings -> status, headers and
  a list of steps (bytes to send, pauses, stalls, where to drop the connection). It decides what
  the answer says, then its stream as abstract events (:mod:`._answer`), which a renderer per wire
  format turns into bytes (:mod:`._chat_render` for chat completions, :mod:`._responses_render`
  and :mod:`._anthropic_render` for the other two). Everything that decides
  *what* goes on the wire happens there, without ``await``.
* this module's thin **ASGI shell** (:meth:`Simulator.__call__`), which picks the API by the
  route (its request reader, renderer and error bodies: :mod:`._dialect_ask`) and executes the
  steps with ``send`` and ``anyio.sleep`` (so it runs on asyncio and trio alike).

The app never calls ``send`` inside a cancel scope or task group. That keeps it runnable by
:class:`streamstruct.testing.StreamingASGITransport`, which steps the app inside the reading task.

What is answered (see :class:`Reply`): a scripted value (serialised as compact JSON; a ``str`` is
sent as is), or by default a value generated from the request's JSON schema by
:func:`streamstruct.testing.generate_value`. Where it goes: into ``tool_calls[].function.arguments``
when the request has ``tools`` and a ``tool_choice`` other than ``"none"``; otherwise into
``content`` (optionally wrapped in a Markdown ```` ```json ```` fence with prose around it).
"""

from __future__ import annotations

import itertools
import json
import threading
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping, Sequence
from typing import Any, Final, TypeAlias, final

import anyio
import httpx

from ._ask import _Ask, _BadRequest, _read_ask
from ._dialect_ask import _Api, _read_anthropic_ask, _read_responses_ask
from ._dialects import anthropic_error
from ._plan import _Plan, _plan
from ._script import (
    Disconnect,
    ErrorEvent,
    ErrorStatus,
    Fault,
    LineEnding,
    MissingDone,
    Refusal,
    Reply,
    Stall,
    Style,
    Truncate,
    _as_reply,
    _chunk_sizes,
    _faults,
    _Settings,
)

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
# The ASGI shell.
# ---------------------------------------------------------------------------------------------


@final
class Simulator:
    """An OpenAI-compatible chat-completions server, as an ASGI 3 application, that also speaks
    the OpenAI Responses API and Anthropic's Messages API.

    Use it in process with ``httpx.AsyncClient(transport=httpx.ASGITransport(app=simulator))``
    (or :class:`~streamstruct.testing.StreamingASGITransport` to see the stream arrive delta by
    delta), or over loopback with ``serve(simulator)``. Point a client at base URL
    ``http://<host>/v1``; ``POST /v1/chat/completions`` and ``POST /chat/completions`` answer,
    ``POST /v1/responses`` (and ``/responses``) answer as the Responses API and ``POST
    /v1/messages`` as Anthropic (base URL ``http://<host>`` for an Anthropic client), each reading
    the request as that API takes it and streaming its own events; faults apply to all three
    (HTTP errors with each API's error body and request-id header, its error event, the same
    places for stalls and disconnects, a missing last event for ``MissingDone``).

    ``responses`` scripts the answers: a ``list``/``tuple`` is a queue consumed one per request
    (requests past its end get generated values); any other value - a :class:`Reply`, a JSON-able
    value or a raw ``str`` - answers *every* request. ``script()`` appends to the queue later.

    Streaming shape: ``chunk_size`` characters per delta (an ``int``, or a sequence cycled
    through for irregular splits), ``delay`` seconds between events, a ``: keep-alive`` comment
    after every ``keep_alive_every`` events, and ``line_ending`` for every line of the SSE body.
    ``seed`` seeds generated values when the request has no ``seed`` of its own. ``style``
    ``"md_json"`` wraps JSON content in a Markdown fence with prose around it.

    ``requests`` lists the JSON bodies posted to any of the three (in arrival order, including
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
        """The JSON objects posted to the three APIs' routes, oldest first."""
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
        api = _ROUTES.get(path)
        if api is None:
            await _send_error(send, 404, f"Unknown request URL: {method} {path}.", request_id)
            return
        if method != "POST":
            message = f"Method {method} not allowed for {path}."
            await _send_error(send, 405, message, request_id, api=api)
            return
        try:
            request = json.loads(body)
        except ValueError:
            await _send_error(send, 400, _UNPARSABLE[api], request_id, api=api)
            return
        if not isinstance(request, dict):
            message = "The request body must be a JSON object."
            await _send_error(send, 400, message, request_id, api=api)
            return
        with self._lock:
            self.requests.append(request)
            self.request_headers.append(headers)
        try:
            ask = _READERS[api](request)
        except _BadRequest as exc:  # refused before any reply is taken from the queue
            await _send_error(
                send, 400, exc.message, request_id, param=exc.param, code=exc.code, api=api
            )
            return
        reply, number = self._next_reply()
        plan = _plan(ask, reply, self._settings, number=number, request_id=request_id, api=api)
        await _execute(plan, receive, send)


# The routes answered, by path without a trailing slash, and the API each speaks.
_ROUTES: Final[Mapping[str, _Api]] = {
    "/v1/chat/completions": "chat",
    "/chat/completions": "chat",
    "/v1/responses": "responses",
    "/responses": "responses",
    "/v1/messages": "anthropic",
}
_READERS: Final[Mapping[_Api, Callable[[Mapping[str, Any]], _Ask]]] = {
    "chat": _read_ask,
    "responses": _read_responses_ask,
    "anthropic": _read_anthropic_ask,
}
_UNPARSABLE: Final[Mapping[_Api, str]] = {
    "chat": "We could not parse the JSON body of your request. (HINT: This likely means you "
    "aren't using your HTTP library correctly. The OpenAI API expects a JSON payload.)",
    "responses": "We could not parse the JSON body of your request. (HINT: This likely means "
    "you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload.)",
    "anthropic": "There was an issue with your request body: it is not valid JSON.",
}


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
    api: _Api = "chat",
) -> None:
    if api == "anthropic":  # Anthropic's body and request-id header (its errors have no param)
        headers, data = anthropic_error(status, message, request_id=request_id)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": data, "more_body": False})
        return
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
