"""The API key stays secret, and the transport stays safe, over real sockets.

The key must appear in no ``repr``/``str`` (clients, streams, responses, errors), no log record
at any level from any logger - httpx's and httpcore's DEBUG logging included, formatted with
their tracebacks - no exception message or traceback, nothing one would save from a stream (its
text, its error's body, the response's headers). TLS certificates are verified by default, and the
``Authorization`` header never reaches a host other than ``base_url``'s after a redirect.
"""

from __future__ import annotations

import contextlib
import json
import logging
import pickle
import ssl
import subprocess
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import anyio.abc
import anyio.to_thread
import httpx
import pytest
from pydantic import BaseModel
from reliability_support import (
    KEY,
    MESSAGES,
    Writer,
    content_chunk,
    endless,
    frame,
    raw_server,
)

import streamstruct

pytestmark = pytest.mark.anyio


class User(BaseModel):
    name: str
    age: int


class Everything(logging.Handler):
    """Every record from every logger, formatted as a log file would have it (tracebacks too)."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))
        self.lines.append(repr(record.args))


@pytest.fixture
def logs() -> Iterator[Everything]:
    handler = Everything()
    root = logging.getLogger()
    levels = {name: logging.getLogger(name).level for name in ("", "httpx", "httpcore")}
    root.addHandler(handler)
    for name in levels:
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


def no_key_in(*things: object) -> None:
    for thing in things:
        for text in (repr(thing), str(thing)):
            assert KEY not in text, text


def no_key_in_error(error: BaseException) -> None:
    no_key_in(error, *error.args)
    assert KEY not in "".join(traceback.format_exception(error))
    copy = pickle.loads(pickle.dumps(error))  # a partial included (test_error_pickling)
    assert type(copy) is type(error)
    assert vars(copy) == vars(error)
    assert KEY not in repr(copy.args)
    assert KEY not in repr(pickle.dumps(error))
    for name in ("message", "text", "body", "partial"):
        value = getattr(error, name, None)
        assert KEY not in json.dumps(value, default=repr)


async def _echo_the_key(writer: Writer, headers: dict[str, str]) -> None:
    """A 401 that quotes the key it was given, as some proxies do."""
    given = headers.get("authorization", "").removeprefix("Bearer ")
    body = json.dumps(
        {"error": {"message": f"Incorrect API key provided: {given}", "type": "auth", "code": None}}
    ).encode()
    await writer.send(
        b"HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\n"
        b"content-length: %d\r\n\r\n%s" % (len(body), body)
    )


async def _cut(writer: Writer, headers: dict[str, str]) -> None:
    await writer.start_chunked()
    await writer.chunk(frame(content_chunk('{"name": "Zo')))


async def test_the_key_is_in_no_repr_log_error_or_saved_text(
    logs: Everything, anyio_backend: str
) -> None:
    errors: list[BaseException] = []
    async with (
        raw_server(_echo_the_key) as (echo_url, _l1),
        raw_server(_cut) as (cut_url, _l2),
        raw_server(endless) as (endless_url, _l3),
    ):
        for url, timeout in ((echo_url, 5.0), (cut_url, 5.0), (endless_url, 0.2)):
            async with streamstruct.AsyncClient(
                api_key=KEY,
                base_url=url,
                mode="json_schema",
                max_retries=1,
                backoff=0.0,
                deadline=timeout if url == endless_url else None,
            ) as client:
                no_key_in(client, vars(client), client.chat.completions)
                stream = client.chat.completions.create_partial(
                    model="m", response_model=User, messages=MESSAGES
                )
                no_key_in(stream, vars(stream))
                try:
                    async for _ in stream:
                        no_key_in(stream.response, stream.response.headers)
                        no_key_in(stream.response.request, stream.response.request.headers)
                except streamstruct.StreamStructError as error:
                    errors.append(error)
                no_key_in(stream.text, stream.partial)

        def sync_run() -> BaseException:
            with streamstruct.Client(api_key=KEY, base_url=echo_url) as client:
                no_key_in(client, vars(client))
                with pytest.raises(streamstruct.AuthenticationError) as caught:
                    client.chat.completions.create(
                        model="m", response_model=User, messages=MESSAGES
                    )
                return caught.value

        errors.append(await anyio.to_thread.run_sync(sync_run))

    assert [type(e) for e in errors] == [
        streamstruct.AuthenticationError,
        streamstruct.StreamInterruptedError,
        streamstruct.APITimeoutError,
        streamstruct.AuthenticationError,
    ]
    assert "<api key>" in str(errors[0])  # the echoed key was replaced, the message kept
    for error in errors:
        no_key_in_error(error)
    assert any(line.startswith("httpcore") for line in logs.lines)  # they did log, at DEBUG
    assert any(line.startswith("httpx") for line in logs.lines)
    for line in logs.lines:
        assert KEY not in line


async def test_a_redirect_is_not_followed_and_the_key_goes_nowhere_else() -> None:
    async def elsewhere(writer: Writer, headers: dict[str, str]) -> None:
        await writer.start_chunked()
        await writer.chunk(frame(content_chunk('{"name": "Eve", "age": 1}', finish="stop")))
        await writer.chunk(frame("[DONE]"))
        await writer.end_chunked()

    async with raw_server(elsewhere) as (other_url, other_log):

        async def redirect(writer: Writer, headers: dict[str, str]) -> None:
            await writer.send(
                f"HTTP/1.1 307 Temporary Redirect\r\nlocation: {other_url}/chat/completions\r\n"
                "content-length: 0\r\n\r\n".encode()
            )

        async with raw_server(redirect) as (url, log):
            # The client's own pool: never follows, a redirect is an error with its status.
            async with streamstruct.AsyncClient(api_key=KEY, base_url=url, max_retries=2) as client:
                with pytest.raises(streamstruct.APIStatusError) as caught:
                    await client.chat.completions.create(
                        model="m", response_model=User, messages=MESSAGES
                    )
            assert caught.value.status_code == 307
            assert caught.value.attempts == 1
            assert log.connections[0].requests[0]["authorization"] == f"Bearer {KEY}"
            assert other_log.connections == []

            # A caller's own http_client that follows redirects: the key stays behind.
            async with (
                httpx.AsyncClient(follow_redirects=True) as http,
                streamstruct.AsyncClient(
                    api_key=KEY, base_url=url, http_client=http, mode="json_schema"
                ) as client,
            ):
                user = await client.chat.completions.create(
                    model="m", response_model=User, messages=MESSAGES
                )
            assert user == User(name="Eve", age=1)
            [arrived] = other_log.connections
            assert "authorization" not in arrived.requests[0]
            assert KEY not in json.dumps(arrived.requests[0])


def _self_signed(directory: Path) -> tuple[Path, Path]:
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


async def test_tls_is_verified_by_default(tmp_path: Path) -> None:
    from anyio.streams.tls import TLSListener

    cert, key = _self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    received: list[bytes] = []

    async def handle(stream: anyio.abc.ByteStream) -> None:
        with contextlib.suppress(
            anyio.BrokenResourceError, anyio.EndOfStream, ssl.SSLError, OSError
        ):
            received.append(await stream.receive())

    tcp = await anyio.create_tcp_listener(local_host="127.0.0.1")
    port = tcp.extra(anyio.abc.SocketAttribute.local_port)
    listener = TLSListener(tcp, context, standard_compatible=False)
    async with listener, anyio.create_task_group() as tasks:

        async def serve() -> None:
            with contextlib.suppress(ssl.SSLError, OSError, anyio.BrokenResourceError):
                await listener.serve(handle)

        tasks.start_soon(serve)
        async with streamstruct.AsyncClient(
            api_key=KEY, base_url=f"https://127.0.0.1:{port}/v1", max_retries=0
        ) as client:
            transport: Any = client._http._transport
            assert transport._pool._ssl_context.verify_mode == ssl.CERT_REQUIRED
            assert transport._pool._ssl_context.check_hostname
            with pytest.raises(streamstruct.APIConnectionError) as caught:
                await client.chat.completions.create(
                    model="m", response_model=User, messages=MESSAGES
                )
        tasks.cancel_scope.cancel()
    assert "CERTIFICATE_VERIFY_FAILED" in str(caught.value)
    assert received == []  # the handshake failed: no request, no key, was ever sent
    no_key_in_error(caught.value)


# -- a key quoted by the server, on every error path -----------------------------------------------

# A key as long as OpenAI's project keys, with a "/" (which JSON may escape as "\/"): quoted in a
# message that cuts long values short, its beginning alone would still give most of it away.
LONG_KEY = "sk-proj-a/b-" + "Q7xZ9kWm" * 18


def _escaped(key: str, how: str) -> str:
    """``key`` as it may be written inside a JSON string."""
    if how == "slash":
        return key.replace("/", "\\/")
    if how == "unicode":
        return "".join(f"\\u{ord(c):04x}" for c in key)
    return key


def _error_json(quoted: str, padding: int = 0) -> str:
    return (
        '{"error": {"message": "' + "x" * padding + "Incorrect API key provided: " + quoted + '", '
        '"type": "invalid_request_error", "code": "invalid_api_key"}}'
    )


def _given(headers: dict[str, str]) -> str:
    return headers.get("authorization", "").removeprefix("Bearer ")


def _quoting(path: str, how: str) -> Any:
    """A server that quotes the key it was sent, on one error path, written as ``how`` says."""

    async def respond(writer: Writer, headers: dict[str, str]) -> None:
        quoted = _escaped(_given(headers), how)
        if path in ("status", "json_body", "html"):
            status, kind, body = {
                "status": ("401 Unauthorized", "application/json", _error_json(quoted)),
                "json_body": ("200 OK", "application/json", _error_json(quoted)),
                "html": ("200 OK", "text/html", f"<html><p>key {quoted} refused</p></html>"),
            }[path]
            data = body.encode()
            await writer.send(
                f"HTTP/1.1 {status}\r\ncontent-type: {kind}\r\n"
                f"content-length: {len(data)}\r\n\r\n".encode()
                + data
            )
            return
        await writer.start_chunked()
        await writer.chunk(frame(content_chunk('{"name": "Zo')))
        data = {
            "stream_event": _error_json(quoted),
            # An error message long enough to be cut short in the middle of the key.
            "stream_event_cut": _error_json(quoted, padding=420),
            "not_json": f'upstream refused the key "{quoted}", retry later',
            # A chunk of the wrong shape, whose message shows the value, cut short.
            "malformed": '{"choices": "' + quoted + '"}',
        }[path]
        await writer.chunk(frame(data))
        await writer.end_chunked()

    return respond


def _shown(error: BaseException) -> list[str]:
    """Everything an error shows or carries that could end up in a log, a queue or a report."""
    texts = [repr(error), str(error), repr(error.args)]
    texts.append("".join(traceback.format_exception(error)))
    for name in ("message", "body"):
        texts.append(json.dumps(getattr(error, name, None), default=repr))
    copy = pickle.loads(pickle.dumps(error))  # a partial included (test_error_pickling)
    assert vars(copy) == vars(error)
    texts.append(repr(vars(copy)))
    texts.append(pickle.dumps(error).decode("latin-1"))
    return texts


def no_piece_of(key: str, texts: list[str]) -> None:
    """Not the key, nor any 12 characters of it past its public prefix (a key cut short)."""
    for text in texts:
        for start in range(8, len(key) - 11):
            assert key[start : start + 12] not in text, text


async def _call(flavour: str, url: str, key: str) -> BaseException:
    options: dict[str, Any] = {"api_key": key, "base_url": url, "mode": "json_schema"}
    options.update(max_retries=0)
    request: dict[str, Any] = {"model": "m", "response_model": User, "messages": MESSAGES}
    if flavour == "sync":

        def run_sync() -> BaseException:
            with streamstruct.Client(**options) as client:
                with pytest.raises(streamstruct.StreamStructError) as caught:
                    client.chat.completions.create(**request)
                return caught.value

        return await anyio.to_thread.run_sync(run_sync)
    async with streamstruct.AsyncClient(**options) as client:
        with pytest.raises(streamstruct.StreamStructError) as caught:
            await client.chat.completions.create(**request)
        return caught.value


@pytest.fixture(params=["asyncio", "trio", "sync"])
def flavour(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def anyio_backend(flavour: str) -> str:
    """The async client on asyncio and on trio, and the sync client (whose loop is its own)."""
    return "asyncio" if flavour == "sync" else flavour


_PATHS = {
    "status": streamstruct.AuthenticationError,
    "json_body": streamstruct.APIStatusError,
    "html": streamstruct.APIError,
    "stream_event": streamstruct.APIStatusError,
    "stream_event_cut": streamstruct.APIStatusError,
    "not_json": streamstruct.APIError,
    "malformed": streamstruct.APIError,
}


# Every path with the key written plainly, with "\/" and as \u escapes (not in HTML, where JSON
# escapes mean nothing).
_CASES = [
    (p, how)
    for p in _PATHS
    for how in ("plain", "slash", "unicode")
    if (p, how) != ("html", "unicode")
]


@pytest.mark.parametrize(("path", "how"), _CASES)
async def test_a_key_the_server_quotes_is_redacted_on_every_error_path(
    flavour: str, path: str, how: str
) -> None:
    async with raw_server(_quoting(path, how)) as (url, _log):
        error = await _call(flavour, url, LONG_KEY)
    assert type(error) is _PATHS[path]
    no_piece_of(LONG_KEY, _shown(error))
    assert "<api key>" in str(error)  # the key was replaced, the rest of the message kept
    if path in ("status", "json_body", "stream_event"):
        assert error.body["message"] == "Incorrect API key provided: <api key>"  # type: ignore[attr-defined]
        assert error.body["code"] == "invalid_api_key"  # type: ignore[attr-defined]


_NOT_FOUND = {
    "message": "Unknown request URL: POST /v1/chat/completions",
    "type": "invalid_request_error",
    "code": 404,
}


async def _not_found(writer: Writer, headers: dict[str, str]) -> None:
    data = json.dumps({"error": _NOT_FOUND}).encode()
    await writer.send(
        b"HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\n"
        b"content-length: %d\r\n\r\n%s" % (len(data), data)
    )


@pytest.mark.parametrize("key", ["k", "40", "sk-1234"])
async def test_a_key_too_short_to_be_a_secret_garbles_nothing(flavour: str, key: str) -> None:
    # Under 8 characters a "key" is no secret (a local server's placeholder), and replacing it
    # everywhere would garble the message ("Un<api key>nown") or break the body's JSON ("4<api key>").
    async with raw_server(_not_found) as (url, _log):
        error = await _call(flavour, url, key)
    assert type(error) is streamstruct.NotFoundError
    assert str(error) == f"HTTP 404: {_NOT_FOUND['message']}"
    assert error.body == _NOT_FOUND  # type: ignore[attr-defined]
