"""The sync client: the same API as the async one, in real time, on either event loop backend.

``streamstruct.Client`` runs the async implementation on an event loop in a background thread; the
tests use it as a synchronous program would, with ``transport=StreamingASGITransport(simulator)``
(in process, streamed) or over uvicorn on 127.0.0.1 where timing matters. Each test runs with the
client's loop on asyncio and on trio.

Border: what ``Client`` adds (its background loop thread, blocking iteration, closing from the
caller's thread, real-time delivery), and the main paths of ``test_client_streaming.py`` (async
only) again on ``Client``; ``test_client_http.py`` and ``test_client_arguments.py`` run each of
their tests on both clients.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable, Iterator, MutableMapping
from contextlib import contextmanager
from typing import Annotated, Any, Literal

import pytest
from pydantic import BaseModel, Field
from shared_support import CheckedUser as User

import streamstruct
from streamstruct import FieldCompleted, Mode, Partial, SnapshotEvent, StreamEnded
from streamstruct.testing import (
    Disconnect,
    ErrorEvent,
    ErrorStatus,
    Refusal,
    Reply,
    Simulator,
    Stall,
    StreamingASGITransport,
    Truncate,
    serve,
)

MESSAGES = [{"role": "user", "content": "Make up a person."}]
ALICE = {"name": "Alice", "age": 28, "bio": 'Likes "quotes", {braces} and [brackets].'}
ALICE_JSON = json.dumps(ALICE, separators=(",", ":"))
PEOPLE = [
    {"name": "Ann", "age": 31, "bio": "}{"},
    {"name": "Bo", "age": 42, "bio": "]["},
]


class Cat(BaseModel):
    kind: Literal["cat"] = "cat"
    name: str


class Dog(BaseModel):
    kind: Literal["dog"] = "dog"
    name: str


Pet = Annotated[Cat | Dog, Field(discriminator="kind")]


@pytest.fixture(params=["asyncio", "trio"])
def backend(request: pytest.FixtureRequest) -> Literal["asyncio", "trio"]:
    """The event loop the sync client runs in its thread."""
    return request.param  # type: ignore[no-any-return]


@contextmanager
def connected(app: Any, backend: str, **options: Any) -> Iterator[streamstruct.Client]:
    options.setdefault("api_key", "sk-test")
    with streamstruct.Client(
        base_url="http://simulator/v1",
        transport=StreamingASGITransport(app),
        backend=backend,  # type: ignore[arg-type]
        **options,
    ) as client:
        yield client


class Watched:
    """An ASGI app around another that records, from the server's side, when each body message
    went out and whether the app has finished."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.finished = threading.Event()
        self.sent_at: list[float] = []
        self.last_sent_at: float | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        async def timed_send(message: MutableMapping[str, Any]) -> None:
            await send(message)
            if message["type"] == "http.response.body":
                now = time.monotonic()
                self.sent_at.append(now)
                if not message.get("more_body", False):
                    self.last_sent_at = now

        try:
            await self.app(scope, receive, timed_send)
        finally:
            self.finished.set()


# -- the API ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", list(Mode))
def test_create_partial_streams_snapshots(backend: str, mode: Mode) -> None:
    simulator = Simulator(responses=Reply(ALICE), chunk_size=3)
    with connected(simulator, backend, mode=mode) as client:
        stream = client.chat.completions.create_partial(
            model="m", response_model=User, messages=MESSAGES, temperature=0
        )
        snapshots = list(stream)
        assert stream.get_final() == User(**ALICE)
    assert len(snapshots) > 10
    assert all(isinstance(snapshot, Partial[User]) for snapshot in snapshots)
    assert all(snapshot.age in (None, 28) for snapshot in snapshots)
    assert snapshots[-1].model_dump() == ALICE
    assert stream.partial is snapshots[-1]
    assert json.loads(stream.text) == ALICE
    assert stream.finish_reason == "stop"
    assert stream.usage is not None
    assert stream.usage.total_tokens > 0
    assert stream.request_id is not None
    assert stream.response is not None
    assert stream.response.is_closed
    assert simulator.requests[0]["temperature"] == 0
    assert simulator.requests[0]["stream"] is True


def test_the_with_statement_opens_and_closes(backend: str) -> None:
    simulator = Simulator(responses=Reply(ALICE), chunk_size=5)
    with connected(simulator, backend) as client:
        with client.chat.completions.create_partial(
            model="m", response_model=User, messages=MESSAGES
        ) as stream:
            assert stream.response is not None
            assert stream.response.status_code == 200
            assert stream.get_final() == User(**ALICE)
        assert stream.response.is_closed

        unread = client.chat.completions.create_partial(
            model="m", response_model=User, messages=MESSAGES
        )
        assert unread.response is None
        unread.open()
        assert unread.response is not None
        unread.close()
        assert unread.response.is_closed


@pytest.mark.parametrize("mode", [Mode.TOOLS, Mode.JSON_SCHEMA, Mode.MD_JSON])
def test_create_and_create_with_stream(backend: str, mode: Mode) -> None:
    items = Reply({"items": PEOPLE}, tool_calls="per_item")
    simulator = Simulator(
        responses=[Reply(ALICE), items, Reply(ALICE), Reply(ALICE), items], chunk_size=4
    )
    with connected(simulator, backend, mode=mode) as client:
        completions = client.chat.completions
        assert completions.create(model="m", response_model=User, messages=MESSAGES) == User(
            **ALICE
        )
        assert completions.create(model="m", response_model=Iterable[User], messages=MESSAGES) == [
            User(**p) for p in PEOPLE
        ]

        stream = completions.create(model="m", response_model=User, messages=MESSAGES, stream=True)
        assert isinstance(stream, streamstruct.PartialStream)
        assert list(stream)[-1].model_dump() == ALICE

        partial = completions.create(
            model="m", response_model=Partial[User], messages=MESSAGES, stream=True
        )
        assert isinstance(partial, streamstruct.PartialStream)
        assert list(partial)[-1].model_dump() == ALICE
        assert type(partial.get_final()) is User

        iterable = completions.create(
            model="m", response_model=Iterable[User], messages=MESSAGES, stream=True
        )
        assert isinstance(iterable, streamstruct.IterableStream)
        assert list(iterable) == [User(**p) for p in PEOPLE]
        assert iterable.items == [User(**p) for p in PEOPLE]
    assert [request["stream"] for request in simulator.requests] == [True] * 5


@pytest.mark.parametrize("mode", list(Mode))
def test_create_iterable_of_a_discriminated_union(backend: str, mode: Mode) -> None:
    pets = [{"kind": "dog", "name": "Rex"}, {"kind": "cat", "name": "Tom"}]
    simulator = Simulator(responses=Reply({"items": pets}, tool_calls="per_item"), chunk_size=3)
    with connected(simulator, backend, mode=mode) as client:
        stream = client.chat.completions.create_iterable(
            model="m", response_model=Iterable[Pet], messages=MESSAGES
        )
        got = list(stream)
        assert stream.get_final() == got
    assert got == [Dog(name="Rex"), Cat(name="Tom")]


def test_events(backend: str) -> None:
    simulator = Simulator(responses=Reply(ALICE), chunk_size=4)
    with connected(simulator, backend) as client:
        stream = client.chat.completions.create_partial(
            model="m", response_model=User, messages=MESSAGES
        )
        events = list(stream.events())
    completed = [e.path for e in events if isinstance(e, FieldCompleted)]
    assert completed == [("name",), ("age",), ("bio",)]
    assert any(isinstance(e, SnapshotEvent) for e in events)
    last = events[-1]
    assert isinstance(last, StreamEnded)
    assert last.value == User(**ALICE)
    assert last.finish_reason == "stop"
    assert last.usage == stream.usage


# -- errors ----------------------------------------------------------------------------------------


def test_an_error_status_is_raised_before_the_stream(backend: str) -> None:
    simulator = Simulator(responses=Reply(ALICE, faults=ErrorStatus(401)))
    with connected(simulator, backend, max_retries=3) as client:
        stream = client.chat.completions.create_partial(
            model="m", response_model=User, messages=MESSAGES
        )
        with pytest.raises(streamstruct.AuthenticationError) as caught:
            list(stream)
        with pytest.raises(streamstruct.AuthenticationError):
            client.chat.completions.create(model="m", response_model=User, messages=MESSAGES)
        unopened = client.chat.completions.create_partial(
            model="m", response_model=User, messages=MESSAGES
        )
        with pytest.raises(streamstruct.AuthenticationError):
            unopened.__enter__()  # what a `with` statement does first
    assert caught.value.status_code == 401
    assert caught.value.body["code"] == "invalid_api_key"
    assert caught.value.request_id is not None
    assert caught.value.request_id.startswith("req_")
    assert len(simulator.requests) == 3  # never retried


def test_a_retried_error_then_success(backend: str) -> None:
    simulator = Simulator(
        responses=[Reply(faults=ErrorStatus(503, retry_after=0)), Reply(ALICE)], chunk_size=8
    )
    with connected(simulator, backend) as client:
        stream = client.chat.completions.create_partial(
            model="m", response_model=User, messages=MESSAGES
        )
        assert list(stream)[-1].model_dump() == ALICE
    assert len(simulator.requests) == 2


@pytest.mark.parametrize(
    ("fault", "error_class"),
    [
        (ErrorEvent(after=5), streamstruct.APIStatusError),
        (Disconnect(after_bytes=4000), streamstruct.StreamInterruptedError),
        (Stall(after=5), streamstruct.APITimeoutError),
        (Truncate(after_chars=15), streamstruct.IncompleteOutputError),
    ],
)
def test_faults_mid_stream_carry_the_partial_and_the_text(
    backend: str, fault: Any, error_class: type[streamstruct.StreamStructError]
) -> None:
    simulator = Watched(Simulator(responses=Reply(ALICE, faults=fault), chunk_size=3))
    with connected(simulator, backend, timeout=0.3) as client:
        stream = client.chat.completions.create_partial(
            model="m", response_model=User, messages=MESSAGES
        )
        snapshots: list[Any] = []
        with pytest.raises(error_class) as caught:
            snapshots.extend(stream)
    error = caught.value
    assert error.text
    assert ALICE_JSON.startswith(error.text)
    assert error.text != ALICE_JSON
    assert error.partial is not None
    assert error.partial.name is not None
    assert ALICE["name"].startswith(error.partial.name)
    assert snapshots
    assert stream.response is not None
    assert stream.response.is_closed
    assert simulator.finished.is_set()


def test_a_refusal(backend: str) -> None:
    simulator = Simulator(responses=Reply(ALICE, faults=Refusal("No.")))
    with (
        connected(simulator, backend) as client,
        pytest.raises(streamstruct.RefusalError) as caught,
    ):
        client.chat.completions.create(model="m", response_model=User, messages=MESSAGES)
    assert caught.value.refusal == "No."


def test_an_invalid_field_stops_the_stream(backend: str) -> None:
    simulator = Watched(
        Simulator(responses=Reply({**ALICE, "age": -2, "bio": "b" * 300}), chunk_size=3)
    )
    with connected(simulator, backend, mode=Mode.JSON_SCHEMA) as client:
        stream = client.chat.completions.create_partial(
            model="m", response_model=User, messages=MESSAGES
        )
        with pytest.raises(streamstruct.ResponseValidationError) as caught:
            list(stream)
    assert caught.value.path == ("age",)
    assert caught.value.partial.name == "Alice"
    assert "bbbb" not in caught.value.text
    assert stream.response is not None
    assert stream.response.is_closed
    assert simulator.finished.is_set()
    assert len(simulator.sent_at) < 20


# -- early exits -----------------------------------------------------------------------------------


def test_break_closes_the_response(backend: str) -> None:
    simulator = Watched(Simulator(responses=Reply(ALICE), chunk_size=3))
    with connected(simulator, backend) as client:
        stream = client.chat.completions.create_partial(
            model="m", response_model=User, messages=MESSAGES
        )
        for partial in stream:
            if partial.name == "Alice":
                break
        # closed by the time the loop is left, not at some later collection
        assert stream.response is not None
        assert stream.response.is_closed
        assert simulator.finished.is_set()
        with pytest.raises(streamstruct.StreamInterruptedError):
            stream.get_final()
        # the client carries on
        assert client.chat.completions.create(
            model="m", response_model=User, messages=MESSAGES
        ) == User(**ALICE)


def test_break_out_of_an_iterable_closes_the_response(backend: str) -> None:
    simulator = Watched(Simulator(responses=Reply({"items": PEOPLE * 3}), chunk_size=3))
    with connected(simulator, backend, mode=Mode.JSON) as client:
        stream = client.chat.completions.create_iterable(
            model="m", response_model=User, messages=MESSAGES
        )
        for user in stream:
            assert user == User(**PEOPLE[0])
            break
        assert stream.response is not None
        assert stream.response.is_closed
        assert simulator.finished.is_set()


def test_an_exception_in_the_loop_body_closes_the_response(backend: str) -> None:
    simulator = Watched(Simulator(responses=Reply(ALICE), chunk_size=3))
    with connected(simulator, backend) as client:
        stream = client.chat.completions.create_partial(
            model="m", response_model=User, messages=MESSAGES
        )
        with pytest.raises(KeyError):  # noqa: PT012 - the loop body is the caller's code
            for partial in stream:
                if partial.age is not None:
                    raise KeyError("the caller's own error")
        assert stream.response is not None
        assert stream.response.is_closed
        assert simulator.finished.is_set()


def test_close_mid_stream(backend: str) -> None:
    simulator = Watched(Simulator(responses=Reply(ALICE), chunk_size=3))
    with connected(simulator, backend) as client:
        stream = client.chat.completions.create_partial(
            model="m", response_model=User, messages=MESSAGES
        )
        iterator = iter(stream)
        assert next(iterator) is not None
        stream.close()
        assert stream.response is not None
        assert stream.response.is_closed
        assert simulator.finished.is_set()
        with pytest.raises(streamstruct.StreamInterruptedError):
            next(iterator)


# -- real time -------------------------------------------------------------------------------------


def test_the_first_partial_arrives_while_the_server_is_still_sending(backend: str) -> None:
    # Over real sockets, with the server pausing 15 ms between events (about 0.25 s in all).
    simulator = Watched(Simulator(responses=Reply(ALICE), chunk_size=6, delay=0.015))
    with (
        serve(simulator) as url,
        streamstruct.Client(base_url=url, backend=backend) as client,  # type: ignore[arg-type]
    ):
        stream = client.chat.completions.create_partial(
            model="m", response_model=User, messages=MESSAGES
        )
        arrivals: list[float] = []
        for partial in stream:
            arrivals.append(time.monotonic())
            if len(arrivals) == 1:
                assert not simulator.finished.is_set()  # the server has more to send
                assert partial.bio is None
        assert stream.get_final() == User(**ALICE)
    assert simulator.last_sent_at is not None
    assert arrivals[0] < simulator.last_sent_at
    assert simulator.last_sent_at - arrivals[0] > 0.1  # long before the end, not just before
    assert arrivals[-1] - arrivals[0] > 0.1  # and the rest kept coming as it was sent
    assert len(arrivals) > 5


# -- the client itself -----------------------------------------------------------------------------


def test_close_stops_the_event_loop_thread(backend: str) -> None:
    before = threading.active_count()
    client = streamstruct.Client(
        api_key="sk-test",
        base_url="http://x/v1",
        backend=backend,  # type: ignore[arg-type]
    )
    assert threading.active_count() == before + 1
    assert repr(client) == "Client(base_url='http://x/v1/', api_key=set, mode=TOOLS)"
    client.close()
    client.close()  # idempotent
    assert threading.active_count() == before
