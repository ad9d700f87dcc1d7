"""The demo's scenario: the model, the prompts, the scripted answers, and the two parts that
stream them (what an application does); the views draw it (:mod:`.views`)."""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final, Literal

from pydantic import BaseModel, Field

from .. import (
    AsyncClient,
    AsyncIterableStream,
    Mode,
    Usage,
    __version__,
    progress,
)
from .views import View

__all__ = [
    "ALICE",
    "API_ENVIRONMENT",
    "CHUNK_SIZES",
    "DEFAULT_ANTHROPIC_MODEL",
    "DEFAULT_DELAY",
    "DEFAULT_MODEL",
    "LIST_PROMPT",
    "PROFILE_PROMPT",
    "USERS",
    "User",
    "run",
    "serve_web",
]


class User(BaseModel):
    """The seed's model: a fictional user."""

    name: str
    age: int
    bio: str = Field(description="Two or three sentences about them.")


PROFILE_PROMPT: Final = "Generate a profile for a fictional user named Alice who is 28 years old."
LIST_PROMPT: Final = (
    "Generate four fictional users: Bob (35), Carol (42), Dave (31) and Erin (26), "
    "each with a one-sentence bio."
)

# What the simulator answers: what a good model would write for the two prompts above.
ALICE: Final = {
    "name": "Alice",
    "age": 28,
    "bio": (
        "Alice is a marine biologist who maps coral reefs off the coast of Portugal. "
        "On weekends she restores vintage bicycles and bakes far too much sourdough. "
        "She is learning Japanese to read her favourite novels in the original."
    ),
}
USERS: Final = [
    {
        "name": "Bob",
        "age": 35,
        "bio": "Backend developer who writes Rust by day and jazz by night.",
    },
    {"name": "Carol", "age": 42, "bio": "Ceramicist and rock climber with a soft spot for maps."},
    {"name": "Dave", "age": 31, "bio": "Data journalist who turns city budgets into stories."},
    {"name": "Erin", "age": 26, "bio": "Paramedic, amateur astronomer and relentless optimist."},
]
# Irregular delta sizes, as a tokenizer cuts text: 1 to 6 characters.
CHUNK_SIZES: Final = (3, 5, 2, 4, 6, 1, 4, 3)
DEFAULT_DELAY: Final = 0.02
DEFAULT_MODEL: Final = "gpt-4o-mini"
DEFAULT_ANTHROPIC_MODEL: Final = "claude-sonnet-4-5"
# Per --api: the environment variables of its API key and base URL (as the client reads them).
API_ENVIRONMENT: Final = {
    "chat": ("OPENAI_API_KEY", "OPENAI_BASE_URL"),
    "responses": ("OPENAI_API_KEY", "OPENAI_BASE_URL"),
    "anthropic": ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL"),
}


# -- the demo itself --------------------------------------------------------------------------


@dataclass
class _Report:
    """What the run measured, for the closing summary."""

    usages: list[Usage | None] = field(default_factory=list)
    timings: list[str] = field(default_factory=list)


async def _stream_one_object(client: AsyncClient, model: str, view: View, report: _Report) -> None:
    """Part 1: ``create_partial`` — one ``User``, its fields filling in."""
    view.heading(1, "One object, field by field", "create_partial(response_model=User)")
    view.prompt(PROFILE_PROMPT)
    started = time.perf_counter()
    first: float | None = None
    async with client.chat.completions.create_partial(
        model=model,
        response_model=User,
        messages=[{"role": "user", "content": PROFILE_PROMPT}],
    ) as stream:
        async for partial in stream:  # a Partial[User] each time something visible changed
            if first is None:
                first = time.perf_counter() - started
            view.snapshot(partial, progress(partial).percent, stream.text)
        user = await stream.get_final()  # the validated User
    elapsed = time.perf_counter() - started
    view.object_done(user, elapsed)
    report.usages.append(stream.usage)
    first_text = f"first snapshot after {first:.2f} s, " if first is not None else ""
    report.timings.append(f"User: {first_text}complete in {elapsed:.2f} s")


async def _stream_a_list(client: AsyncClient, model: str, view: View, report: _Report) -> None:
    """Part 2: ``create_iterable`` — users, each one whole and validated as soon as it closes."""
    view.heading(2, "A list, one complete object at a time", "create_iterable(response_model=User)")
    view.prompt(LIST_PROMPT)
    started = time.perf_counter()
    count = 0
    # The annotation works around a typing gap: mypy does not infer User from response_model here.
    stream: AsyncIterableStream[User] = client.chat.completions.create_iterable(
        model=model,
        response_model=User,
        messages=[{"role": "user", "content": LIST_PROMPT}],
    )

    async def receive() -> None:
        nonlocal count
        async for user in stream:  # a validated User, the moment its closing brace arrives
            count += 1
            view.item(count, user, time.perf_counter() - started)

    async with stream:
        # Just `await receive()`, while a terminal also shows the raw JSON arriving meanwhile.
        await view.follow(lambda: stream.text, receive)
    elapsed = time.perf_counter() - started
    view.list_done()
    report.usages.append(stream.usage)
    report.timings.append(f"list: {count} user{'' if count == 1 else 's'} in {elapsed:.2f} s")


async def run(args: argparse.Namespace, view: View) -> None:
    report = _Report()
    started = time.perf_counter()
    if args.base_url is not None:
        client = _endpoint_client(args)
        where = f"{args.base_url}, model {args.model}, {Mode(args.mode).value} mode"
    else:
        from ..testing import Reply, Simulator, simulated_client

        simulator = Simulator(
            responses=[Reply(ALICE), Reply({"items": USERS}, tool_calls="per_item")],
            chunk_size=CHUNK_SIZES,
            delay=args.delay,
            # Without JSON mode a model wraps its JSON in a Markdown fence, with prose around it.
            style="md_json" if args.mode == Mode.MD_JSON.value else "json",
        )
        client = simulated_client(simulator, mode=args.mode, api=args.api)
        where = "in-process simulator: no network, no API key"
    if args.api != "chat":
        where += f", {_API_NAMES[args.api]}"
    view.title(f"streamstruct {__version__} demo", where)
    async with client:
        await _stream_one_object(client, args.model, view, report)
        await _stream_a_list(client, args.model, view, report)
    report.timings.append(f"total {time.perf_counter() - started:.2f} s")
    view.summary(_usage_line(report.usages), report.timings)


def _clients(args: argparse.Namespace) -> tuple[AsyncClient, AsyncClient]:
    """The clients for the profile and the list: one for a real endpoint, else two simulators,
    each answering every request with its part of the seed (so the page can run again)."""
    if args.base_url is not None:
        client = _endpoint_client(args)
        return client, client
    from ..testing import Reply, Simulator, simulated_client

    style: Literal["json", "md_json"] = "md_json" if args.mode == Mode.MD_JSON.value else "json"
    answers = Reply(ALICE), Reply({"items": USERS}, tool_calls="per_item")
    profile, users = (
        simulated_client(
            Simulator(responses=answer, chunk_size=CHUNK_SIZES, delay=args.delay, style=style),
            mode=args.mode,
            api=args.api,
        )
        for answer in answers
    )
    return profile, users


_API_NAMES: Final = {"responses": "the Responses API", "anthropic": "Anthropic Messages"}


def _endpoint_client(args: argparse.Namespace) -> AsyncClient:
    return AsyncClient(
        base_url=args.base_url,
        api_key=args.api_key,
        mode=args.mode,
        timeout=args.timeout,
        api=args.api,
    )


def serve_web(args: argparse.Namespace) -> None:
    """``demo --web``: the same scenario, played in a browser (``streamstruct.web``)."""
    from .web import DemoApp, serve_demo

    profile, users = _clients(args)
    serve_demo(DemoApp(profile, users, args.model), host=args.host, port=args.port)


def _usage_line(usages: Sequence[Usage | None]) -> str:
    known = [usage for usage in usages if usage is not None]
    if not known:
        return "not reported by the server"
    prompt = sum(usage.prompt_tokens for usage in known)
    completion = sum(usage.completion_tokens for usage in known)
    total = sum(usage.total_tokens for usage in known)
    requests = f"{len(usages)} request{'s' if len(usages) != 1 else ''}"
    return f"{requests}, {prompt} prompt + {completion} completion = {total} tokens"
