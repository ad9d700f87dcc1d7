"""The pytest plugin: a fresh simulator per test, and clients pointed at it. Opt-in.

Load it where you want it, in the root ``conftest.py`` (or the ``-p`` option)::

    pytest_plugins = ["streamstruct.testing.pytest_plugin"]

Installing streamstruct does not load it: an auto-loaded plugin (a ``pytest11`` entry point) would
import streamstruct, its client, httpx and anyio into every pytest run on the machine, and put its
fixture names into every project's namespace. The fixtures, all named ``streamstruct_*``:

* ``streamstruct_simulator``: a fresh :class:`Simulator` per test (scripts, faults and recorded
  requests never leak between tests). Override it in a ``conftest.py`` or a test module to change
  its settings; the fixtures below follow.
* ``streamstruct_client``: an :class:`~streamstruct.AsyncClient` answered by that simulator in
  process (:func:`~streamstruct.testing.simulated_client`), closed after the test. It is an async
  fixture, so the test must run under anyio (``@pytest.mark.anyio``).
* ``streamstruct_sync_client``: the sync :class:`~streamstruct.Client` twin, for plain tests.
* ``streamstruct_simulator_url``: the ``streamstruct_simulator`` served over loopback by uvicorn
  (the ``sim`` extra), for clients that must make real HTTP requests (another SDK, another process).
* ``streamstruct_api``: the wire dialect the client fixtures speak, ``"chat"`` by default.
  Override it (or parametrize it: ``@pytest.mark.parametrize("streamstruct_api", ["chat",
  "responses", "anthropic"])``) to run a test against the simulator's Responses or Anthropic
  routes; ``streamstruct_simulator_url`` then gives that API's base URL (no ``/v1`` for
  Anthropic, whose clients add it).

``simulator`` and ``simulator_url``, the names the auto-loaded plugin used to register, still work
once the plugin is loaded, with a ``DeprecationWarning``, for a migration; they will be removed.

Starting and stopping uvicorn costs about 0.3 s, so one server runs for the whole session and
forwards each request to the simulator of the test that is running (:class:`_Dispatcher`).
"""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from .._io._client import AsyncClient
from .._io._sync import Client
from ._clients import simulated_client, simulated_sync_client
from ._server import serve
from ._simulator import Receive, Scope, Send, Simulator

__all__ = [
    "simulator",
    "simulator_url",
    "streamstruct_api",
    "streamstruct_client",
    "streamstruct_simulator",
    "streamstruct_simulator_url",
    "streamstruct_sync_client",
]


class _Dispatcher:
    """An ASGI app that hands each request to the current test's simulator."""

    def __init__(self) -> None:
        self.target: Simulator | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        target = self.target
        if target is None:  # a request outside any test using `streamstruct_simulator_url`
            if scope["type"] != "http":
                return
            await send({"type": "http.response.start", "status": 503, "headers": []})
            await send({"type": "http.response.body", "body": b"no simulator", "more_body": False})
            return
        await target(scope, receive, send)


@pytest.fixture
def streamstruct_simulator() -> Simulator:
    """A fresh :class:`~streamstruct.testing.Simulator` with default settings.

    Script it (``streamstruct_simulator.script(...)``), give it to
    ``httpx.ASGITransport(app=...)``, or request ``streamstruct_simulator_url`` as well to reach
    it over HTTP.
    """
    return Simulator()


@pytest.fixture
def streamstruct_api() -> str:
    """The API the client fixtures speak: ``"chat"``, ``"responses"`` or ``"anthropic"``.

    ``"chat"`` unless a test parametrizes it or a ``conftest.py`` overrides it.
    """
    return "chat"


def _api_options(api: str) -> dict[str, Any]:
    # The chat client is built exactly as before: no `api` keyword at all.
    return {} if api == "chat" else {"api": api}


@pytest.fixture(scope="session")
def _streamstruct_simulator_server() -> Iterator[tuple[_Dispatcher, str]]:
    dispatcher = _Dispatcher()
    with serve(dispatcher) as url:
        yield dispatcher, url


@pytest.fixture
def streamstruct_simulator_url(
    request: pytest.FixtureRequest,
    streamstruct_simulator: Simulator,
    streamstruct_api: str,
    _streamstruct_simulator_server: tuple[_Dispatcher, str],
) -> Iterator[str]:
    """The base URL (``http://127.0.0.1:PORT/v1``) of ``streamstruct_simulator``, over loopback.

    Needs the ``streamstruct[sim]`` extra (uvicorn). Requests reach this test's simulator until
    the test ends. With ``streamstruct_api`` ``"anthropic"`` the URL has no ``/v1``, as
    Anthropic clients (``anthropic.Anthropic(base_url=...)``, streamstruct's) expect.
    """
    _refuse_a_stale_override(request, streamstruct_simulator)
    dispatcher, url = _streamstruct_simulator_server
    dispatcher.target = streamstruct_simulator
    try:
        yield url.removesuffix("/v1") if streamstruct_api == "anthropic" else url
    finally:
        dispatcher.target = None


@pytest.fixture
async def streamstruct_client(
    request: pytest.FixtureRequest, streamstruct_simulator: Simulator, streamstruct_api: str
) -> AsyncIterator[AsyncClient]:
    """An :class:`~streamstruct.AsyncClient` answered in process by ``streamstruct_simulator``.

    Requests never leave the process (:class:`~streamstruct.testing.StreamingASGITransport`), so
    deltas, delays, stalls and dropped connections arrive as from a server. Closed after the test.
    Needs an anyio test (``@pytest.mark.anyio``), which runs it on that test's backend. It
    speaks ``streamstruct_api``.
    """
    _refuse_a_stale_override(request, streamstruct_simulator)
    options = _api_options(streamstruct_api)
    async with simulated_client(streamstruct_simulator, **options) as client:
        yield client


@pytest.fixture
def streamstruct_sync_client(
    request: pytest.FixtureRequest, streamstruct_simulator: Simulator, streamstruct_api: str
) -> Iterator[Client]:
    """A sync :class:`~streamstruct.Client` answered in process by ``streamstruct_simulator``.

    Its event loop runs in a background thread, so any plain (non-async) test can use it.
    Closed after the test. It speaks ``streamstruct_api``.
    """
    _refuse_a_stale_override(request, streamstruct_simulator)
    with simulated_sync_client(streamstruct_simulator, **_api_options(streamstruct_api)) as client:
        yield client


# ---------------------------------------------------------------------------------------------
# The old, unprefixed names, kept for a migration: rename them, then these can go.
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def simulator(streamstruct_simulator: Simulator) -> Simulator:
    """Deprecated: the ``streamstruct_simulator`` fixture under its old name."""
    _warn_renamed("simulator", "streamstruct_simulator")
    return streamstruct_simulator


@pytest.fixture
def simulator_url(streamstruct_simulator_url: str) -> str:
    """Deprecated: the ``streamstruct_simulator_url`` fixture under its old name."""
    _warn_renamed("simulator_url", "streamstruct_simulator_url")
    return streamstruct_simulator_url


def _warn_renamed(old: str, new: str) -> None:
    warnings.warn(
        f"the {old!r} fixture of streamstruct's pytest plugin is deprecated: use {new!r}",
        DeprecationWarning,
        stacklevel=2,
    )


def _refuse_a_stale_override(request: pytest.FixtureRequest, simulator: Simulator) -> None:
    """Fail a test whose ``simulator`` is another object than the clients' simulator.

    The client fixtures used to follow an override of ``simulator``; now they follow
    ``streamstruct_simulator``. A test that still overrides the old name would script one
    simulator and talk to another: say so instead of letting it fail on a generated answer.
    """
    if "simulator" not in request.fixturenames:
        return
    legacy = request.getfixturevalue("simulator")
    if legacy is not simulator:
        pytest.fail(
            "the 'simulator' fixture is overridden, but streamstruct's client fixtures use "
            "'streamstruct_simulator': override 'streamstruct_simulator' instead",
            pytrace=False,
        )
