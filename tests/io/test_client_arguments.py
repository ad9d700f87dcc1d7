"""A careless caller gets a typed error at once, naming what was wrong.

Values are checked when the client is made and when a call is made - not when the stream opens,
and not by failing later somewhere else - with an
:class:`~streamstruct.InvalidArgumentTypeError` (a ``TypeError``) or an
:class:`~streamstruct.InvalidArgumentValueError` (a ``ValueError``) that names the argument. A
closed client, or a sync client called from its own event loop thread, raises a
:class:`~streamstruct.ClientUsageError` (a ``RuntimeError``). Each runs on the async client (asyncio
and trio) and the sync client, against a real loopback server that must see no request.

Border: what the client refuses before any request (no stream is opened). How mypy sees the
options is in ``tests/request/test_call_options.py``; errors from the server or the stream are in
``test_client_http.py`` and ``test_client_streaming.py``.
"""

from __future__ import annotations

import gc
import math
import traceback
import warnings
from collections.abc import Iterable
from typing import Any

import anyio
import anyio.abc
import anyio.to_thread
import httpx
import pytest
import reliability_support
from reliability_support import (
    KEY,
    MESSAGES,
    Writer,
    content_chunk,
    frame,
    own_threads,
    raw_server,
    serve_kept_alive,
)
from shared_support import User

import streamstruct

# The three flavours (the async client on asyncio and on trio, the sync client): pytest takes
# a fixture by the name it is bound to here.
anyio_backend = reliability_support.anyio_backend
flavour = reliability_support.flavour

pytestmark = pytest.mark.anyio


async def _answer(writer: Writer, headers: dict[str, str]) -> None:
    await writer.start_chunked()
    await writer.chunk(frame(content_chunk('{"name": "Eve", "age": 1}', finish="stop")))
    await writer.chunk(frame("[DONE]"))
    await writer.end_chunked()


def _options(url: str, **options: Any) -> dict[str, Any]:
    return {"api_key": KEY, "base_url": url, "mode": "json_schema", "max_retries": 0, **options}


TYPE = streamstruct.InvalidArgumentTypeError
UNSUPPORTED = streamstruct.UnsupportedResponseModelError  # an InvalidArgumentTypeError
VALUE = streamstruct.InvalidArgumentValueError

# (the call's keywords, the error, the argument it names)
_BAD_CALLS: list[tuple[dict[str, Any], type[Exception], str]] = [
    ({"messages": "hi"}, TYPE, "messages"),
    ({"messages": None}, TYPE, "messages"),
    ({"messages": {"role": "user", "content": "hi"}}, TYPE, "messages"),
    ({"messages": []}, VALUE, "messages"),
    ({"messages": ["hi"]}, TYPE, "messages[0]"),
    ({"messages": [{"role": "user", "content": "a"}, {"content": "b"}]}, VALUE, "messages[1]"),
    ({"messages": [{"role": None, "content": "b"}]}, VALUE, "messages[0]"),
    ({"model": ""}, VALUE, "model"),
    ({"model": None}, TYPE, "model"),
    ({"timeout": -1}, VALUE, "timeout"),
    ({"timeout": 0}, VALUE, "timeout"),
    ({"timeout": math.nan}, VALUE, "timeout"),
    ({"timeout": "x"}, TYPE, "timeout"),
    ({"timeout": httpx.Timeout(5.0, read=-1.0)}, VALUE, "timeout"),
    ({"max_retries": -1}, VALUE, "max_retries"),
    ({"max_retries": "2"}, TYPE, "max_retries"),
    ({"deadline": "x"}, TYPE, "deadline"),
    ({"deadline": 0}, VALUE, "deadline"),
    ({"mode": "nope"}, VALUE, "mode"),
    ({"strict": "yes"}, TYPE, "strict"),
    # What JSON cannot carry: a bare TypeError when the stream opened, or NaN sent as "NaN".
    ({"seed": object()}, TYPE, "seed"),
    ({"metadata": {"raw": b"bytes"}}, TYPE, "metadata"),
    ({"temperature": math.nan}, VALUE, "temperature"),
    ({"messages": [{"role": "user", "content": {"a", "set"}}]}, TYPE, "messages"),
]
_METHODS = ["create", "create_partial", "create_iterable"]


def _request(method: str, bad: dict[str, Any]) -> dict[str, Any]:
    model: Any = Iterable[User] if method == "create_iterable" else User
    return {"model": "m", "response_model": model, "messages": MESSAGES, **bad}


def _checked(error: BaseException, cls: type[Exception], argument: str) -> None:
    assert type(error) is cls, repr(error)
    assert isinstance(error, streamstruct.InvalidArgumentError)
    assert error.argument == argument
    assert argument.split("[")[0] in str(error)


async def _call_now(flavour: str, url: str, method: str, request: dict[str, Any]) -> BaseException:
    """Make the call, but neither await nor iterate it: whatever it raises comes from making it."""
    if flavour == "sync":

        def run_sync() -> BaseException:
            with streamstruct.Client(**_options(url)) as client:
                with pytest.raises(streamstruct.StreamStructError) as caught:
                    getattr(client.chat.completions, method)(**request)
                return caught.value

        return await anyio.to_thread.run_sync(run_sync)
    async with streamstruct.AsyncClient(**_options(url)) as client:
        with pytest.raises(streamstruct.StreamStructError) as caught:
            getattr(client.chat.completions, method)(**request)
        return caught.value


@pytest.mark.parametrize("method", _METHODS)
@pytest.mark.parametrize(("bad", "cls", "argument"), _BAD_CALLS)
async def test_a_bad_call_is_refused_when_it_is_made(
    flavour: str, method: str, bad: dict[str, Any], cls: type[Exception], argument: str
) -> None:
    async with raw_server(_answer) as (url, log):
        error = await _call_now(flavour, url, method, _request(method, bad))
    _checked(error, cls, argument)
    assert log.connections == []  # refused before anything was sent


@pytest.mark.parametrize("method", ["create_partial", "create_iterable"])
async def test_stream_false_is_refused_by_the_methods_that_always_stream(
    flavour: str, method: str
) -> None:
    async with raw_server(_answer) as (url, log):
        error = await _call_now(flavour, url, method, _request(method, {"stream": False}))
    _checked(error, VALUE, "stream")
    assert "always streams" in str(error)
    assert log.connections == []


@pytest.mark.parametrize(
    ("method", "bad", "cls", "argument"),
    [
        (
            method,
            {"response_model": 5},
            UNSUPPORTED if method != "create_iterable" else TYPE,
            "response_model",
        )
        for method in _METHODS
    ]
    + [
        ("create_partial", {"response_model": Iterable[User]}, TYPE, "response_model"),
        ("create_partial", {"mode": "json", "strict": True}, VALUE, "strict"),
    ],
)
async def test_a_call_for_a_model_it_cannot_stream_is_a_typed_error(
    flavour: str, method: str, bad: dict[str, Any], cls: type[Exception], argument: str
) -> None:
    # These were a bare TypeError or ValueError, outside the error tree.
    async with raw_server(_answer) as (url, log):
        error = await _call_now(flavour, url, method, _request(method, bad))
    _checked(error, cls, argument)
    assert log.connections == []


@pytest.mark.parametrize("stream", ["no", 1, None])
async def test_create_takes_stream_as_true_or_false_only(flavour: str, stream: object) -> None:
    # The sync client took any truthy value as True ("no" streamed) and None as False.
    async with raw_server(_answer) as (url, log):
        error = await _call_now(flavour, url, "create", _request("create", {"stream": stream}))
    _checked(error, TYPE, "stream")
    assert log.connections == []


async def test_a_good_call_still_works_and_stream_true_is_harmless(flavour: str) -> None:
    request = _request("create_partial", {"stream": True, "timeout": 5, "deadline": 5.0})
    async with raw_server(_answer) as (url, _log):
        if flavour == "sync":

            def run_sync() -> Any:
                with streamstruct.Client(**_options(url)) as client:
                    return client.chat.completions.create_partial(**request).get_final()

            user = await anyio.to_thread.run_sync(run_sync)
        else:
            async with streamstruct.AsyncClient(**_options(url)) as client:
                user = await client.chat.completions.create_partial(**request).get_final()
    assert user == User(name="Eve", age=1)


async def test_default_headers_in_any_case_replace_ours_and_the_api_key_wins(
    flavour: str,
) -> None:
    # Merged by name in any case: "authorization" in default_headers went out beside the API
    # key's "Authorization" (two headers), "accept" beside "Accept", "content-type" beside ours.
    given = {"authorization": "Basic dTpw", "accept": "application/json", "content-type": "x/y"}
    request = _request("create_partial", {})
    options = _options("", default_headers=given)
    async with raw_server(_answer) as (url, log):
        options["base_url"] = url
        if flavour == "sync":

            def run_sync() -> Any:
                with streamstruct.Client(**options) as client:
                    return client.chat.completions.create_partial(**request).get_final()

            user = await anyio.to_thread.run_sync(run_sync)
        else:
            async with streamstruct.AsyncClient(**options) as client:
                user = await client.chat.completions.create_partial(**request).get_final()
    assert user == User(name="Eve", age=1)
    lines = log.last.requests[0][":head"].lower().split("\r\n")
    sent = {name: [line for line in lines if line.startswith(name + ":")] for name in given}
    assert sent == {
        "authorization": [f"authorization: bearer {KEY.lower()}"],
        "accept": ["accept: application/json"],
        "content-type": ["content-type: application/json"],
    }


# (the client's keywords, the error, the argument it names)
_BAD_CLIENTS: list[tuple[dict[str, Any], type[Exception], str]] = [
    ({"api_key": 123}, TYPE, "api_key"),
    ({"api_key": b"sk-bytes-key-0123"}, TYPE, "api_key"),
    ({"timeout": -1}, VALUE, "timeout"),
    ({"timeout": 0}, VALUE, "timeout"),
    ({"timeout": "x"}, TYPE, "timeout"),
    ({"max_retries": -1}, VALUE, "max_retries"),
    ({"max_retries": 1.5}, TYPE, "max_retries"),
    ({"deadline": "x"}, TYPE, "deadline"),
    ({"mode": "nope"}, VALUE, "mode"),
    ({"base_url": "localhost:8000/v1"}, VALUE, "base_url"),
    ({"base_url": "ftp://127.0.0.1/v1"}, VALUE, "base_url"),
    ({"base_url": 8000}, TYPE, "base_url"),
    ({"base_url": "http://127.0.0.1:port/v1"}, VALUE, "base_url"),
    ({"default_headers": {"X-Team": 1}}, TYPE, "default_headers"),
    ({"default_headers": ["X-Team: a"]}, TYPE, "default_headers"),
    # Refused when sent, quoting the value (maybe a credential), or a bare UnicodeEncodeError.
    ({"default_headers": {"X-Other-Key": "hunter2-secret\n"}}, VALUE, "default_headers"),
    ({"default_headers": {"X-Other-Key": "hunter2-secret\x00"}}, VALUE, "default_headers"),
    ({"default_headers": {"X-Other-Key": " hunter2-secret"}}, VALUE, "default_headers"),
    ({"default_headers": {"X-Other-Key": "hunter2-s\u00e9cret"}}, VALUE, "default_headers"),
    ({"default_headers": {"X Other Key": "hunter2-secret"}}, VALUE, "default_headers"),
    ({"max_depth": 0}, VALUE, "max_depth"),
]


async def _make_client(flavour: str, options: dict[str, Any]) -> BaseException:
    if flavour == "sync":

        def run_sync() -> BaseException:
            before = own_threads()
            with pytest.raises(streamstruct.StreamStructError) as caught:
                streamstruct.Client(**options)
            assert own_threads() <= before  # no event loop thread left behind
            return caught.value

        return await anyio.to_thread.run_sync(run_sync)
    with pytest.raises(streamstruct.StreamStructError) as caught:
        streamstruct.AsyncClient(**options)
    return caught.value


@pytest.mark.parametrize(("bad", "cls", "argument"), _BAD_CLIENTS)
async def test_a_bad_client_option_is_refused_when_the_client_is_made(
    flavour: str, bad: dict[str, Any], cls: type[Exception], argument: str
) -> None:
    error = await _make_client(flavour, {"api_key": KEY, **bad})
    _checked(error, cls, argument)
    assert KEY not in str(error)
    assert "sk-bytes-key-0123" not in str(error)  # a key of the wrong type is not shown either
    assert "hunter2" not in str(error)  # nor a header's value


# -- credentials in base_url -----------------------------------------------------------------------

PASSWORD = "s3cr3t-pa55word"


@pytest.mark.parametrize("where", ["argument", "httpx.URL", "environment"])
async def test_credentials_in_base_url_are_refused_without_showing_them(
    flavour: str, where: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with raw_server(_answer) as (url, log):
        with_credentials = url.replace("http://", f"http://alice:{PASSWORD}@")
        options: dict[str, Any] = {"api_key": KEY}
        if where == "argument":
            options["base_url"] = with_credentials
        elif where == "httpx.URL":
            options["base_url"] = httpx.URL(with_credentials)
        else:
            monkeypatch.setenv("OPENAI_BASE_URL", with_credentials)
        error = await _make_client(flavour, options)
    _checked(error, VALUE, "OPENAI_BASE_URL" if where == "environment" else "base_url")
    assert "credentials" in str(error)
    assert "in place of the API key" in str(error)  # says why: the key would be dropped
    assert url in str(error)  # the URL to give instead, without them
    for text in (str(error), repr(error), "".join(traceback.format_exception(error))):
        assert PASSWORD not in text
        assert "alice" not in text
    assert log.connections == []


# -- a closed client -------------------------------------------------------------------------------


def _closed_checks(error: BaseException) -> None:
    assert type(error) is streamstruct.ClientClosedError, repr(error)
    assert isinstance(error, RuntimeError)  # what it raised before, for code that caught that
    assert "closed" in str(error)


@pytest.mark.parametrize("flavour", ["asyncio", "trio"])
async def test_an_async_client_used_after_aclose(anyio_backend: str) -> None:
    async with raw_server(_answer) as (url, log):
        client = streamstruct.AsyncClient(**_options(url))
        made_before = client.chat.completions.create_partial(**_request("create_partial", {}))
        await client.aclose()
        for method in _METHODS:
            with pytest.raises(streamstruct.StreamStructError) as caught:
                getattr(client.chat.completions, method)(**_request(method, {}))
            _closed_checks(caught.value)
        with pytest.raises(streamstruct.StreamStructError) as caught:
            await made_before.get_final()  # made before the close, opened after it
        _closed_checks(caught.value)
        with pytest.raises(streamstruct.StreamStructError) as caught:
            async with client:
                pass
        _closed_checks(caught.value)
    assert log.connections == []


@pytest.mark.parametrize("flavour", ["asyncio", "trio"])
async def test_an_async_client_whose_http_client_was_closed_by_its_owner(
    anyio_backend: str,
) -> None:
    async with raw_server(_answer) as (url, log):
        http = httpx.AsyncClient()
        client = streamstruct.AsyncClient(**_options(url), http_client=http)
        await http.aclose()
        with pytest.raises(streamstruct.StreamStructError) as caught:
            await client.chat.completions.create(**_request("create", {}))
        assert type(caught.value) is streamstruct.ClientClosedError
        assert "http_client" in str(caught.value)
    assert log.connections == []


@pytest.mark.parametrize("flavour", ["sync"])
async def test_a_sync_client_used_after_close(anyio_backend: str) -> None:
    def run_sync(url: str) -> None:
        client = streamstruct.Client(**_options(url))
        made_before = client.chat.completions.create_partial(**_request("create_partial", {}))
        client.close()
        for method in _METHODS:
            with pytest.raises(streamstruct.StreamStructError) as caught:
                getattr(client.chat.completions, method)(**_request(method, {}))
            _closed_checks(caught.value)
        for use in (made_before.get_final, lambda: list(made_before), client.__enter__):
            with pytest.raises(streamstruct.StreamStructError) as caught:
                use()
            _closed_checks(caught.value)

    async with raw_server(_answer) as (url, log):
        await anyio.to_thread.run_sync(run_sync, url)
    assert log.connections == []


@pytest.mark.parametrize("flavour", ["sync"])
async def test_a_sync_client_called_from_its_own_event_loop_thread(anyio_backend: str) -> None:
    # A transport (or a validator, or any async code the client's loop runs) that calls the sync
    # client would have the loop wait for itself.
    caught: list[BaseException] = []
    client: streamstruct.Client

    class Reentrant(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            try:
                client.chat.completions.create(**_request("create", {}))
            except streamstruct.StreamStructError as error:
                caught.append(error)
            return httpx.Response(503)

    def run_sync() -> None:
        nonlocal client
        client = streamstruct.Client(
            api_key=KEY, base_url="http://127.0.0.1:9/v1", max_retries=0, transport=Reentrant()
        )
        with client, pytest.raises(streamstruct.InternalServerError):
            client.chat.completions.create(**_request("create", {}))

    await anyio.to_thread.run_sync(run_sync)
    [error] = caught
    assert type(error) is streamstruct.ClientUsageError
    assert isinstance(error, RuntimeError)
    assert "its own event loop thread" in str(error)


def test_every_usage_error_is_under_the_root() -> None:
    for cls in (TYPE, VALUE, streamstruct.ClientUsageError, streamstruct.ClientClosedError):
        assert issubclass(cls, streamstruct.StreamStructError)
    assert issubclass(TYPE, TypeError)
    assert issubclass(VALUE, ValueError)
    assert issubclass(streamstruct.ClientClosedError, RuntimeError)


# The server on either backend; the client runs asyncio.run() twice in a thread.
@pytest.mark.parametrize("flavour", ["asyncio", "trio"])
async def test_an_async_client_reused_on_a_second_event_loop(anyio_backend: str) -> None:
    # Its kept-alive connection belongs to the first loop, closed by then: a typed error that
    # says so, not asyncio's bare "Event loop is closed".
    async def respond(client: anyio.abc.SocketStream, head: bytes) -> bool:
        body = frame(content_chunk('{"name": "Eve", "age": 1}', finish="stop")) + frame("[DONE]")
        await client.send(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
            b"content-length: %d\r\n\r\n%s" % (len(body), body)
        )
        return True

    def run_sync(url: str) -> tuple[type[BaseException], str]:
        import asyncio

        clients = [streamstruct.AsyncClient(**_options(url))]

        async def call() -> Any:
            return await clients[0].chat.completions.create(**_request("create", {}))

        assert asyncio.run(call()) == User(name="Eve", age=1)
        try:
            asyncio.run(call())
        except BaseException as error:
            outcome = (type(error), str(error))
        else:
            raise AssertionError("the second loop's call succeeded")
        # The first loop's socket cannot be closed once that loop is gone (the misuse itself
        # leaks it): let it go now, its ResourceWarning silenced, not in some later test.
        clients.clear()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            gc.collect()
        return outcome

    async with serve_kept_alive(respond) as url:
        cls, message = await anyio.to_thread.run_sync(run_sync, f"{url}/v1")
    assert cls is streamstruct.ClientUsageError
    assert issubclass(cls, RuntimeError)
    assert "one client per event loop" in message


# -- a query in base_url ---------------------------------------------------------------------------


async def test_a_query_in_base_url_is_kept_on_every_request_and_hidden_in_the_repr(
    flavour: str,
) -> None:
    """Azure's ``?api-version=...`` (or a gateway's ``?key=...``): the request goes to
    ``/v1/chat/completions?...``, not ``/chat/completions`` with the path and the query lost, and
    the client's repr shows the query's names, not its values."""
    async with raw_server(_answer) as (url, log):
        base_url = f"{url}?api-version=2024-10-21&key={PASSWORD}"
        request = _request("create", {})

        if flavour == "sync":

            def run_sync() -> str:
                with streamstruct.Client(**_options(base_url)) as client:
                    shown = repr(client)
                    assert client.chat.completions.create(**request) == User(name="Eve", age=1)
                    return shown

            shown = await anyio.to_thread.run_sync(run_sync)
        else:
            async with streamstruct.AsyncClient(**_options(base_url)) as client:
                shown = repr(client)
                assert await client.chat.completions.create(**request) == User(name="Eve", age=1)
    path = httpx.URL(url).path.rstrip("/")
    target = f"{path}/chat/completions?api-version=2024-10-21&key={PASSWORD}"
    assert [c.requests[0][":target"] for c in log.connections] == [target]
    assert PASSWORD not in shown
    assert "api-version=...&key=..." in shown


@pytest.mark.parametrize(
    ("options", "error", "match"),
    [
        ({"max_response_bytes": 1e7}, TypeError, "max_response_bytes must be an int, not float"),
        ({"max_response_bytes": 0}, ValueError, "max_response_bytes must be at least 1"),
        ({"max_response_bytes": True}, TypeError, "max_response_bytes must be an int"),
        ({"max_depth": "64"}, TypeError, "max_depth must be an int, not str"),
        ({"max_depth": 0}, ValueError, "max_depth must be at least 1"),
    ],
)
def test_limits_are_checked_when_the_client_is_made(
    options: dict[str, Any], error: type[Exception], match: str
) -> None:
    # Not first when a stream opens (where a compiled reader would refuse them as a TypeError).
    with pytest.raises(error, match=match):
        streamstruct.AsyncClient(api_key="x", **options)
    with pytest.raises(error, match=match):
        streamstruct.Client(api_key="x", **options)
