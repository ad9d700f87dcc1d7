"""streamstruct.web: web.sse and web.json_text against the simulator, and the JS client (under node)
against web.sse: after every event the browser's value is the Python snapshot at that point."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any, Literal

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field, field_validator
from web_support import NodeClient, collect, cut, models, node_client, snapshot_json, tap_snapshots

from streamstruct import web
from streamstruct._core._text import TextLog
from streamstruct.testing import ErrorEvent, Reply, Simulator, Stall, Truncate, simulated_client

MESSAGES = [{"role": "user", "content": "A fictional user."}]
EVENT = re.compile(rb"event: (\w+)\ndata: (.*)\n\n")


class Address(BaseModel):
    city: str
    zip: int = 0  # a default: the validated value has it, the streamed text did not


class User(BaseModel):
    name: str
    age: int
    tags: list[str]
    address: Address
    bio: str = Field(alias="biography")

    @field_validator("name")
    @classmethod
    def title(cls, value: str) -> str:
        return value.title()  # a validator's rewrite: the browser must get the validated form


ALICE = {
    "name": "alice",
    "age": 28,
    "tags": ["reef", "bikes"],
    "address": {"city": "Lisbon"},
    "biography": "Alice maps coral reefs. " * 5,
}


@pytest.fixture(scope="module")
def node() -> Iterator[NodeClient]:
    yield from node_client()


def events_of(body: bytes) -> list[tuple[str, Any]]:
    assert EVENT.sub(b"", body).replace(b": keep-alive\n\n", b"") == b"", body
    return [(name.decode(), json.loads(data)) for name, data in EVENT.findall(body)]


async def sse_of(
    simulator: Simulator, model: Any = User, *, items: bool = False, **options: Any
) -> tuple[bytes, list[Any], Any]:
    """web.sse's whole body, the snapshots (as JSON) the stream made, and the final value."""
    async with simulated_client(simulator) as client:
        completions = client.chat.completions
        if items:
            stream: Any = completions.create_iterable(
                model="m", response_model=model, messages=MESSAGES
            )
            seen: list[Any] = []
        else:
            stream = completions.create_partial(model="m", response_model=model, messages=MESSAGES)
            seen = tap_snapshots(stream)
        body = b"".join(await collect(web.sse(stream, **options)))
        final = stream._final
    return body, seen, final


# -- the protocol, end to end --------------------------------------------------------------------


@pytest.mark.anyio
async def test_sse_sends_each_change_once_and_ends_with_the_validated_value(
    node: NodeClient,
) -> None:
    body, snapshots, final = await sse_of(Simulator(responses=Reply(ALICE, chunk_size=3)))
    events = events_of(body)
    assert events[0] == ("start", {"version": 1, "kind": "object"})
    assert [name for name, _ in events[1:-1]] == ["ops"] * len(snapshots)
    name, end = events[-1]
    assert name == "end"
    assert end["value"] == final.model_dump(mode="json")
    assert end["value"]["name"] == "Alice"
    assert end["value"]["address"]["zip"] == 0
    assert end["finish_reason"] == "stop"
    assert end["usage"]["total_tokens"] > 0
    ops = [op for name, data in events if name == "ops" for op in data]
    # The bio is sent as appended text, nothing else: its pieces add up to it, once.
    bio = "".join(op[2] for op in ops if op[0] == "append" and op[1] == ["bio"])
    assert bio == ALICE["biography"]
    assert ["set", ["name"], "Alice"] in ops or ["done", ["name"], "Alice"] in ops
    assert ["set", ["address", "zip"], 0] in ops
    assert ["done", ["bio"]] in ops  # complete, and already right: no value again
    # And the browser rebuilds every snapshot, then the final value.
    answer = node.run([body], paths=[["name"], ["bio"]])
    assert answer["error"] is None
    values = [state["value"] for state in answer["states"]]
    assert values == [*snapshots, end["value"]]
    assert answer["states"][-1]["done"] is True


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    model=models(),
    seed=st.integers(0, 10_000),
    upstream=st.lists(st.integers(1, 12), min_size=1, max_size=4),
    downstream=st.lists(st.integers(1, 64), min_size=1, max_size=4),
)
def test_the_browser_value_after_every_event_is_the_python_snapshot(
    node: NodeClient, model: type[BaseModel], seed: int, upstream: list[int], downstream: list[int]
) -> None:
    # Random models answered with generated values, cut at random upstream (the model's deltas)
    # and downstream (the bytes the browser reads, UTF-8 characters cut too).
    simulator = Simulator(seed=seed, chunk_size=upstream)
    body, snapshots, final = anyio.run(sse_of, simulator, model)
    answer = node.run(cut(body, downstream))
    assert answer["error"] is None, answer["error"]
    values = [state["value"] for state in answer["states"]]
    assert values[:-1] == snapshots
    assert values[-1] == final.model_dump(mode="json")
    assert [state["done"] for state in answer["states"]] == [False] * len(snapshots) + [True]


class Cat(BaseModel):
    kind: Literal["cat"]
    lives: int
    motto: str


class Dog(BaseModel):
    kind: Literal["dog"]
    good: bool
    motto: str


class Household(BaseModel):
    pet: Cat | Dog
    pets: list[Cat | Dog]
    extra: Any


HOUSEHOLD = {
    "pet": {"kind": "dog", "good": True, "motto": "Woof, and woof again."},
    "pets": [
        {"kind": "cat", "lives": 9, "motto": "Meow."},
        {"kind": "dog", "good": False, "motto": ""},
    ],
    "extra": {"note": "free text, " * 3, "list": [1, "two"]},
}


@pytest.mark.parametrize("chunk_size", [1, 3, 7])
def test_values_below_a_union_or_any_grow_in_the_browser_as_in_the_snapshots(
    node: NodeClient, chunk_size: int
) -> None:
    # Below a union or Any the stream reports no event until the value completes: its snapshots
    # still grow, and the browser must see them grow too (not an empty object, then the whole).
    simulator = Simulator(responses=Reply(HOUSEHOLD, chunk_size=chunk_size))
    body, snapshots, final = anyio.run(sse_of, simulator, Household)
    answer = node.run(cut(body, [5, 2]))
    assert answer["error"] is None, answer["error"]
    values = [state["value"] for state in answer["states"]]
    assert values[:-1] == snapshots
    assert values[-1] == final.model_dump(mode="json")
    mottos = {s["pet"].get("motto") for s in snapshots if "pet" in s}
    assert "Woof," in {m[:5] for m in mottos if m and m != HOUSEHOLD["pet"]["motto"]}  # it grew
    ops = [op for name, data in events_of(body) if name == "ops" for op in data]
    motto = "".join(op[2] for op in ops if op[0] == "append" and op[1] == ["pet", "motto"])
    assert motto == HOUSEHOLD["pet"]["motto"]  # as appended text, once


@pytest.mark.anyio
async def test_a_lone_surrogate_the_model_wrote_reaches_the_browser(node: NodeClient) -> None:
    # "\ud800" alone is valid JSON, and a str in Python, but it has no UTF-8 form.
    text = '{"name": "a\\ud800b", "age": 3, "tags": ["\\udfff"], "address": {"city": "x"},'
    text += ' "biography": "\\ud83d\\ude00 \\ud83d"}'
    body, snapshots, final = await sse_of(Simulator(responses=Reply(text, chunk_size=3)))
    assert final.name == "A\ud800B"
    answer = node.run(cut(body, [7]))
    assert answer["error"] is None, answer["error"]
    values = [state["value"] for state in answer["states"]]
    assert values == [*snapshots, final.model_dump(mode="json")]
    assert values[-1]["bio"] == "\U0001f600 \ud83d"


class Labels(BaseModel):
    labels: dict[str, str]
    counts: dict[str, list[int]]


@pytest.mark.anyio
async def test_a_key_named_proto_is_a_key_in_the_browser_too(node: NodeClient) -> None:
    # A dict's keys are the model's to choose: "__proto__" must not set the object's prototype.
    value = {"labels": {"__proto__": "x" * 20, "b": "y"}, "counts": {"__proto__": [1, 2]}}
    body, snapshots, final = await sse_of(Simulator(responses=Reply(value, chunk_size=4)), Labels)
    answer = node.run([body])
    assert answer["error"] is None, answer["error"]
    values = [state["value"] for state in answer["states"]]
    assert values == [*snapshots, final.model_dump(mode="json")]
    assert values[-1] == value
    assert any(0 < len(s.get("labels", {}).get("__proto__", "")) < 20 for s in snapshots)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), upstream=st.lists(st.integers(1, 30), min_size=1, max_size=3))
def test_items_arrive_one_by_one_in_the_browser(
    node: NodeClient, seed: int, upstream: list[int]
) -> None:
    people = [
        {
            "name": f"User {n}",
            "age": 20 + n,
            "tags": [],
            "address": {"city": "Porto"},
            "biography": "Hi.",
        }
        for n in range(4)
    ]
    simulator = Simulator(
        seed=seed, responses=Reply({"items": people}, tool_calls="per_item", chunk_size=upstream)
    )
    body, _, final = anyio.run(lambda: sse_of(simulator, User, items=True))
    events = events_of(body)
    assert events[0] == ("start", {"version": 1, "kind": "items"})
    answer = node.run(cut(body, upstream))
    values = [state["value"] for state in answer["states"]]
    dumped = [user.model_dump(mode="json") for user in final]
    assert values == [dumped[: n + 1] for n in range(4)] + [dumped]
    assert dumped[0]["name"] == "User 0"


@pytest.mark.anyio
async def test_an_error_mid_stream_is_an_error_event_with_the_partial(node: NodeClient) -> None:
    simulator = Simulator(responses=Reply(ALICE, chunk_size=4, faults=Truncate(after_chars=120)))
    body, snapshots, _ = await sse_of(simulator)
    name, error = events_of(body)[-1]
    assert name == "error"
    assert error["type"] == "IncompleteOutputError"
    assert "length" in error["message"]
    assert error["partial"] == snapshots[-1]
    assert error["partial"]["bio"].startswith("Alice maps")
    answer = node.run([body], paths=[["bio"], ["name"]])
    assert answer["error"] == {
        "name": "StreamError",
        "type": "IncompleteOutputError",
        "message": "IncompleteOutputError: " + error["message"],
        "partial": error["partial"],
    }
    # The last state the page had is the partial value, the name complete and the bio not.
    assert answer["states"][-1]["value"] == error["partial"]
    assert answer["states"][-1]["complete"] == [False, True]


@pytest.mark.anyio
async def test_an_error_event_from_the_server_reaches_the_browser(node: NodeClient) -> None:
    simulator = Simulator(responses=Reply(ALICE, faults=ErrorEvent(after=5, message="overloaded")))
    body, _, _ = await sse_of(simulator)
    name, error = events_of(body)[-1]
    assert name == "error"
    assert "overloaded" in error["message"]
    assert node.run([body])["error"]["type"] == error["type"]


@pytest.mark.anyio
async def test_an_error_before_the_stream_began_is_an_error_event_too(node: NodeClient) -> None:
    from streamstruct.testing import ErrorStatus

    simulator = Simulator(responses=Reply(ALICE, faults=ErrorStatus(401)))
    async with simulated_client(simulator, max_retries=0, api_key="sk-secret-key-123") as client:
        stream = client.chat.completions.create_partial(
            model="m", response_model=User, messages=MESSAGES
        )
        body = b"".join(await collect(web.sse(stream)))
    assert [name for name, _ in events_of(body)] == ["start", "error"]
    error = events_of(body)[1][1]
    assert error["type"] == "AuthenticationError"
    assert error["partial"] is None
    assert b"sk-secret-key-123" not in body
    assert node.run([body])["error"]["type"] == "AuthenticationError"


def test_the_client_refuses_a_cut_body_and_another_version_and_skips_the_unknown(
    node: NodeClient,
) -> None:
    start = b'event: start\ndata: {"version":1,"kind":"object"}\n\n'
    ops = b'event: ops\ndata: [["set",[],{}],["set",["a"],""],["append",["a"],"x"]]\n\n'
    cut_short = node.run([start, ops])
    assert cut_short["error"]["message"] == "the stream ended before its end event"
    assert [state["value"] for state in cut_short["states"]] == [{"a": "x"}]
    later = node.run([start.replace(b'"version":1', b'"version":2'), ops])
    assert "protocol version 2" in later["error"]["message"]
    # An event this version does not know, comments and CRLF line ends: passed over.
    end = b'event: end\r\ndata: {"value":{"a":"xy"},"usage":null,"finish_reason":"stop"}\r\n\r\n'
    unknown = b'event: progress\ndata: {"percent":50}\n\n: keep-alive\n\n'
    answer = node.run(cut(start + ops + unknown + end, [7]))
    assert answer["error"] is None
    assert [state["value"] for state in answer["states"]] == [{"a": "x"}, {"a": "xy"}]
    assert answer["events"] == ["start", "ops", "progress", "end"]


@pytest.mark.anyio
async def test_keep_alive_comments_while_the_model_is_silent() -> None:
    simulator = Simulator(responses=Reply(ALICE, faults=Stall(after=3, seconds=0.3)))
    body, _, final = await sse_of(simulator, keep_alive=0.05)
    assert body.count(b": keep-alive\n\n") >= 2
    assert events_of(body)[-1] == ("end", events_of(body)[-1][1])
    assert final.name == "Alice"


@pytest.mark.anyio
async def test_no_keep_alive_reads_in_the_callers_task() -> None:
    body, snapshots, _ = await sse_of(Simulator(responses=Reply(ALICE)), keep_alive=None)
    assert [name for name, _ in events_of(body)].count("ops") == len(snapshots)


class ClosedWhere:
    """Wraps a stream's iterator: notes in which task it was iterated and in which it was closed."""

    def __init__(self, source: Any) -> None:
        self.source = source
        self.read_in: set[object] = set()
        self.closed_in: object = None

    def __aiter__(self) -> ClosedWhere:
        return self

    async def __anext__(self) -> Any:
        self.read_in.add(anyio.get_current_task().id)
        return await self.source.__anext__()

    async def aclose(self) -> None:
        self.closed_in = anyio.get_current_task().id
        await self.source.aclose()


@pytest.mark.anyio
@pytest.mark.parametrize("keep_alive", [web._server.DEFAULT_KEEP_ALIVE, None])
@pytest.mark.parametrize("items", [False, True], ids=["object", "items"])
async def test_leaving_mid_stream_closes_the_iterator_where_it_was_read_then_the_stream(
    items: bool, keep_alive: float | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A browser leaving closes web.sse between two events while its reading task (or, without
    # keep-alives, its own) waits on the network: the stream's iterator must be closed, in the task
    # that read it, before the stream (and its response) is; closing a response from another task
    # than its reader fails, and an iterator left to the garbage collector closes who knows when.
    people = {"items": [{**ALICE, "name": f"user {n}"} for n in range(30)]}
    reply = Reply(people, tool_calls="per_item") if items else Reply(ALICE)
    simulator = Simulator(responses=reply, chunk_size=2, delay=0.005)
    async with simulated_client(simulator) as client:
        completions = client.chat.completions
        if items:
            stream: Any = completions.create_iterable(
                model="m", response_model=User, messages=MESSAGES
            )
            wrapped = ClosedWhere(aiter(stream))
            monkeypatch.setattr(type(stream), "__aiter__", lambda self: wrapped)
        else:
            stream = completions.create_partial(model="m", response_model=User, messages=MESSAGES)
            wrapped = ClosedWhere(stream.events())
            stream.events = lambda: wrapped
        body = web.sse(stream, keep_alive=keep_alive)
        received = [await anext(body) for _ in range(3)]
        await body.aclose()  # type: ignore[attr-defined]
    assert b"event: end" not in b"".join(received)
    assert wrapped.closed_in is not None, "the reading task never closed the stream's iterator"
    assert wrapped.read_in == {wrapped.closed_in}


@pytest.mark.parametrize("keep_alive", [0, -1, float("inf"), float("nan")])
def test_keep_alive_must_be_a_positive_number(keep_alive: float) -> None:
    with pytest.raises(ValueError, match="keep_alive"):
        web.sse(None, keep_alive=keep_alive)  # type: ignore[arg-type]


def test_sse_takes_an_async_stream_only() -> None:
    from streamstruct.testing import simulated_sync_client

    with simulated_sync_client(Simulator(responses=Reply(ALICE))) as client:
        stream = client.chat.completions.create_partial(
            model="m", response_model=User, messages=MESSAGES
        )
        with pytest.raises(TypeError, match=r"of an AsyncClient .* not PartialStream"):
            web.sse(stream)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match=r"of an AsyncClient .* not PartialStream"):
            web.json_text(stream)  # type: ignore[arg-type]
        stream.close()

    with pytest.raises(TypeError, match="create_partial or create_iterable"):
        web.sse(object())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="create_partial or create_iterable"):
        web.json_text(object())  # type: ignore[arg-type]


@pytest.mark.anyio
async def test_the_bytes_sent_are_linear_in_the_output() -> None:
    # A 100 KB bio in 4-character deltas: the body is the text plus a bounded cost per event.
    long = dict(ALICE, biography="coral reef " * 10_000)
    body, snapshots, _ = await sse_of(Simulator(responses=Reply(long, chunk_size=4)))
    text = json.dumps(long)
    per_event = (len(body) - 2 * len(text)) / len(snapshots)  # the end event repeats the value
    assert per_event < 60, per_event


# -- json_text -----------------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("items", [False, True])
async def test_json_text_is_the_raw_text_as_it_arrives(items: bool) -> None:
    simulator = Simulator(
        responses=Reply({"items": [ALICE, ALICE]} if items else ALICE, chunk_size=5)
    )
    async with simulated_client(simulator) as client:
        completions = client.chat.completions
        create = completions.create_iterable if items else completions.create_partial
        stream: Any = create(model="m", response_model=User, messages=MESSAGES)
        pieces = await collect(web.json_text(stream))
        # As it arrives: a piece per snapshot; for items, a piece per item (what it yields).
        assert len(pieces) >= (2 if items else 10)
        assert b"".join(pieces).decode() == stream.text


@pytest.mark.anyio
async def test_json_text_raises_an_error_mid_stream() -> None:
    from streamstruct import IncompleteOutputError

    simulator = Simulator(responses=Reply(ALICE, faults=Truncate(after_chars=50)))
    async with simulated_client(simulator) as client:
        stream = client.chat.completions.create_partial(
            model="m", response_model=User, messages=MESSAGES
        )
        body = web.json_text(stream)
        with pytest.raises(IncompleteOutputError):
            async for _ in body:
                pass


def test_text_log_since_costs_what_it_returns() -> None:
    log = TextLog()
    text = "".join(f"piece {n} " for n in range(2_000))
    for n in range(2_000):
        log.append(f"piece {n} ")
        if n % 97 == 0:
            log.text()  # joined into one chunk now and then, as the stream does
    for start in (0, 1, 5, 4095, 4096, 10_000, len(text) - 1, len(text), len(text) + 3):
        assert log.since(start) == text[start:]


def test_the_encoder_json_is_the_oracle_json() -> None:
    from streamstruct.web._protocol import snapshot_json as encoder_json

    user = User.model_validate(ALICE)
    assert encoder_json(user) == snapshot_json(user) == user.model_dump(mode="json")


def test_the_headers_and_the_client_file() -> None:
    assert web.SSE_HEADERS["content-type"].startswith("text/event-stream")
    assert "no-cache" in web.SSE_HEADERS["cache-control"]
    assert web.SSE_HEADERS["x-accel-buffering"] == "no"
    source = web.CLIENT_JS.read_text()
    assert "export async function* readObject(response" in source
    assert f"PROTOCOL_VERSION = {web.PROTOCOL_VERSION};" in source


def test_pieces_between_two_snapshots_are_one_append() -> None:
    # Snapshots of a long string may be rare: the pieces between two are joined once, in one op.
    from streamstruct import FieldStarted, Partial, SnapshotEvent, TextAppended
    from streamstruct.web._protocol import ObjectEncoder

    class Note(BaseModel):
        text: str

    encoder = ObjectEncoder()
    pieces = [f"piece {n}. " for n in range(5_000)]
    assert encoder.feed(FieldStarted(("text",))) is None
    for piece in pieces:
        assert encoder.feed(TextAppended(("text",), piece)) is None
    snapshot = Partial[Note].model_construct(text="".join(pieces))
    frame = encoder.feed(SnapshotEvent(snapshot))
    assert frame is not None
    name, ops = events_of(frame)[0]
    assert name == "ops"
    assert ops == [["set", [], {}], ["set", ["text"], ""], ["append", ["text"], "".join(pieces)]]
