"""The client speaking the Responses API and Anthropic Messages (``api=...``), end to end.

Each test runs on the async client (asyncio, trio) and on the sync client: the request each
dialect sends (endpoint, auth headers, body per mode, the call's own typed parameters, Anthropic's
``max_tokens`` default), and what each dialect's answer gives (partials, items, usage, finish
reason, reasoning, refusals, truncation, typed errors and retries). The answers are rendered by
``streamstruct.testing._dialects`` (the event shapes the recordings show, read by the official
SDKs in tests/testing/test_simulator_dialects.py) and served by an ``httpx.MockTransport``.

Border: the recorded streams replayed over a socket are test_client_dialect_recordings.py's.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import anyio
import anyio.to_thread
import httpx
import pytest
from pydantic import BaseModel
from reliability_support import Writer, raw_server

import streamstruct
from streamstruct import (
    IncompleteOutputError,
    InternalServerError,
    InvalidArgumentTypeError,
    InvalidArgumentValueError,
    RateLimitError,
    ReasoningAppended,
    RefusalError,
    StreamEnded,
    Usage,
)
from streamstruct.testing._dialects import (
    PlannedCall,
    PlannedError,
    PlannedReply,
    anthropic_error,
    render_anthropic,
    render_chat,
    render_responses,
    responses_error,
)

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["asyncio", "trio", "sync"])
def flavour(request: pytest.FixtureRequest) -> str:
    """The async client on asyncio and on trio, and the sync client."""
    return str(request.param)


@pytest.fixture
def anyio_backend(flavour: str) -> str:
    return "asyncio" if flavour == "sync" else flavour


KEY = "sk-dialects-SECRET-0f3c"
MESSAGES = [
    {"role": "system", "content": "Answer in JSON."},
    {"role": "user", "content": "Make up a person."},
]
ANN = {"name": "Ann", "age": 31}
BO = {"name": "Bo", "age": 42}
RENDER = {"chat": render_chat, "responses": render_responses, "anthropic": render_anthropic}
DIALECTS = ("responses", "anthropic")


class Person(BaseModel):
    name: str
    age: int


def pieces(value: object, size: int = 4) -> tuple[str, ...]:
    text = json.dumps(value, separators=(",", ":"))
    return tuple(text[i : i + size] for i in range(0, len(text), size))


def reply_for(mode: str, *values: object, **more: Any) -> PlannedReply:
    """The reply a model gives in ``mode``: each value a tool call, or the content."""
    if mode == "tools":
        calls = tuple(
            PlannedCall(f"call_{n}", "Person", pieces(value)) for n, value in enumerate(values)
        )
        return PlannedReply(model="m", calls=calls, **more)
    (value,) = values
    text = "".join(pieces(value))
    if mode == "md_json":
        text = f"Here it is:\n```json\n{text}\n```\n"
    return PlannedReply(
        model="m", content=tuple(text[i : i + 5] for i in range(0, len(text), 5)), **more
    )


@dataclass
class Server:
    """Answers every request with the next of ``answers``; keeps the requests."""

    answers: list[Callable[[], httpx.Response]]
    requests: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.answers[min(len(self.requests), len(self.answers)) - 1]()

    @property
    def body(self) -> dict[str, Any]:
        return json.loads(self.requests[-1].content)  # type: ignore[no-any-return]


def stream_of(
    api: str, reply: PlannedReply, headers: dict[str, str] | None = None
) -> Callable[[], httpx.Response]:
    """The reply in ``api``'s events, one event per read (each read a step of the stream)."""
    frames = [frame for frame, _ in RENDER[api](reply)]
    sent = {"content-type": "text/event-stream", **(headers or {})}
    return lambda: httpx.Response(200, headers=sent, stream=Reads(frames))


class Reads(httpx.AsyncByteStream):
    """A body read in the given pieces (a plain iterator, not an async generator: see
    streamstruct._io._sending.RequestBody)."""

    def __init__(self, pieces: list[bytes]) -> None:
        self._pieces = pieces

    def __aiter__(self) -> Reads:
        return Reads(list(self._pieces))

    async def __anext__(self) -> bytes:
        if not self._pieces:
            raise StopAsyncIteration
        return self._pieces.pop(0)


def answer(status: int, body: bytes, headers: dict[str, str]) -> Callable[[], httpx.Response]:
    return lambda: httpx.Response(status, headers=headers, content=body)


def anthropic_answer(status: int, message: str, **options: Any) -> Callable[[], httpx.Response]:
    headers, body = anthropic_error(status, message, **options)
    return answer(status, body, {k.decode(): v.decode() for k, v in headers})


def serve(*answers: Callable[[], httpx.Response]) -> Server:
    return Server(list(answers))


@dataclass
class Outcome:
    value: Any = None
    events: list[Any] = field(default_factory=list)
    error: BaseException | None = None
    usage: Usage | None = None
    finish_reason: str | None = None
    reasoning: str | None = None
    request_id: str | None = None


def client_options(api: str, server: Server, **options: Any) -> dict[str, Any]:
    options.setdefault("api_key", KEY)
    options.setdefault("backoff", 0.0)
    return {"api": api, "transport": httpx.MockTransport(server), **options}


async def run(
    flavour: str,
    api: str,
    server: Server,
    *,
    iterable: bool = False,
    client: dict[str, Any] | None = None,
    **call: Any,
) -> Outcome:
    """One call on the chosen client: events() of create_partial, or create_iterable's items."""
    options = client_options(api, server, **(client or {}))
    call = {"model": "m", "messages": MESSAGES, **call}
    out = Outcome()
    if flavour == "sync":
        with streamstruct.Client(**options) as sync:
            if iterable:
                stream: Any = sync.chat.completions.create_iterable(response_model=Person, **call)
            else:
                stream = sync.chat.completions.create_partial(response_model=Person, **call)
            try:
                out.events = list(stream if iterable else stream.events())
            except streamstruct.StreamStructError as error:
                out.error = error
            _note(out, stream)
            stream.close()
        return out
    async with streamstruct.AsyncClient(**options) as aclient:
        if iterable:
            astream: Any = aclient.chat.completions.create_iterable(response_model=Person, **call)
        else:
            astream = aclient.chat.completions.create_partial(response_model=Person, **call)
        try:
            out.events = [e async for e in (astream if iterable else astream.events())]
        except streamstruct.StreamStructError as error:
            out.error = error
        _note(out, astream)
        await astream.aclose()
    return out


def _note(out: Outcome, stream: Any) -> None:
    out.usage = stream.usage
    out.finish_reason = stream.finish_reason
    out.reasoning = stream.reasoning
    out.request_id = stream.request_id
    if out.events and isinstance(out.events[-1], StreamEnded):
        out.value = out.events[-1].value


def dumped(values: Iterable[BaseModel]) -> list[dict[str, Any]]:
    return [v.model_dump() for v in values]


# -- the request -------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["tools", "json_schema", "json", "md_json"])
async def test_responses_request_per_mode(flavour: str, mode: str) -> None:
    server = serve(stream_of("responses", reply_for(mode, ANN)))
    out = await run(flavour, "responses", server, client={"mode": mode})
    assert out.error is None
    assert out.value == Person(**ANN)
    request = server.requests[-1]
    assert request.url == "https://api.openai.com/v1/responses"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert "x-api-key" not in request.headers
    assert "anthropic-version" not in request.headers
    body = server.body
    assert body["stream"] is True
    assert body["model"] == "m"
    assert "messages" not in body
    assert "stream_options" not in body
    assert body["instructions"].startswith("Answer in JSON.")
    assert body["input"][-1] == {"role": "user", "content": "Make up a person."}
    if mode == "tools":
        assert body["tools"][0]["type"] == "function"
        assert body["tools"][0]["name"] == "Person"
        assert body["tool_choice"] == {"type": "function", "name": "Person"}
    else:
        assert "tools" not in body
    expected_format = {"json_schema": "json_schema", "json": "json_object"}.get(mode)
    if expected_format is None:
        assert "text" not in body
    else:
        assert body["text"]["format"]["type"] == expected_format


@pytest.mark.parametrize("mode", ["tools", "json_schema", "json", "md_json"])
async def test_anthropic_request_per_mode(flavour: str, mode: str) -> None:
    server = serve(stream_of("anthropic", reply_for(mode, ANN)))
    out = await run(flavour, "anthropic", server, client={"mode": mode})
    assert out.error is None
    assert out.value == Person(**ANN)
    request = server.requests[-1]
    assert request.url == "https://api.anthropic.com/v1/messages"
    assert request.headers["x-api-key"] == KEY
    assert request.headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in request.headers
    body = server.body
    assert body["stream"] is True
    assert body["max_tokens"] == 4096
    assert body["system"].startswith("Answer in JSON.")
    assert body["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "Make up a person."}]}
    ]
    if mode == "tools":
        tool = body["tools"][0]
        assert tool["name"] == "Person"
        assert tool["eager_input_streaming"] is True
        assert "input_schema" in tool
        assert body["tool_choice"]["type"] == "tool"
        assert body["tool_choice"]["name"] == "Person"
    else:
        assert "tools" not in body
    if mode == "json_schema":
        assert body["output_config"]["format"]["type"] == "json_schema"
    else:
        assert "output_config" not in body


async def test_chat_is_the_default_and_unchanged(flavour: str) -> None:
    server = serve(stream_of("chat", reply_for("tools", ANN)))
    options = client_options("chat", server)
    del options["api"]
    out = await run(flavour, "chat", server, client={})
    assert out.value == Person(**ANN)
    assert server.requests[-1].url == "https://api.openai.com/v1/chat/completions"
    assert server.body["stream_options"] == {"include_usage": True}
    assert repr(streamstruct.AsyncClient(**options)).startswith("AsyncClient(base_url=")


async def test_anthropic_key_and_base_url_from_its_environment(
    flavour: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-from-env")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://anthropic.local:8080")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai-not-this")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://openai.local/v1")
    server = serve(stream_of("anthropic", reply_for("tools", ANN)))
    out = await run(flavour, "anthropic", server, client={"api_key": None})
    assert out.value == Person(**ANN)
    request = server.requests[-1]
    assert request.url == "http://anthropic.local:8080/v1/messages"
    assert request.headers["x-api-key"] == "sk-ant-from-env"


async def test_responses_key_and_base_url_are_openais(
    flavour: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai-env")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://openai.local/v1")
    server = serve(stream_of("responses", reply_for("tools", ANN)))
    await run(flavour, "responses", server, client={"api_key": None})
    assert server.requests[-1].url == "http://openai.local/v1/responses"
    assert server.requests[-1].headers["authorization"] == "Bearer sk-openai-env"


async def test_each_dialect_takes_its_own_typed_parameters(flavour: str) -> None:
    server = serve(stream_of("anthropic", reply_for("json_schema", ANN)))
    await run(
        flavour,
        "anthropic",
        server,
        client={"mode": "json_schema"},
        max_tokens=500,
        top_k=5,
        stop_sequences=["END"],
        metadata={"user_id": "u1"},
        thinking={"type": "enabled", "budget_tokens": 1024},
        output_config={"effort": "low"},
        extra_body={"anything": 1},
        extra_headers={"anthropic-beta": "some-beta"},
    )
    body = server.body
    assert body["max_tokens"] == 500
    assert body["top_k"] == 5
    assert body["stop_sequences"] == ["END"]
    assert body["metadata"] == {"user_id": "u1"}
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 1024}
    assert body["output_config"]["effort"] == "low"
    assert body["output_config"]["format"]["type"] == "json_schema"
    assert body["anything"] == 1
    assert server.requests[-1].headers["anthropic-beta"] == "some-beta"

    server = serve(stream_of("responses", reply_for("tools", ANN)))
    await run(
        flavour,
        "responses",
        server,
        reasoning={"effort": "low", "summary": "auto"},
        store=False,
        previous_response_id="resp_1",
        max_output_tokens=300,
        include=["reasoning.encrypted_content"],
    )
    body = server.body
    assert body["reasoning"] == {"effort": "low", "summary": "auto"}
    assert body["store"] is False
    assert body["previous_response_id"] == "resp_1"
    assert body["max_output_tokens"] == 300


@pytest.mark.parametrize(
    ("api", "keyword", "value", "hint"),
    [
        ("anthropic", "stop", ["x"], "stop_sequences"),
        ("anthropic", "seed", 1, "extra_body"),
        ("responses", "max_tokens", 10, "max_output_tokens"),
        ("responses", "top_k", 3, "extra_body"),
        ("chat", "top_k", 3, "extra_body"),
        ("chat", "max_output_tokens", 3, "extra_body"),
    ],
)
async def test_a_parameter_of_another_dialect_is_refused_naming_it(
    flavour: str, api: str, keyword: str, value: object, hint: str
) -> None:
    server = serve(stream_of(api, reply_for("tools", ANN)))
    with pytest.raises(InvalidArgumentTypeError, match=hint) as caught:
        await run(flavour, api, server, **{keyword: value})
    assert caught.value.argument == keyword
    assert server.requests == []


async def test_anthropic_thinking_with_tools_mode_is_refused_up_front(flavour: str) -> None:
    server = serve(stream_of("anthropic", reply_for("tools", ANN)))
    with pytest.raises(InvalidArgumentValueError, match="JSON_SCHEMA"):
        await run(flavour, "anthropic", server, thinking={"type": "enabled", "budget_tokens": 1024})
    assert server.requests == []


def test_api_is_checked() -> None:
    with pytest.raises(InvalidArgumentValueError, match="'chat', 'responses', 'anthropic'"):
        streamstruct.AsyncClient(api="gemini")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentTypeError):
        streamstruct.AsyncClient(api=None)  # type: ignore[arg-type]
    client = streamstruct.Client(api="anthropic", api_key=KEY)
    try:
        assert "api='anthropic'" in repr(client)
        assert KEY not in repr(client)
        assert str(client.base_url) == "https://api.anthropic.com/"
        assert client.api == "anthropic"
    finally:
        client.close()


# -- the answer ----------------------------------------------------------------------------------


@pytest.mark.parametrize("api", DIALECTS)
@pytest.mark.parametrize("mode", ["tools", "json_schema", "json", "md_json"])
async def test_partials_fill_in_with_usage_and_the_finish_reason_as_sent(
    flavour: str, api: str, mode: str
) -> None:
    reply = reply_for(mode, ANN, prompt_tokens=11, completion_tokens=7)
    out = await run(flavour, api, serve(stream_of(api, reply)), client={"mode": mode})
    assert out.error is None
    snapshots = [e.partial for e in out.events if isinstance(e, streamstruct.SnapshotEvent)]
    assert len(snapshots) > 2
    assert snapshots[0] != snapshots[-1]
    assert out.value == Person(**ANN)
    assert out.usage == Usage(11, 7, 18)
    expected = {
        "responses": "completed",
        "anthropic": "tool_use" if mode == "tools" else "end_turn",
    }
    assert out.finish_reason == expected[api]


@pytest.mark.parametrize("api", DIALECTS)
@pytest.mark.parametrize("mode", ["tools", "json_schema", "json", "md_json"])
async def test_items_of_every_mode(flavour: str, api: str, mode: str) -> None:
    # In TOOLS mode parallel calls, one item each.
    values = (ANN, BO) if mode == "tools" else ({"items": [ANN, BO]},)
    reply = reply_for(mode, *values)
    out = await run(
        flavour, api, serve(stream_of(api, reply)), client={"mode": mode}, iterable=True
    )
    assert out.error is None
    assert dumped(out.events) == [ANN, BO]


@pytest.mark.parametrize("api", ["chat", *DIALECTS])
@pytest.mark.parametrize("mode", ["tools", "json_schema"])
async def test_reasoning_is_kept_apart_and_reported_as_events(
    flavour: str, api: str, mode: str
) -> None:
    reply = reply_for(mode, ANN, reasoning=("Think of ", "a {name", "}."))
    out = await run(flavour, api, serve(stream_of(api, reply)), client={"mode": mode})
    assert out.error is None
    assert out.value == Person(**ANN)
    assert out.reasoning == "Think of a {name}."
    reasoning = [e.text for e in out.events if isinstance(e, ReasoningAppended)]
    assert "".join(reasoning) == "Think of a {name}."
    first_field = next(
        i for i, e in enumerate(out.events) if isinstance(e, streamstruct.FieldStarted)
    )
    assert all(
        i < first_field for i, e in enumerate(out.events) if isinstance(e, ReasoningAppended)
    )


@pytest.mark.parametrize("api", DIALECTS)
async def test_a_refusal_is_a_refusal_error(flavour: str, api: str) -> None:
    reply = PlannedReply(model="m", refusal=("I can't ", "help with that."))
    out = await run(flavour, api, serve(stream_of(api, reply)))
    assert isinstance(out.error, RefusalError)
    assert out.error.refusal == "I can't help with that."


async def test_an_anthropic_refusal_without_explanation_is_still_a_refusal(flavour: str) -> None:
    events = [
        {
            "type": "message_start",
            "message": {
                "id": "msg_1",
                "type": "message",
                "role": "assistant",
                "content": [],
                "model": "m",
                "stop_reason": None,
                "usage": {"input_tokens": 3, "output_tokens": 1},
            },
        },
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "tool_use", "id": "toolu_1", "name": "Person", "input": {}},
        },
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "input_json_delta", "partial_json": '{"name": "A'},
        },
        {
            "type": "message_delta",
            "delta": {"stop_reason": "refusal", "stop_details": None},
            "usage": {"output_tokens": 4},
        },
        {"type": "message_stop"},
    ]
    body = "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events).encode()
    out = await run(
        flavour, "anthropic", serve(answer(200, body, {"content-type": "text/event-stream"}))
    )
    assert isinstance(out.error, RefusalError)
    assert "refusal" in str(out.error)
    assert out.error.partial is not None
    assert out.error.partial.name == "A"


@pytest.mark.parametrize("api", DIALECTS)
@pytest.mark.parametrize("mode", ["tools", "json_schema"])
async def test_truncation_is_incomplete_output_with_the_partial(
    flavour: str, api: str, mode: str
) -> None:
    full = reply_for(mode, ANN)
    if mode == "tools":
        call = full.calls[0]
        cut = PlannedReply(
            model="m", calls=(PlannedCall(call.call_id, call.name, call.pieces[:3]),), cut="length"
        )
    else:
        cut = PlannedReply(model="m", content=full.content[:3], cut="length")
    out = await run(flavour, api, serve(stream_of(api, cut)), client={"mode": mode})
    assert isinstance(out.error, IncompleteOutputError), out.error
    expected = {"responses": "max_output_tokens", "anthropic": "max_tokens"}[api]
    assert out.finish_reason == expected
    assert expected in str(out.error)
    # The advice names the parameter as the dialect spells it (a Responses call refuses max_tokens).
    assert f"raise {expected} or ask for less" in str(out.error)
    assert out.error.partial is not None
    assert out.error.partial.name == "Ann"
    assert out.error.text


# -- errors and retries --------------------------------------------------------------------------------


@pytest.mark.parametrize("api", DIALECTS)
async def test_an_error_event_is_typed_and_carries_the_partial(flavour: str, api: str) -> None:
    reply = reply_for("tools", ANN)
    reply = PlannedReply(model="m", calls=reply.calls, error=PlannedError(after=3))
    out = await run(flavour, api, serve(stream_of(api, reply)), client={"max_retries": 0})
    assert isinstance(out.error, InternalServerError)
    assert out.error.status_code == 500
    assert out.error.partial is not None
    assert out.error.partial.name == "Ann"


async def test_anthropic_http_error_body_request_id_and_should_retry(flavour: str) -> None:
    busy = anthropic_answer(529, "Overloaded", request_id="req_529", should_retry=True)
    # x-should-retry: true is obeyed even for a 400, as Anthropic's SDK obeys it.
    told_to_retry = anthropic_answer(400, "bad thing", request_id="req_400", should_retry=True)
    ok = stream_of("anthropic", reply_for("tools", ANN), {"request-id": "req_ok"})
    server = serve(busy, told_to_retry, ok)
    out = await run(flavour, "anthropic", server)
    assert out.value == Person(**ANN)
    assert len(server.requests) == 3
    assert out.request_id == "req_ok"

    server = serve(anthropic_answer(529, "Overloaded", request_id="req_529"))
    error = (await run(flavour, "anthropic", server, client={"max_retries": 1})).error
    assert isinstance(error, InternalServerError)
    assert error.status_code == 529
    assert error.request_id == "req_529"
    assert error.body == {"type": "overloaded_error", "message": "Overloaded"}
    assert len(server.requests) == 2
    assert error.attempts == 2

    server = serve(anthropic_answer(429, "slow down", request_id="req_429", should_retry=False))
    error = (await run(flavour, "anthropic", server, client={"max_retries": 3})).error
    assert isinstance(error, RateLimitError)
    assert len(server.requests) == 1


async def test_responses_http_error_is_typed_and_retry_after_honoured(flavour: str) -> None:
    body = responses_error("Rate limit reached", type="requests", code="rate_limit_exceeded")
    limited = answer(429, body, {"retry-after-ms": "1", "x-request-id": "req_r"})
    server = serve(limited, stream_of("responses", reply_for("json_schema", ANN)))
    # backoff=30 s: the test would time out unless retry-after-ms is what is waited for.
    out = await run(flavour, "responses", server, client={"mode": "json_schema", "backoff": 30.0})
    assert out.value == Person(**ANN)
    assert len(server.requests) == 2
    server = serve(limited)
    error = (await run(flavour, "responses", server, client={"max_retries": 0})).error
    assert isinstance(error, RateLimitError)
    assert error.request_id == "req_r"
    assert error.body["code"] == "rate_limit_exceeded"


@pytest.mark.parametrize("api", DIALECTS)
async def test_the_key_stays_out_of_errors(flavour: str, api: str) -> None:
    if api == "anthropic":
        refused = anthropic_answer(401, f"invalid x-api-key {KEY}", request_id="req_1")
    else:
        body = responses_error(f"Incorrect API key provided: {KEY}", type="invalid_request_error")
        refused = answer(401, body, {})
    error = (await run(flavour, api, serve(refused))).error
    assert isinstance(error, streamstruct.AuthenticationError)
    assert KEY not in str(error)
    assert KEY not in repr(error.body)


# -- typing --------------------------------------------------------------------------------------


def test_mypy_checks_the_dialects_options(
    mypy_strict: Callable[[str], subprocess.CompletedProcess[str]],
) -> None:
    """``api=`` and each dialect's own parameters are typed on both clients (see the file)."""
    result = mypy_strict("tests/typing/dialect_options.py")
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_parameter_a_dialect_takes_is_typed_in_call_options() -> None:
    from streamstruct._request._dialect_request import AnthropicParams, ResponsesParams
    from streamstruct._request._options import CallOptions

    typed = CallOptions.__optional_keys__
    assert ResponsesParams.__optional_keys__ <= typed
    assert AnthropicParams.__optional_keys__ <= typed


# -- an error event before the answer began is retried like its status ---------------------------


def failing(api: str, after: int, **error: Any) -> Callable[[], httpx.Response]:
    calls = reply_for("tools", ANN).calls
    return stream_of(api, PlannedReply(model="m", calls=calls, error=PlannedError(after, **error)))


@pytest.mark.parametrize(
    ("api", "error"),
    [
        ("anthropic", {"type": "overloaded_error", "message": "Overloaded"}),
        ("anthropic", {"type": "api_error"}),
        ("responses", {"type": "server_error", "code": "server_error"}),
    ],
)
async def test_an_error_event_before_any_output_is_retried(
    flavour: str, api: str, error: dict[str, Any]
) -> None:
    server = serve(failing(api, 0, **error), stream_of(api, reply_for("tools", ANN)))
    out = await run(flavour, api, server)
    assert out.error is None
    assert out.value == Person(**ANN)
    assert len(server.requests) == 2

    server = serve(failing(api, 0, **error))
    out = await run(flavour, api, server, client={"max_retries": 2})
    assert isinstance(out.error, InternalServerError)
    assert len(server.requests) == 3


async def test_an_overloaded_error_event_is_a_529(flavour: str) -> None:
    server = serve(failing("anthropic", 0, type="overloaded_error", message="Overloaded"))
    out = await run(flavour, "anthropic", server, client={"max_retries": 0})
    assert isinstance(out.error, InternalServerError)
    assert out.error.status_code == 529
    assert "Overloaded" in str(out.error)
    assert len(server.requests) == 1


@pytest.mark.parametrize("api", DIALECTS)
async def test_an_error_event_after_the_answer_began_is_not_retried(flavour: str, api: str) -> None:
    server = serve(failing(api, 2, type="server_error"), stream_of(api, reply_for("tools", ANN)))
    out = await run(flavour, api, server, client={"max_retries": 3})
    assert isinstance(out.error, InternalServerError)
    assert out.error.partial is not None
    assert len(server.requests) == 1


async def test_a_chat_error_event_is_not_retried_as_before(flavour: str) -> None:
    server = serve(
        failing("chat", 0, type="server_error"), stream_of("chat", reply_for("tools", ANN))
    )
    out = await run(flavour, "chat", server, client={"max_retries": 3})
    assert isinstance(out.error, streamstruct.APIStatusError)
    assert len(server.requests) == 1


async def test_a_quota_error_event_is_not_retried(flavour: str) -> None:
    quota = failing("responses", 0, type="insufficient_quota", code="insufficient_quota")
    server = serve(quota, stream_of("responses", reply_for("tools", ANN)))
    out = await run(flavour, "responses", server, client={"max_retries": 3})
    assert isinstance(out.error, RateLimitError)
    assert len(server.requests) == 1


# -- cancellation --------------------------------------------------------------------------------


def endless_frames(api: str) -> tuple[list[bytes], bytes]:
    """A tool call whose arguments never end: the frames up to ``{"name":"A``, and a frame of
    one more letter of the name, to be sent forever."""
    pieces = ('{"name":"', "A", "x")
    reply = PlannedReply(model="m", calls=(PlannedCall("call_0", "Person", pieces),))
    frames = RENDER[api](reply)
    deltas = [i for i, (_, counts) in enumerate(frames) if counts]
    return [frame for frame, _ in frames[: deltas[1] + 1]], frames[deltas[2]][0]


@pytest.mark.parametrize("api", DIALECTS)
@pytest.mark.parametrize("how", ["break", "cancel"])
async def test_leaving_a_stream_closes_its_connection(flavour: str, api: str, how: str) -> None:
    opening, more = endless_frames(api)

    async def handler(writer: Writer, headers: dict[str, str]) -> None:
        await writer.start_chunked()
        for frame in opening:
            await writer.chunk(frame)
        while True:
            await writer.chunk(more)
            await anyio.sleep(0.01)

    async with raw_server(handler) as (url, log):
        base_url = url if api == "responses" else url.removesuffix("/v1")
        options = {"api": api, "api_key": KEY, "base_url": base_url}
        call = {"model": "m", "response_model": Person, "messages": MESSAGES}
        names: list[str] = []
        if flavour == "sync":

            def run_sync() -> None:
                with streamstruct.Client(**options) as client:  # type: ignore[arg-type]
                    stream = client.chat.completions.create_partial(**call)  # type: ignore[arg-type]
                    for partial in stream:
                        if partial.name:
                            names.append(partial.name)
                            break
                    stream.close()

            await anyio.to_thread.run_sync(run_sync)
        else:
            async with streamstruct.AsyncClient(**options) as client:  # type: ignore[arg-type]
                stream = client.chat.completions.create_partial(**call)  # type: ignore[arg-type]
                with anyio.move_on_after(0.3 if how == "cancel" else 10):
                    async for partial in stream:
                        if partial.name:
                            names.append(partial.name)
                            if how == "break":
                                break
        await log.last.wait_gone(within=2.0)
        assert names
        assert names[0].startswith("A")
