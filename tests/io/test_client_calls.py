"""End to end through the in-process simulator: the three calls, async and sync, both backends.

Border: a smoke test of the public calls and their forms (``await``, ``async with``, ``create``,
``create_iterable``, the sync client). Every mode, event and fault is in ``test_client_streaming.py``;
the arguments' checks are in ``test_client_arguments.py``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from shared_support import UserWithBio as User

import streamstruct
from streamstruct.testing import Reply, Simulator, StreamingASGITransport

MESSAGES = [{"role": "user", "content": "Generate a profile for Alice, 28."}]
ALICE = {"name": "Alice", "age": 28, "bio": 'Alice likes "quotes", {braces} and [brackets].'}


@pytest.fixture
def simulator() -> Simulator:
    return Simulator(responses=Reply(ALICE), chunk_size=3)


@pytest.fixture
async def client(simulator: Simulator) -> AsyncIterator[streamstruct.AsyncClient]:
    http = httpx.AsyncClient(transport=StreamingASGITransport(simulator))
    async with streamstruct.AsyncClient(
        api_key="sk-test", base_url="http://simulator/v1", http_client=http
    ) as client:
        yield client
    await http.aclose()


@pytest.mark.anyio
async def test_create_partial_streams_growing_snapshots(client: streamstruct.AsyncClient) -> None:
    stream = client.chat.completions.create_partial(
        model="gpt-4o-mini", response_model=User, messages=MESSAGES
    )
    snapshots = [partial async for partial in stream]
    assert len(snapshots) > 5
    ages = {snapshot.age for snapshot in snapshots}
    assert ages <= {None, 28}  # never a truncated number
    bios = [snapshot.bio for snapshot in snapshots if snapshot.bio is not None]
    assert all(ALICE["bio"].startswith(bio) for bio in bios)
    assert streamstruct.progress(snapshots[-1]).percent == 100
    assert await stream.get_final() == User(**ALICE)
    assert stream.finish_reason == "stop"
    assert stream.usage is not None
    assert stream.usage.total_tokens > 0


@pytest.mark.anyio
async def test_await_and_async_with_forms(client: streamstruct.AsyncClient) -> None:
    stream = await client.chat.completions.create_partial(
        model="m", response_model=User, messages=MESSAGES
    )
    assert [p async for p in stream][-1].name == "Alice"
    async with client.chat.completions.create_partial(
        model="m", response_model=User, messages=MESSAGES
    ) as entered:
        assert (await entered.get_final()).age == 28


@pytest.mark.anyio
async def test_create_returns_the_model_and_the_stream(client: streamstruct.AsyncClient) -> None:
    assert await client.chat.completions.create(
        model="m", response_model=User, messages=MESSAGES
    ) == User(**ALICE)
    stream = client.chat.completions.create(
        model="m", response_model=User, messages=MESSAGES, stream=True
    )
    assert [p async for p in stream][-1].model_dump() == ALICE


@pytest.mark.anyio
async def test_create_iterable_yields_items_as_they_close(simulator: Simulator) -> None:
    people = [{"name": f"P{n}", "age": n, "bio": "}]{["} for n in range(3)]
    simulator.script(Reply({"items": people}, tool_calls="per_item"), {"items": people})
    http = httpx.AsyncClient(transport=StreamingASGITransport(simulator))
    async with streamstruct.AsyncClient(base_url="http://simulator/v1", http_client=http) as client:
        got = [
            user
            async for user in client.chat.completions.create_iterable(
                model="m", response_model=User, messages=MESSAGES
            )
        ]
        assert got == [User(**p) for p in people]
        stream = client.chat.completions.create_iterable(
            model="m", response_model=User, messages=MESSAGES, mode=streamstruct.Mode.JSON_SCHEMA
        )
        assert await stream.get_final() == [User(**p) for p in people]
    await http.aclose()


def test_sync_client_has_the_same_api(simulator: Simulator) -> None:
    with streamstruct.Client(
        base_url="http://simulator/v1", transport=StreamingASGITransport(simulator)
    ) as client:
        stream = client.chat.completions.create_partial(
            model="m", response_model=User, messages=MESSAGES
        )
        snapshots = list(stream)
        assert snapshots[-1].bio == ALICE["bio"]
        assert stream.get_final() == User(**ALICE)
        assert client.chat.completions.create(
            model="m", response_model=User, messages=MESSAGES
        ) == User(**ALICE)


def test_api_key_stays_out_of_reprs() -> None:
    client = streamstruct.AsyncClient(api_key="sk-very-secret", base_url="http://x/v1")
    assert "sk-very-secret" not in repr(client)
    assert "sk-very-secret" not in str(vars(client))
