"""Validation re-asks (``max_reasks``): an answer that fails validation is thrown away and asked again.

The simulator scripts one answer per request (``Simulator(responses=[invalid, valid])``), so the
first answer fails and the second streams into the same stream object. Checked: the ``Reasked``
event before the new attempt's events, snapshots starting again from the empty object,
``stream.attempts``, usage summed over attempts, the request each re-ask sends (every mode's own
turns), ``Iterable`` items yielded once, the last error carrying every attempt's error, and the
option's checks; on asyncio and trio, on the sync client, and over loopback (uvicorn).

Border: the stream's re-ask loop and the option; the message shapes themselves (every API's) are
``tests/request/test_reask.py``'s.
"""

from __future__ import annotations

import json
import math
import pickle
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from pydantic import BaseModel, Field, model_validator

import streamstruct
from streamstruct import (
    FieldCompleted,
    Mode,
    Reasked,
    ResponseValidationError,
    SnapshotEvent,
    StreamEnded,
)
from streamstruct.testing import Reply, Simulator, StreamingASGITransport, serve

MESSAGES = [{"role": "user", "content": "Make up a person."}]
BAD: dict[str, Any] = {"name": "Ann", "age": -3}
GOOD: dict[str, Any] = {"name": "Ann", "age": 30}


class User(BaseModel):
    name: str
    age: int = Field(ge=0)


class _Whole:
    class User(BaseModel):
        """Valid field by field; only the whole object can be refused (once usage has come)."""

        name: str
        age: int

        @model_validator(mode="after")
        def _not_bad(self) -> _Whole.User:
            if self.name == "Bad":
                raise ValueError("the name may not be Bad")
            return self


WholeUser = _Whole.User


def async_client(simulator: Simulator, **options: Any) -> streamstruct.AsyncClient:
    return streamstruct.AsyncClient(
        api_key="sk-test",
        base_url="http://simulator/v1",
        transport=StreamingASGITransport(simulator),
        **options,
    )


@contextmanager
def sync_client(
    simulator: Simulator, backend: str, **options: Any
) -> Iterator[streamstruct.Client]:
    with streamstruct.Client(
        api_key="sk-test",
        base_url="http://simulator/v1",
        transport=StreamingASGITransport(simulator),
        backend=backend,  # type: ignore[arg-type]
        **options,
    ) as client:
        yield client


def appended_turns(simulator: Simulator, attempt: int) -> list[dict[str, Any]]:
    """What request ``attempt`` (1-based) added to the conversation of the one before it."""
    before = simulator.requests[attempt - 2]["messages"]
    after = simulator.requests[attempt - 1]["messages"]
    assert after[: len(before)] == before
    return after[len(before) :]  # type: ignore[no-any-return]


async def collect(events: AsyncIterator[Any], into: list[Any]) -> None:
    async for event in events:
        into.append(event)


def check_reasked_events(events: list[Any]) -> None:
    """One ``Reasked`` (attempt 2), the failed field before it, a fresh start after it."""
    kinds = [type(event) for event in events]
    assert kinds.count(Reasked) == 1
    at = kinds.index(Reasked)
    reasked = events[at]
    assert reasked.attempt == 2
    assert isinstance(reasked.error, ResponseValidationError)
    assert reasked.error.path == ("age",)
    assert json.loads(reasked.text) == BAD
    before, after = events[:at], events[at + 1 :]
    assert not any(isinstance(event, StreamEnded) for event in before)
    snapshots_after = [event.partial for event in after if isinstance(event, SnapshotEvent)]
    # The first snapshot after the re-ask shows only what the new answer has so far: nothing.
    assert snapshots_after[0].model_dump() == {"name": None, "age": None}
    assert snapshots_after[-1].model_dump() == GOOD
    completed = [event.path for event in after if isinstance(event, FieldCompleted)]
    assert completed == [("name",), ("age",)]
    assert isinstance(events[-1], StreamEnded)
    assert events[-1].value == User(**GOOD)


def check_reask_request(simulator: Simulator, mode: Mode) -> None:
    """The second request: the conversation, the rejected answer, the errors, in the mode's shape."""
    assert len(simulator.requests) == 2
    turns = appended_turns(simulator, 2)
    if mode is Mode.TOOLS:
        assistant, tool = turns
        (call,) = assistant["tool_calls"]
        assert json.loads(call["function"]["arguments"]) == BAD
        assert call["function"]["name"] == "User"
        assert tool["role"] == "tool"
        assert tool["tool_call_id"] == call["id"]  # the server's own id, sent back
        assert "age: Input should be greater than or equal to 0 (got -3)" in tool["content"]
    else:
        assistant, user = turns
        assert assistant["role"] == "assistant"
        assert json.loads(assistant["content"]) == BAD
        assert user["role"] == "user"
        assert "age: Input should be greater than or equal to 0 (got -3)" in user["content"]
        assert ("```json" in user["content"]) is (mode is Mode.MD_JSON)


# -- one object --------------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("mode", list(Mode))
async def test_an_invalid_answer_is_asked_again_and_the_new_one_streams_in(mode: Mode) -> None:
    simulator = Simulator(responses=[BAD, GOOD], chunk_size=3)
    async with async_client(simulator, mode=mode) as client:
        stream = client.chat.completions.create_partial(
            model="m", response_model=User, messages=MESSAGES, max_reasks=1
        )
        async with stream:
            events = [event async for event in stream.events()]
        assert stream.attempts == 2
        assert await stream.get_final() == User(**GOOD)
    check_reasked_events(events)
    check_reask_request(simulator, mode)


@pytest.mark.anyio
async def test_snapshots_start_again_from_the_empty_object() -> None:
    simulator = Simulator(responses=[BAD, GOOD], chunk_size=3)
    async with async_client(simulator) as client:
        stream = client.chat.completions.create_partial(
            model="m", response_model=User, messages=MESSAGES, max_reasks=1
        )
        snapshots = [snapshot.model_dump() async for snapshot in stream]
    names = [snapshot["name"] for snapshot in snapshots]
    first_ann = names.index("Ann")
    restart = names.index(None, first_ann)  # the new answer's first snapshot
    assert snapshots[restart] == {"name": None, "age": None}
    assert snapshots[-1] == GOOD
    assert all(snapshot["age"] in (None, 30) for snapshot in snapshots)


@pytest.mark.anyio
async def test_create_reads_the_answer_that_passed() -> None:
    simulator = Simulator(responses=[BAD, BAD, GOOD])
    async with async_client(simulator) as client:
        user = await client.chat.completions.create(
            model="m", response_model=User, messages=MESSAGES, max_reasks=2
        )
    assert user == User(**GOOD)
    assert len(simulator.requests) == 3
    # The second re-ask repeats the first one's turns and adds its own.
    assert len(appended_turns(simulator, 3)) == 2


@pytest.mark.anyio
async def test_usage_adds_up_over_the_attempts() -> None:
    # Refused as a whole at the end, after the server reported the first attempt's usage.
    bad: dict[str, Any] = {"name": "Bad", "age": 1}
    good: dict[str, Any] = {"name": "Bob", "age": 1}
    simulator = Simulator(responses=[bad, good])
    async with async_client(simulator) as client:
        stream = client.chat.completions.create_partial(
            model="m", response_model=WholeUser, messages=MESSAGES, max_reasks=1
        )
        events = [event async for event in stream.events()]
    (reasked,) = [event for event in events if isinstance(event, Reasked)]
    assert reasked.error.path == ()
    assert stream.attempts == 2
    per_answer = math.ceil(len(json.dumps(good, separators=(",", ":"))) / 4)
    assert stream.usage is not None
    assert stream.usage.completion_tokens == 2 * per_answer
    assert stream.usage.total_tokens == stream.usage.prompt_tokens + 2 * per_answer
    assert events[-1] == StreamEnded(WholeUser(**good), stream.usage, "stop")


@pytest.mark.anyio
async def test_when_every_reask_fails_the_last_error_carries_every_attempts_error() -> None:
    simulator = Simulator(responses=[BAD, {"name": "Ann", "age": -4}, {"name": "Ann", "age": -5}])
    async with async_client(simulator) as client:
        stream = client.chat.completions.create_partial(
            model="m", response_model=User, messages=MESSAGES, max_reasks=2
        )
        seen: list[Any] = []
        with pytest.raises(ResponseValidationError) as caught:
            await collect(stream.events(), seen)
    error = caught.value
    assert [event.attempt for event in seen if isinstance(event, Reasked)] == [2, 3]
    assert stream.attempts == 3
    assert len(simulator.requests) == 3
    assert len(error.attempts_errors) == 3
    assert error.attempts_errors[-1] is error
    assert [e.errors[0]["input"] for e in error.attempts_errors] == [-3, -4, -5]
    copy = pickle.loads(pickle.dumps(error))
    assert [e.errors[0]["input"] for e in copy.attempts_errors] == [-3, -4, -5]
    assert copy.attempts_errors[-1] is copy


@pytest.mark.anyio
async def test_without_max_reasks_nothing_is_asked_again() -> None:
    simulator = Simulator(responses=[BAD, GOOD])
    async with async_client(simulator) as client:
        stream = client.chat.completions.create_partial(
            model="m", response_model=User, messages=MESSAGES
        )
        with pytest.raises(ResponseValidationError) as caught:
            await stream.get_final()
    assert caught.value.attempts_errors == []
    assert stream.attempts == 1
    assert len(simulator.requests) == 1


def whole_completion(arguments: dict[str, Any]) -> httpx.Response:
    """A server that ignores ``"stream": true``: one whole completion, one tool call."""
    function = {"name": "User", "arguments": json.dumps(arguments)}
    call = {"id": "call_w", "type": "function", "function": function}
    message = {"role": "assistant", "content": None, "tool_calls": [call]}
    choice = {"index": 0, "message": message, "finish_reason": "tool_calls"}
    usage = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
    body = {"object": "chat.completion", "choices": [choice], "usage": usage}
    return httpx.Response(200, json=body)


@pytest.mark.anyio
async def test_a_whole_completion_that_fails_is_asked_again_once_read() -> None:
    answers = [BAD, GOOD]
    sent: list[dict[str, Any]] = []

    def respond(request: httpx.Request) -> httpx.Response:
        sent.append(json.loads(request.content))
        return whole_completion(answers[len(sent) - 1])

    async with streamstruct.AsyncClient(
        api_key="sk-test", base_url="http://server/v1", transport=httpx.MockTransport(respond)
    ) as client:
        stream = client.chat.completions.create_partial(
            model="m", response_model=User, messages=MESSAGES, max_reasks=1
        )
        async with stream:  # opening reads the whole first answer: no error yet
            events = [event async for event in stream.events()]
    (reasked,) = [event for event in events if isinstance(event, Reasked)]
    assert reasked.attempt == 2
    assert events[-1] == StreamEnded(User(**GOOD), stream.usage, "tool_calls")
    assert stream.usage is not None
    assert stream.usage.total_tokens == 30
    assert sent[1]["messages"][-1]["tool_call_id"] == "call_w"


# -- many objects ------------------------------------------------------------------------------

ANN: dict[str, Any] = {"name": "Ann", "age": 1}
BO: dict[str, Any] = {"name": "Bo", "age": 2}
CY: dict[str, Any] = {"name": "Cy", "age": 3}


@pytest.mark.anyio
@pytest.mark.parametrize("mode", list(Mode))
# 1000: the whole answer in one read, whose valid first item the error cuts off from its batch.
@pytest.mark.parametrize("chunk_size", [5, 1000])
async def test_items_already_yielded_are_kept_and_the_rest_asked_for(
    mode: Mode, chunk_size: int
) -> None:
    bad = {"name": "Bo", "age": -2}
    simulator = Simulator(
        responses=[{"items": [ANN, bad]}, {"items": [BO, CY]}], chunk_size=chunk_size
    )
    async with async_client(simulator, mode=mode) as client:
        stream = client.chat.completions.create_iterable(
            model="m", response_model=User, messages=MESSAGES, max_reasks=1
        )
        items = [item async for item in stream]
        assert await stream.get_final() == [User(**ANN), User(**BO), User(**CY)]
    assert items == [User(**ANN), User(**BO), User(**CY)]  # Ann once, no Reasked among items
    assert stream.items == items
    assert stream.attempts == 2
    turns = appended_turns(simulator, 2)
    request = turns[-1]["content"]
    assert "The first 1 item(s) were valid and are kept" in request
    assert "(got -2)" in request


# -- the sync client ---------------------------------------------------------------------------


@pytest.fixture(params=["asyncio", "trio"])
def backend(request: pytest.FixtureRequest) -> str:
    """The event loop the sync client runs in its thread."""
    return str(request.param)


@pytest.mark.parametrize("mode", [Mode.TOOLS, Mode.JSON])
def test_the_sync_client_reasks(backend: str, mode: Mode) -> None:
    simulator = Simulator(responses=[BAD, GOOD], chunk_size=3)
    with sync_client(simulator, backend, mode=mode) as client:
        stream = client.chat.completions.create_partial(
            model="m", response_model=User, messages=MESSAGES, max_reasks=1
        )
        with stream:
            events = list(stream.events())
        assert stream.attempts == 2
    check_reasked_events(events)
    check_reask_request(simulator, mode)


def test_the_sync_client_keeps_items_yielded(backend: str) -> None:
    simulator = Simulator(responses=[{"items": [ANN, {"name": "Bo"}]}, {"items": [BO]}])
    with sync_client(simulator, backend) as client:
        items = list(
            client.chat.completions.create_iterable(
                model="m", response_model=User, messages=MESSAGES, max_reasks=1
            )
        )
        user = client.chat.completions.create(
            model="m", response_model=User, messages=MESSAGES, max_reasks=1
        )
    assert items == [User(**ANN), User(**BO)]
    assert isinstance(user, User)  # the queue is spent: a generated, valid answer


# -- over loopback -----------------------------------------------------------------------------


@pytest.mark.anyio
async def test_reasks_over_loopback(simulator_url: str, simulator: Simulator) -> None:
    simulator.script(Reply(BAD, chunk_size=2), Reply(GOOD, chunk_size=2))
    async with streamstruct.AsyncClient(api_key="sk-test", base_url=simulator_url) as client:
        stream = client.chat.completions.create_partial(
            model="m", response_model=User, messages=MESSAGES, max_reasks=1
        )
        async with stream:
            events = [event async for event in stream.events()]
    check_reasked_events(events)
    check_reask_request(simulator, Mode.TOOLS)


def test_the_sync_client_reasks_over_loopback(backend: str) -> None:
    simulator = Simulator(responses=[Reply(BAD, chunk_size=2), Reply(GOOD, chunk_size=2)])
    with (
        serve(simulator) as url,
        streamstruct.Client(api_key="sk-test", base_url=url, backend=backend) as client,  # type: ignore[arg-type]
    ):
        stream = client.chat.completions.create_partial(
            model="m", response_model=User, messages=MESSAGES, max_reasks=1
        )
        with stream:
            events = list(stream.events())
        assert stream.attempts == 2
    check_reasked_events(events)
    check_reask_request(simulator, Mode.TOOLS)


# -- the option --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "error"),
    [("1", streamstruct.InvalidArgumentTypeError), (True, TypeError), (-1, ValueError)],
)
def test_max_reasks_is_checked_when_the_call_is_made(
    backend: str, value: object, error: type[Exception]
) -> None:
    simulator = Simulator()
    with sync_client(simulator, backend) as client:
        for method in ("create", "create_partial", "create_iterable"):
            with pytest.raises(error, match="max_reasks") as caught:
                getattr(client.chat.completions, method)(
                    model="m", response_model=User, messages=MESSAGES, max_reasks=value
                )
            assert isinstance(caught.value, streamstruct.InvalidArgumentError)
    assert simulator.requests == []


def test_instructors_name_for_it_is_explained() -> None:
    client = streamstruct.AsyncClient(api_key="sk-test")
    with pytest.raises(TypeError, match="max_reasks= here"):
        client.chat.completions.create_partial(
            model="m",
            response_model=User,
            messages=MESSAGES,
            max_validation_retries=2,  # type: ignore[call-arg]
        )
