"""The pass of the client's own pool (``_pool.ConnectionPool``), run directly on fake connections.

No sockets and no event loop: the pass is a plain function of the pool's requests and
connections, so these tests drive it by hand - a model of what httpcore's request code and
connections do between two passes - and check after every pass what must always hold:

* no two requests are handed one connection (HTTP/1.1: one request per connection);
* never more than ``max_connections`` connections;
* every connection the pool lets go of and that is not closed yet is returned for closing, and
  none a request holds is;
* after the pass each connection is held by a request or idle: none is lost (a slot nobody
  holds and nobody will hand back), and a request stays queued only while every slot is held.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal

import httpcore
import pytest

from streamstruct._io._pool import ConnectionPool

State = Literal["connecting", "active", "idle", "closed"]
A = httpcore.URL("http://a.example/v1/chat/completions")
B = httpcore.URL("http://b.example/v1/chat/completions")


class FakeConnection:
    """An HTTP/1.1 connection as the pool sees it (httpcore's ``AsyncHTTPConnection``)."""

    def __init__(self, origin: httpcore.Origin) -> None:
        self.origin = origin
        self.state: State = "connecting"
        self.expired = False  # the server hung up, or it idled past keepalive_expiry
        self.expiry_checks = 0

    def can_handle_request(self, origin: httpcore.Origin) -> bool:
        return origin == self.origin

    def is_available(self) -> bool:
        return self.state == "idle"

    def is_idle(self) -> bool:
        return self.state == "idle"

    def is_closed(self) -> bool:
        return self.state == "closed"

    def has_expired(self) -> bool:
        self.expiry_checks += 1
        return self.state == "idle" and self.expired

    def __repr__(self) -> str:
        return f"<Fake {self.origin} {self.state}{' expired' if self.expired else ''}>"


@dataclass(eq=False)
class FakeRequest:
    """httpcore's ``AsyncPoolRequest``, without its event (which needs a running loop)."""

    request: httpcore.Request
    connection: FakeConnection | None = None
    sent: bool = False  # its task has sent on the connection: it is being served

    def is_queued(self) -> bool:
        return self.connection is None

    def assign_to_connection(self, connection: FakeConnection) -> None:
        self.connection = connection


class FakePool(ConnectionPool):
    def __init__(self, **limits: int) -> None:
        super().__init__(**limits)  # type: ignore[arg-type]
        self.created: list[FakeConnection] = []
        self.closed_by_pool: list[FakeConnection] = []

    def create_connection(self, origin: httpcore.Origin) -> FakeConnection:  # type: ignore[override]
        connection = FakeConnection(origin)
        self.created.append(connection)
        return connection

    @property
    def requests(self) -> list[FakeRequest]:
        return self._requests  # type: ignore[return-value]

    @property
    def fakes(self) -> list[FakeConnection]:
        return self._connections  # type: ignore[return-value]

    def add(self, url: httpcore.URL = A) -> FakeRequest:
        request = FakeRequest(httpcore.Request("POST", url))
        self.requests.append(request)
        return request

    def run_pass(self) -> None:
        """One pass, its invariants checked; what it returns is closed, as httpcore does."""
        before = list(self.fakes)
        closing: list[FakeConnection] = self._assign_requests_to_connections()  # type: ignore[assignment]
        held = [r.connection for r in self.requests if r.connection is not None]
        assert len(held) == len(set(map(id, held))), "two requests on one connection"
        assert len(self.fakes) <= self._max_connections
        assert len(self.fakes) == len(set(map(id, self.fakes)))
        after = set(map(id, self.fakes))
        assert not any(id(c) in after for c in closing), "closed yet kept"
        assert not any(c in held for c in closing), "closed under a request"
        for connection in before:
            if id(connection) not in after and not connection.is_closed():
                assert connection in closing, f"{connection} dropped but never closed"
        for connection in self.fakes:
            assert not connection.is_closed()
            assert connection in held or connection.is_idle(), f"{connection}: lost slot"
        idle_unheld = [c for c in self.fakes if c.is_idle() and c not in held]
        assert len(idle_unheld) <= self._max_keepalive_connections
        if any(r.is_queued() for r in self.requests):
            assert len(self.fakes) == self._max_connections
            assert not idle_unheld
        for connection in closing:
            connection.state = "closed"
            self.closed_by_pool.append(connection)

    def leave(self, request: FakeRequest) -> None:
        self.requests.remove(request)
        self.run_pass()


def test_a_closed_connection_is_forgotten_even_under_a_request_that_never_ends() -> None:
    # A plain asyncio cancel inside the response's aclose() can leave the request in _requests
    # for ever, on its closed connection: that must not hold the only slot.
    pool = FakePool(max_connections=1)
    stuck = pool.add()
    pool.run_pass()
    assert stuck.connection is not None
    stuck.connection.state = "closed"
    waiting = pool.add()
    pool.run_pass()
    assert waiting.connection is not None
    assert waiting.connection is not stuck.connection
    assert pool.fakes == [waiting.connection]


def test_a_connection_made_for_a_request_that_left_before_using_it_is_closed() -> None:
    # encode/httpcore#1093: a queued request is handed a new connection by another task's pass,
    # then cancelled before it runs. The connection was never connected, is held by nobody, and
    # would never become idle or closed: it is closed, and its slot goes to the next request.
    pool = FakePool(max_connections=1)
    first = pool.add()
    pool.run_pass()
    assert first.connection is not None
    first.connection.state = "active"
    queued = pool.add()
    pool.run_pass()
    assert queued.is_queued()
    first.connection.state = "closed"  # broke off mid-body
    pool.leave(first)
    orphan = queued.connection
    assert orphan is not None
    assert orphan.state == "connecting"
    pool.leave(queued)  # cancelled before its task ran
    assert orphan.state == "closed"
    assert pool.fakes == []
    after = pool.add()
    pool.run_pass()
    assert after.connection is not None


def test_queued_at_max_connections_then_served_by_the_released_connection() -> None:
    pool = FakePool(max_connections=1)
    first = pool.add()
    pool.run_pass()
    assert first.connection is not None
    first.connection.state = "active"
    second = pool.add()
    pool.run_pass()
    assert second.is_queued()
    first.connection.state = "idle"
    pool.leave(first)
    assert second.connection is first.connection
    assert len(pool.created) == 1


def test_an_idle_connection_to_another_origin_is_closed_to_make_room() -> None:
    pool = FakePool(max_connections=1)
    first = pool.add(A)
    pool.run_pass()
    assert first.connection is not None
    to_a = first.connection
    to_a.state = "idle"
    pool.leave(first)
    assert pool.fakes == [to_a]
    other = pool.add(B)
    pool.run_pass()
    assert to_a.state == "closed"
    assert pool.closed_by_pool == [to_a]
    assert other.connection is not None
    assert other.connection.origin == B.origin


def test_two_origins_each_reuse_their_own_connections() -> None:
    pool = FakePool(max_connections=4)
    requests = [pool.add(url) for url in (A, B, A, B)]
    pool.run_pass()
    for request in requests:
        assert request.connection is not None
        request.connection.state = "idle"
    for request in list(requests):
        pool.leave(request)
    again = [pool.add(url) for url in (B, A)]
    pool.run_pass()
    assert len(pool.created) == 4
    for request, url in zip(again, (B, A), strict=True):
        assert request.connection is not None
        assert request.connection.origin == url.origin


def test_an_expired_idle_connection_is_checked_before_reuse_and_closed() -> None:
    pool = FakePool(max_connections=2)
    first = pool.add()
    pool.run_pass()
    assert first.connection is not None
    dead = first.connection
    dead.state = "idle"
    pool.leave(first)
    dead.expired = True  # the server hung up after the last pass
    pool._next_expiry_check = float("inf")  # only the check before reuse can see it
    second = pool.add()
    pool.run_pass()
    assert dead.state == "closed"
    assert second.connection is not None
    assert second.connection is not dead


def test_only_idle_connections_count_against_the_keep_alive_cap() -> None:
    pool = FakePool(max_connections=6, max_keepalive_connections=2)
    requests = [pool.add() for _ in range(6)]
    pool.run_pass()
    for request in requests:
        assert request.connection is not None
        request.connection.state = "active"
    for request in requests[:3]:
        assert request.connection is not None
        request.connection.state = "idle"
        pool.leave(request)
    # 3 busy + 2 idle kept: the third idle one is over the cap of 2.
    assert len(pool.fakes) == 5
    assert len(pool.closed_by_pool) == 1


def test_idle_connections_are_probed_at_most_once_a_second_outside_reuse() -> None:
    pool = FakePool(max_connections=10)
    requests = [pool.add() for _ in range(10)]
    pool.run_pass()
    for request in requests:
        assert request.connection is not None
        request.connection.state = "idle"
        pool.requests.remove(request)
    pool._next_expiry_check = 0.0  # a second went by
    for _ in range(10):
        pool.run_pass()
    # The first pass probed them all; the next nine were within the second.
    assert [c.expiry_checks for c in pool.fakes] == [1] * 10


@pytest.mark.parametrize("seed", range(40))
def test_random_lives_of_requests_keep_the_invariants(seed: int) -> None:
    """Requests come, connect or fail to, are served, hang up, and are cancelled at every step
    (plain asyncio cancels included); after every pass the invariants hold, and at the end
    every slot is free again."""
    rng = random.Random(seed)
    max_connections = rng.choice([1, 2, 3, 5])
    pool = FakePool(
        max_connections=max_connections,
        max_keepalive_connections=rng.randint(0, max_connections),
    )
    stuck: list[FakeRequest] = []  # in _requests for ever (a cancel inside aclose())

    def step() -> None:
        live = [r for r in pool.requests if r not in stuck]
        if not live or rng.random() < 0.25:
            pool.add(rng.choice([A, A, B]))
            pool.run_pass()
            return
        request = rng.choice(live)
        connection = request.connection
        roll = rng.random()
        if connection is None:  # queued
            if roll < 0.2:
                pool.leave(request)  # cancelled, or its pool timeout passed
            return
        if not request.sent:
            if roll < 0.15:
                pool.leave(request)  # cancelled before its task ran: maybe an orphan
            elif connection.is_closed():
                request.connection = None  # ConnectionNotAvailable: start over
                pool.run_pass()
            elif connection.state == "idle" and connection.expired:
                connection.state = "closed"  # sent on a dead socket: the request fails
                pool.leave(request)
            elif connection.state == "connecting" and roll < 0.3:
                connection.state = "closed"  # the connect failed
                pool.leave(request)
            else:
                connection.state = "active"
                request.sent = True
            return
        if roll < 0.6:
            connection.state = "idle"  # read to the end
            connection.expired = rng.random() < 0.2  # and the server hung up
            pool.leave(request)
        elif roll < 0.8:
            connection.state = "closed"  # broke off mid-body
            pool.leave(request)
        elif roll < 0.85:
            connection.state = "closed"  # a cancel inside aclose(): closed, never removed
            stuck.append(request)
            pool.run_pass()
        else:
            for idle in pool.fakes:
                if idle.is_idle() and rng.random() < 0.3:
                    idle.expired = True
            pool._next_expiry_check = 0.0  # a second went by
            pool.run_pass()

    for _ in range(300):
        step()
    # Let every live request run to its end.
    for _ in range(10_000):
        live = [r for r in pool.requests if r not in stuck]
        if not live:
            break
        request = live[0]
        if request.connection is None:
            pool.leave(request)
            continue
        if not request.connection.is_closed():
            request.connection.state = "idle"
        pool.leave(request)
    assert all(r in stuck for r in pool.requests)
    assert all(c.is_idle() for c in pool.fakes), "a slot is held by nobody"
    # And every slot can be had.
    fresh = [pool.add(rng.choice([A, B])) for _ in range(max_connections)]
    pool.run_pass()
    assert not any(r.is_queued() for r in fresh)
