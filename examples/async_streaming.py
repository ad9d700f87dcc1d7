"""Async streaming: the same streams with ``await`` and ``async for``, on asyncio (or trio).

Two forms:

* ``stream = await client.chat.completions.create_partial(...)`` sends the request (an HTTP error
  such as a 401 is raised right there), then ``async for`` reads the snapshots; the response is
  closed when the loop ends, breaks or is cancelled;
* ``async with client.chat.completions.create_partial(...) as stream:`` closes the response when
  the block exits, whatever happens in it, and ``await stream.get_final()`` is the validated model.

Run it: ``python examples/async_streaming.py`` (offline: see ``_client.py``).
"""

from __future__ import annotations

import asyncio

from _client import MODEL, async_client, where
from pydantic import BaseModel

from streamstruct import progress
from streamstruct.testing import Reply, Simulator


class User(BaseModel):
    name: str
    age: int
    bio: str


simulator = Simulator(
    responses=[
        Reply({"name": "Dave", "age": 31, "bio": "Dave turns city budgets into stories."}),
        Reply({"name": "Erin", "age": 26, "bio": "Erin is a paramedic and an amateur astronomer."}),
    ],
    chunk_size=10,
)


async def main() -> None:
    print(f"(answers from {where()})\n")
    async with async_client(simulator) as client:
        # 1. await, then async for.
        user_stream = await client.chat.completions.create_partial(
            model=MODEL,
            response_model=User,
            messages=[
                {
                    "role": "user",
                    "content": "Generate a profile for a fictional user named Dave who is 31 years old.",
                }
            ],
        )
        async for partial_user in user_stream:
            print(f"Async stream update: {partial_user!r}")

        # 2. async with: the response is closed when the block exits.
        async with client.chat.completions.create_partial(
            model=MODEL,
            response_model=User,
            messages=[
                {
                    "role": "user",
                    "content": "Generate a profile for a fictional user named Erin who is 26 years old.",
                }
            ],
        ) as stream:
            async for partial_user in stream:
                print(
                    f"{progress(partial_user)!s:>4}  {partial_user.model_dump(exclude_none=True)}"
                )
            user = await stream.get_final()
        print(f"\nFinal: {user!r}")
        if stream.usage is not None:
            print(f"Usage: {stream.usage.total_tokens} tokens")


if __name__ == "__main__":
    asyncio.run(main())  # or trio.run(main): streamstruct runs on both
