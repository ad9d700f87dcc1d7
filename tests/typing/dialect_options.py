"""Checked by mypy (tests/io/test_client_dialects.py::test_mypy_checks_the_dialects_options), not run.

The Responses API's and Anthropic's own request parameters are typed on both clients, as the chat
ones are. Each bad call carries the ``type: ignore`` code mypy must report for it (``--strict``
reports an unneeded one); the good calls carry none.
"""

from __future__ import annotations

from pydantic import BaseModel

from streamstruct import AsyncClient, Client

m = [{"role": "user", "content": "hi"}]


class U(BaseModel):
    name: str


def made() -> None:
    Client(api="anthropic")
    AsyncClient(api="responses")
    AsyncClient(api="chat")
    Client(api="gemini")  # type: ignore[arg-type]
    AsyncClient(api="openai")  # type: ignore[arg-type]


def good_sync(client: Client) -> None:
    c = client.chat.completions
    c.create(
        model="m",
        response_model=U,
        messages=m,
        max_tokens=1024,
        top_k=5,
        stop_sequences=["END"],
        metadata={"user_id": "u1"},
        thinking={"type": "enabled", "budget_tokens": 2048},
        service_tier="standard_only",
        output_config={"effort": "low"},
    )
    c.create_partial(
        model="m",
        response_model=U,
        messages=m,
        reasoning={"effort": "low", "summary": "auto"},
        store=False,
        previous_response_id="resp_1",
        include=["reasoning.encrypted_content"],
        max_output_tokens=500,
        truncation="auto",
    )


async def good_async(client: AsyncClient) -> None:
    c = client.chat.completions
    await c.create(model="m", response_model=U, messages=m, top_k=3, stop_sequences=["x"])
    c.create_partial(model="m", response_model=U, messages=m, max_output_tokens=10)


def bad_sync(client: Client) -> None:
    c = client.chat.completions
    c.create(model="m", response_model=U, messages=m, top_k="5")  # type: ignore[call-overload]
    c.create(model="m", response_model=U, messages=m, stop_sequences=3)  # type: ignore[call-overload]
    c.create_partial(model="m", response_model=U, messages=m, truncation="some")  # type: ignore[call-overload]
    c.create_partial(model="m", response_model=U, messages=m, max_output_tokens="9")  # type: ignore[call-overload]
    c.create(model="m", response_model=U, messages=m, thinkin={})  # type: ignore[call-overload]


async def bad_async(client: AsyncClient) -> None:
    c = client.chat.completions
    await c.create(model="m", response_model=U, messages=m, top_k="5")  # type: ignore[call-overload]
    await c.create(model="m", response_model=U, messages=m, previous_response_id=1)  # type: ignore[call-overload]
    c.create_partial(model="m", response_model=U, messages=m, thinking="on")  # type: ignore[call-overload]
    c.create_partial(model="m", response_model=U, messages=m, service_tier="cheap")  # type: ignore[call-overload]
