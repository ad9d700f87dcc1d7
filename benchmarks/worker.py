"""The child process that measures: one per build of streamstruct (``benchmarks.builds``).

Started as ``python -m benchmarks.worker`` with one copy of streamstruct first on ``PYTHONPATH``.
Its first line (JSON) says which build it imported (``streamstruct.build_info()``, and the file of
every core module); then it reads one JSON command a line on stdin and answers one JSON line, until
stdin closes. One event loop for its whole life, so that a concurrency client's pool stays open
from one round to the next. The garbage collector stays on, as users have it; a collection before
each timed run keeps one run's garbage off the next one's bill.

Commands:

- ``{"op": "e2e", "method": M, "url": BASE, "mode": "tools"|"content", "rows": R}``: one stream of
  the Report of ``R`` rows, timed (client CPU ``time.process_time``, wall), the final object
  checked; ``M`` is one of ``METHODS``:

  - ``floor``: ``httpx.AsyncClient.stream`` + ``aiter_lines()`` + ``json.loads`` of every ``data:``
    event, nothing else: what any client must at least do;
  - ``streamstruct``: ``create_partial(response_model=Report)`` (``Mode.TOOLS`` or
    ``Mode.JSON_SCHEMA``), iterated to the end, then ``get_final()``;
  - ``pipeline``: the same from an in-process transport (``benchmarks.e2e.ReplayTransport``, one
    event per read): no HTTP, no socket, only streamstruct's own pipeline;
  - ``openai_helper``: ``AsyncOpenAI.chat.completions.stream(response_format=Report)``, every event
    iterated, then ``get_final_completion()`` (content mode);
  - ``instructor``: ``instructor.from_openai(..., mode=JSON_SCHEMA).chat.completions.create_partial``
    (content mode).

  A mode of ``server.DIALECT_MODES`` (the same Report in the Responses API's or Anthropic's
  events, ``benchmarks.e2e_dialects``) runs ``floor``, ``streamstruct`` (``AsyncClient(api=...)``)
  and ``pipeline`` on that API's endpoint, and the official SDKs' own helpers:

  - ``openai_responses_helper``: ``AsyncOpenAI.responses.stream(text_format=Report)``
    (``responses_content``; it parses the text once, at its end);
  - ``anthropic_helper``: ``AsyncAnthropic.messages.stream(tools=..., tool_choice=...)``, every
    event iterated (it re-parses the tool input so far on every ``input_json_delta``: the
    ``input_json`` snapshots), then ``get_final_message()`` (``anthropic_tools``).

  Every method but the pipeline shares this worker's one ``httpx.AsyncClient`` (the same
  connection settings, a kept-alive connection).
- ``{"op": "shapes", "sizes": [...], "repeat": R, "min_seconds": S}``: issue 14's shapes in this build
  (``benchmarks.shapes.measure``), every figure as a dict;
- ``{"op": "open", "client": C, "n": N, "url": BASE}``: a concurrency client (``streamstruct`` or
  ``openai_raw``) with a pool of N connections, opened by an untimed round of N streams;
  ``{"op": "round", "client": C, "n": N, "streams": S}``: S streams by N workers, timed;
  ``{"op": "close", "client": C}``.
"""

from __future__ import annotations

import asyncio
import gc
import json
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any, Final

import httpx

import streamstruct
from benchmarks import e2e, e2e_dialects, server
from benchmarks._common import optional

__all__ = ["METHODS", "main"]

FLOOR: Final = "floor"
STREAMSTRUCT: Final = "streamstruct"
PIPELINE: Final = "pipeline"
OPENAI_HELPER: Final = "openai_helper"
INSTRUCTOR: Final = "instructor"
OPENAI_RESPONSES_HELPER: Final = "openai_responses_helper"
ANTHROPIC_HELPER: Final = "anthropic_helper"
METHODS: Final = (
    FLOOR,
    STREAMSTRUCT,
    PIPELINE,
    OPENAI_HELPER,
    INSTRUCTOR,
    OPENAI_RESPONSES_HELPER,
    ANTHROPIC_HELPER,
)
OPENAI_RAW: Final = "openai_raw"
#: generous, and the same for every client: 1,000 connections opened at once on a busy machine
#: must not trip a client's own default connect timeout
TIMEOUT: Final = httpx.Timeout(120.0, connect=60.0)
#: seconds an idle connection is kept by the clients' pools: all the run
KEEP_ALIVE: Final = 3_600

_REQUEST: Final = {"model": e2e.MODEL, "messages": list(e2e.MESSAGES), "stream": True}
_RESPONSE_FORMAT: Final = {
    "type": "json_schema",
    "json_schema": {"name": "Report", "schema": e2e.Report.model_json_schema(), "strict": False},
}
Run = Callable[[httpx.AsyncClient, str, str], Awaitable[tuple[object, int]]]


def _module(name: str) -> Any:
    """An optional package (the ``bench`` extra), imported when a method first needs it."""
    module = optional(name)
    if module is None:
        raise RuntimeError(f"{name} is not installed (pip install -e '.[bench]')")
    return module


def _mode(mode: str) -> streamstruct.Mode:
    tools = e2e_dialects.KIND_OF.get(mode, mode) == server.TOOLS
    return streamstruct.Mode.TOOLS if tools else streamstruct.Mode.JSON_SCHEMA


async def _floor(http: httpx.AsyncClient, url: str, mode: str) -> tuple[object, int]:
    loads = json.loads
    path = e2e_dialects.path_for(mode)
    async with http.stream("POST", f"{url}{path}", json=_REQUEST) as response:
        async for line in response.aiter_lines():
            if line.startswith("data: ") and line != "data: [DONE]":
                loads(line[6:])
    return None, 0


async def _streamstruct(http: httpx.AsyncClient, url: str, mode: str) -> tuple[object, int]:
    api = e2e_dialects.API_OF.get(mode, "chat")
    if api == "chat":
        client = streamstruct.AsyncClient(
            base_url=url, api_key="sk-bench", http_client=http, max_retries=0
        )
    else:  # Anthropic's base URL has no /v1: the client adds it
        base_url = url.removesuffix("/v1") if api == "anthropic" else url
        client = streamstruct.AsyncClient(
            base_url=base_url, api_key="sk-bench", http_client=http, max_retries=0, api=api
        )
    stream = client.chat.completions.create_partial(
        model=e2e.MODEL, response_model=e2e.Report, messages=e2e.MESSAGES, mode=_mode(mode)
    )
    snapshots = 0
    async for _partial in stream:
        snapshots += 1
    return await stream.get_final(), snapshots


async def _openai_helper(http: httpx.AsyncClient, url: str, mode: str) -> tuple[object, int]:
    openai = _module("openai")

    client = openai.AsyncOpenAI(api_key="sk-bench", base_url=url, http_client=http, max_retries=0)
    snapshots = 0
    async with client.chat.completions.stream(
        model=e2e.MODEL, messages=list(e2e.MESSAGES), response_format=e2e.Report
    ) as stream:
        async for event in stream:
            if event.type == "content.delta":
                snapshots += 1
        completion = await stream.get_final_completion()
    return completion.choices[0].message.parsed, snapshots


async def _instructor(http: httpx.AsyncClient, url: str, mode: str) -> tuple[object, int]:
    instructor, openai = _module("instructor"), _module("openai")

    client = instructor.from_openai(
        openai.AsyncOpenAI(api_key="sk-bench", base_url=url, http_client=http, max_retries=0),
        mode=instructor.Mode.JSON_SCHEMA,
    )
    snapshots = 0
    last: object = None
    async for partial in client.chat.completions.create_partial(
        model=e2e.MODEL, response_model=e2e.Report, messages=list(e2e.MESSAGES)
    ):
        snapshots += 1
        last = partial
    return last, snapshots


async def _openai_responses_helper(
    http: httpx.AsyncClient, url: str, mode: str
) -> tuple[object, int]:
    openai = _module("openai")

    client = openai.AsyncOpenAI(api_key="sk-bench", base_url=url, http_client=http, max_retries=0)
    snapshots = 0
    async with client.responses.stream(
        model=e2e.MODEL, input=list(e2e.MESSAGES), text_format=e2e.Report
    ) as stream:
        async for event in stream:
            if event.type == "response.output_text.delta":
                snapshots += 1
        response = await stream.get_final_response()
    return response.output_parsed, snapshots


_ANTHROPIC_CLIENTS: dict[str, Any] = {}


def _anthropic_client(url: str) -> Any:
    """One ``AsyncAnthropic`` per base URL for the worker's life (anthropic 2.x refuses an httpx
    client: it keeps its own httpx2 connection alive, as the floor's is)."""
    client = _ANTHROPIC_CLIENTS.get(url)
    if client is None:
        anthropic = _module("anthropic")
        client = anthropic.AsyncAnthropic(
            api_key="sk-bench", base_url=url, max_retries=0, timeout=TIMEOUT.read
        )
        _ANTHROPIC_CLIENTS[url] = client
    return client


async def _anthropic_helper(http: httpx.AsyncClient, url: str, mode: str) -> tuple[object, int]:
    client = _anthropic_client(url.removesuffix("/v1"))
    tool = {"name": "Report", "input_schema": e2e.Report.model_json_schema()}
    snapshots = 0
    async with client.messages.stream(
        model=e2e.MODEL,
        max_tokens=100_000,
        messages=list(e2e.MESSAGES),
        tools=[tool],
        tool_choice={"type": "tool", "name": "Report"},
    ) as stream:
        async for event in stream:
            if event.type == "input_json":
                snapshots += 1
        message = await stream.get_final_message()
    return e2e.Report.model_validate(message.content[0].input), snapshots


_RUNS: Final[dict[str, Run]] = {
    FLOOR: _floor,
    STREAMSTRUCT: _streamstruct,
    OPENAI_HELPER: _openai_helper,
    INSTRUCTOR: _instructor,
    OPENAI_RESPONSES_HELPER: _openai_responses_helper,
    ANTHROPIC_HELPER: _anthropic_helper,
}


# -- concurrency clients -------------------------------------------------------------------------

Stream = Callable[[], Awaitable[None]]
Close = Callable[[], Awaitable[None]]


def _concurrent_streamstruct(url: str, limits: httpx.Limits) -> tuple[Stream, Close]:
    """streamstruct's own client and pool, as its users get them."""
    client = streamstruct.AsyncClient(
        base_url=url, api_key="sk-bench", limits=limits, max_retries=0, timeout=TIMEOUT
    )

    async def one() -> None:
        stream = client.chat.completions.create_partial(
            model=e2e.MODEL,
            response_model=e2e.Report,
            messages=e2e.MESSAGES,
            mode=streamstruct.Mode.JSON_SCHEMA,
        )
        async for _partial in stream:
            pass
        await stream.get_final()

    return one, client.aclose


def _concurrent_openai_raw(url: str, limits: httpx.Limits) -> tuple[Stream, Close]:
    """The openai SDK's raw streaming (chunks only), on an ``httpx.AsyncClient`` of its own."""
    openai = _module("openai")

    http = httpx.AsyncClient(limits=limits, timeout=TIMEOUT)
    client = openai.AsyncOpenAI(
        base_url=url, api_key="sk-bench", http_client=http, max_retries=0, timeout=TIMEOUT
    )

    async def one() -> None:
        stream = await client.chat.completions.create(
            model=e2e.MODEL,
            messages=list(e2e.MESSAGES),
            stream=True,
            stream_options={"include_usage": True},
            response_format=_RESPONSE_FORMAT,
        )
        async for _chunk in stream:
            pass

    return one, http.aclose


_CONCURRENT: Final = {STREAMSTRUCT: _concurrent_streamstruct, OPENAI_RAW: _concurrent_openai_raw}


async def _round(one: Stream, workers: int, streams: int) -> None:
    remaining = streams

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await one()

    await asyncio.gather(*(worker() for _ in range(workers)))


# -- the command loop ----------------------------------------------------------------------------


class _Worker:
    def __init__(self) -> None:
        self.http = httpx.AsyncClient(
            timeout=TIMEOUT, limits=httpx.Limits(keepalive_expiry=KEEP_ALIVE)
        )
        self.expected: dict[int, e2e.Report] = {}
        self.frames: dict[tuple[str, int], tuple[bytes, ...]] = {}
        self.concurrent: dict[str, tuple[Stream, Close, int]] = {}

    async def e2e(self, method: str, url: str, mode: str, rows: int) -> dict[str, Any]:
        expected = self.expected.get(rows)
        if expected is None:
            expected = self.expected[rows] = e2e.Report.model_validate(e2e.build_report(rows))
        if method == PIPELINE:
            key = (mode, rows)
            frames = self.frames.get(key) or self.frames.setdefault(key, server.frames_for(*key))
            http = httpx.AsyncClient(transport=e2e.ReplayTransport(frames))
            run: Run = _streamstruct
            url = e2e.BASE_URL
        else:
            http, run = self.http, _RUNS[method]
        gc.collect()
        wall, cpu = time.perf_counter(), time.process_time()
        final, snapshots = await run(http, url, mode)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        if method == PIPELINE:
            await http.aclose()
        if method != FLOOR and final != expected:
            raise AssertionError(f"{method}: the final object is not the Report: {final!r:.200}")
        return {"cpu": cpu, "wall": wall, "snapshots": snapshots}

    async def open(self, client: str, n: int, url: str) -> dict[str, Any]:
        limits = httpx.Limits(
            max_connections=n, max_keepalive_connections=n, keepalive_expiry=KEEP_ALIVE
        )
        one, close = _CONCURRENT[client](url, limits)
        self.concurrent[client] = (one, close, n)
        await _round(one, n, n)
        return {}

    async def round(self, client: str, streams: int) -> dict[str, Any]:
        one, _close, n = self.concurrent[client]
        gc.collect()
        wall, cpu = time.perf_counter(), time.process_time()
        await _round(one, n, streams)
        return {"cpu": time.process_time() - cpu, "wall": time.perf_counter() - wall}

    async def shapes(self, sizes: list[int], repeat: int, min_seconds: float) -> dict[str, Any]:
        """Issue 14's shapes (``benchmarks.shapes``) in this build. In a thread of its own: its
        streams run their own event loops (``asyncio.run``); this loop waits meanwhile."""
        from benchmarks import shapes

        loop = asyncio.get_running_loop()
        figures = await loop.run_in_executor(
            None, lambda: shapes.measure(sizes, repeat=repeat, min_seconds=min_seconds)
        )
        return {"figures": shapes.as_json(figures)}

    async def close(self, client: str) -> dict[str, Any]:
        _one, close, _n = self.concurrent.pop(client)
        await close()
        return {}


def _hello() -> dict[str, Any]:
    info = streamstruct.build_info()
    files = {name: getattr(sys.modules[name], "__file__", "?") for name in info.compiled_modules}
    files.update({name: getattr(sys.modules[name], "__file__", "?") for name in info.pure_modules})
    return {"build": info.build, "version": info.version, "files": files}


async def _serve() -> None:
    worker = _Worker()
    loop = asyncio.get_running_loop()
    print(json.dumps(_hello()), flush=True)
    while line := await loop.run_in_executor(None, sys.stdin.readline):
        command = json.loads(line)
        op = command.pop("op")
        try:
            answer = await getattr(worker, op)(**command)
        except Exception as exc:  # said to the parent, which raises it there
            answer = {"error": f"{op} {command}: {type(exc).__name__}: {exc}"}
        print(json.dumps(answer), flush=True)
    for client in list(worker.concurrent):
        await worker.close(client)
    await worker.http.aclose()


def main() -> int:
    server.raise_fd_limit()
    asyncio.run(_serve())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
