"""Checked by mypy (tests/request/test_call_options.py::test_mypy_checks_both_clients_alike), not run.

Each bad call carries the ``type: ignore`` code mypy must report for it: ``--strict`` reports an
unneeded one, so a call that mypy let through (as the sync client's ``**options: Any`` once did)
fails the test. The good calls carry none: an error there fails it too.
"""

from __future__ import annotations

from collections.abc import Iterable

import httpx
from pydantic import BaseModel
from typing_extensions import assert_type

from streamstruct import AsyncClient, Client, IterableStream, Mode, Partial, PartialStream

MESSAGES = [{"role": "user", "content": "hi"}]
m = MESSAGES


class User(BaseModel):
    name: str


def good_sync(client: Client) -> None:
    completions = client.chat.completions
    user = completions.create(
        model="m",
        response_model=User,
        messages=MESSAGES,
        mode="json_schema",
        strict=True,
        max_retries=1,
        timeout=httpx.Timeout(5.0),
        deadline=30,
        validation_context={"k": 1},
        temperature=0.2,
        max_tokens=300,
        max_completion_tokens=300,
        seed=7,
        stop=["\n"],
        top_p=0.9,
        user="u",
        metadata={"purpose": "test"},
        reasoning_effort="low",
        service_tier="flex",
        parallel_tool_calls=False,
        logprobs=True,
        top_logprobs=2,
        frequency_penalty=0.1,
        presence_penalty=0.1,
        logit_bias={"50256": -100},
        prediction={"type": "content", "content": "x"},
        store=False,
        extra_body={"anything": [1, 2]},
        extra_headers={"X-Trace": "1"},
    )
    assert_type(user, User)
    partial = completions.create_partial(model="m", response_model=User, messages=MESSAGES, seed=1)
    assert_type(partial, PartialStream[User])
    items = completions.create_iterable(
        model="m", response_model=User, messages=MESSAGES, mode=Mode.JSON
    )
    assert_type(items, IterableStream[User])


async def good_async(client: AsyncClient) -> None:
    user = await client.chat.completions.create(
        model="m", response_model=User, messages=MESSAGES, mode="tools", deadline=3, stop="x"
    )
    assert_type(user, User)
    stream = client.chat.completions.create(
        model="m", response_model=User, messages=MESSAGES, stream=True, temperature=0
    )
    async for snapshot in stream:
        assert_type(snapshot, Partial[User])


U = User


def bad_sync(client: Client) -> None:
    c = client.chat.completions
    c.create(model="m", response_model=U, messages=m, mode="bogus")  # type: ignore[call-overload]
    c.create(model="m", response_model=U, messages=m, deadlin=3)  # type: ignore[call-overload]
    c.create_partial(model="m", response_model=U, messages=m, context={})  # type: ignore[call-overload]
    c.create_iterable(model="m", response_model=Iterable[U], messages=m, temperatur=0)  # type: ignore[call-overload]
    c.create(model="m", response_model=U, messages=m, seed="7")  # type: ignore[call-overload]
    c.create(model="m", response_model=U, messages=m, reasoning_effort="huge")  # type: ignore[call-overload]
    c.create(model="m", response_model=U, messages=m, n=2)  # type: ignore[call-overload]
    c.create_partial(model="m", response_model=U, messages=m, stream=False)  # type: ignore[call-overload]


async def bad_async(client: AsyncClient) -> None:
    c = client.chat.completions
    await c.create(model="m", response_model=U, messages=m, mode="bogus")  # type: ignore[call-overload]
    await c.create(model="m", response_model=U, messages=m, deadlin=3)  # type: ignore[call-overload]
    c.create_partial(model="m", response_model=U, messages=m, context={})  # type: ignore[call-overload]
    c.create_iterable(model="m", response_model=Iterable[U], messages=m, temperatur=0)  # type: ignore[call-overload]
    await c.create(model="m", response_model=U, messages=m, seed="7")  # type: ignore[call-overload]
    await c.create(model="m", response_model=U, messages=m, service_tier="x")  # type: ignore[call-overload]
    await c.create(model="m", response_model=U, messages=m, n=2)  # type: ignore[call-overload]
