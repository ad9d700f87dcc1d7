"""Error handling: what goes wrong mid-stream, and what each error carries.

Every error streamstruct raises is a ``StreamStructError``; one raised once the stream has begun
carries ``partial`` (the last snapshot) and ``text`` (the raw JSON received), so nothing already
paid for is lost. Three cases:

1. truncated output: the model hit ``max_tokens`` before its JSON closed -> ``IncompleteOutputError``;
2. a 429 then a success: rate limits (and 5xx, timeouts before the stream) are retried with
   backoff, honouring ``Retry-After``; with ``max_retries=0`` the ``RateLimitError`` is raised;
3. a refusal -> ``RefusalError`` with the model's words.

Case 1 runs against a real endpoint too (with a small ``max_tokens``); cases 2 and 3 need faults on
demand, so they always use the simulator (``streamstruct.testing``).

Run it: ``python examples/error_handling.py`` (offline: see ``_client.py``).
"""

from __future__ import annotations

from _client import MODEL, sync_client, where
from pydantic import BaseModel

from streamstruct import (
    IncompleteOutputError,
    RateLimitError,
    RefusalError,
    StreamStructError,
)
from streamstruct.testing import (
    ErrorStatus,
    Refusal,
    Reply,
    Simulator,
    Truncate,
    simulated_sync_client,
)


class User(BaseModel):
    name: str
    age: int
    bio: str


ALICE = {"name": "Alice", "age": 28, "bio": "Alice maps coral reefs off the coast of Portugal."}
MESSAGES = [{"role": "user", "content": "Generate a profile for Alice, 28, with a long bio."}]


def truncated() -> None:
    print("1. Truncated output")
    # The simulator cuts the answer as max_tokens would; a real model is cut by max_tokens itself.
    simulator = Simulator(responses=Reply(ALICE, faults=Truncate(after_chars=45)))
    with sync_client(simulator) as client:
        try:
            user = client.chat.completions.create(
                model=MODEL, response_model=User, messages=MESSAGES, stream=True, max_tokens=12
            ).get_final()
            print(f"   the model fitted its answer in 12 tokens: {user!r}")
        except IncompleteOutputError as error:
            print(f"   {type(error).__name__}: finish_reason={error.finish_reason!r}")
            print(f"   error.text    = {error.text!r}")
            print(f"   error.partial = {error.partial!r}")


def rate_limited() -> None:
    print("\n2. A 429, then a success")
    simulator = Simulator(responses=[Reply(faults=ErrorStatus(429, retry_after=0.2)), Reply(ALICE)])
    with simulated_sync_client(simulator) as client:  # max_retries=2 by default
        user = client.chat.completions.create(model=MODEL, response_model=User, messages=MESSAGES)
        print(f"   {user!r} after {len(simulator.requests)} requests (waited the 0.2 s asked)")

    simulator = Simulator(responses=Reply(faults=ErrorStatus(429, retry_after=0.2)))
    with simulated_sync_client(simulator, max_retries=0) as client:
        try:
            client.chat.completions.create(model=MODEL, response_model=User, messages=MESSAGES)
        except RateLimitError as error:
            print(f"   with max_retries=0: {type(error).__name__}, status {error.status_code}")
            print(f"   error.body = {error.body!r}")


def refused() -> None:
    print("\n3. A refusal")
    simulator = Simulator(responses=Reply(faults=Refusal("I can't help with that.")))
    with simulated_sync_client(simulator) as client:
        stream = client.chat.completions.create_partial(
            model=MODEL, response_model=User, messages=MESSAGES
        )
        try:
            for _partial in stream:
                pass
        except RefusalError as error:
            print(f"   {type(error).__name__}: error.refusal = {error.refusal!r}")


if __name__ == "__main__":
    print(f"(case 1 answers from {where()})\n")
    try:
        truncated()
        rate_limited()
        refused()
    except StreamStructError as error:  # anything else: the one root catches it all
        print(f"unexpected: {type(error).__name__}: {error}")
        raise
