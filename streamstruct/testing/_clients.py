"""Clients wired to a simulator in process: :func:`simulated_client` and its sync twin.

Both build the client on :class:`~streamstruct.testing.StreamingASGITransport`, so no socket is
opened, the stream arrives delta by delta as from a real server (delays, stalls and dropped
connections included) and it all runs on asyncio and trio alike. The pytest fixtures
``streamstruct_client`` and ``streamstruct_sync_client`` are these two, closed after the test.
"""

from __future__ import annotations

from typing import Any, Final

from .._io._client import AsyncClient
from .._io._sync import Client
from ._server import ASGIApp, StreamingASGITransport

__all__ = ["simulated_client", "simulated_sync_client"]

# Any host does, since no request leaves the process. Both are set so that neither OPENAI_API_KEY
# nor OPENAI_BASE_URL (ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL) is read from the environment: a test
# must never depend on (or send to a simulator's recorded headers) the developer's real
# credentials. Anthropic's base URL has no /v1: its client posts to /v1/messages under it.
_BASE_URL: Final = "http://simulator/v1"
_ANTHROPIC_BASE_URL: Final = "http://simulator"
_SIMULATED_KEY: Final = "sk-simulated"


def _placeholders(options: dict[str, Any]) -> None:
    """The placeholder key and the base URL of the client's API (``api=``, chat by default)."""
    options.setdefault("api_key", _SIMULATED_KEY)
    anthropic = options.get("api") == "anthropic"
    options.setdefault("base_url", _ANTHROPIC_BASE_URL if anthropic else _BASE_URL)


def simulated_client(simulator: ASGIApp, **options: Any) -> AsyncClient:
    """An :class:`~streamstruct.AsyncClient` whose requests are answered by ``simulator``.

    ``options`` are any of ``AsyncClient``'s keywords but ``http_client`` (``api``, ``mode``,
    ``max_retries``, ``timeout``, ``backoff``, ...); ``api_key`` and ``base_url`` default to
    placeholders rather than to the environment (the base URL the client's ``api`` expects:
    ``api="anthropic"`` posts to the simulator's ``/v1/messages``, ``"responses"`` to
    ``/v1/responses``). Close it (``await client.aclose()`` or
    ``async with``) when done; that closes its in-process transport too::

        async with simulated_client(Simulator(responses=Reply({"name": "Alice"}))) as client:
            ...
    """
    if "http_client" in options or "transport" in options:
        raise TypeError(
            "simulated_client() gives the client its transport: pass no http_client or transport"
        )
    _placeholders(options)
    return AsyncClient(transport=StreamingASGITransport(simulator), **options)


def simulated_sync_client(simulator: ASGIApp, **options: Any) -> Client:
    """A sync :class:`~streamstruct.Client` whose requests are answered by ``simulator``.

    ``options`` are any of ``Client``'s keywords but ``transport`` (``api``, and
    ``backend="trio"`` runs its event loop thread on trio). Close it with ``close()`` or ``with``.
    """
    if "transport" in options:
        raise TypeError("simulated_sync_client() builds its own transport")
    _placeholders(options)
    return Client(transport=StreamingASGITransport(simulator), **options)
