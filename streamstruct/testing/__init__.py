"""streamstruct.testing: an OpenAI-compatible chat-completions simulator, for tests.

A hand-written ASGI app (:class:`Simulator`) that streams ``chat.completion.chunk`` events as the
OpenAI API does - scripted or schema-generated answers, in content or tool calls, with faults on
demand - usable in process through ``httpx.ASGITransport`` or :class:`StreamingASGITransport`,
or over real loopback sockets with :func:`serve` (needs the ``streamstruct[sim]`` extra for
uvicorn). :func:`simulated_client` (and :func:`simulated_sync_client`) build a streamstruct client
answered by a simulator in process. The pytest fixtures ``streamstruct_simulator``,
``streamstruct_client``, ``streamstruct_sync_client`` and ``streamstruct_simulator_url`` come with
the package's opt-in pytest plugin (``pytest_plugins = ["streamstruct.testing.pytest_plugin"]``).

The library never imports this package; it depends only on what streamstruct already needs.
"""

from ._clients import simulated_client, simulated_sync_client
from ._generate import generate_value
from ._server import ServedSimulator, StreamingASGITransport, serve
from ._simulator import (
    Disconnect,
    ErrorEvent,
    ErrorStatus,
    Fault,
    MissingDone,
    Refusal,
    Reply,
    SimulatedDisconnect,
    Simulator,
    Stall,
    Truncate,
)

__all__ = [
    "Disconnect",
    "ErrorEvent",
    "ErrorStatus",
    "Fault",
    "MissingDone",
    "Refusal",
    "Reply",
    "ServedSimulator",
    "SimulatedDisconnect",
    "Simulator",
    "Stall",
    "StreamingASGITransport",
    "Truncate",
    "generate_value",
    "serve",
    "simulated_client",
    "simulated_sync_client",
]
