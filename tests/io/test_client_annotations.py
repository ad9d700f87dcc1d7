"""Atomic and NotNull through the client (issue 16, part 2): every mode, the async client on asyncio
and trio, the sync client on both, in process against the simulator and over loopback sockets.

Border: what the annotations withhold, seen from the public calls (``create_partial``, ``events()``,
``create_iterable``); the assembler's own checks, on every split, are in
``model/test_streaming_annotations.py``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any, Literal

import pytest
from pydantic import BaseModel

import streamstruct
from streamstruct import (
    Atomic,
    FieldCompleted,
    Mode,
    NotNull,
    SnapshotEvent,
    StreamEnded,
    TextAppended,
    progress,
)
from streamstruct.testing import Reply, Simulator, serve, simulated_client, simulated_sync_client

MESSAGES = [{"role": "user", "content": "Plan a trip."}]


class Message(BaseModel):
    role: Annotated[Literal["user", "assistant"], NotNull]
    text: str


class Place(BaseModel):
    name: str
    url: Annotated[str, Atomic]


class Trip(BaseModel):
    id: Annotated[str, Atomic]
    title: str
    messages: list[Message]
    places: list[Annotated[Place, Atomic]]


TRIP = {
    "id": "trip-0042",
    "title": "A week in Norway",
    "messages": [
        {"text": "Somewhere cold, please.", "role": "user"},
        {"role": "assistant", "text": "Tromsø in January."},
    ],
    "places": [
        {"name": "Tromsø", "url": "https://example.com/tromso"},
        {"name": "Bergen", "url": "https://example.com/bergen"},
    ],
}
TRIP_MODEL = Trip.model_validate(TRIP)


def check(snapshots: list[Any]) -> None:
    """What the annotations promise, on every snapshot; and the last one complete. (How many
    snapshots there are depends on how the reads fall, the client coalescing what came together:
    the sans-I/O tests check each split.)"""
    assert snapshots
    for snapshot in snapshots:
        assert snapshot.id in (None, "trip-0042")
        assert all(message.role is not None for message in snapshot.messages or [])
        assert all(type(place) is Place for place in snapshot.places or [])
    assert snapshots[-1].model_dump() == TRIP
    assert progress(snapshots[-1]).fraction == 1.0
    assert all(progress(s).fraction < 1.0 for s in snapshots[:-1])


def check_events(events: list[Any]) -> None:
    """The id's events come together, with the snapshot that first shows it."""
    at = [i for i, e in enumerate(events) if isinstance(e, TextAppended) and e.path == ("id",)]
    assert "".join(events[i].text for i in at) == "trip-0042"
    done = next(
        i for i, e in enumerate(events) if isinstance(e, FieldCompleted) and e.path == ("id",)
    )
    first_shown = next(
        i for i, e in enumerate(events) if isinstance(e, SnapshotEvent) and e.partial.id is not None
    )
    assert all(not isinstance(e, SnapshotEvent) for e in events[at[0] : done])
    assert done < first_shown
    assert isinstance(events[-1], StreamEnded)
    assert events[-1].value == TRIP_MODEL


@pytest.mark.anyio
@pytest.mark.parametrize("mode", list(Mode))
async def test_async_partials_in_every_mode(mode: Mode) -> None:
    async with simulated_client(
        Simulator(responses=Reply(TRIP), chunk_size=3), mode=mode
    ) as client:
        stream = client.chat.completions.create_partial(
            model="m", response_model=Trip, messages=MESSAGES
        )
        snapshots = [partial async for partial in stream]
        assert await stream.get_final() == TRIP_MODEL
    check(snapshots)


@pytest.mark.anyio
async def test_async_events() -> None:
    async with simulated_client(Simulator(responses=Reply(TRIP), chunk_size=2)) as client:
        stream = client.chat.completions.create_partial(
            model="m", response_model=Trip, messages=MESSAGES
        )
        events = [event async for event in stream.events()]
    check_events(events)


@pytest.mark.anyio
async def test_async_over_loopback_sockets() -> None:
    simulator = Simulator(responses=Reply(TRIP), chunk_size=5)
    async with (
        serve(simulator) as url,
        streamstruct.AsyncClient(api_key="sk-test", base_url=url) as client,
    ):
        stream = client.chat.completions.create_partial(
            model="m", response_model=Trip, messages=MESSAGES
        )
        snapshots = [partial async for partial in stream]
    check(snapshots)


@pytest.mark.anyio
async def test_iterable_items_with_annotations_come_whole() -> None:
    async with simulated_client(
        Simulator(responses=Reply({"items": TRIP["places"]}), chunk_size=3), mode=Mode.JSON
    ) as client:
        items = [
            item
            async for item in client.chat.completions.create_iterable(
                model="m", response_model=Iterable[Place], messages=MESSAGES
            )
        ]
    assert items == TRIP_MODEL.places


@pytest.fixture(params=["asyncio", "trio"])
def backend(request: pytest.FixtureRequest) -> str:
    """The event loop the sync client runs in its thread."""
    return str(request.param)


@pytest.mark.parametrize("mode", [Mode.TOOLS, Mode.MD_JSON])
def test_sync_partials_and_events(backend: str, mode: Mode) -> None:
    simulator = Simulator(responses=Reply(TRIP), chunk_size=3)
    with simulated_sync_client(simulator, mode=mode, backend=backend) as client:
        stream = client.chat.completions.create_partial(
            model="m", response_model=Trip, messages=MESSAGES
        )
        snapshots = list(stream)
        assert stream.get_final() == TRIP_MODEL
        events = list(
            client.chat.completions.create_partial(
                model="m", response_model=Trip, messages=MESSAGES
            ).events()
        )
    check(snapshots)
    check_events(events)


def test_sync_over_loopback_sockets(backend: str) -> None:
    simulator = Simulator(responses=Reply(TRIP), chunk_size=4)
    with (
        serve(simulator) as url,
        streamstruct.Client(api_key="sk-test", base_url=url, backend=backend) as client,  # type: ignore[arg-type]
    ):
        stream = client.chat.completions.create_partial(
            model="m", response_model=Trip, messages=MESSAGES
        )
        snapshots = list(stream)
    check(snapshots)


@pytest.mark.anyio
@pytest.mark.parametrize("api", ["responses", "anthropic"])
@pytest.mark.parametrize("mode", list(Mode))
async def test_async_partials_in_every_dialect(api: str, mode: Mode) -> None:
    async with simulated_client(
        Simulator(responses=Reply(TRIP), chunk_size=3), mode=mode, api=api
    ) as client:
        stream = client.chat.completions.create_partial(
            model="m", response_model=Trip, messages=MESSAGES
        )
        snapshots = [partial async for partial in stream]
        assert await stream.get_final() == TRIP_MODEL
    check(snapshots)
