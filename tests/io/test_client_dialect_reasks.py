"""Re-asks (``max_reasks``) through the client speaking the Responses API and Anthropic Messages.

The request shapes of a re-ask per dialect are tests/request/test_reask_shapes.py's; here the
client itself, on asyncio, trio and the sync client, closes an invalid answer in each dialect and
mode, sends the rejected answer and its errors in that dialect's own shapes, and streams the new
answer into the same stream (a ``Reasked`` event, then the answer that passed).
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from pydantic import BaseModel, Field
from test_client_dialects import DIALECTS, KEY, MESSAGES, reply_for, serve, stream_of

import streamstruct

pytestmark = pytest.mark.anyio

BAD = {"name": "Ann", "age": -3}
GOOD = {"name": "Ann", "age": 31}


class Person(BaseModel):
    name: str
    age: int = Field(ge=0)


@pytest.fixture(params=["asyncio", "trio", "sync"])
def flavour(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def anyio_backend(flavour: str) -> str:
    return "asyncio" if flavour == "sync" else flavour


async def events_of(flavour: str, options: dict[str, Any]) -> tuple[list[Any], int]:
    call: dict[str, Any] = {
        "model": "m",
        "messages": MESSAGES,
        "response_model": Person,
        "max_reasks": 1,
    }
    if flavour == "sync":
        with streamstruct.Client(**options) as sync:
            stream = sync.chat.completions.create_partial(**call)
            with stream:
                return list(stream.events()), stream.attempts
    async with streamstruct.AsyncClient(**options) as client:
        astream = client.chat.completions.create_partial(**call)
        async with astream:
            return [event async for event in astream.events()], astream.attempts


@pytest.mark.parametrize("api", DIALECTS)
@pytest.mark.parametrize("mode", ["tools", "json_schema", "json", "md_json"])
async def test_a_dialect_reasks_in_its_own_shapes(flavour: str, api: str, mode: str) -> None:
    server = serve(stream_of(api, reply_for(mode, BAD)), stream_of(api, reply_for(mode, GOOD)))
    options = {
        "api": api,
        "api_key": KEY,
        "mode": mode,
        "backoff": 0.0,
        "transport": httpx.MockTransport(server),
    }
    events, attempts = await events_of(flavour, options)

    reasked = [event for event in events if isinstance(event, streamstruct.Reasked)]
    assert [event.attempt for event in reasked] == [2]
    assert "age" in str(reasked[0].error)
    assert isinstance(events[-1], streamstruct.StreamEnded)
    assert events[-1].value == Person(**GOOD)
    assert attempts == 2
    assert len(server.requests) == 2
    first, second = (json.loads(request.content) for request in server.requests)
    key = "input" if api == "responses" else "messages"
    added = second[key][len(first[key]) :]
    # Two more turns, in the dialect's own shapes, the error naming the field that failed.
    if api == "responses" and mode == "tools":
        assert [item["type"] for item in added] == ["function_call", "function_call_output"]
        assert added[0]["call_id"] == added[1]["call_id"]
        assert "age" in added[1]["output"]
    elif api == "anthropic" and mode == "tools":
        assert [turn["role"] for turn in added] == ["assistant", "user"]
        (use,) = added[0]["content"]
        (result,) = added[1]["content"]
        assert use["type"] == "tool_use"
        assert result["type"] == "tool_result"
        assert result["tool_use_id"] == use["id"]
        assert result["is_error"] is True
        assert "age" in result["content"]
    else:
        assert [turn["role"] for turn in added] == ["assistant", "user"]
        assert "-3" in json.dumps(added[0])
        assert "age" in json.dumps(added[1])
    # Everything else in the request is the same.
    assert {k: v for k, v in first.items() if k != key} == {
        k: v for k, v in second.items() if k != key
    }


async def items_of(flavour: str, options: dict[str, Any]) -> list[Any]:
    call: dict[str, Any] = {
        "model": "m",
        "messages": MESSAGES,
        "response_model": Person,
        "max_reasks": 1,
    }
    if flavour == "sync":
        with streamstruct.Client(**options) as sync:
            return list(sync.chat.completions.create_iterable(**call))
    async with streamstruct.AsyncClient(**options) as client:
        return [item async for item in client.chat.completions.create_iterable(**call)]


@pytest.mark.parametrize("api", DIALECTS)
@pytest.mark.parametrize("mode", ["tools", "json"])
async def test_a_dialect_keeps_the_items_yielded_and_asks_for_the_rest(
    flavour: str, api: str, mode: str
) -> None:
    bo = {"name": "Bo", "age": 42}
    if mode == "tools":  # one call per item
        first, second = reply_for(mode, GOOD, BAD), reply_for(mode, bo)
    else:
        first = reply_for(mode, {"items": [GOOD, BAD]})
        second = reply_for(mode, {"items": [bo]})
    server = serve(stream_of(api, first), stream_of(api, second))
    options = {
        "api": api,
        "api_key": KEY,
        "mode": mode,
        "backoff": 0.0,
        "transport": httpx.MockTransport(server),
    }
    items = await items_of(flavour, options)
    assert items == [Person(**GOOD), Person(**bo)]  # the kept item is not yielded again
    assert len(server.requests) == 2
    key = "input" if api == "responses" else "messages"
    first_body, second_body = (json.loads(request.content) for request in server.requests)
    added = json.dumps(second_body[key][len(first_body[key]) :])
    assert "kept" in added
