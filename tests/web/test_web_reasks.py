"""``web.sse`` over a stream that re-asks (``max_reasks``): the ``reasked`` event, and the browser
client dropping the rejected answer's value before the new one's operations.

Border: the protocol's ``reasked`` event and ``client.js``'s handling of it (under node); the
re-ask loop itself is ``tests/io/test_client_reasks.py``'s.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import BaseModel, Field
from web_support import NodeClient, collect, node_client

from streamstruct import web
from streamstruct.testing import Simulator, simulated_client

EVENT = re.compile(rb"event: ([a-z]+)\ndata: ([^\n]*)\n\n")
MESSAGES = [{"role": "user", "content": "Make up a person."}]
BAD: dict[str, Any] = {"name": "Ann", "age": -3}
GOOD: dict[str, Any] = {"name": "Bo", "age": 30}


class User(BaseModel):
    name: str
    age: int = Field(ge=0)


@pytest.fixture(scope="module")
def node() -> Iterator[NodeClient]:
    yield from node_client()


@pytest.mark.anyio
async def test_a_reask_is_a_reasked_event_and_the_browser_starts_again(node: NodeClient) -> None:
    simulator = Simulator(responses=[BAD, GOOD], chunk_size=3)
    async with simulated_client(simulator) as client:
        stream = client.chat.completions.create_partial(
            model="m", response_model=User, messages=MESSAGES, max_reasks=1
        )
        body = b"".join(await collect(web.sse(stream)))
    events = [(name.decode(), json.loads(data)) for name, data in EVENT.findall(body)]
    names = [name for name, _ in events]
    assert names.count("reasked") == 1
    at = names.index("reasked")
    assert events[at][1]["attempt"] == 2
    assert "greater than or equal to 0" in events[at][1]["message"]
    assert events[at + 1][0] == "ops"
    assert events[at + 1][1][0] == ["set", [], {}]  # the new answer from the root
    assert events[-1][0] == "end"
    assert events[-1][1]["value"] == GOOD
    answer = node.run([body], paths=[["name"]])
    assert answer["error"] is None
    states = answer["states"]
    values = [state["value"] for state in states]
    dropped = values.index(None, 1)  # the state the reasked event gave: nothing shown
    assert values[dropped - 1]["name"] == "Ann"
    assert states[dropped - 1]["complete"] == [True]  # Ann's name was complete...
    assert states[dropped + 1]["complete"] == [False]  # ...and Bo's is not, yet
    assert values[-1] == GOOD
