"""The client's own pool (``_pool.ConnectionPool``) over real loopback sockets: the request queue at
``max_connections``, cancellation at every point, failed connects, and several origins.

Each test ends with the question that matters: can the next request still get a connection? A
slot lost for ever shows up as ``PoolTimeout`` there, so the pool timeout is short.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import aclosing, asynccontextmanager, suppress
from dataclasses import dataclass

import anyio
import anyio.abc
import httpcore
import httpx
import pytest
from reliability_support import needs_pool, serve_kept_alive

import streamstruct
from streamstruct._io import _pool
from streamstruct._io._pool import ConnectionPool

pytestmark = pytest.mark.anyio
FAST = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"
SLOW_HEAD = b"HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n" + b"x" * 10  # then nothing


@dataclass
class Seen:
    connections: int = 0


@asynccontextmanager
async def server() -> AsyncIterator[tuple[str, Seen]]:
    """HTTP/1.1 on 127.0.0.1, kept alive: ``/fast`` answers at once, ``/slow`` sends the head and
    ten bytes of a 1,000-byte body, then holds the connection."""
    seen = Seen()

    def connected() -> None:
        seen.connections += 1

    async def respond(client: anyio.abc.SocketStream, head: bytes) -> bool:
        if b"/slow" in head.split(b"\r\n")[0]:
            await client.send(SLOW_HEAD)
            await anyio.sleep_forever()
        await client.send(FAST)
        return True

    async with serve_kept_alive(respond, on_connect=connected) as base_url:
        yield base_url, seen


def pooled(max_connections: int, **limits: int) -> httpx.AsyncClient:
    """An httpx client on ``ConnectionPool``, as streamstruct's own client builds it."""
    http = httpx.AsyncClient(
        limits=httpx.Limits(max_connections=max_connections, **limits),
        timeout=httpx.Timeout(5.0, pool=1.0),
    )
    _pool.use_own_pool(http)
    assert isinstance(pool_of(http), ConnectionPool)
    return http


def pool_of(http: httpx.AsyncClient) -> httpcore.AsyncConnectionPool:
    return http._transport._pool  # type: ignore[attr-defined,no-any-return]


async def served(http: httpx.AsyncClient, url: str) -> None:
    """The next request gets a connection (no slot was lost) and its answer."""
    with anyio.fail_after(5):
        assert (await http.get(url + "/fast")).text == "ok"


@needs_pool
async def test_a_queued_request_is_served_when_the_first_ends() -> None:
    async with server() as (url, seen), pooled(1) as http:
        first = await http.send(http.build_request("GET", url + "/fast"), stream=True)
        answers: list[str] = []

        async def second() -> None:
            answers.append((await http.get(url + "/fast")).text)

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(second)
            await anyio.wait_all_tasks_blocked()
            assert len(pool_of(http)._requests) == 2  # the second is queued
            await first.aread()
            await first.aclose()
        assert answers == ["ok"]
        assert seen.connections == 1  # the second reused the first's connection


@needs_pool
async def test_a_cancelled_queued_request_leaves_no_trace() -> None:
    async with server() as (url, _seen), pooled(1) as http:
        held = await http.send(http.build_request("GET", url + "/slow"), stream=True)
        with anyio.move_on_after(0.1):
            await http.get(url + "/fast")
        await held.aclose()
        await served(http, url)
        assert pool_of(http)._requests == []


@needs_pool
# On trio a break leaves httpx's own nested body generators to the collector, which warns.
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_breaking_off_a_stream_serves_the_queued_request() -> None:
    async with server() as (url, seen), pooled(1) as http:
        held = await http.send(http.build_request("GET", url + "/slow"), stream=True)
        answers: list[str] = []

        async def queued() -> None:
            answers.append((await http.get(url + "/fast")).text)

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(queued)
            await anyio.wait_all_tasks_blocked()
            async with aclosing(held.aiter_raw()) as chunks:
                async for _chunk in chunks:
                    break
            await held.aclose()  # mid-body: the connection is closed, a new one made
        assert answers == ["ok"]
        assert seen.connections == 2
        assert len(pool_of(http).connections) == 1


@needs_pool
async def test_failed_connects_give_their_slot_back() -> None:
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    port = listener.extra(anyio.abc.SocketAttribute.local_port)
    await listener.aclose()  # nothing listens there now
    async with pooled(1) as http:
        for _ in range(3):
            with pytest.raises(httpx.ConnectError):
                await http.get(f"http://127.0.0.1:{port}/")
        async with server() as (url, _seen):
            await served(http, url)
        assert len(pool_of(http).connections) <= 1


@needs_pool
async def test_an_idle_connection_to_another_origin_makes_room() -> None:
    async with server() as (url_a, seen_a), server() as (url_b, seen_b), pooled(1) as http:
        await served(http, url_a)
        await served(http, url_b)  # the idle connection to a is closed for it
        await served(http, url_a)  # and so a needs a new one
        assert (seen_a.connections, seen_b.connections) == (2, 1)


@needs_pool
async def test_two_origins_at_once_each_keep_their_connections() -> None:
    async with server() as (url_a, seen_a), server() as (url_b, seen_b), pooled(8) as http:
        for _ in range(3):
            async with anyio.create_task_group() as tasks:
                for url in (url_a, url_b) * 3:
                    tasks.start_soon(served, http, url)
        assert (seen_a.connections, seen_b.connections) == (3, 3)
        assert len(pool_of(http).connections) == 6


@needs_pool
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_a_request_cancelled_before_using_its_new_connection_frees_the_slot() -> None:
    # encode/httpcore#1093. A queued request is handed a brand-new connection by another task's
    # pass and is cancelled (a plain asyncio cancel, as asyncio.timeout and wait_for use) before
    # its task runs: nobody will connect that connection or hand it back. httpcore's own pool
    # keeps it, CONNECTING, for ever; with max_connections=1 every later request times out.
    async with server() as (url, _seen), pooled(1) as http:
        held = await http.send(http.build_request("GET", url + "/slow"), stream=True)
        queued = asyncio.ensure_future(http.get(url + "/fast"))
        await anyio.wait_all_tasks_blocked()
        await held.aclose()  # mid-body: closed; the pass makes a new connection for `queued`
        connection = pool_of(http)._requests[0].connection
        assert connection is not None
        assert not connection.is_idle()
        queued.cancel()  # in the same turn: its task never runs on it
        with pytest.raises(asyncio.CancelledError):
            await queued
        assert pool_of(http).connections == []
        await served(http, url)


@needs_pool
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_a_cancel_inside_a_responses_aclose_does_not_pin_its_slot() -> None:
    # A plain asyncio cancel landing inside the response's aclose() (anyio's shield does not stop
    # it) can leave the request in the pool's queue for ever, on a connection that is closed by
    # then. That connection must not count against max_connections. Where exactly the cancel
    # lands depends on httpcore's awaits, so it is tried after 1, 2, ... event-loop turns.
    landed = 0
    for turns in range(1, 6):
        async with server() as (url, _seen), pooled(1) as http:
            response = await http.send(http.build_request("GET", url + "/slow"), stream=True)
            closing = asyncio.ensure_future(response.aclose())
            for _ in range(turns):
                await asyncio.sleep(0)
            closing.cancel()
            with suppress(asyncio.CancelledError):
                await closing
            pool = pool_of(http)
            stuck = [r.connection for r in pool._requests]
            if stuck and all(c is not None and c.is_closed() for c in stuck):
                landed += 1
                await served(http, url)
    assert landed >= 1, "the cancel never landed between closing the connection and the queue"


@needs_pool
def test_settings_of_httpxs_pool_carry_over() -> None:
    # Every setting httpx gave its pool is kept, not only the limits.
    http = httpx.AsyncClient()
    transport = http._transport
    assert isinstance(transport, httpx.AsyncHTTPTransport)
    backend = httpcore.AnyIOBackend()
    settings = {
        "max_connections": 9,
        "max_keepalive_connections": 4,
        "keepalive_expiry": 12.0,
        "retries": 3,
        "local_address": "127.0.0.1",
        "uds": "/tmp/api.sock",
        "socket_options": [(6, 1, 1)],
        "network_backend": backend,
    }
    transport._pool = httpcore.AsyncConnectionPool(**settings)  # type: ignore[arg-type]
    _pool.use_own_pool(http)
    pool = transport._pool
    assert isinstance(pool, ConnectionPool)
    for name, value in settings.items():
        assert getattr(pool, "_" + name) == value, name
    assert (pool._http1, pool._http2) == (True, False)


@needs_pool
@pytest.mark.parametrize(
    "stock",
    [
        pytest.param(lambda: httpcore.AsyncConnectionPool(http2=True), id="http2"),
        pytest.param(lambda: httpcore.AsyncConnectionPool(http1=False, http2=True), id="h2-only"),
        pytest.param(lambda: httpcore.AsyncHTTPProxy(proxy_url="http://proxy:3128"), id="proxy"),
    ],
)
def test_pools_it_does_not_fit_are_left_alone(stock: object) -> None:
    http = httpx.AsyncClient()
    transport = http._transport
    assert isinstance(transport, httpx.AsyncHTTPTransport)
    theirs = stock()  # type: ignore[operator]
    transport._pool = theirs
    _pool.use_own_pool(http)
    assert transport._pool is theirs


@pytest.mark.parametrize(
    ("version", "fits"),
    [
        ("1.0.3", True),
        ("1.0.9", True),
        ("1.0.12", True),
        ("1.0.2", False),
        ("1.0.0", False),
        ("1.1.0", False),
        ("2.0.0", False),
        ("0.18.0", False),
        ("dev", False),
    ],
)
def test_only_known_httpcore_versions_get_the_own_pool(version: str, fits: bool) -> None:
    assert _pool.pool_fits(version) is fits


def test_elsewhere_the_client_keeps_httpcores_pool_with_its_limits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_pool, "POOL_FITS", False)
    limits = httpx.Limits(max_connections=7, max_keepalive_connections=3)
    client = streamstruct.AsyncClient(base_url="http://x/v1", limits=limits)
    pool = client._http._transport._pool  # type: ignore[attr-defined]
    assert type(pool) is httpcore.AsyncConnectionPool
    assert (pool._max_connections, pool._max_keepalive_connections) == (7, 3)
