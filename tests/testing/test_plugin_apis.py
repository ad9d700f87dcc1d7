"""The pytest plugin's client fixtures take the dialect: ``streamstruct_api`` parametrized, the
async and the sync client speak it to the simulator's route of that API (asyncio and trio)."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

import streamstruct
from streamstruct.testing import Reply, Simulator, Truncate, simulated_client

APIS = ["chat", "responses", "anthropic"]
PATHS = {"chat": "messages", "responses": "input", "anthropic": "max_tokens"}


class User(BaseModel):
    name: str
    age: int


MESSAGES = [{"role": "user", "content": "A user."}]


@pytest.mark.anyio
@pytest.mark.parametrize("streamstruct_api", APIS)
async def test_the_async_client_fixture_speaks_the_api(
    streamstruct_api: str,
    streamstruct_simulator: Simulator,
    streamstruct_client: streamstruct.AsyncClient,
) -> None:
    streamstruct_simulator.script(Reply({"name": "Ann", "age": 3}))
    async with streamstruct_client.chat.completions.create_partial(
        model="m", response_model=User, messages=MESSAGES
    ) as stream:
        ages = [partial.age async for partial in stream]
    assert ages[-1] == 3
    assert stream.usage is not None
    assert PATHS[streamstruct_api] in streamstruct_simulator.requests[0]  # that API's request


@pytest.mark.parametrize("streamstruct_api", APIS)
def test_the_sync_client_fixture_speaks_the_api(
    streamstruct_api: str,
    streamstruct_simulator: Simulator,
    streamstruct_sync_client: streamstruct.Client,
) -> None:
    streamstruct_simulator.script(Reply({"items": [{"name": "Ann", "age": 3}] * 2}))
    items = list(
        streamstruct_sync_client.chat.completions.create_iterable(
            model="m", response_model=User, messages=MESSAGES
        )
    )
    assert items == [User(name="Ann", age=3)] * 2
    assert PATHS[streamstruct_api] in streamstruct_simulator.requests[0]


@pytest.mark.anyio
@pytest.mark.parametrize("api", ["responses", "anthropic"])
async def test_a_cut_answer_is_incomplete_in_every_api(api: str) -> None:
    simulator = Simulator(responses=Reply({"name": "Ann", "age": 3}, faults=Truncate(14)))
    async with simulated_client(simulator, api=api) as client:
        with pytest.raises(streamstruct.IncompleteOutputError) as caught:
            await client.chat.completions.create(model="m", response_model=User, messages=MESSAGES)
    assert caught.value.partial is not None
    assert caught.value.partial.name == "Ann"
