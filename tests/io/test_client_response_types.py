"""Any response type through the client: ``list[User]``, ``int``, ``Literal``, ``Cat | Dog``, ...

Border: the calls end to end (async on asyncio and trio, the sync client on both, the simulator in
process and over loopback sockets) for a ``response_model`` that is not a model: the request holds
the ``{"response": ...}`` wrapper, and everything the caller sees is unwrapped (snapshots, event
paths, errors' ``partial``, ``get_final()``, ``create()``). Classifying and wrapping a type alone is
in ``model/test_response_types.py``; how the request is planned in ``request/test_modes.py``.
"""

from __future__ import annotations

import dataclasses
import enum
import itertools
import json
import subprocess
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any, Literal, Optional

import httpx
import pytest
from pydantic import BaseModel, TypeAdapter
from shared_support import User
from typing_extensions import TypedDict

import streamstruct
from streamstruct import (
    FieldCompleted,
    FieldStarted,
    Mode,
    ResponseValidationError,
    SnapshotEvent,
    StreamEnded,
    TextAppended,
)
from streamstruct.testing import Reply, Simulator, StreamingASGITransport, serve, simulated_client

MESSAGES = [{"role": "user", "content": "Answer."}]
MODES = [Mode.TOOLS, Mode.JSON_SCHEMA, Mode.JSON, Mode.MD_JSON]


class Cat(BaseModel):
    kind: Literal["cat"]
    lives: int


class Dog(BaseModel):
    kind: Literal["dog"]
    good: bool


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Pair(TypedDict):
    left: int
    right: str


@dataclasses.dataclass
class Point:
    x: int
    y: list[str]


TYPES: list[Any] = [
    list[User],
    dict[str, User],
    int,
    float,
    bool,
    str,
    Literal["yes", "no"],
    Colour,
    Optional[User],  # noqa: UP045 (the spelling users write)
    Cat | Dog,
    Pair,
    Point,
]


@pytest.fixture
def simulator() -> Simulator:
    return Simulator(chunk_size=3)


@pytest.fixture
async def client(simulator: Simulator) -> AsyncIterator[streamstruct.AsyncClient]:
    http = httpx.AsyncClient(transport=StreamingASGITransport(simulator))
    async with streamstruct.AsyncClient(base_url="http://simulator/v1", http_client=http) as made:
        yield made
    await http.aclose()


def _sent(text: str, mode: Mode) -> Any:
    """The answer the stream received, as pydantic would validate the type from it."""
    if mode is Mode.MD_JSON:
        text = text[text.index("{") : text.rindex("}") + 1]
    wrapper = json.loads(text)
    assert list(wrapper) == ["response"]  # asked for and answered as the wrapper
    return wrapper["response"]


# A dict cannot be a strict schema (JSON_SCHEMA's default): test_a_dict_in_strict_mode.
CASES = [
    (tp, mode)
    for tp in TYPES
    for mode in MODES
    if (tp, mode) != (dict[str, User], Mode.JSON_SCHEMA)
]


@pytest.mark.anyio
@pytest.mark.parametrize(("response_model", "mode"), CASES, ids=repr)
async def test_every_type_streams_and_ends_as_pydantic_validates_it(
    client: streamstruct.AsyncClient, simulator: Simulator, response_model: Any, mode: Mode
) -> None:
    stream = client.chat.completions.create_partial(
        model="m", response_model=response_model, messages=MESSAGES, mode=mode
    )
    snapshots = [snapshot async for snapshot in stream]
    final = await stream.get_final()
    expected = TypeAdapter(response_model).validate_python(_sent(stream.text, mode))
    assert final == expected
    assert type(final) is type(expected)
    assert snapshots[-1] == final  # the last snapshot is the complete answer, unwrapped
    sent = json.dumps(simulator.requests[-1]).replace('\\"', '"')  # a schema in a prompt too
    assert '"properties": {"response": {' in sent.replace("\\n", "").replace("  ", "")


@pytest.mark.anyio
async def test_a_dict_in_strict_mode_names_the_field(client: streamstruct.AsyncClient) -> None:
    with pytest.raises(ValueError, match="response"):
        client.chat.completions.create_partial(
            model="m", response_model=dict[str, User], messages=MESSAGES, mode=Mode.JSON_SCHEMA
        )


USERS = [{"name": "Ada", "age": 36}, {"name": "Bo", "age": 7}]


@pytest.mark.anyio
async def test_a_list_streams_as_a_list_of_partial_users(
    client: streamstruct.AsyncClient, simulator: Simulator
) -> None:
    simulator.script(Reply({"response": USERS}))
    stream = client.chat.completions.create_partial(
        model="m", response_model=list[User], messages=MESSAGES
    )
    snapshots = [snapshot async for snapshot in stream]
    assert all(isinstance(snapshot, list) for snapshot in snapshots)
    growing = [s[0] for s in snapshots if s and type(s[0]) is streamstruct.Partial[User]]
    assert all("Ada".startswith(user.name or "") for user in growing)
    assert growing  # the first user was seen partial before it closed
    assert snapshots[-1] == [User(**user) for user in USERS]
    assert stream.partial == snapshots[-1]
    assert await stream.get_final() == [User(**user) for user in USERS]


@pytest.mark.anyio
async def test_a_str_grows_and_its_events_have_no_wrapper_key(
    client: streamstruct.AsyncClient, simulator: Simulator
) -> None:
    simulator.script(Reply({"response": "Once upon a time"}))
    stream = client.chat.completions.create_partial(
        model="m", response_model=str, messages=MESSAGES
    )
    events = [event async for event in stream.events()]
    texts = [event.partial for event in events if isinstance(event, SnapshotEvent)]
    assert len(texts) > 3
    assert texts[-1] == "Once upon a time"
    assert all(later.startswith(earlier) for earlier, later in itertools.pairwise(texts))
    appended = [event for event in events if isinstance(event, TextAppended)]
    assert {event.path for event in appended} == {()}
    assert "".join(event.text for event in appended) == "Once upon a time"
    assert FieldStarted(()) in events
    assert FieldCompleted((), "Once upon a time") in events
    assert events[-1] == StreamEnded("Once upon a time", stream.usage, "stop")


@pytest.mark.anyio
async def test_event_paths_of_a_list_start_at_the_index(
    client: streamstruct.AsyncClient, simulator: Simulator
) -> None:
    simulator.script(Reply({"response": USERS}))
    stream = client.chat.completions.create_partial(
        model="m", response_model=list[User], messages=MESSAGES
    )
    completed = [e async for e in stream.events() if isinstance(e, FieldCompleted)]
    paths = [event.path for event in completed]
    assert paths == [(0, "name"), (0, "age"), (0,), (1, "name"), (1, "age"), (1,), ()]
    assert completed[2].value == User(**USERS[0])
    assert all("response" not in path for path in paths)


@pytest.mark.anyio
async def test_an_invalid_item_raises_with_the_list_so_far(
    client: streamstruct.AsyncClient, simulator: Simulator
) -> None:
    simulator.script(Reply({"response": [USERS[0], {"name": "Bo", "age": "seven"}]}))
    stream = client.chat.completions.create_partial(
        model="m", response_model=list[User], messages=MESSAGES
    )
    with pytest.raises(ResponseValidationError) as caught:
        await stream.get_final()
    error = caught.value
    assert isinstance(error.partial, list)
    assert error.partial[0] == User(**USERS[0])
    assert error.partial[1].name == "Bo"
    # Where the failing value sits in the JSON received, which holds the wrapper.
    assert error.path == ("response", 1, "age")
    assert error.text.startswith('{"response"')


@pytest.mark.anyio
async def test_an_invalid_scalar_at_the_end_raises_unwrapped(
    client: streamstruct.AsyncClient, simulator: Simulator
) -> None:
    simulator.script(Reply({"response": "maybe"}))
    stream = client.chat.completions.create_partial(
        model="m", response_model=Literal["yes", "no"], messages=MESSAGES
    )
    with pytest.raises(ResponseValidationError) as caught:
        async for _ in stream:
            pass
    assert caught.value.partial is None  # a Literal is shown only once valid
    assert caught.value.text == '{"response":"maybe"}'


@pytest.mark.anyio
async def test_create_returns_the_unwrapped_value(
    client: streamstruct.AsyncClient, simulator: Simulator
) -> None:
    simulator.script(Reply({"response": 42}), Reply({"response": None}), Reply({"response": USERS}))
    chat = client.chat.completions
    assert await chat.create(model="m", response_model=int, messages=MESSAGES) == 42
    optional = Optional[User]  # noqa: UP045
    assert await chat.create(model="m", response_model=optional, messages=MESSAGES) is None
    stream = chat.create(model="m", response_model=list[User], messages=MESSAGES, stream=True)
    assert isinstance(stream, streamstruct.AsyncPartialStream)
    assert await stream.get_final() == [User(**user) for user in USERS]


@pytest.mark.anyio
@pytest.mark.parametrize("response_model", [len, 42, Iterable, Callable[[int], int]])
async def test_an_unsupported_type_is_a_typed_error_naming_it(
    client: streamstruct.AsyncClient, simulator: Simulator, response_model: Any
) -> None:
    for call in (client.chat.completions.create_partial, client.chat.completions.create):
        with pytest.raises(streamstruct.UnsupportedResponseModelError) as caught:
            call(model="m", response_model=response_model, messages=MESSAGES)
        error = caught.value
        assert isinstance(error, streamstruct.InvalidArgumentTypeError)
        assert isinstance(error, TypeError)
        assert error.argument == "response_model"
        assert error.response_model is response_model
        assert getattr(response_model, "__name__", repr(response_model)) in str(error)
    assert simulator.requests == []


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_the_sync_client_unwraps_too(backend: Literal["asyncio", "trio"]) -> None:
    simulator = Simulator(
        responses=[Reply({"response": USERS}), Reply({"response": "blue"})], chunk_size=4
    )
    transport = StreamingASGITransport(simulator)
    with streamstruct.Client(
        base_url="http://simulator/v1", transport=transport, backend=backend
    ) as client:
        stream = client.chat.completions.create_partial(
            model="m", response_model=list[User], messages=MESSAGES
        )
        snapshots = list(stream)
        assert all(isinstance(snapshot, list) for snapshot in snapshots)
        assert stream.get_final() == [User(**user) for user in USERS]
        colour = client.chat.completions.create(model="m", response_model=Colour, messages=MESSAGES)
        assert colour is Colour.BLUE


@pytest.mark.anyio
async def test_over_loopback_sockets() -> None:
    simulator = Simulator(
        responses=[
            Reply({"response": "Once upon a time"}),
            Reply({"response": {"kind": "dog", "good": True}}),
        ],
        chunk_size=2,
    )
    with serve(simulator) as base_url:
        async with streamstruct.AsyncClient(base_url=base_url) as client:
            stream = client.chat.completions.create_partial(
                model="m", response_model=str, messages=MESSAGES, mode=Mode.JSON
            )
            texts = [text async for text in stream]
            assert texts[-1] == "Once upon a time"
            assert all("Once upon a time".startswith(text) for text in texts)
            many = await client.chat.completions.create(
                model="m", response_model=Cat | Dog, messages=MESSAGES, mode=Mode.MD_JSON
            )
            assert many == Dog(kind="dog", good=True)


def test_the_calls_type_any_response_type(
    mypy_strict: Callable[[str], subprocess.CompletedProcess[str]],
) -> None:
    result = mypy_strict("tests/typing/response_types_usage.py")
    assert result.returncode == 0, result.stdout


@pytest.mark.anyio
@pytest.mark.parametrize("api", ["responses", "anthropic"])
@pytest.mark.parametrize("mode", MODES, ids=repr)
@pytest.mark.parametrize("response_model", [list[User], int, str, Cat | Dog], ids=repr)
async def test_every_dialect_wraps_and_unwraps(api: str, mode: Mode, response_model: Any) -> None:
    simulator = Simulator(chunk_size=3)
    async with simulated_client(simulator, mode=mode, api=api) as client:
        stream = client.chat.completions.create_partial(
            model="m", response_model=response_model, messages=MESSAGES
        )
        snapshots = [snapshot async for snapshot in stream]
        final = await stream.get_final()
    expected = TypeAdapter(response_model).validate_python(_sent(stream.text, mode))
    assert final == expected
    assert type(final) is type(expected)
    assert snapshots[-1] == final
