"""Iterable: many objects, each yielded whole and validated the moment its closing brace arrives.

``create_iterable(response_model=User)`` streams users one at a time: the first can be used (saved,
shown, sent on) while the model is still writing the others. ``create(response_model=Iterable[User])``
waits and returns them all as a list.

Run it: ``python examples/iterable.py`` (offline: see ``_client.py``).
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from _client import MODEL, sync_client, where
from pydantic import BaseModel

from streamstruct.testing import Reply, Simulator


class User(BaseModel):
    name: str
    age: int
    bio: str


PEOPLE = [
    {
        "name": "Bob",
        "age": 35,
        "bio": "Backend developer who writes Rust by day and jazz by night.",
    },
    {"name": "Carol", "age": 42, "bio": "Ceramicist and rock climber with a soft spot for maps."},
    {"name": "Dave", "age": 31, "bio": "Data journalist who turns city budgets into stories."},
]
MESSAGES = [
    {"role": "user", "content": "Generate three fictional users, each with a one-line bio."}
]

# With tools (the default mode) a model answers a list as parallel tool calls, one per item.
simulator = Simulator(
    responses=[
        Reply({"items": PEOPLE}, tool_calls="per_item", delay=0.005),
        Reply({"items": PEOPLE}, tool_calls="per_item"),
    ],
    chunk_size=6,
)

if __name__ == "__main__":
    print(f"(answers from {where()})\n")
    with sync_client(simulator) as client:
        started = time.perf_counter()
        stream = client.chat.completions.create_iterable(
            model=MODEL, response_model=User, messages=MESSAGES
        )
        for user in stream:  # a User, complete and validated
            print(f"{time.perf_counter() - started:5.2f} s  {user!r}")
        print(f"\n{len(stream.get_final())} users, finish_reason={stream.finish_reason!r}")

        # Not streamed: the whole list at once.
        users = client.chat.completions.create(
            model=MODEL, response_model=Iterable[User], messages=MESSAGES
        )
        print(f"create(response_model=Iterable[User]) -> {[user.name for user in users]}")
