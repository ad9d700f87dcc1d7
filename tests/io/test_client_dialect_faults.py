"""The client in the Responses and Anthropic dialects against the simulator's faults of that API.

The simulator plays each fault in the API's own shape (tests/testing/test_simulator_apis.py checks
that with the official SDKs); here streamstruct's own client reads them, on asyncio, trio and the
sync client: a connection lost mid-answer, a stall past the read timeout, a stream without its
final event, an HTTP 529 retried. Each error carries the partial and the text read so far.

Border: the request per mode, error events, refusals and cuts from rendered replies are
test_client_dialects.py's; recorded streams are test_client_dialect_recordings.py's.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

import streamstruct
from streamstruct import APITimeoutError, StreamInterruptedError
from streamstruct.testing import (
    Disconnect,
    ErrorStatus,
    Fault,
    MissingDone,
    Reply,
    Simulator,
    Stall,
    simulated_client,
    simulated_sync_client,
)

pytestmark = pytest.mark.anyio

DIALECTS = ("responses", "anthropic")
MESSAGES = [{"role": "user", "content": "A user."}]
ANN = {"name": "Annabelle Smith", "age": 3}
FULL = '{"name":"Annabelle Smith","age":3}'


class User(BaseModel):
    name: str
    age: int


@pytest.fixture(params=["asyncio", "trio", "sync"])
def flavour(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def anyio_backend(flavour: str) -> str:
    return "asyncio" if flavour == "sync" else flavour


async def create(flavour: str, api: str, simulator: Simulator, **options: Any) -> Any:
    """One ``create`` on the chosen client: the value, or the StreamStructError it raised."""
    options = {"api": api, "backoff": 0.0, **options}
    call: dict[str, Any] = {"model": "m", "response_model": User, "messages": MESSAGES}
    try:
        if flavour == "sync":
            with simulated_sync_client(simulator, **options) as sync:
                return sync.chat.completions.create(**call)
        async with simulated_client(simulator, **options) as client:
            return await client.chat.completions.create(**call)
    except streamstruct.StreamStructError as error:
        return error


def answer(fault: Fault) -> Simulator:
    return Simulator(responses=[Reply(ANN, faults=fault), Reply({"name": "Bo", "age": 4})])


@pytest.mark.parametrize("api", DIALECTS)
async def test_a_connection_lost_mid_answer_is_interrupted_with_the_partial(
    flavour: str, api: str
) -> None:
    # Cut after more and more bytes until the answer has begun: every cut is an interruption
    # whose text is a prefix of the answer, and the one inside the name carries it partly filled.
    for after in range(400, 6000, 100):
        error = await create(flavour, api, answer(Disconnect(after_bytes=after)))
        assert isinstance(error, StreamInterruptedError), (after, error)
        assert FULL.startswith(error.text)
        if '"name":"Ann' in error.text and error.text != FULL:
            assert error.partial is not None
            assert error.partial.name.startswith("Ann")
            return
    pytest.fail("no cut fell inside the answer")


@pytest.mark.parametrize("api", DIALECTS)
async def test_a_stall_past_the_read_timeout_is_a_timeout_with_the_partial(
    flavour: str, api: str
) -> None:
    simulator = answer(Stall(after=4, seconds=5))
    error = await create(flavour, api, simulator, timeout=0.3, max_retries=0)
    assert isinstance(error, APITimeoutError), error
    assert error.partial is not None
    assert error.partial.name.startswith("Ann")
    assert FULL.startswith(error.text)


async def test_a_responses_stream_without_response_completed_is_interrupted(
    flavour: str,
) -> None:
    # No response.completed: no status, no usage; the whole JSON came, but the stream did not end.
    error = await create(flavour, "responses", answer(MissingDone()))
    assert isinstance(error, StreamInterruptedError), error
    assert (error.partial.name, error.partial.age) == ("Annabelle Smith", 3)
    assert error.text == FULL


async def test_an_anthropic_stream_without_message_stop_ends_on_its_stop_reason(
    flavour: str,
) -> None:
    # message_delta carried the stop reason: the answer is whole without message_stop.
    assert await create(flavour, "anthropic", answer(MissingDone())) == User(
        name="Annabelle Smith", age=3
    )


@pytest.mark.parametrize("api", DIALECTS)
async def test_an_http_529_is_retried_then_answered(flavour: str, api: str) -> None:
    simulator = answer(ErrorStatus(529))
    assert await create(flavour, api, simulator) == User(name="Bo", age=4)
    assert len(simulator.requests) == 2
