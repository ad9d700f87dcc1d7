"""One model, two modes: what ``Mode.TOOLS`` and ``Mode.JSON_SCHEMA`` put in the request.

* ``TOOLS`` (the default) sends the model's JSON schema as a function tool and forces the model to
  call it; the JSON arrives in the tool call's ``arguments``.
* ``JSON_SCHEMA`` sends it as ``response_format`` (OpenAI's structured outputs, made strict); the
  JSON arrives in the message ``content``.

The answer is streamed and validated the same way in both (``ge=0`` included: the schema carries it
and pydantic checks it). The request bodies are printed as sent;
with the simulator, ``simulator.requests`` holds them too (what a test would assert on).

Run it: ``python examples/tools_vs_json_schema.py`` (offline: see ``_client.py``).
"""

from __future__ import annotations

import json

from _client import MODEL, REAL, sync_client, where
from pydantic import BaseModel, Field

from streamstruct import Mode
from streamstruct.testing import Reply, Simulator


class User(BaseModel):
    name: str
    age: int = Field(ge=0)
    bio: str


ALICE = {"name": "Alice", "age": 28, "bio": "Alice maps coral reefs."}
MESSAGES = [{"role": "user", "content": "A fictional user named Alice who is 28."}]

simulator = Simulator(responses=[Reply(ALICE), Reply(ALICE)])


if __name__ == "__main__":
    print(f"(answers from {where()})")
    with sync_client(simulator) as client:
        for mode in (Mode.TOOLS, Mode.JSON_SCHEMA):
            stream = client.chat.completions.create_partial(
                model=MODEL, response_model=User, messages=MESSAGES, mode=mode
            )
            user = stream.get_final()
            assert stream.response is not None
            sent = json.loads(stream.response.request.content)  # the request body, as sent
            if not REAL:
                assert sent == simulator.requests[-1]  # what the simulator received
            print(f"\n== {mode.name}: {user!r}, finish_reason={stream.finish_reason!r}")
            print(f"messages unchanged: {sent.pop('messages') == MESSAGES}")
            print(json.dumps(sent, indent=2))
