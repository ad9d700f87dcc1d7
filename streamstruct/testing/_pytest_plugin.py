"""The pytest plugin: a fresh simulator per test, and clients pointed at it.

Registered through the ``pytest11`` entry point, so installing streamstruct is enough: no
``conftest.py`` import. The fixtures:

* ``simulator``: a fresh :class:`Simulator` per test (scripts, faults and recorded requests never
  leak between tests). Override it in a ``conftest.py`` or a test module to change its settings;
  the fixtures below follow.
* ``streamstruct_client``: an :class:`~streamstruct.AsyncClient` answered by that simulator in
  process (:func:`~streamstruct.testing.simulated_client`), closed after the test. It is an async
  fixture, so the test must run under anyio (``@pytest.mark.anyio``).
* ``streamstruct_sync_client``: the sync :class:`~streamstruct.Client` twin, for plain tests.
* ``simulator_url``: the ``simulator`` served over loopback by uvicorn (the ``sim`` extra), for
  clients that must make real HTTP requests (another SDK, another process).

Starting and stopping uvicorn costs about 0.3 s, so one server runs for the whole session and
forwards each request to the simulator of the test that is running (:class:`_Dispatcher`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from .._client import AsyncClient
from .._sync import Client
from ._clients import simulated_client, simulated_sync_client
from ._server import serve
from ._simulator import Receive, Scope, Send, Simulator

__all__ = ["simulator", "simulator_url", "streamstruct_client", "streamstruct_sync_client"]


class _Dispatcher:
    """An ASGI app that hands each request to the current test's simulator."""

    def __init__(self) -> None:
        self.target: Simulator | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        target = self.target
        if target is None:  # a request outside any test using `simulator_url`
            if scope["type"] != "http":
                return
            await send({"type": "http.response.start", "status": 503, "headers": []})
            await send({"type": "http.response.body", "body": b"no simulator", "more_body": False})
            return
        await target(scope, receive, send)


@pytest.fixture
def simulator() -> Simulator:
    """A fresh :class:`~streamstruct.testing.Simulator` with default settings.

    Script it (``simulator.script(...)``), give it to ``httpx.ASGITransport(app=simulator)``,
    or request ``simulator_url`` as well to reach it over HTTP.
    """
    return Simulator()


@pytest.fixture(scope="session")
def _simulator_server() -> Iterator[tuple[_Dispatcher, str]]:
    dispatcher = _Dispatcher()
    with serve(dispatcher) as url:
        yield dispatcher, url


@pytest.fixture
def simulator_url(
    simulator: Simulator, _simulator_server: tuple[_Dispatcher, str]
) -> Iterator[str]:
    """The base URL (``http://127.0.0.1:PORT/v1``) of the ``simulator`` fixture, over loopback.

    Needs the ``streamstruct[sim]`` extra (uvicorn). Requests reach this test's ``simulator``
    until the test ends.
    """
    dispatcher, url = _simulator_server
    dispatcher.target = simulator
    try:
        yield url
    finally:
        dispatcher.target = None


@pytest.fixture
async def streamstruct_client(simulator: Simulator) -> AsyncIterator[AsyncClient]:
    """An :class:`~streamstruct.AsyncClient` answered in process by the ``simulator`` fixture.

    Requests never leave the process (:class:`~streamstruct.testing.StreamingASGITransport`), so
    deltas, delays, stalls and dropped connections arrive as from a server. Closed after the test.
    Needs an anyio test (``@pytest.mark.anyio``), which runs it on that test's backend.
    """
    async with simulated_client(simulator) as client:
        yield client


@pytest.fixture
def streamstruct_sync_client(simulator: Simulator) -> Iterator[Client]:
    """A sync :class:`~streamstruct.Client` answered in process by the ``simulator`` fixture.

    Its event loop runs in a background thread, so any plain (non-async) test can use it.
    Closed after the test.
    """
    with simulated_sync_client(simulator) as client:
        yield client
