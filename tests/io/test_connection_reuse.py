"""Concurrent streams over a real loopback server keep their connections, and reuse them cheaply.

A stream read to its end hands its connection back to the pool; the next request should take it
without a fight. Under httpcore's own pool it did not: a connection handed to a request stays idle
until that request's task sends on it, so requests starting in the same event-loop turn were all
handed the same one, and all but one failed inside the pool (``ConnectionNotAvailable``) and
started over - about five times per request under load, each time with a pass over every
connection. streamstruct's own pool (``_pool.ConnectionPool``) keeps a handed-out connection spoken for.

Counts, never timings: connections the server accepted, requests it answered, and how often the
pool had to take back a connection it had handed out.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import anyio
import anyio.abc
import httpcore
import httpcore._async.connection_pool as httpcore_pool
import httpx
import pytest
from reliability_support import needs_pool, serve_kept_alive
from shared_support import User

import streamstruct
from streamstruct._io._pool import ConnectionPool

pytestmark = pytest.mark.anyio
MESSAGES = [{"role": "user", "content": "Make up a person."}]
STREAMS = 20
ROUNDS = 3


def _frame(payload: object) -> bytes:
    return f"data: {payload if isinstance(payload, str) else json.dumps(payload)}\n\n".encode()


def _body() -> bytes:
    text = json.dumps({"name": "Zoë", "age": 41})
    chunks = [text[i : i + 4] for i in range(0, len(text), 4)]
    frames = [
        _frame({"choices": [{"index": 0, "delta": {"content": c}, "finish_reason": None}]})
        for c in chunks
    ]
    frames.append(_frame({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}))
    frames.append(_frame("[DONE]"))
    return b"".join(frames)


BODY = _body()
RESPONSE = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: %d\r\n\r\n%s" % (
    len(BODY),
    BODY,
)


@dataclass
class Seen:
    connections: int = 0
    requests: int = 0
    hung_up: anyio.Event = field(default_factory=anyio.Event)  # set as a connection is closed


@asynccontextmanager
async def keep_alive_server(*, hang_up: bool = False) -> AsyncIterator[tuple[str, Seen]]:
    """An HTTP/1.1 server on 127.0.0.1 answering every request with one SSE answer.

    Connections are kept alive, unless ``hang_up``: then each is closed after one answer, without a
    ``connection: close`` header, as a server whose keep-alive timer ran out does.
    """
    seen = Seen()

    def connected() -> None:
        seen.connections += 1

    def closed() -> None:
        seen.hung_up.set()  # the event of the moment: a test replaces it after each

    async def respond(client: anyio.abc.SocketStream, head: bytes) -> bool:
        seen.requests += 1
        await client.send(RESPONSE)
        return not hang_up

    async with serve_kept_alive(respond, on_connect=connected, on_close=closed) as url:
        yield f"{url}/v1", seen


@pytest.fixture
def retaken(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How often httpcore's pool took back a connection it had handed to a request (one entry
    per ``ConnectionNotAvailable`` it caught and retried)."""
    counts: list[int] = []
    clear = httpcore_pool.AsyncPoolRequest.clear_connection

    def counted(self: httpcore_pool.AsyncPoolRequest) -> None:
        counts.append(1)
        clear(self)

    monkeypatch.setattr(httpcore_pool.AsyncPoolRequest, "clear_connection", counted)
    return counts


async def _rounds(client: streamstruct.AsyncClient, streams: int, rounds: int) -> None:
    """``rounds`` times: ``streams`` streams started in the same event-loop turn, read to the end."""

    async def one() -> None:
        stream = client.chat.completions.create_partial(
            model="m", response_model=User, messages=MESSAGES, mode="json_schema"
        )
        async for _partial in stream:
            pass
        assert await stream.get_final() == User(name="Zoë", age=41)

    for _ in range(rounds):
        async with anyio.create_task_group() as tasks:
            for _ in range(streams):
                tasks.start_soon(one)


@needs_pool
async def test_concurrent_streams_reuse_their_connections_without_a_fight(
    retaken: list[int],
) -> None:
    async with (
        keep_alive_server() as (url, seen),
        streamstruct.AsyncClient(base_url=url, max_retries=0) as client,
    ):
        await _rounds(client, STREAMS, ROUNDS)
        assert seen.requests == STREAMS * ROUNDS
        # One connection per concurrent stream, opened in the first round and reused since.
        assert seen.connections == STREAMS
        # No request was handed a connection another one had been handed (httpcore's own pool:
        # about STREAMS * STREAMS / 2 per round after the first).
        assert len(retaken) == 0
        pool = client._http._transport._pool  # type: ignore[attr-defined]
        assert isinstance(pool, ConnectionPool)
        assert [c.is_idle() for c in pool.connections] == [True] * STREAMS


@needs_pool
async def test_the_keep_alive_cap_counts_idle_connections_only() -> None:
    # 5 streams hold their connections while 5 more run one after the other: the one idle
    # connection between them is under the cap of 4 and is reused each time. httpcore's own pool
    # counted busy connections against the cap too (6 > 4), and closed it each time: 10 in all.
    limits = httpx.Limits(max_connections=8, max_keepalive_connections=4)
    async with (
        keep_alive_server() as (url, seen),
        streamstruct.AsyncClient(base_url=url, max_retries=0, limits=limits) as client,
    ):
        held = [
            await client.chat.completions.create_partial(
                model="m", response_model=User, messages=MESSAGES, mode="json_schema"
            )
            for _ in range(5)
        ]
        await _rounds(client, 1, 5)
        for stream in held:
            assert await stream.get_final() == User(name="Zoë", age=41)
        assert seen.requests == 10
        assert seen.connections == 6
        pool = client._http._transport._pool  # type: ignore[attr-defined]
        assert len(pool.connections) == 4  # the cap, once all are idle


@needs_pool
async def test_a_connection_the_server_closed_is_not_reused() -> None:
    # The pool looks for expired idle connections at most once a second, but it always checks
    # the one it is about to reuse: a request right after the server hung up gets a new one
    # (with max_retries=0, a request sent on the dead connection would fail).
    async with (
        keep_alive_server(hang_up=True) as (url, seen),
        streamstruct.AsyncClient(base_url=url, max_retries=0) as client,
    ):
        pool = client._http._transport._pool  # type: ignore[attr-defined]
        for expected in (1, 2, 3):
            # The once-a-second look must not be what finds it, however slow the machine.
            pool._next_expiry_check = float("inf")
            await _rounds(client, 1, 1)
            assert seen.requests == expected
            with anyio.fail_after(5):
                await seen.hung_up.wait()  # closed server-side: end-of-file is on its way
            seen.hung_up = anyio.Event()
        assert seen.connections == 3


@needs_pool
def test_limits_size_the_clients_own_pool() -> None:
    limits = httpx.Limits(max_connections=7, max_keepalive_connections=3)
    client = streamstruct.AsyncClient(base_url="http://x/v1", limits=limits)
    pool = client._http._transport._pool  # type: ignore[attr-defined]
    assert isinstance(pool, ConnectionPool)
    assert (pool._max_connections, pool._max_keepalive_connections) == (7, 3)
    with pytest.raises(ValueError, match="limits"):
        streamstruct.AsyncClient(http_client=httpx.AsyncClient(), limits=limits)


def test_limits_go_with_neither_http_client_nor_transport() -> None:
    # A given transport gets every request as it is (httpx mounts no proxies, applies no limits):
    # limits would size nothing.
    limits = httpx.Limits(max_connections=7)
    transport = httpx.MockTransport(lambda request: httpx.Response(200))
    with pytest.raises(ValueError, match="limits"):
        streamstruct.AsyncClient(transport=transport, limits=limits)
    with pytest.raises(ValueError, match="limits"):
        streamstruct.Client(transport=transport, limits=limits)


@needs_pool
def test_the_sync_client_takes_limits_too() -> None:
    limits = httpx.Limits(max_connections=5, max_keepalive_connections=2)
    with streamstruct.Client(base_url="http://x/v1", limits=limits) as client:
        pool = client._async._http._transport._pool  # type: ignore[attr-defined]
        assert isinstance(pool, ConnectionPool)
        assert (pool._max_connections, pool._max_keepalive_connections) == (5, 2)


@needs_pool
def test_proxies_from_the_environment_still_apply(monkeypatch: pytest.MonkeyPatch) -> None:
    # The pool is swapped inside the transport httpx built, rather than given as ``transport``,
    # which would turn off the proxies httpx mounts from the environment.
    for name in ("HTTP_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    client = streamstruct.AsyncClient(base_url="https://api.example.com/v1")
    http = client._http
    proxied = http._transport_for_url(httpx.URL("https://api.example.com/v1/chat/completions"))
    assert isinstance(proxied._pool, httpcore.AsyncHTTPProxy)  # type: ignore[attr-defined]
    direct = http._transport_for_url(httpx.URL("http://127.0.0.1:8000/v1/chat/completions"))
    assert isinstance(direct._pool, ConnectionPool)  # type: ignore[attr-defined]
