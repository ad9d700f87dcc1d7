"""The client's HTTP side, with respx: request bodies, headers, error mapping, retries, wire shapes.

Every API test runs on the async client and on the sync one (``Client``, driven from a worker
thread), on asyncio and trio. The mock server is a respx router used as the client's transport; the
streamed bodies are a small byte stream (``Body``) that records whether the client closed it. It is
a plain iterator class rather than an async generator, so a body closed part-way (an invalid value,
an error event) leaves nothing for trio to collect half-run: these tests are about request and
response shapes; what a real socket and httpcore's own generators do is for
``test_client_loopback.py``. The client's own httpx client (needed for the environment-variable
defaults) is patched with ``respx.mock`` and only asked for whole, non-streamed answers.

Border: the request and response shapes against a mock server. A caller's wrong arguments are in
``test_client_arguments.py``; what a stream yields, end to end, in ``test_client_streaming.py``; real
sockets in ``test_client_loopback.py``.
"""

from __future__ import annotations

import email.utils
import functools
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from types import SimpleNamespace
from typing import Annotated, Any, Literal

import anyio
import anyio.to_thread
import httpx
import pytest
import respx
from pydantic import BaseModel, Field
from shared_support import User, pieces

import streamstruct
import streamstruct._io._client as client_module
from streamstruct import Mode

pytestmark = pytest.mark.anyio

BASE_URL = "http://api.test/v1"
ENDPOINT = f"{BASE_URL}/chat/completions"
KEY = "sk-test-0123456789abcdef"
MESSAGES: list[dict[str, Any]] = [{"role": "user", "content": "Alice is 28."}]
ALICE = {"name": "Alice", "age": 28}


class Cat(BaseModel):
    kind: Literal["cat"] = "cat"
    name: str


class Dog(BaseModel):
    kind: Literal["dog"] = "dog"
    name: str


Pet = Annotated[Cat | Dog, Field(discriminator="kind")]


# -- the mock server's building blocks -----------------------------------------------------------


class Body(httpx.AsyncByteStream):
    """A streamed response body, delivered piece by piece; an exception in ``pieces`` is raised
    when its turn comes (a connection lost mid-body). Records whether the client closed it."""

    def __init__(self, pieces: Iterable[bytes | BaseException]) -> None:
        self._pieces = list(pieces)
        self.closed = False

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self

    async def __anext__(self) -> bytes:
        if not self._pieces:
            raise StopAsyncIteration
        piece = self._pieces.pop(0)
        if isinstance(piece, BaseException):
            raise piece
        return piece

    async def aclose(self) -> None:
        self.closed = True


def chunk(
    delta: dict[str, Any] | None = None,
    *,
    finish: str | None = None,
    choices: bool = True,
    usage: dict[str, int] | None = None,
) -> dict[str, Any]:
    """One ``chat.completion.chunk``."""
    payload: dict[str, Any] = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": "gpt-4o-mini",
        "choices": (
            [{"index": 0, "delta": delta or {}, "logprobs": None, "finish_reason": finish}]
            if choices
            else []
        ),
    }
    if usage is not None:
        payload["usage"] = usage
    return payload


USAGE = {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}


def frames(*payloads: object, line_ending: str = "\n") -> list[bytes]:
    """SSE ``data:`` events, one per payload (a ``str`` is sent as is, e.g. ``[DONE]``)."""
    out = []
    for payload in payloads:
        data = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
        out.append(f"data: {data}{line_ending}{line_ending}".encode())
    return out


def tool_chunks(arguments: str, *, name: str = "User", call_id: str = "call_1") -> list[object]:
    """A forced tool call: the id and name first, then the arguments in small fragments."""
    opening = {"index": 0, "id": call_id, "type": "function"}
    opening["function"] = {"name": name, "arguments": ""}
    out: list[object] = [chunk({"role": "assistant", "content": None, "tool_calls": [opening]})]
    for piece in pieces(arguments, 5) or [""]:
        out.append(chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}))
    return out


def content_chunks(text: str) -> list[object]:
    out: list[object] = [chunk({"role": "assistant", "content": ""})]
    out.extend(chunk({"content": piece}) for piece in pieces(text, 5) or [""])
    return out


def sse_response(
    payloads: Sequence[object],
    *,
    finish: str | None = "stop",
    usage: bool = True,
    done: bool = True,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    tail: list[object] = []
    if finish is not None:
        tail.append(chunk(finish=finish))
    if usage:
        tail.append(chunk(choices=False, usage=USAGE))
    if done:
        tail.append("[DONE]")
    stream = Body(frames(*payloads, *tail))
    return httpx.Response(
        200,
        headers={"content-type": "text/event-stream", "x-request-id": "req_ok", **(headers or {})},
        stream=stream,
    )


def completion_response(message: dict[str, Any], *, finish: str = "stop") -> httpx.Response:
    return httpx.Response(
        200,
        json={
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 1700000000,
            "model": "gpt-4o-mini",
            "choices": [
                {"index": 0, "message": message, "logprobs": None, "finish_reason": finish}
            ],
            "usage": USAGE,
        },
        headers={"x-request-id": "req_ok"},
    )


def error_response(
    status: int,
    message: str = "Something went wrong.",
    *,
    code: str | None = None,
    kind: str = "invalid_request_error",
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    error = {"message": message, "type": kind, "param": None, "code": code}
    return httpx.Response(
        status, json={"error": error}, headers={"x-request-id": f"req_{status}", **(headers or {})}
    )


def answer(request: httpx.Request) -> httpx.Response:
    """A well-behaved server: answers ``ALICE`` the way the request asks for it."""
    body = json.loads(request.content)
    text = json.dumps(ALICE)
    tools = body.get("tools")
    if tools:
        name = tools[0]["function"]["name"]
        if not body.get("stream"):
            call = {"id": "call_1", "type": "function"}
            call["function"] = {"name": name, "arguments": text}
            return completion_response({"role": "assistant", "content": None, "tool_calls": [call]})
        return sse_response(tool_chunks(text, name=name))
    system = " ".join(m["content"] for m in body["messages"] if m["role"] == "system")
    if "```json" in system:
        text = f"Sure:\n```json\n{text}\n```\nDone."
    if not body.get("stream"):
        return completion_response({"role": "assistant", "content": text})
    return sse_response(content_chunks(text))


def sent(route: respx.Route, call: int = -1) -> dict[str, Any]:
    """The JSON body of a request the route received."""
    return json.loads(route.calls[call].request.content)  # type: ignore[no-any-return]


# -- driving both clients the same way -----------------------------------------------------------


class Api:
    """The async client or the sync one, behind the same (awaitable) calls.

    The sync client is a blocking API, so its calls run in a worker thread, as a caller in an async
    program would run them.
    """

    def __init__(self, client: streamstruct.AsyncClient | streamstruct.Client) -> None:
        self.client = client

    @staticmethod
    def _options(kwargs: dict[str, Any]) -> dict[str, Any]:
        return {"model": "gpt-4o-mini", "response_model": User, "messages": MESSAGES, **kwargs}

    async def create(self, **kwargs: Any) -> Any:
        options = self._options(kwargs)
        client = self.client
        if isinstance(client, streamstruct.Client):
            return await anyio.to_thread.run_sync(
                functools.partial(client.chat.completions.create, **options)
            )
        return await client.chat.completions.create(**options)

    async def partials(self, **kwargs: Any) -> tuple[list[Any], Any, Any]:
        """(the snapshots, the final model, the stream) of ``create_partial``."""
        options = self._options(kwargs)
        client = self.client
        if isinstance(client, streamstruct.Client):

            def run() -> tuple[list[Any], Any, Any]:
                stream = client.chat.completions.create_partial(**options)
                snapshots = list(stream)
                return snapshots, stream.get_final(), stream

            return await anyio.to_thread.run_sync(run)
        stream = client.chat.completions.create_partial(**options)
        snapshots = [partial async for partial in stream]
        return snapshots, await stream.get_final(), stream

    async def items(self, **kwargs: Any) -> list[Any]:
        options = self._options(kwargs)
        client = self.client
        if isinstance(client, streamstruct.Client):
            return await anyio.to_thread.run_sync(
                lambda: list(client.chat.completions.create_iterable(**options))
            )
        return [item async for item in client.chat.completions.create_iterable(**options)]

    async def close(self) -> None:
        if isinstance(self.client, streamstruct.Client):
            await anyio.to_thread.run_sync(self.client.close)
        else:
            await self.client.aclose()


Connect = Callable[..., Awaitable[Api]]


@pytest.fixture(autouse=True)
def _no_openai_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tests say which key and URL they use; the developer's environment stays out."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)


@pytest.fixture
def server() -> respx.MockRouter:
    return respx.MockRouter(assert_all_called=False)


@pytest.fixture
def route(server: respx.MockRouter) -> respx.Route:
    """``POST /chat/completions``, answering like a well-behaved server unless a test says else."""
    return server.post(ENDPOINT).mock(side_effect=answer)


@pytest.fixture(params=["async", "sync"])
async def connect(
    request: pytest.FixtureRequest, server: respx.MockRouter
) -> AsyncIterator[Connect]:
    """Make a client (async or sync, per the parameter) whose transport is the mock server."""
    made: list[Api] = []
    http_clients: list[httpx.AsyncClient] = []

    async def make(**options: Any) -> Api:
        options.setdefault("base_url", BASE_URL)
        options.setdefault("api_key", KEY)
        transport = httpx.MockTransport(server.async_handler)
        client: streamstruct.AsyncClient | streamstruct.Client
        if request.param == "async":
            http = httpx.AsyncClient(transport=transport)
            http_clients.append(http)
            client = streamstruct.AsyncClient(http_client=http, **options)
        else:
            client = await anyio.to_thread.run_sync(
                functools.partial(streamstruct.Client, transport=transport, **options)
            )
        api = Api(client)
        made.append(api)
        return api

    yield make
    for api in made:
        await api.close()
    for http in http_clients:
        await http.aclose()


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The delays the retry loop waits, recorded instead of slept (the client module's only use
    of anyio is ``anyio.sleep`` between attempts)."""
    delays: list[float] = []
    real_sleep = anyio.sleep

    async def record(delay: float) -> None:
        delays.append(delay)
        await real_sleep(0)

    monkeypatch.setattr(client_module, "anyio", SimpleNamespace(sleep=record))
    return delays


# -- request bodies, per mode --------------------------------------------------------------------


async def test_tools_mode_forces_one_tool_built_from_the_model(
    connect: Connect, route: respx.Route
) -> None:
    api = await connect()
    snapshots, final, stream = await api.partials()
    assert final == User(**ALICE)
    assert snapshots[-1].model_dump() == ALICE
    body = sent(route)
    assert body["model"] == "gpt-4o-mini"
    assert body["messages"] == MESSAGES
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    [tool] = body["tools"]
    assert tool["type"] == "function"
    assert tool["function"]["name"] == "User"
    assert tool["function"]["parameters"] == User.model_json_schema()
    assert "strict" not in tool["function"]  # TOOLS is non-strict unless asked
    assert body["tool_choice"] == {"type": "function", "function": {"name": "User"}}
    assert "response_format" not in body
    assert "parallel_tool_calls" not in body
    request = route.calls.last.request
    assert request.headers["content-type"] == "application/json"
    assert "text/event-stream" in request.headers["accept"]
    assert stream.usage == streamstruct.Usage(11, 7, 18)
    assert stream.finish_reason == "stop"
    assert stream.text == json.dumps(ALICE)


async def test_tools_mode_iterable_asks_for_parallel_tool_calls(
    connect: Connect, server: respx.MockRouter
) -> None:
    route = server.post(ENDPOINT).mock(return_value=sse_response([]))
    api = await connect()
    assert await api.items(response_model=Iterable[Pet]) == []
    body = sent(route)
    assert [tool["function"]["name"] for tool in body["tools"]] == ["Cat", "Dog"]
    assert body["tools"][0]["function"]["parameters"] == Cat.model_json_schema()
    assert body["tool_choice"] == "required"
    assert body["parallel_tool_calls"] is True
    assert "response_format" not in body


async def test_json_schema_mode_sends_a_strict_response_format(
    connect: Connect, route: respx.Route
) -> None:
    api = await connect(mode=Mode.JSON_SCHEMA)
    _, final, _ = await api.partials()
    assert final == User(**ALICE)
    body = sent(route)
    response_format = body["response_format"]
    assert response_format["type"] == "json_schema"
    assert response_format["json_schema"]["name"] == "User"
    assert response_format["json_schema"]["strict"] is True
    schema = response_format["json_schema"]["schema"]
    assert schema["additionalProperties"] is False
    assert schema["required"] == ["name", "age"]
    assert schema["properties"] == User.model_json_schema()["properties"]
    assert "tools" not in body
    assert "tool_choice" not in body
    assert body["messages"] == MESSAGES


async def test_json_mode_sends_json_object_and_the_schema_in_a_system_message(
    connect: Connect, route: respx.Route
) -> None:
    messages = [dict(message) for message in MESSAGES]
    api = await connect(mode="json")
    _, final, _ = await api.partials(messages=messages)
    assert final == User(**ALICE)
    body = sent(route)
    assert body["response_format"] == {"type": "json_object"}
    assert "tools" not in body
    system, *rest = body["messages"]
    assert system["role"] == "system"
    assert json.dumps(User.model_json_schema(), indent=2) in system["content"]
    assert rest == MESSAGES
    assert messages == MESSAGES  # the caller's list is not mutated


async def test_json_mode_appends_to_an_existing_system_message(
    connect: Connect, route: respx.Route
) -> None:
    messages = [{"role": "system", "content": "You are terse."}, *MESSAGES]
    api = await connect()
    await api.partials(messages=messages, mode=Mode.JSON)
    body = sent(route)
    assert len(body["messages"]) == 2
    system = body["messages"][0]
    assert system["content"].startswith("You are terse.\n\n")
    assert '"properties"' in system["content"]
    assert messages[0] == {"role": "system", "content": "You are terse."}


async def test_md_json_mode_asks_for_a_fenced_block_without_response_format(
    connect: Connect, route: respx.Route
) -> None:
    api = await connect(mode=Mode.MD_JSON)
    snapshots, final, stream = await api.partials()
    assert final == User(**ALICE)
    assert snapshots[-1].model_dump() == ALICE
    assert stream.text.strip() == json.dumps(ALICE)  # the fenced JSON, not the prose around it
    body = sent(route)
    assert "response_format" not in body
    assert "tools" not in body
    system = body["messages"][0]
    assert system["role"] == "system"
    assert "```json" in system["content"]
    assert json.dumps(User.model_json_schema(), indent=2) in system["content"]


@pytest.mark.parametrize("mode", list(Mode))
async def test_the_mode_of_a_call_overrides_the_clients(
    connect: Connect, route: respx.Route, mode: Mode
) -> None:
    api = await connect(mode=Mode.TOOLS if mode is not Mode.TOOLS else Mode.JSON)
    assert await api.create(mode=mode) == User(**ALICE)
    body = sent(route)
    assert ("tools" in body) is (mode is Mode.TOOLS)
    assert ("response_format" in body) is (mode in (Mode.JSON, Mode.JSON_SCHEMA))


async def test_every_other_keyword_goes_into_the_body(connect: Connect, route: respx.Route) -> None:
    api = await connect()
    extra = {
        "temperature": 0.2,
        "max_tokens": 300,
        "seed": 7,
        "top_p": 0.9,
        "user": "user-1",
        "metadata": {"purpose": "test"},
        "service_tier": "flex",
    }
    await api.partials(
        **extra,
        max_retries=1,
        timeout=5.0,
        strict=True,
        validation_context={"x": 1},
        stream_options={"include_obfuscation": False},
    )
    body = sent(route)
    for key, value in extra.items():
        assert body[key] == value, key
    for own in ("max_retries", "timeout", "strict", "validation_context", "mode", "response_model"):
        assert own not in body, own
    assert body["stream_options"] == {"include_obfuscation": False, "include_usage": True}
    assert body["tools"][0]["function"]["strict"] is True  # strict=True shapes the tool instead


async def test_create_without_stream_streams_and_reads_to_the_end(
    connect: Connect, route: respx.Route
) -> None:
    # create() streams too (timeouts bound the gap between reads, not the whole generation);
    # a server answering with a whole completion, as this mock does, is read just as well.
    api = await connect()
    assert await api.create(temperature=0) == User(**ALICE)
    body = sent(route)
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert body["temperature"] == 0
    assert body["tool_choice"] == {"type": "function", "function": {"name": "User"}}


@pytest.mark.parametrize("mode", list(Mode))
async def test_create_without_stream_in_every_mode(
    connect: Connect, route: respx.Route, mode: Mode
) -> None:
    api = await connect(mode=mode)
    assert await api.create() == User(**ALICE)
    assert sent(route)["stream"] is True


async def test_create_without_stream_returns_the_list_for_an_iterable(
    connect: Connect, server: respx.MockRouter
) -> None:
    calls = [
        {"id": f"call_{n}", "type": "function", "function": {"name": name, "arguments": args}}
        for n, (name, args) in enumerate(
            [("Cat", '{"kind":"cat","name":"Tom"}'), ("Dog", {"kind": "dog", "name": "Rex"})]
        )
    ]
    server.post(ENDPOINT).mock(
        return_value=completion_response(
            {"role": "assistant", "content": None, "tool_calls": calls}, finish="tool_calls"
        )
    )
    api = await connect()
    assert await api.create(response_model=Iterable[Pet]) == [Cat(name="Tom"), Dog(name="Rex")]


# -- headers and defaults ------------------------------------------------------------------------


async def test_the_api_key_is_sent_as_a_bearer_token(connect: Connect, route: respx.Route) -> None:
    api = await connect(default_headers={"X-Team": "core"})
    await api.create()
    headers = route.calls.last.request.headers
    assert headers["authorization"] == f"Bearer {KEY}"
    assert headers["x-team"] == "core"


async def test_without_a_key_no_authorization_header_is_sent(
    connect: Connect, route: respx.Route
) -> None:
    api = await connect(api_key=None)
    await api.partials()
    assert "authorization" not in route.calls.last.request.headers


async def test_the_key_comes_from_the_environment(
    connect: Connect, route: respx.Route, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    api = await connect(api_key=None)
    await api.create()
    assert route.calls.last.request.headers["authorization"] == "Bearer sk-from-env"


@pytest.mark.parametrize("kind", ["async", "sync"])
async def test_the_base_url_comes_from_the_environment_then_defaults_to_openai(
    monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    async def create_with_own_http_client() -> None:
        if kind == "async":
            async with streamstruct.AsyncClient() as client:
                assert await client.chat.completions.create(
                    model="m", response_model=User, messages=MESSAGES
                ) == User(**ALICE)
            return

        def run() -> None:
            with streamstruct.Client() as client:
                assert client.chat.completions.create(
                    model="m", response_model=User, messages=MESSAGES
                ) == User(**ALICE)

        await anyio.to_thread.run_sync(run)

    with respx.mock(assert_all_called=False) as mock:
        custom = mock.post("http://proxy.internal:8080/openai/v1/chat/completions")
        custom.mock(side_effect=answer)
        default = mock.post("https://api.openai.com/v1/chat/completions").mock(side_effect=answer)

        monkeypatch.setenv("OPENAI_BASE_URL", "http://proxy.internal:8080/openai/v1")
        monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
        await create_with_own_http_client()
        assert custom.call_count == 1
        assert default.call_count == 0
        assert custom.calls.last.request.headers["authorization"] == "Bearer sk-env"

        monkeypatch.delenv("OPENAI_BASE_URL")
        monkeypatch.delenv("OPENAI_API_KEY")
        await create_with_own_http_client()
        assert default.call_count == 1
        assert "authorization" not in default.calls.last.request.headers


# -- HTTP errors ---------------------------------------------------------------------------------

STATUS_ERRORS = [
    (400, streamstruct.BadRequestError),
    (401, streamstruct.AuthenticationError),
    (403, streamstruct.PermissionDeniedError),
    (404, streamstruct.NotFoundError),
    (409, streamstruct.ConflictError),
    (418, streamstruct.APIStatusError),
    (422, streamstruct.UnprocessableEntityError),
    (429, streamstruct.RateLimitError),
    (500, streamstruct.InternalServerError),
    (502, streamstruct.InternalServerError),
    (503, streamstruct.InternalServerError),
    (504, streamstruct.InternalServerError),
]


@pytest.mark.parametrize("call", ["create", "create_partial"])
@pytest.mark.parametrize(("status", "error_class"), STATUS_ERRORS)
async def test_each_status_raises_its_own_error_class(
    connect: Connect,
    server: respx.MockRouter,
    status: int,
    error_class: type[streamstruct.APIStatusError],
    call: str,
) -> None:
    route = server.post(ENDPOINT).mock(
        return_value=error_response(status, "It went wrong.", code="some_code", kind="some_type")
    )
    api = await connect(max_retries=0)
    request = api.create if call == "create" else api.partials
    with pytest.raises(streamstruct.APIStatusError) as caught:
        await request()
    error = caught.value
    assert type(error) is error_class
    assert isinstance(error, streamstruct.APIError)
    assert isinstance(error, streamstruct.StreamStructError)
    assert error.status_code == status
    assert error.body == {
        "message": "It went wrong.",
        "type": "some_type",
        "param": None,
        "code": "some_code",
    }
    assert error.request_id == f"req_{status}"
    assert "It went wrong." in str(error)
    assert str(status) in str(error)
    assert error.attempts == 1
    assert error.partial is None
    assert error.text == ""
    assert route.call_count == 1


async def test_an_error_body_that_is_not_json_is_kept_as_text(
    connect: Connect, server: respx.MockRouter
) -> None:
    page = "<html><body><h1>502 Bad Gateway</h1></body></html>"
    server.post(ENDPOINT).mock(
        return_value=httpx.Response(502, text=page, headers={"content-type": "text/html"})
    )
    api = await connect(max_retries=0)
    with pytest.raises(streamstruct.InternalServerError) as caught:
        await api.partials()
    assert caught.value.status_code == 502
    assert caught.value.body == page
    assert caught.value.request_id is None
    assert "502 Bad Gateway" in str(caught.value)


# -- retries -------------------------------------------------------------------------------------


async def test_429_with_retry_after_is_retried_then_succeeds(
    connect: Connect, server: respx.MockRouter, sleeps: list[float]
) -> None:
    route = server.post(ENDPOINT)
    route.side_effect = [
        error_response(429, "Slow down.", code="rate_limit_exceeded", headers={"retry-after": "0"}),
        answer,
    ]
    api = await connect()
    snapshots, final, _ = await api.partials()
    assert final == User(**ALICE)
    assert snapshots[-1].model_dump() == ALICE
    assert route.call_count == 2
    assert sleeps == [0.0]
    # the same request, sent again
    assert route.calls[0].request.content == route.calls[1].request.content


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after": "2"}, 2.0),
        ({"retry-after": "0.25"}, 0.25),
        ({"retry-after-ms": "150"}, 0.15),
        ({"retry-after-ms": "150", "retry-after": "9"}, 0.15),
        ({"retry-after": "3600"}, client_module.MAX_RETRY_AFTER),
    ],
)
async def test_retry_after_is_honoured_and_capped(
    connect: Connect,
    server: respx.MockRouter,
    sleeps: list[float],
    headers: dict[str, str],
    expected: float,
) -> None:
    route = server.post(ENDPOINT)
    route.side_effect = [error_response(429, "Slow down.", headers=headers), answer]
    api = await connect(backoff=100.0)  # a backoff of its own would show as a different delay
    assert await api.create() == User(**ALICE)
    assert route.call_count == 2
    assert sleeps == [pytest.approx(expected)]


async def test_retry_after_as_an_http_date(
    connect: Connect, server: respx.MockRouter, sleeps: list[float]
) -> None:
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    route = server.post(ENDPOINT)
    route.side_effect = [error_response(503, headers={"retry-after": when}), answer]
    api = await connect()
    assert await api.create() == User(**ALICE)
    [delay] = sleeps
    assert 25.0 < delay <= 31.0


async def test_backoff_is_exponential_with_jitter(
    connect: Connect, server: respx.MockRouter, sleeps: list[float]
) -> None:
    route = server.post(ENDPOINT)
    route.side_effect = [error_response(503), error_response(503), error_response(503), answer]
    api = await connect(max_retries=3, backoff=0.1)
    assert await api.create() == User(**ALICE)
    assert route.call_count == 4
    assert len(sleeps) == 3
    for attempt, delay in enumerate(sleeps):
        ceiling = 0.1 * 2**attempt
        assert 0.75 * ceiling <= delay <= ceiling, (attempt, delay)


@pytest.mark.parametrize("status", [408, 409, 500, 502, 503, 504])
async def test_retryable_statuses_are_retried_then_succeed(
    connect: Connect, server: respx.MockRouter, sleeps: list[float], status: int
) -> None:
    route = server.post(ENDPOINT)
    route.side_effect = [error_response(status), answer]
    api = await connect()
    snapshots, final, _ = await api.partials()
    assert final == User(**ALICE)
    assert snapshots
    assert route.call_count == 2
    assert len(sleeps) == 1


async def test_503_until_the_retries_run_out(
    connect: Connect, server: respx.MockRouter, sleeps: list[float]
) -> None:
    route = server.post(ENDPOINT).mock(return_value=error_response(503, "Overloaded."))
    api = await connect(backoff=0.0)
    with pytest.raises(streamstruct.InternalServerError) as caught:
        await api.partials()
    assert route.call_count == 3  # max_retries defaults to 2
    assert caught.value.attempts == 3
    assert "3 attempts" in str(caught.value)
    assert caught.value.status_code == 503
    assert len(sleeps) == 2


async def test_max_retries_of_a_call_overrides_the_clients(
    connect: Connect, server: respx.MockRouter, sleeps: list[float]
) -> None:
    route = server.post(ENDPOINT).mock(return_value=error_response(500))
    api = await connect(max_retries=5, backoff=0.0)
    with pytest.raises(streamstruct.InternalServerError) as caught:
        await api.create(max_retries=1)
    assert route.call_count == 2
    assert caught.value.attempts == 2
    route.reset()
    with pytest.raises(streamstruct.InternalServerError):
        await api.partials(max_retries=0)
    assert route.call_count == 1


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
async def test_client_errors_are_not_retried(
    connect: Connect, server: respx.MockRouter, sleeps: list[float], status: int
) -> None:
    route = server.post(ENDPOINT).mock(return_value=error_response(status))
    api = await connect(max_retries=3)
    with pytest.raises(streamstruct.APIStatusError) as caught:
        await api.partials()
    assert route.call_count == 1
    assert caught.value.attempts == 1
    assert "attempts" not in str(caught.value)
    assert sleeps == []


async def test_a_spent_quota_is_not_retried(
    connect: Connect, server: respx.MockRouter, sleeps: list[float]
) -> None:
    route = server.post(ENDPOINT).mock(
        return_value=error_response(
            429,
            "You exceeded your current quota, please check your plan and billing details.",
            code="insufficient_quota",
            kind="insufficient_quota",
            headers={"retry-after": "0"},
        )
    )
    api = await connect(max_retries=3)
    with pytest.raises(streamstruct.RateLimitError) as caught:
        await api.create()
    assert route.call_count == 1
    assert caught.value.body["code"] == "insufficient_quota"
    assert sleeps == []


async def test_the_servers_x_should_retry_header_wins(
    connect: Connect, server: respx.MockRouter, sleeps: list[float]
) -> None:
    route = server.post(ENDPOINT)
    route.side_effect = [error_response(500, headers={"x-should-retry": "false"})]
    api = await connect(max_retries=3)
    with pytest.raises(streamstruct.InternalServerError):
        await api.create()
    assert route.call_count == 1

    route.reset()
    route.side_effect = [error_response(400, headers={"x-should-retry": "true"}), answer]
    assert await api.create() == User(**ALICE)
    assert route.call_count == 2


async def test_a_connection_error_is_retried_then_succeeds(
    connect: Connect, server: respx.MockRouter, sleeps: list[float]
) -> None:
    route = server.post(ENDPOINT)
    route.side_effect = [httpx.ConnectError("connection refused"), answer]
    api = await connect()
    _, final, _ = await api.partials()
    assert final == User(**ALICE)
    assert route.call_count == 2


async def test_connection_errors_until_the_retries_run_out(
    connect: Connect, server: respx.MockRouter, sleeps: list[float]
) -> None:
    route = server.post(ENDPOINT).mock(side_effect=httpx.ConnectError("connection refused"))
    api = await connect(max_retries=2)
    with pytest.raises(streamstruct.APIConnectionError) as caught:
        await api.partials()
    assert type(caught.value) is streamstruct.APIConnectionError
    assert route.call_count == 3
    assert caught.value.attempts == 3
    assert "3 attempts" in str(caught.value)
    assert "api.test" in str(caught.value)
    assert isinstance(caught.value.__cause__, httpx.ConnectError)


async def test_a_connect_timeout_is_an_api_timeout_error_and_is_retried(
    connect: Connect, server: respx.MockRouter, sleeps: list[float]
) -> None:
    route = server.post(ENDPOINT).mock(side_effect=httpx.ConnectTimeout("timed out"))
    api = await connect(max_retries=1)
    with pytest.raises(streamstruct.APITimeoutError) as caught:
        await api.create()
    assert isinstance(caught.value, streamstruct.APIConnectionError)
    assert route.call_count == 2
    assert caught.value.attempts == 2


async def test_nothing_is_retried_once_the_body_began(
    connect: Connect, server: respx.MockRouter, sleeps: list[float]
) -> None:
    text = json.dumps({"name": "Alice", "age": 28})
    body = Body([*frames(*tool_chunks(text)[:4]), httpx.ReadError("connection reset by peer")])
    route = server.post(ENDPOINT).mock(
        return_value=httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=body)
    )
    api = await connect(max_retries=3)
    with pytest.raises(streamstruct.StreamInterruptedError) as caught:
        await api.partials()
    assert route.call_count == 1
    assert sleeps == []
    error = caught.value
    assert error.text == text[:15]
    assert error.partial is not None
    assert error.partial.name == "Alice"
    assert isinstance(error.__cause__, httpx.ReadError)
    assert body.closed


# -- the wire: what the stream may look like -----------------------------------------------------


def tool_stream(*deltas: dict[str, Any]) -> list[object]:
    return [chunk({"role": "assistant", "content": None}), *(chunk(d) for d in deltas)]


async def test_tool_call_fragments_without_an_index_follow_the_id(
    connect: Connect, server: respx.MockRouter
) -> None:
    # Mistral: no index; the id on every fragment.
    first = {"id": "abc", "function": {"name": "User", "arguments": '{"name":"Al'}}
    second = {"id": "abc", "function": {"arguments": 'ice","age":28}'}}
    server.post(ENDPOINT).mock(
        return_value=sse_response(
            tool_stream({"tool_calls": [first]}, {"tool_calls": [second]}), finish="tool_calls"
        )
    )
    api = await connect()
    _, final, _ = await api.partials()
    assert final == User(**ALICE)


async def test_tool_call_arguments_sent_whole_or_as_an_object(
    connect: Connect, server: respx.MockRouter
) -> None:
    whole = {"index": 0, "id": "c1", "type": "function"}
    whole["function"] = {"name": "User", "arguments": json.dumps(ALICE)}
    as_object = {"index": 0, "id": "c1", "type": "function"}
    as_object["function"] = {"name": "User", "arguments": ALICE}  # llama.cpp
    route = server.post(ENDPOINT)
    route.side_effect = [
        sse_response(tool_stream({"tool_calls": [whole]})),
        sse_response(tool_stream({"tool_calls": [as_object]})),
    ]
    api = await connect()
    for _ in range(2):
        snapshots, final, _ = await api.partials()
        assert final == User(**ALICE)
        assert len(snapshots) == 1  # one delta, one snapshot: the complete object


async def test_a_proxy_starting_tool_indexes_at_one(
    connect: Connect, server: respx.MockRouter
) -> None:
    opening = {"index": 1, "id": "c1", "type": "function"}
    opening["function"] = {"name": "User", "arguments": ""}
    rest = {"index": 1, "function": {"arguments": json.dumps(ALICE)}}
    server.post(ENDPOINT).mock(
        return_value=sse_response(tool_stream({"tool_calls": [opening]}, {"tool_calls": [rest]}))
    )
    api = await connect()
    assert (await api.partials())[1] == User(**ALICE)


async def test_parallel_tool_calls_become_items(connect: Connect, server: respx.MockRouter) -> None:
    def opening(index: int, name: str) -> dict[str, Any]:
        call = {"index": index, "id": f"call_{index}", "type": "function"}
        call["function"] = {"name": name, "arguments": ""}
        return call

    def fragment(index: int, arguments: str) -> dict[str, Any]:
        return {"index": index, "function": {"arguments": arguments}}

    server.post(ENDPOINT).mock(
        return_value=sse_response(
            tool_stream(
                {"tool_calls": [opening(0, "Cat")]},
                {"tool_calls": [fragment(0, '{"kind":"cat",')]},
                {"tool_calls": [fragment(0, '"name":"To}m"}')]},
                {"tool_calls": [opening(1, "Dog")]},
                {"tool_calls": [fragment(1, '{"kind":"dog","name":"R[ex"}')]},
            ),
            finish="tool_calls",
        )
    )
    api = await connect()
    assert await api.items(response_model=Iterable[Pet]) == [
        Cat(name="To}m"),
        Dog(name="R[ex"),
    ]


async def test_chunks_without_choices_and_keep_alive_comments_are_ignored(
    connect: Connect, server: respx.MockRouter
) -> None:
    azure_filter = {
        "id": "",
        "object": "",
        "created": 0,
        "model": "",
        "choices": [],
        "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": {}}],
    }
    pieces = [
        b": keep-alive\n\n",
        *frames(azure_filter),
        b": ping\n\n",
        *frames(*content_chunks(json.dumps(ALICE))[:3]),
        b": keep-alive\n\n",
        *frames(*content_chunks(json.dumps(ALICE))[3:]),
        *frames(chunk(finish="stop"), chunk(choices=False, usage=USAGE), "[DONE]"),
    ]
    server.post(ENDPOINT).mock(
        return_value=httpx.Response(
            200, headers={"content-type": "text/event-stream"}, stream=Body(pieces)
        )
    )
    api = await connect(mode=Mode.JSON_SCHEMA)
    snapshots, final, stream = await api.partials()
    assert final == User(**ALICE)
    assert stream.usage == streamstruct.Usage(11, 7, 18)
    assert all(snapshot is not None for snapshot in snapshots)


async def test_crlf_line_endings_and_events_split_anywhere(
    connect: Connect, server: respx.MockRouter
) -> None:
    payloads = [
        *content_chunks(json.dumps({"name": "Zoë 🦊", "age": 3})),
        chunk(finish="stop"),
        "[DONE]",
    ]
    raw = b"".join(frames(*payloads, line_ending="\r\n"))
    server.post(ENDPOINT).mock(
        return_value=httpx.Response(
            200,
            headers={"content-type": "text/event-stream"},
            stream=Body([raw[i : i + 3] for i in range(0, len(raw), 3)]),
        )
    )
    api = await connect(mode=Mode.JSON)
    _, final, _ = await api.partials()
    assert final == User(name="Zoë 🦊", age=3)


async def test_usage_on_the_finish_chunk_is_read_too(
    connect: Connect, server: respx.MockRouter
) -> None:
    payloads = [*content_chunks(json.dumps(ALICE)), chunk(finish="stop", usage=USAGE), "[DONE]"]
    server.post(ENDPOINT).mock(
        return_value=httpx.Response(
            200, headers={"content-type": "text/event-stream"}, stream=Body(frames(*payloads))
        )
    )
    api = await connect(mode=Mode.JSON_SCHEMA)
    _, _, stream = await api.partials()
    assert stream.usage == streamstruct.Usage(11, 7, 18)


async def test_nothing_after_done_is_read(connect: Connect, server: respx.MockRouter) -> None:
    body = Body(
        [
            *frames(*content_chunks(json.dumps(ALICE)), chunk(finish="stop"), "[DONE]"),
            *frames(chunk({"content": "garbage"})),
            b"data: {not json\n\n",
        ]
    )
    server.post(ENDPOINT).mock(
        return_value=httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=body)
    )
    api = await connect(mode=Mode.JSON_SCHEMA)
    assert (await api.partials())[1] == User(**ALICE)
    assert body.closed


async def test_a_stream_without_done_after_a_finish_reason_is_complete(
    connect: Connect, server: respx.MockRouter
) -> None:
    server.post(ENDPOINT).mock(
        return_value=sse_response(tool_chunks(json.dumps(ALICE)), done=False)
    )
    api = await connect()
    _, final, stream = await api.partials()
    assert final == User(**ALICE)
    assert stream.finish_reason == "stop"
    assert stream.usage == streamstruct.Usage(11, 7, 18)


async def test_a_stream_that_ends_before_the_finish_reason_is_interrupted(
    connect: Connect, server: respx.MockRouter
) -> None:
    text = json.dumps(ALICE)
    server.post(ENDPOINT).mock(
        return_value=sse_response(tool_chunks(text)[:4], finish=None, usage=False, done=False)
    )
    api = await connect()
    with pytest.raises(streamstruct.StreamInterruptedError) as caught:
        await api.partials()
    assert caught.value.text == text[:15]
    assert caught.value.partial is not None
    assert caught.value.partial.name == "Alice"
    assert caught.value.partial.age is None


async def test_a_server_that_ignores_stream_true_still_yields_the_snapshot(
    connect: Connect, server: respx.MockRouter
) -> None:
    # Some servers answer "stream": true with a whole chat.completion; the stream then has one
    # visible change, the complete object, and the iteration must show it.
    call = {"id": "call_1", "type": "function"}
    call["function"] = {"name": "User", "arguments": json.dumps(ALICE)}
    server.post(ENDPOINT).mock(
        side_effect=lambda request: completion_response(
            {"role": "assistant", "content": None, "tool_calls": [call]}
        )
    )
    api = await connect()
    snapshots, final, stream = await api.partials()
    assert final == User(**ALICE)
    assert stream.usage == streamstruct.Usage(11, 7, 18)
    assert [snapshot.model_dump() for snapshot in snapshots] == [ALICE]


async def test_a_server_that_ignores_stream_true_still_yields_the_items(
    connect: Connect, server: respx.MockRouter
) -> None:
    calls = [
        {"id": f"call_{n}", "type": "function", "function": {"name": "User", "arguments": args}}
        for n, args in enumerate(['{"name":"A","age":1}', '{"name":"B","age":2}'])
    ]
    server.post(ENDPOINT).mock(
        side_effect=lambda request: completion_response(
            {"role": "assistant", "content": None, "tool_calls": calls}, finish="tool_calls"
        )
    )
    api = await connect()
    assert await api.items() == [User(name="A", age=1), User(name="B", age=2)]


@pytest.mark.parametrize(
    ("error", "status", "error_class"),
    [
        ({"message": "Rate limited upstream.", "code": 429}, 429, streamstruct.RateLimitError),
        (
            {"message": "The server had an error.", "type": "server_error", "code": None},
            200,
            streamstruct.APIStatusError,
        ),
        (
            {"message": "Provider returned error", "code": 502},
            502,
            streamstruct.InternalServerError,
        ),
    ],
)
async def test_an_error_event_inside_a_200_stream(
    connect: Connect,
    server: respx.MockRouter,
    error: dict[str, Any],
    status: int,
    error_class: type[streamstruct.APIStatusError],
) -> None:
    text = json.dumps(ALICE)
    payloads = [*tool_chunks(text)[:4], {"error": error}]
    body = Body(frames(*payloads))
    route = server.post(ENDPOINT).mock(
        return_value=httpx.Response(
            200, headers={"content-type": "text/event-stream", "x-request-id": "req_9"}, stream=body
        )
    )
    api = await connect(max_retries=3)
    with pytest.raises(streamstruct.APIStatusError) as caught:
        await api.partials()
    assert type(caught.value) is error_class
    assert caught.value.status_code == status
    assert caught.value.body == error
    assert caught.value.request_id == "req_9"
    assert error["message"] in str(caught.value)
    assert caught.value.text == text[:15]
    assert caught.value.partial.name == "Alice"
    assert route.call_count == 1  # the body had begun: not retried
    assert body.closed


async def test_an_error_raised_mid_stream_closes_the_body(
    connect: Connect, server: respx.MockRouter
) -> None:
    body = Body(frames(*tool_chunks('{"name":"Al","age":"x"}'), chunk(finish="stop"), "[DONE]"))
    server.post(ENDPOINT).mock(
        return_value=httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=body)
    )
    api = await connect()
    with pytest.raises(streamstruct.ResponseValidationError) as caught:
        await api.partials()
    assert caught.value.path == ("age",)
    assert body.closed
