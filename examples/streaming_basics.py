"""Streaming basics: three ways to watch a ``User`` being written.

The instructor "Streaming Basics" example, in streamstruct:

1. ``create(..., stream=True)``: iterate the stream for the partial model so far, keep the last;
2. ``create_partial(...)``: the same stream, by its own name, reading fields as they fill in;
3. progress tracking: the example's ``ProgressTracker`` class becomes ``progress(partial_user)``.

Run it: ``python examples/streaming_basics.py`` (offline: see ``_client.py``).
"""

from __future__ import annotations

from _client import MODEL, sync_client, where
from pydantic import BaseModel

from streamstruct import Partial, progress
from streamstruct.testing import Reply, Simulator


class User(BaseModel):
    name: str
    age: int
    bio: str


# What the simulator answers, in order, in place of a model (unused with a real endpoint).
simulator = Simulator(
    responses=[
        Reply({"name": "Alice", "age": 28, "bio": "Alice maps coral reefs and bakes sourdough."}),
        Reply({"name": "Bob", "age": 35, "bio": "Software developer with 10 years of experience."}),
        Reply({"name": "Carol", "age": 42, "bio": "Carol is a passionate potter and climber."}),
    ],
    chunk_size=8,
)
client = sync_client(simulator)


def stream_user_info() -> User:
    """1. ``stream=True``: each chunk is the partial model constructed so far."""
    stream = client.chat.completions.create(
        model=MODEL,
        response_model=User,
        stream=True,
        messages=[
            {
                "role": "user",
                "content": "Generate a profile for a fictional user named Alice who is 28 years old.",
            }
        ],
    )
    for chunk in stream:
        print(f"Received chunk: {chunk!r}")
    # The last chunk has every field; get_final() is the same data as a validated User.
    return stream.get_final()


def stream_user_with_partial() -> None:
    """2. ``create_partial``: fields appear as they are generated."""
    user_stream = client.chat.completions.create_partial(
        model=MODEL,
        response_model=User,
        messages=[
            {
                "role": "user",
                "content": "Generate a profile for a fictional user named Bob who is 35 years "
                "old and works as a software developer.",
            }
        ],
    )
    print("Streaming user data:")
    for partial_user in user_stream:
        # A field is None until it begins; age appears only once complete (never 3 on its way
        # to 35), while bio grows as its text arrives.
        print(
            f"Current state: name={partial_user.name!r}, age={partial_user.age}, "
            f"bio={partial_user.bio!r}"
        )


def show(partial_user: Partial[User]) -> None:
    """3. The ProgressTracker, in one line: ``progress()`` knows which fields are complete."""
    print(
        f"Progress: {progress(partial_user)} - Current data: {partial_user.model_dump(exclude_none=True)}"
    )


def stream_with_progress() -> None:
    user_stream = client.chat.completions.create_partial(
        model=MODEL,
        response_model=User,
        messages=[
            {
                "role": "user",
                "content": "Generate a profile for a fictional user named Carol who is 42 years old.",
            }
        ],
    )
    for partial_user in user_stream:
        show(partial_user)


if __name__ == "__main__":
    print(f"(answers from {where()})\n")
    with client:
        user = stream_user_info()
        print(f"\nFinal result: {user!r}\n")
        stream_user_with_partial()
        print()
        stream_with_progress()
