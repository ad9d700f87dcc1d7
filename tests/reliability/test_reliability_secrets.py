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
from reliability_support import (
    KEY,
    MESSAGES,
    Writer,
    content_chunk,
    endless,
    frame,
    raw_server,
)
from shared_support import User

import streamstruct

pytestmark = pytest.mark.anyio


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
