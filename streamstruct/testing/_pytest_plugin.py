"""The pytest plugin: fixtures for a fresh simulator, in process and over loopback.

Registered through the ``pytest11`` entry point, so installing streamstruct's test extras is
enough: no ``conftest.py`` import. Every test gets its own :class:`Simulator` (scripts, faults
and recorded requests never leak between tests); ``simulator_url`` serves *that* simulator, so a
test can script it and point a real client at the URL.

Starting and stopping uvicorn costs about 0.3 s, so one server runs for the whole session and
forwards each request to the simulator of the test that is running (:class:`_Dispatcher`).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ._server import serve
from ._simulator import Receive, Scope, Send, Simulator

__all__ = ["simulator", "simulator_url"]


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


# The fixture that hands out a streamstruct client pointed at the simulator goes here once the
# client exists, e.g. ``simulator_client(simulator) -> streamstruct.AsyncClient`` built on
# ``StreamingASGITransport(simulator)`` (in process, streaming, no sockets).
