"""How every example gets its client: a real endpoint if the environment names one, else a simulator.

With ``OPENAI_API_KEY`` set, the examples talk to the API (``OPENAI_BASE_URL`` picks another
OpenAI-compatible endpoint, e.g. a local server, which takes any key); ``STREAMSTRUCT_MODEL`` picks
the model (default ``gpt-4o-mini``). Without a key they run offline against the in-process
simulator, each scripted by its example with what a model would say, so every example runs as is,
with no key and no network.
"""

from __future__ import annotations

import os
from typing import Any

from streamstruct import AsyncClient, Client
from streamstruct.testing import Simulator, simulated_client, simulated_sync_client

MODEL = os.environ.get("STREAMSTRUCT_MODEL", "gpt-4o-mini")
REAL = bool(os.environ.get("OPENAI_API_KEY"))


def sync_client(simulator: Simulator, **options: Any) -> Client:
    """A sync client: the real endpoint when configured, else one answered by ``simulator``."""
    return Client(**options) if REAL else simulated_sync_client(simulator, **options)


def async_client(simulator: Simulator, **options: Any) -> AsyncClient:
    """An async client: the real endpoint when configured, else one answered by ``simulator``."""
    return AsyncClient(**options) if REAL else simulated_client(simulator, **options)


def where() -> str:
    return f"{os.environ.get('OPENAI_BASE_URL') or 'OpenAI'} ({MODEL})" if REAL else "the simulator"
