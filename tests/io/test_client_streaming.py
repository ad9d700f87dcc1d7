"""End to end through the simulator: every mode, Partial and Iterable, events, faults, early exits.

The client talks to :class:`~streamstruct.testing.Simulator` in process through
:class:`~streamstruct.testing.StreamingASGITransport`, which hands each SSE event over as it is
sent, so what the client sees arrives delta by delta, as from a server. The tests that count pooled
connections go through uvicorn on 127.0.0.1 (``simulator_url``) with an httpx client of their own.
Every test runs on asyncio and trio.

Border: what a stream yields and raises, through the simulator. The request and response shapes
over a mock server are in ``test_client_http.py``; the sync client's own thread and loop in
``test_client_sync.py``; a slow consumer in ``test_client_coalescing.py``.
"""

from __future__ import annotations

import enum
import itertools
import json
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, MutableMapping
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal

import anyio
import httpx
import pytest
from pydantic import BaseModel, Field, ValidationInfo, field_validator
from shared_support import CheckedUser as User

import streamstruct
from streamstruct import (
    FieldCompleted,
    FieldStarted,
    Mode,
    Partial,
    SnapshotEvent,
    StreamEnded,
    TextAppended,
)
from streamstruct.testing import (
    Disconnect,
    ErrorEvent,
    MissingDone,
    Refusal,
    Reply,
    Simulator,
    Stall,
    StreamingASGITransport,
    Truncate,
)

pytestmark = pytest.mark.anyio

MESSAGES = [{"role": "user", "content": "Make up a person."}]
ALICE = {"name": "Alice", "age": 28, "bio": 'Likes "quotes", {braces}, [brackets] and \\ too.'}
ALICE_JSON = json.dumps(ALICE, separators=(",", ":"))
PEOPLE = [
    {"name": "Ann", "age": 31, "bio": "}{ ]["},
    {"name": "Bo", "age": 42, "bio": 'a "quoted" {"fake": "object"}'},
    {"name": "Cy", "age": 53, "bio": "ends with a brace }"},
]

# httpx (0.28) reads a streamed body through a chain of async generators, and closing a response
# part-way leaves the inner ones to the garbage collector, which trio reports as a ResourceWarning
# (encode/httpx#3686, fix proposed in encode/httpx#3777). A client that stops reading early on
# purpose (break, aclose, an invalid value) cannot avoid it, so the tests of early exits over real
# sockets ignore exactly those warnings; warnings about streamstruct's own generators stay errors.
IGNORE_HTTPX_GENERATORS = pytest.mark.filterwarnings(
    r"ignore:Async generator 'http(x|core)\.:ResourceWarning"
)


class Cat(BaseModel):
    kind: Literal["cat"] = "cat"
    name: str
    lives: int = 9


class Dog(BaseModel):
    kind: Literal["dog"] = "dog"
    name: str
    good: bool = True


Pet = Annotated[Cat | Dog, Field(discriminator="kind")]
PETS = [
    {"kind": "cat", "name": "Tom", "lives": 7},
    {"kind": "dog", "name": "Rex", "good": False},
    {"kind": "cat", "name": "Kit", "lives": 9},
]


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Address(BaseModel):
    city: str
    zip: int


class Profile(BaseModel):
    name: str
    age: int
    score: float
    active: bool
    color: Color
    role: Literal["admin", "user"]
    address: Address
    tags: list[str]


PROFILE = {
    "name": "Al",
    "age": 1234,
    "score": -12.5e1,
    "active": False,
    "color": "blue",
    "role": "admin",
    "address": {"city": "Oslo", "zip": 4501},
    "tags": ["a", "bc"],
}


@asynccontextmanager
async def connected(app: Any, **options: Any) -> AsyncIterator[streamstruct.AsyncClient]:
    """A client whose requests reach ``app`` in process, streamed."""
    options.setdefault("api_key", "sk-test")
    async with (
        httpx.AsyncClient(transport=StreamingASGITransport(app)) as http,
        streamstruct.AsyncClient(
            base_url="http://simulator/v1", http_client=http, **options
        ) as client,
    ):
        yield client


class Watched:
    """An ASGI app around another: knows whether the app is still running (sending) or has
    finished, and how many body messages it sent."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.running = False
        self.finished = False
        self.sent = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        async def counting_send(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.body":
                self.sent += 1
            await send(message)

        self.running = True
        try:
            await self.app(scope, receive, counting_send)
        finally:
            self.running = False
            self.finished = True


class OneRead:
    """An ASGI app around another that hands over the whole body in one message: everything the
    server sent meanwhile arrives in a single read, as to a client that fell behind."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        parts: list[bytes] = []

        async def gathering_send(message: MutableMapping[str, Any]) -> None:
            if message["type"] != "http.response.body":
                await send(message)
                return
            parts.append(bytes(message.get("body", b"")))
            if not message.get("more_body", False):
                await send({"type": "http.response.body", "body": b"".join(parts)})

        await self.app(scope, receive, gathering_send)


async def eventually(condition: Callable[[], bool]) -> None:
    """Wait (briefly) for the event loop to act, e.g. to finalise an abandoned iteration."""
    with anyio.fail_after(2):
        while not condition():  # noqa: ASYNC110 - no event to wait on: the loop's finaliser acts
            await anyio.sleep(0.001)


async def collect(stream: AsyncIterable[Any], into: list[Any] | None = None) -> list[Any]:
    """Iterate ``stream`` to its end; what it yielded is in ``into`` even if it raises."""
    out = [] if into is None else into
    async for value in stream:
        out.append(value)
    return out


def answer(value: object, mode: Mode, **options: Any) -> Reply:
    """``value`` as a model would write it in ``mode``: in MD_JSON, inside a fenced block with
    prose around it."""
    return Reply(value, style="md_json" if mode is Mode.MD_JSON else "json", **options)


def prefix_of(value: str | None, whole: str) -> bool:
    return value is None or whole.startswith(value)


# -- Partial: every mode ---------------------------------------------------------------------------


@pytest.mark.parametrize("mode", list(Mode))
async def test_partial_in_every_mode(mode: Mode) -> None:
    simulator = Simulator(responses=answer(ALICE, mode), chunk_size=3, keep_alive_every=4)
    async with connected(simulator, mode=mode) as client:
        stream = client.chat.completions.create_partial(
            model="gpt-4o-mini", response_model=User, messages=MESSAGES
        )
        snapshots = [partial async for partial in stream]
        final = await stream.get_final()
    assert final == User(**ALICE)
    assert len(snapshots) > 10
    for snapshot in snapshots:
        assert isinstance(snapshot, Partial[User])
        assert prefix_of(snapshot.name, ALICE["name"])
        assert prefix_of(snapshot.bio, ALICE["bio"])
        assert snapshot.age in (None, 28)  # never a number cut short
    assert snapshots[-1].model_dump() == ALICE
    assert streamstruct.progress(snapshots[-1]).percent == 100
    assert all(streamstruct.progress(s).percent < 100 for s in snapshots[:-1])
    assert stream.partial is snapshots[-1]
    assert json.loads(stream.text) == ALICE
    assert stream.finish_reason == "stop"  # a forced (named) tool call finishes with "stop"
    assert stream.usage is not None
    assert stream.usage.total_tokens == stream.usage.prompt_tokens + stream.usage.completion_tokens
    assert stream.request_id is not None
    assert stream.request_id.startswith("req_")
    assert stream.response is not None
    assert stream.response.is_closed
    [request] = simulator.requests
    assert request["stream"] is True
    assert request["stream_options"]["include_usage"] is True


@pytest.mark.parametrize("mode", list(Mode))
async def test_each_field_arrives_in_document_order(mode: Mode) -> None:
    simulator = Simulator(responses=answer(ALICE, mode), chunk_size=1)
    async with connected(simulator, mode=mode) as client:
        stream = client.chat.completions.create_partial(
            model="m", response_model=User, messages=MESSAGES
        )
        seen: list[str] = []
        async for partial in stream:
            for field in ("name", "age", "bio"):
                if getattr(partial, field) is not None and field not in seen:
                    seen.append(field)
            if partial.bio is not None:
                assert partial.name == "Alice"  # complete before the next field shows
                assert partial.age == 28
    assert seen == ["name", "age", "bio"]


# -- Iterable: every mode --------------------------------------------------------------------------


def items_so_far(text: str, mode: Mode) -> list[Any]:
    """The complete items in the JSON text received so far (the text ends right after one)."""
    if mode is Mode.TOOLS:  # one line of arguments per tool call
        return [json.loads(line) for line in text.split("\n")]
    return json.loads(text + "]}")["items"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("mode", list(Mode))
async def test_iterable_in_every_mode_yields_each_item_as_it_closes(mode: Mode) -> None:
    simulator = Simulator(
        responses=answer({"items": PEOPLE}, mode, tool_calls="per_item"), chunk_size=1
    )
    async with connected(simulator, mode=mode) as client:
        stream = client.chat.completions.create_iterable(
            model="m", response_model=User, messages=MESSAGES
        )
        got = []
        async for user in stream:
            got.append(user)
            # Yielded the moment its closing brace arrived: nothing of the text after it yet,
            # and it is the last complete item of the text.
            assert stream.text.endswith("}")
            assert items_so_far(stream.text, mode) == PEOPLE[: len(got)]
            assert stream.items == got
        assert await stream.get_final() == got
    assert got == [User(**person) for person in PEOPLE]
    assert stream.usage is not None
    request = simulator.requests[0]
    if mode is Mode.TOOLS:
        assert request["tool_choice"] == "required"
        assert request["parallel_tool_calls"] is True
        assert stream.finish_reason == "tool_calls"
    else:
        assert "tools" not in request


@pytest.mark.parametrize("mode", list(Mode))
async def test_iterable_of_a_discriminated_union(mode: Mode) -> None:
    simulator = Simulator(
        responses=answer({"items": PETS}, mode, tool_calls="per_item"), chunk_size=4
    )
    async with connected(simulator, mode=mode) as client:
        pets = [
            pet
            async for pet in client.chat.completions.create_iterable(
                model="m", response_model=Iterable[Pet], messages=MESSAGES
            )
        ]
    assert [type(pet) for pet in pets] == [Cat, Dog, Cat]
    assert [pet.model_dump() for pet in pets] == PETS


@pytest.mark.parametrize("mode", list(Mode))
async def test_iterable_of_a_plain_union(mode: Mode) -> None:
    simulator = Simulator(responses=Reply({"items": PETS}, tool_calls="per_item"), chunk_size=4)
    async with connected(simulator, mode=mode) as client:
        stream = client.chat.completions.create_iterable(
            model="m", response_model=Cat | Dog, messages=MESSAGES
        )
        pets = [pet async for pet in stream]
    assert [type(pet) for pet in pets] == [Cat, Dog, Cat]
    if mode is Mode.TOOLS:
        tools = simulator.requests[0]["tools"]
        assert [tool["function"]["name"] for tool in tools] == ["Cat", "Dog"]


@pytest.mark.parametrize("mode", [Mode.TOOLS, Mode.JSON_SCHEMA])
async def test_an_invalid_item_stops_the_stream_with_its_index_and_raw_json(mode: Mode) -> None:
    people = [PEOPLE[0], {"name": "Bad", "age": -5, "bio": "x"}, PEOPLE[2]]
    simulator = Watched(
        Simulator(responses=Reply({"items": people}, tool_calls="per_item"), chunk_size=2)
    )
    async with connected(simulator, mode=mode) as client:
        stream = client.chat.completions.create_iterable(
            model="m", response_model=User, messages=MESSAGES
        )
        got: list[Any] = []
        with pytest.raises(streamstruct.ResponseValidationError) as caught:
            await collect(stream, got)
    error = caught.value
    assert got == [User(**PEOPLE[0])]
    assert error.index == 1
    assert error.raw is not None
    assert json.loads(error.raw) == people[1]
    assert error.partial == got
    assert error.errors[0]["type"] == "greater_than_equal"
    assert "item 1" in str(error)
    assert "Cy" not in error.text  # the stream stopped there: the next item never came
    assert stream.response is not None
    assert stream.response.is_closed
    assert simulator.finished


# -- the other ways to ask -------------------------------------------------------------------------


async def test_await_and_async_with_open_the_response_first() -> None:
    simulator = Simulator(responses=Reply(ALICE), chunk_size=5)
    async with connected(simulator) as client:
        stream = client.chat.completions.create_partial(
            model="m", response_model=User, messages=MESSAGES
        )
        assert stream.response is None  # nothing is sent before it is used
        assert simulator.requests == []
        opened = await stream
        assert opened is stream
        assert stream.response is not None
        assert stream.response.status_code == 200
        assert not stream.response.is_closed
        assert [p async for p in stream][-1].model_dump() == ALICE

        async with client.chat.completions.create_partial(
            model="m", response_model=User, messages=MESSAGES
        ) as entered:
            assert entered.response is not None
            assert await entered.get_final() == User(**ALICE)
        assert entered.response.is_closed

        async with client.chat.completions.create_partial(
            model="m", response_model=User, messages=MESSAGES
        ) as unread:
            pass
        assert unread.response is not None
        assert unread.response.is_closed  # closed even though nothing was read
    assert len(simulator.requests) == 3


@pytest.mark.parametrize("mode", list(Mode))
async def test_create_returns_the_validated_model_without_streaming(mode: Mode) -> None:
    simulator = Simulator(
        responses=[answer(ALICE, mode), answer({"items": PEOPLE}, mode, tool_calls="per_item")]
    )
    async with connected(simulator, mode=mode) as client:
        user = await client.chat.completions.create(
            model="m", response_model=User, messages=MESSAGES
        )
        people = await client.chat.completions.create(
            model="m", response_model=Iterable[User], messages=MESSAGES
        )
    assert user == User(**ALICE)
    assert people == [User(**p) for p in PEOPLE]
    assert [request["stream"] for request in simulator.requests] == [True, True]


async def test_create_with_stream_true_gives_the_streams() -> None:
    simulator = Simulator(
        responses=[
            Reply(ALICE),
            Reply(ALICE),
            Reply({"items": PEOPLE}, tool_calls="per_item"),
        ],
        chunk_size=4,
    )
    async with connected(simulator) as client:
        stream = client.chat.completions.create(
            model="m", response_model=User, messages=MESSAGES, stream=True
        )
        assert isinstance(stream, streamstruct.AsyncPartialStream)
        assert [p async for p in stream][-1].model_dump() == ALICE

        from_partial = client.chat.completions.create(
            model="m", response_model=Partial[User], messages=MESSAGES, stream=True
        )
        assert isinstance(from_partial, streamstruct.AsyncPartialStream)
        snapshots = [p async for p in from_partial]
        assert isinstance(snapshots[-1], Partial[User])
        final = await from_partial.get_final()
        assert type(final) is User
        assert final == User(**ALICE)
        assert simulator.requests[1]["tools"][0]["function"]["name"] == "User"

        from_iterable = client.chat.completions.create(
            model="m", response_model=Iterable[User], messages=MESSAGES, stream=True
        )
        assert isinstance(from_iterable, streamstruct.AsyncIterableStream)
        assert [u async for u in from_iterable] == [User(**p) for p in PEOPLE]


async def test_get_final_reads_the_whole_stream_without_iterating() -> None:
    simulator = Simulator(responses=[Reply(ALICE), Reply({"items": PEOPLE})], chunk_size=2)
    async with connected(simulator, mode=Mode.JSON_SCHEMA) as client:
        stream = client.chat.completions.create_partial(
            model="m", response_model=User, messages=MESSAGES
        )
        assert await stream.get_final() == User(**ALICE)
        assert await stream.get_final() == User(**ALICE)  # asked again: the same answer
        assert stream.partial is not None
        assert stream.partial.model_dump() == ALICE
        assert stream.response is not None
        assert stream.response.is_closed
        items = client.chat.completions.create_iterable(
            model="m", response_model=User, messages=MESSAGES
        )
        assert await items.get_final() == [User(**p) for p in PEOPLE]


# -- events and the visible-change rule ----------------------------------------------------------


def collapse(events: list[Any]) -> list[tuple[str, tuple[str | int, ...], Any]]:
    """The events without snapshots, with consecutive text appended to one path joined."""
    out: list[tuple[str, tuple[str | int, ...], Any]] = []
    for event in events:
        if isinstance(event, TextAppended):
            if out and out[-1][0] == "text" and out[-1][1] == event.path:
                out[-1] = ("text", event.path, out[-1][2] + event.text)
            else:
                out.append(("text", event.path, event.text))
        elif isinstance(event, FieldStarted):
            out.append(("started", event.path, None))
        elif isinstance(event, FieldCompleted):
            out.append(("completed", event.path, event.value))
    return out


@pytest.mark.parametrize("chunk_size", [1, 7])
async def test_events_tell_what_started_grew_and_completed(chunk_size: int) -> None:
    simulator = Simulator(responses=Reply(PROFILE), chunk_size=chunk_size)
    async with connected(simulator, mode=Mode.JSON_SCHEMA) as client:
        stream = client.chat.completions.create_partial(
            model="m", response_model=Profile, messages=MESSAGES
        )
        events = [event async for event in stream.events()]
    assert collapse(events) == [
        ("started", ("name",), None),
        ("text", ("name",), "Al"),
        ("completed", ("name",), "Al"),
        ("started", ("age",), None),
        ("completed", ("age",), 1234),
        ("started", ("score",), None),
        ("completed", ("score",), -125.0),
        ("started", ("active",), None),
        ("completed", ("active",), False),
        ("started", ("color",), None),
        ("completed", ("color",), Color.BLUE),
        ("started", ("role",), None),
        ("completed", ("role",), "admin"),
        ("started", ("address",), None),
        ("started", ("address", "city"), None),
        ("text", ("address", "city"), "Oslo"),
        ("completed", ("address", "city"), "Oslo"),
        ("started", ("address", "zip"), None),
        ("completed", ("address", "zip"), 4501),
        ("completed", ("address",), Address(city="Oslo", zip=4501)),
        ("started", ("tags",), None),
        ("started", ("tags", 0), None),
        ("text", ("tags", 0), "a"),
        ("completed", ("tags", 0), "a"),
        ("started", ("tags", 1), None),
        ("text", ("tags", 1), "bc"),
        ("completed", ("tags", 1), "bc"),
        ("completed", ("tags",), ["a", "bc"]),
    ]
    last = events[-1]
    assert isinstance(last, StreamEnded)
    assert last.value == Profile.model_validate(PROFILE)
    assert last.finish_reason == "stop"
    assert last.usage is not None
    assert last.usage == stream.usage
    assert sum(isinstance(event, StreamEnded) for event in events) == 1
    snapshots = [event.partial for event in events if isinstance(event, SnapshotEvent)]
    assert snapshots
    assert snapshots[-1].model_dump(mode="json") == PROFILE
    # A field's completion comes before (or with) the snapshot that shows it complete.
    completed_age = next(
        i for i, e in enumerate(events) if isinstance(e, FieldCompleted) and e.path == ("age",)
    )
    first_with_age = next(
        i
        for i, e in enumerate(events)
        if isinstance(e, SnapshotEvent) and e.partial.age is not None
    )
    assert completed_age < first_with_age


async def test_field_events_are_made_only_for_events() -> None:
    # A consumer of snapshots (or of get_final) does not pay for field events it never sees.
    simulator = Simulator(responses=[Reply(PROFILE), Reply(PROFILE), Reply(PROFILE)], chunk_size=5)
    async with connected(simulator, mode=Mode.JSON_SCHEMA) as client:
        snapshots_stream = client.chat.completions.create_partial(
            model="m", response_model=Profile, messages=MESSAGES
        )
        snapshots = [partial async for partial in snapshots_stream]
        assert snapshots_stream._reader is not None
        assert not snapshots_stream._reader.field_events
        final_stream = client.chat.completions.create_partial(
            model="m", response_model=Profile, messages=MESSAGES
        )
        await final_stream.get_final()
        assert final_stream._reader is not None
        assert not final_stream._reader.field_events
        events_stream = client.chat.completions.create_partial(
            model="m", response_model=Profile, messages=MESSAGES
        )
        events = [event async for event in events_stream.events()]
        assert events_stream._reader is not None
        assert events_stream._reader.field_events
    shown = iter(event.partial.model_dump() for event in events if isinstance(event, SnapshotEvent))
    assert all(partial.model_dump() in shown for partial in snapshots)  # the same, in order
    assert snapshots[-1].model_dump(mode="json") == PROFILE
    assert any(isinstance(event, FieldCompleted) for event in events)


async def test_snapshots_come_only_when_something_visible_changed() -> None:
    # Whitespace, the digits of a number and the letters of an enum or Literal value are not
    # visible until complete: no snapshot for them.
    raw = (
        '{ "name" :  "Al" ,  "age" : 1234 , "score": -12.5e1, "active":   false, '
        '"color": "blue", "role": "admin", "address": {"city": "Oslo", "zip": 4501}, '
        '"tags": ["a", "bc"]   }'
    )
    simulator = Simulator(responses=Reply(raw), chunk_size=1)
    async with connected(simulator, mode=Mode.JSON_SCHEMA) as client:
        stream = client.chat.completions.create_partial(
            model="m", response_model=Profile, messages=MESSAGES
        )
        snapshots = [partial async for partial in stream]
    final = Profile.model_validate(PROFILE)
    assert snapshots[-1].model_dump() == final.model_dump()

    def visible(partial: Any) -> tuple[Any, ...]:
        done = streamstruct.progress(partial)
        return (partial.model_dump(), done.complete, done.streaming, done.fraction)

    for before, after in itertools.pairwise(snapshots):
        assert visible(before) != visible(after)
    for snapshot in snapshots:
        for field in ("age", "score", "active", "color", "role"):
            assert getattr(snapshot, field) in (None, getattr(final, field)), field
        if snapshot.address is not None:
            assert snapshot.address.zip in (None, 4501)
    # one character per delta, and far fewer snapshots than deltas
    assert len(snapshots) < len(raw) / 3


async def test_progress_is_public_per_field() -> None:
    simulator = Simulator(responses=Reply(PROFILE), chunk_size=3)
    async with connected(simulator, mode=Mode.JSON_SCHEMA) as client:
        stream = client.chat.completions.create_partial(
            model="m", response_model=Profile, messages=MESSAGES
        )
        fractions = []
        async for partial in stream:
            progress = streamstruct.progress(partial)
            fractions.append(progress.fraction)
            if partial.age is not None:
                assert progress.is_complete(("name",))
                assert progress.is_complete(("age",))
            if progress.is_complete(("address",)):
                assert partial.address == Address(city="Oslo", zip=4501)
            if partial.tags is None:
                assert ("tags",) in progress.missing
    assert fractions == sorted(fractions)
    assert fractions[-1] == 1.0
    assert str(streamstruct.progress(partial)) == "100%"


async def test_a_slow_reader_gets_the_newest_snapshot_not_a_backlog() -> None:
    simulator = OneRead(Simulator(responses=Reply(PROFILE), chunk_size=2))
    async with connected(simulator, mode=Mode.JSON_SCHEMA) as client:
        stream = client.chat.completions.create_partial(
            model="m", response_model=Profile, messages=MESSAGES
        )
        snapshots = [partial async for partial in stream]
        events_stream = client.chat.completions.create_partial(
            model="m", response_model=Profile, messages=MESSAGES
        )
        events = [event async for event in events_stream.events()]
    # One read brought the whole answer: one snapshot, the complete one.
    assert len(snapshots) == 1
    assert snapshots[0].model_dump(mode="json") == PROFILE
    assert streamstruct.progress(snapshots[0]).percent == 100
    # The events still say everything that happened, in order.
    completed = [e.path for e in events if isinstance(e, FieldCompleted) and len(e.path) == 1]
    assert completed == [(name,) for name in PROFILE]
    assert sum(isinstance(e, SnapshotEvent) for e in events) == 1


# -- early validation ----------------------------------------------------------------------------


class Strict(BaseModel):
    name: str
    age: int = Field(ge=0)
    email: str
    bio: str

    @field_validator("email")
    @classmethod
    def has_an_at(cls, value: str) -> str:
        if "@" not in value:
            raise ValueError("not an email address")
        return value


@pytest.mark.parametrize("mode", list(Mode))
async def test_an_invalid_field_stops_the_stream_at_once(mode: Mode) -> None:
    value = {"name": "Alice", "age": -1, "email": "nope", "bio": "x" * 200}
    simulator = Watched(Simulator(responses=Reply(value), chunk_size=3))
    async with connected(simulator, mode=mode) as client:
        stream = client.chat.completions.create_partial(
            model="m", response_model=Strict, messages=MESSAGES
        )
        snapshots: list[Any] = []
        with pytest.raises(streamstruct.ResponseValidationError) as caught:
            await collect(stream, snapshots)
        assert all(snapshot.age is None for snapshot in snapshots)  # never shown invalid
        error = caught.value
        assert error.path == ("age",)  # the first bad field, not the later one
        assert error.raw == "-1"
        assert error.errors[0]["type"] == "greater_than_equal"
        assert "age" in str(error)
        assert error.partial is not None
        assert error.partial.name == "Alice"
        assert error.partial.age is None
        assert error.partial.email is None
        assert error.text.startswith('{"name":"Alice","age":-1')
        assert "nope" not in error.text  # stopped before the next field arrived
        assert stream.response is not None
        assert stream.response.is_closed
        assert simulator.finished
        assert simulator.sent < 20  # the server was cut off, not read to the end
        with pytest.raises(streamstruct.ResponseValidationError):
            await stream.get_final()  # the same error again


async def test_a_field_validator_runs_when_its_field_completes() -> None:
    value = {"name": "Alice", "age": 3, "email": "nope", "bio": "x" * 200}
    simulator = Simulator(responses=Reply(value), chunk_size=4)
    async with connected(simulator, mode=Mode.JSON_SCHEMA) as client:
        stream = client.chat.completions.create_partial(
            model="m", response_model=Strict, messages=MESSAGES
        )
        with pytest.raises(streamstruct.ResponseValidationError) as caught:
            await collect(stream)
    assert caught.value.path == ("email",)
    assert "not an email address" in str(caught.value)
    assert caught.value.partial.age == 3
    assert caught.value.partial.bio is None
    assert "xxxxxxxx" not in caught.value.text


async def test_invalid_json_raises_a_parse_error_with_what_came() -> None:
    simulator = Simulator(responses=Reply('{"name": "Alice", "age": 28x, "bio": "b"}'))
    async with connected(simulator, mode=Mode.JSON_SCHEMA) as client:
        stream = client.chat.completions.create_partial(
            model="m", response_model=User, messages=MESSAGES
        )
        with pytest.raises(streamstruct.JSONParseError) as caught:
            await collect(stream)
    assert caught.value.offset == len('{"name": "Alice", "age": 28')
    assert caught.value.partial is not None
    assert caught.value.partial.name == "Alice"
    assert caught.value.text.startswith('{"name": "Alice", "age": 28')
    assert stream.response is not None
    assert stream.response.is_closed


# -- faults ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", [Mode.TOOLS, Mode.JSON_SCHEMA])
async def test_an_error_event_mid_stream_is_an_api_status_error(mode: Mode) -> None:
    fault = ErrorEvent(after=5, message="The server had an error.", type="server_error")
    simulator = Simulator(responses=Reply(ALICE, faults=fault), chunk_size=3)
    async with connected(simulator, mode=mode, max_retries=2) as client:
        stream = client.chat.completions.create_partial(
            model="m", response_model=User, messages=MESSAGES
        )
        with pytest.raises(streamstruct.APIStatusError) as caught:
            await collect(stream)
    error = caught.value
    assert type(error) is streamstruct.APIStatusError
    assert error.status_code == 200
    assert error.body["message"] == "The server had an error."
    assert error.body["type"] == "server_error"
    assert error.request_id == stream.request_id
    assert "The server had an error." in str(error)
    assert error.text == ALICE_JSON[:15]
    assert isinstance(error.partial, Partial[User])
    assert error.partial.name == "Alice"
    assert len(simulator.requests) == 1  # the body had begun: not retried
    assert stream.response is not None
    assert stream.response.is_closed


@pytest.mark.parametrize("reason", ["length", "content_filter"])
@pytest.mark.parametrize("mode", list(Mode))
async def test_truncated_output_is_an_incomplete_output_error(
    mode: Mode, reason: Literal["length", "content_filter"]
) -> None:
    simulator = Simulator(
        responses=Reply(ALICE, faults=Truncate(after_chars=20, finish_reason=reason)),
        chunk_size=3,
        style="json",
    )
    async with connected(simulator, mode=mode) as client:
        stream = client.chat.completions.create_partial(
            model="m", response_model=User, messages=MESSAGES
        )
        with pytest.raises(streamstruct.IncompleteOutputError) as caught:
            await stream.get_final()
    error = caught.value
    assert error.finish_reason == reason
    assert stream.finish_reason == reason
    if mode is not Mode.MD_JSON:  # there the fence never opened: nothing to show
        assert error.text == ALICE_JSON[:20]
        assert error.partial.name == "Alice"
        assert error.partial.age is None


async def test_a_truncated_iterable_keeps_the_items_that_closed() -> None:
    value = {"items": PEOPLE}
    cut = len(json.dumps(value, separators=(",", ":"))) - 20
    simulator = Simulator(responses=Reply(value, faults=Truncate(after_chars=cut)), chunk_size=5)
    async with connected(simulator, mode=Mode.JSON_SCHEMA) as client:
        stream = client.chat.completions.create_iterable(
            model="m", response_model=User, messages=MESSAGES
        )
        got: list[Any] = []
        with pytest.raises(streamstruct.IncompleteOutputError) as caught:
            await collect(stream, got)
    assert got == [User(**p) for p in PEOPLE[:2]]
    assert caught.value.partial == got
    assert len(caught.value.text) == cut


@pytest.mark.parametrize("mode", [Mode.TOOLS, Mode.JSON_SCHEMA])
async def test_a_refusal_is_a_refusal_error_with_its_text(mode: Mode) -> None:
    words = "I'm sorry, but I can't help with that."
    simulator = Simulator(responses=Reply(ALICE, faults=Refusal(words)), chunk_size=4)
    async with connected(simulator, mode=mode) as client:
        stream = client.chat.completions.create_partial(
            model="m", response_model=User, messages=MESSAGES
        )
        with pytest.raises(streamstruct.RefusalError) as caught:
            await collect(stream)
    assert caught.value.refusal == words
    assert words in str(caught.value)
    assert caught.value.partial is None
    assert caught.value.text == ""


@pytest.mark.parametrize("mode", list(Mode))
async def test_a_missing_done_after_the_finish_reason_is_fine(mode: Mode) -> None:
    simulator = Simulator(responses=Reply(ALICE, faults=MissingDone()), chunk_size=3)
    async with connected(simulator, mode=mode) as client:
        stream = client.chat.completions.create_partial(
            model="m", response_model=User, messages=MESSAGES
        )
        snapshots = [partial async for partial in stream]
        assert await stream.get_final() == User(**ALICE)
    assert snapshots[-1].model_dump() == ALICE
    assert stream.usage is not None


@pytest.mark.parametrize("kind", ["partial", "iterable"])
async def test_a_disconnect_mid_stream_is_a_stream_interrupted_error(kind: str) -> None:
    reply = Reply({"items": PEOPLE} if kind == "iterable" else ALICE, tool_calls="per_item")
    cut = Disconnect(after_bytes=9000 if kind == "iterable" else 4000)  # part-way through
    simulator = Simulator(responses=reply, faults=cut, chunk_size=3)
    async with connected(simulator, max_retries=2) as client:
        stream: Any
        if kind == "partial":
            stream = client.chat.completions.create_partial(
                model="m", response_model=User, messages=MESSAGES
            )
        else:
            stream = client.chat.completions.create_iterable(
                model="m", response_model=User, messages=MESSAGES
            )
        got: list[Any] = []
        with pytest.raises(streamstruct.StreamInterruptedError) as caught:
            await collect(stream, got)
    error = caught.value
    assert isinstance(error, streamstruct.APIError)
    assert error.text
    assert error.text == stream.text
    if kind == "partial":
        assert ALICE_JSON.startswith(error.text)
        assert error.text != ALICE_JSON
        assert error.partial is got[-1]
    else:
        assert error.partial == got
        assert got
        assert len(got) < len(PEOPLE)
    assert isinstance(error.__cause__, httpx.RemoteProtocolError)
    assert len(simulator.requests) == 1  # the body had begun: not retried
    assert stream.response is not None
    assert stream.response.is_closed


@pytest.mark.parametrize("after", [0, 4])
async def test_a_stall_trips_the_read_timeout(after: int) -> None:
    simulator = Watched(Simulator(responses=Reply(ALICE), faults=Stall(after=after), chunk_size=3))
    async with connected(simulator, timeout=0.3, max_retries=2) as client:
        stream = client.chat.completions.create_partial(
            model="m", response_model=User, messages=MESSAGES
        )
        started = anyio.current_time()
        with anyio.fail_after(5), pytest.raises(streamstruct.APITimeoutError) as caught:
            await collect(stream)
        waited = anyio.current_time() - started
    assert 0.25 <= waited < 2.0
    error = caught.value
    assert isinstance(error, streamstruct.APIConnectionError)
    assert error.text == ALICE_JSON[: 3 * after]
    if after:
        assert error.partial.name == "Ali"
    assert simulator.finished
    assert stream.response is not None
    assert stream.response.is_closed
    inner = simulator.app
    assert isinstance(inner, Simulator)
    assert len(inner.requests) == 1


async def test_the_timeout_bounds_the_gap_between_reads_not_the_whole_stream() -> None:
    # 40 ms between events, about 0.5 s in all, with a 0.2 s timeout: no gap is too long.
    simulator = Simulator(responses=Reply(ALICE), chunk_size=8, delay=0.04)
    async with connected(simulator, timeout=0.2) as client:
        started = anyio.current_time()
        stream = client.chat.completions.create_partial(
            model="m", response_model=User, messages=MESSAGES
        )
        assert await stream.get_final() == User(**ALICE)
        assert anyio.current_time() - started > 0.3


async def test_the_timeout_of_a_call_overrides_the_clients() -> None:
    simulator = Simulator(responses=Reply(ALICE, faults=Stall(after=2)), chunk_size=3)
    async with connected(simulator, timeout=60.0) as client:
        stream = client.chat.completions.create_partial(
            model="m", response_model=User, messages=MESSAGES, timeout=0.2
        )
        with anyio.fail_after(3), pytest.raises(streamstruct.APITimeoutError) as caught:
            await collect(stream)
    assert caught.value.text == ALICE_JSON[:6]
    assert "timeout" not in simulator.requests[0]


class Adult(BaseModel):
    name: str
    age: int

    @field_validator("age")
    @classmethod
    def old_enough(cls, value: int, info: ValidationInfo) -> int:
        if value < info.context["min_age"]:
            raise ValueError(f"younger than {info.context['min_age']}")
        return value


async def test_the_validation_context_reaches_the_field_validators() -> None:
    simulator = Simulator(responses=Reply({"name": "Kid", "age": 12}), chunk_size=4)
    async with connected(simulator) as client:
        allowed = client.chat.completions.create_partial(
            model="m", response_model=Adult, messages=MESSAGES, validation_context={"min_age": 0}
        )
        adult = await allowed.get_final()
        assert isinstance(adult, Adult)
        assert adult.model_dump() == {"name": "Kid", "age": 12}
        refused = client.chat.completions.create_partial(
            model="m", response_model=Adult, messages=MESSAGES, validation_context={"min_age": 18}
        )
        with pytest.raises(streamstruct.ResponseValidationError, match="younger than 18"):
            await collect(refused)


# -- early exits, in process ---------------------------------------------------------------------


async def test_break_closes_the_response() -> None:
    simulator = Watched(Simulator(responses=Reply(ALICE), chunk_size=3))
    async with connected(simulator) as client:
        stream = client.chat.completions.create_partial(
            model="m", response_model=User, messages=MESSAGES
        )
        async for partial in stream:
            if partial.age is not None:
                break
        # The abandoned iteration is finalised by the event loop, which closes the response.
        await eventually(lambda: stream.response is not None and stream.response.is_closed)
        assert simulator.finished
        assert simulator.sent < 30
        # the client is still good for the next request
        assert await client.chat.completions.create(
            model="m", response_model=User, messages=MESSAGES
        ) == User(**ALICE)


async def test_break_inside_async_with_closes_the_response_on_exit() -> None:
    simulator = Watched(Simulator(responses=Reply({"items": PEOPLE}), chunk_size=3))
    async with connected(simulator, mode=Mode.JSON) as client:
        async with client.chat.completions.create_iterable(
            model="m", response_model=User, messages=MESSAGES
        ) as stream:
            async for _user in stream:
                break
        assert stream.response is not None
        assert stream.response.is_closed
        assert simulator.finished


async def test_an_exception_in_the_loop_body_closes_the_response() -> None:
    simulator = Watched(Simulator(responses=Reply(ALICE), chunk_size=3))
    async with connected(simulator) as client:
        stream = client.chat.completions.create_partial(
            model="m", response_model=User, messages=MESSAGES
        )
        with pytest.raises(KeyError):  # noqa: PT012 - the loop body is the caller's code
            async for partial in stream:
                if partial.name == "Alice":
                    raise KeyError("the caller's own error")
        await eventually(lambda: stream.response is not None and stream.response.is_closed)
        assert simulator.finished


async def test_aclose_mid_stream_closes_the_response() -> None:
    simulator = Watched(Simulator(responses=Reply(ALICE), chunk_size=3))
    async with connected(simulator) as client:
        stream = client.chat.completions.create_partial(
            model="m", response_model=User, messages=MESSAGES
        )
        iterator = aiter(stream)
        first = await anext(iterator)
        assert first is not None
        await stream.aclose()
        assert stream.response is not None
        assert stream.response.is_closed
        assert simulator.finished
        await stream.aclose()  # idempotent
        with pytest.raises(streamstruct.StreamInterruptedError) as caught:
            await anext(iterator)
        assert caught.value.text == stream.text
        with pytest.raises(streamstruct.StreamInterruptedError):
            await stream.get_final()


async def test_aclose_before_use_sends_nothing() -> None:
    simulator = Simulator(responses=Reply(ALICE))
    async with connected(simulator) as client:
        stream = client.chat.completions.create_partial(
            model="m", response_model=User, messages=MESSAGES
        )
        await stream.aclose()
        with pytest.raises(streamstruct.StreamInterruptedError):
            await stream.get_final()
    assert simulator.requests == []


async def test_a_cancel_scope_closes_the_response() -> None:
    # A tiny delay between events: the server's pauses are where cancellation is delivered, as on
    # a network (the in-process transport itself never waits).
    simulator = Watched(Simulator(responses=Reply(ALICE), chunk_size=3, delay=0.001))
    async with connected(simulator) as client:
        stream = client.chat.completions.create_partial(
            model="m", response_model=User, messages=MESSAGES
        )
        with anyio.CancelScope() as scope:
            async for partial in stream:
                if partial.name == "Alice":
                    scope.cancel()
        assert scope.cancelled_caught
        assert stream.response is not None
        assert stream.response.is_closed
        assert simulator.finished


async def test_move_on_after_closes_the_response() -> None:
    simulator = Watched(Simulator(responses=Reply(ALICE), chunk_size=3, delay=0.02))
    async with connected(simulator) as client:
        stream = client.chat.completions.create_partial(
            model="m", response_model=User, messages=MESSAGES
        )
        snapshots = []
        with anyio.move_on_after(0.15) as scope:
            async for partial in stream:
                snapshots.append(partial)
        assert scope.cancelled_caught
        assert snapshots
        assert snapshots[-1].bio is None  # stopped part-way
        assert stream.response is not None
        assert stream.response.is_closed
        assert simulator.finished
        with pytest.raises(streamstruct.StreamInterruptedError):
            await stream.get_final()


# -- early exits over real sockets: nothing stays checked out of the pool -------------------------


LONG = {**ALICE, "bio": "A long biography. " * 40}


@pytest.fixture
def simulator() -> Simulator:
    """The simulator behind ``simulator_url`` (uvicorn on 127.0.0.1)."""
    return Simulator(responses=Reply(LONG), chunk_size=8)


def checked_out(http: httpx.AsyncClient) -> list[str]:
    """The pool's connections that are neither idle nor closed, and the requests in flight."""
    pool = http._transport._pool  # type: ignore[attr-defined]
    busy = [repr(c) for c in pool.connections if not (c.is_idle() or c.is_closed())]
    busy += [repr(r) for r in pool._requests]
    return busy


@asynccontextmanager
async def served(
    url: str, **options: Any
) -> AsyncIterator[tuple[streamstruct.AsyncClient, httpx.AsyncClient]]:
    async with (
        httpx.AsyncClient() as http,
        streamstruct.AsyncClient(base_url=url, http_client=http, **options) as client,
    ):
        yield client, http


async def test_a_complete_stream_leaves_no_connection_checked_out(simulator_url: str) -> None:
    async with served(simulator_url) as (client, http):
        for _ in range(2):
            stream = client.chat.completions.create_partial(
                model="m", response_model=User, messages=MESSAGES
            )
            snapshots = [partial async for partial in stream]
            assert snapshots[-1].model_dump() == LONG
            assert stream.response is not None
            assert stream.response.is_closed
            await eventually(lambda: not checked_out(http))


@IGNORE_HTTPX_GENERATORS
@pytest.mark.parametrize("how", ["break", "aclose", "cancel", "invalid", "stall"])
async def test_an_early_exit_leaves_no_connection_checked_out(
    simulator: Simulator, simulator_url: str, how: str
) -> None:
    if how == "invalid":
        simulator.script(Reply({**LONG, "age": -4}))
    if how == "stall":
        simulator.script(Reply(LONG, faults=Stall(after=10)))
    async with served(simulator_url, timeout=0.3, max_retries=0) as (client, http):
        stream = client.chat.completions.create_partial(
            model="m", response_model=User, messages=MESSAGES
        )
        if how == "break":
            async for partial in stream:
                if partial.age is not None:
                    break
        elif how == "aclose":
            iterator = aiter(stream)
            await anext(iterator)
            await stream.aclose()
            with pytest.raises(streamstruct.StreamInterruptedError):
                await anext(iterator)
        elif how == "cancel":
            with anyio.CancelScope() as scope:
                async for partial in stream:
                    if partial.age is not None:
                        scope.cancel()
        elif how == "invalid":
            with pytest.raises(streamstruct.ResponseValidationError):
                await collect(stream)
        else:
            with pytest.raises(streamstruct.APITimeoutError):
                await collect(stream)
        await eventually(lambda: stream.response is not None and stream.response.is_closed)
        await eventually(lambda: not checked_out(http))
        # and the pool serves the next request
        simulator.script(Reply(ALICE))
        assert await client.chat.completions.create(
            model="m", response_model=User, messages=MESSAGES
        ) == User(**ALICE)
        await eventually(lambda: not checked_out(http))
