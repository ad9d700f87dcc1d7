"""The web bridge's costs: ``python -m benchmarks.web [--size BYTES] [--repeat N]``.

1. Server side, one document streamed in 4-character deltas (replayed from memory, so the
   upstream costs nothing): the CPU per upstream event of iterating ``stream.events()`` (what a
   hand-written bridge reads), against ``web.sse(stream)`` (keep-alives on, the default, and off),
   and the bytes ``web.sse`` sends per event it sends and in all, against the document's JSON.
   Target: ``web.sse`` at most 1.3x the CPU of iterating the stream.
2. Browser side: the JS client (``web.CLIENT_JS``, under node) applying the events of a 100 KB and
   of a 1 MB document (their ``web.sse`` bodies, read in 16 KB pieces). Target: linear, the 1 MB
   document at most 12x the time of the 100 KB one.

Timings are medians of ``--repeat`` runs with the garbage collector off; a run that shares its
machine is noisy, the ratios (measured in the same run) less so. Not part of ``benchmarks.suite``.
"""

from __future__ import annotations

import argparse
import gc
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import anyio
import httpx
from pydantic import BaseModel

import streamstruct
from streamstruct import web
from streamstruct.web._server import DEFAULT_KEEP_ALIVE

PIECE_CHARS = 4
CPU_TARGET = 1.3
LINEAR_TARGET = 12.0
MESSAGES = [{"role": "user", "content": "A long report."}]


class Row(BaseModel):
    id: int
    name: str
    score: float
    tags: list[str]
    note: str


class Document(BaseModel):
    title: str
    summary: str
    rows: list[Row]


def build_document(size: int) -> dict[str, Any]:
    """A document of about ``size`` bytes of JSON: a summary (a fifth) and rows of mixed fields."""
    summary = ("The reef survey found more coral than last year. " * (size // 250 + 1))[: size // 5]
    rows: list[dict[str, Any]] = []
    document = {"title": "Reef survey", "summary": summary, "rows": rows}
    used = len(json.dumps(document))
    while used < size:
        n = len(rows)
        row = {
            "id": n,
            "name": f"Site {n}",
            "score": round(n * 0.37 % 10, 2),
            "tags": ["reef", "survey", f"zone-{n % 7}"],
            "note": "Healthy branching corals, some bleaching at the edges.",
        }
        rows.append(row)
        used += len(json.dumps(row)) + 1
    return document


def transcript(document: dict[str, Any]) -> list[bytes]:
    """The document as an OpenAI chat-completion stream (JSON mode), one piece per event."""
    text = json.dumps(document, separators=(",", ":"))

    def frame(delta: dict[str, Any], finish: str | None = None) -> bytes:
        chunk = {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        return b"data: " + json.dumps(chunk).encode() + b"\n\n"

    frames = [frame({"role": "assistant", "content": ""})]
    frames += [
        frame({"content": text[i : i + PIECE_CHARS]}) for i in range(0, len(text), PIECE_CHARS)
    ]
    return [*frames, frame({}, "stop"), b"data: [DONE]\n\n"]


class _Replay(httpx.AsyncByteStream):
    def __init__(self, frames: Sequence[bytes]) -> None:
        self._frames = frames

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for data in self._frames:
            yield data


def _client(frames: Sequence[bytes]) -> streamstruct.AsyncClient:
    def answer(request: httpx.Request) -> httpx.Response:
        headers = {"content-type": "text/event-stream"}
        return httpx.Response(200, headers=headers, stream=_Replay(frames))

    http = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    return streamstruct.AsyncClient(
        base_url="http://replay/v1", api_key="x", http_client=http, max_retries=0, mode="json"
    )


def _stream(client: streamstruct.AsyncClient) -> Any:
    return client.chat.completions.create_partial(
        model="m", response_model=Document, messages=MESSAGES
    )


async def _iterate(client: streamstruct.AsyncClient) -> int:
    count = 0
    async for _event in _stream(client).events():
        count += 1
    return count


async def _sse(client: streamstruct.AsyncClient, keep_alive: float | None) -> list[bytes]:
    body = web.sse(_stream(client), keep_alive=keep_alive)
    return [data async for data in body]


def _cpu(run: Callable[[], Awaitable[object]], repeat: int) -> tuple[float, object]:
    """The median CPU seconds of ``run`` and its last result."""
    times = []
    result: object = None
    for _ in range(repeat):
        gc.collect()
        gc.disable()
        try:
            started = time.process_time()
            result = anyio.run(run)
            times.append(time.process_time() - started)
        finally:
            gc.enable()
    return statistics.median(times), result


def server_side(size: int, repeat: int) -> tuple[list[str], bool]:
    frames = transcript(build_document(size))
    client = _client(frames)
    events = len(frames) - 3  # the pieces
    base, _ = _cpu(lambda: _iterate(client), repeat)
    with_keep_alive, body = _cpu(lambda: _sse(client, DEFAULT_KEEP_ALIVE), repeat)
    without, _ = _cpu(lambda: _sse(client, None), repeat)
    chunks = b"".join(body)  # type: ignore[arg-type]
    sent_events = chunks.count(b"\n\n")
    output = len(json.dumps(build_document(size), separators=(",", ":")))
    ratio = with_keep_alive / base
    passed = ratio <= CPU_TARGET
    lines = [
        f"server side: a {size / 1000:g} KB document, {events} upstream events of {PIECE_CHARS} characters",
        f"  iterating stream.events()      {base / events * 1e6:7.2f} us CPU per event",
        f"  web.sse (keep-alive, default)  {with_keep_alive / events * 1e6:7.2f} us CPU per event"
        f"  {ratio:.2f}x  (target <= {CPU_TARGET}x): {'PASS' if passed else 'FAIL'}",
        f"  web.sse (keep_alive=None)      {without / events * 1e6:7.2f} us CPU per event"
        f"  {without / base:.2f}x",
        f"  bytes sent: {len(chunks)} in {sent_events} events, {len(chunks) / sent_events:.1f} per "
        f"event, {len(chunks) / events:.1f} per upstream event; {len(chunks) / output:.2f}x the "
        "document's JSON (the end event repeats it whole: 1x of that)",
    ]
    return lines, passed


_NODE_TIMER = """
import { readObject } from %s;
import { readFileSync } from "node:fs";
const body = readFileSync(process.argv[2]);
const times = [];
let states = 0;
for (let run = 0; run < %d; run++) {
  const stream = new ReadableStream({ start(controller) {
    for (let at = 0; at < body.length; at += 16384) controller.enqueue(body.subarray(at, at + 16384));
    controller.close();
  } });
  const started = performance.now();
  states = 0;
  for await (const state of readObject(new Response(stream))) states += state ? 1 : 0;
  times.push(performance.now() - started);
}
times.sort((a, b) => a - b);
console.log(JSON.stringify({ms: times[times.length >> 1], states}));
"""


def browser_side(small: int, big: int, repeat: int) -> tuple[list[str], bool | None]:
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        return ["browser side: node is not installed, not measured"], None
    results = {}
    with tempfile.TemporaryDirectory() as work:
        timer = Path(work) / "timer.mjs"
        timer.write_text(_NODE_TIMER % (json.dumps(web.CLIENT_JS.as_uri()), repeat))
        for size in (small, big):
            body = Path(work) / f"{size}.sse"
            body.write_bytes(
                b"".join(anyio.run(_sse, _client(transcript(build_document(size))), None))
            )
            done = subprocess.run(
                [node, str(timer), str(body)], capture_output=True, text=True, check=False
            )
            if done.returncode != 0:
                raise RuntimeError(f"the client failed under node: {done.stderr}")
            results[size] = json.loads(done.stdout)
    ratio = results[big]["ms"] / results[small]["ms"]
    passed = ratio <= LINEAR_TARGET * big / small / 10
    lines = [f"browser side: the JS client (node {_node_version(node)}) applying web.sse's events"]
    for size in (small, big):
        lines.append(
            f"  {size / 1000:g} KB document: {results[size]['ms']:8.1f} ms for {results[size]['states']} states"
        )
    lines.append(
        f"  {big / 1000:g} KB / {small / 1000:g} KB = {ratio:.1f}x  "
        f"(target <= {LINEAR_TARGET * big / small / 10:g}x): {'PASS' if passed else 'FAIL'}"
    )
    return lines, passed


def _node_version(node: str) -> str:
    return subprocess.run(
        [node, "--version"], capture_output=True, text=True, check=True
    ).stdout.strip()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.web", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--size", type=int, default=100_000, help="server side: document bytes")
    parser.add_argument(
        "--browser-sizes", type=int, nargs=2, default=[100_000, 1_000_000], metavar=("SMALL", "BIG")
    )
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    lines, server_ok = server_side(args.size, args.repeat)
    more, browser_ok = browser_side(*args.browser_sizes, args.repeat)
    print("\n".join([*lines, *more]))
    return 0 if server_ok and browser_ok is not False else 1


if __name__ == "__main__":
    sys.exit(main())
