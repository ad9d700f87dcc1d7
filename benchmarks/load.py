"""The load benchmark: many concurrent streams from one event loop, against the simulator on loopback.

Run from the project root::

    python -m benchmarks.load                         # 1,000 streams on asyncio
    python -m benchmarks.load --streams 1000 --backend trio
    python -m benchmarks.load --streams 200 --tracemalloc --json out.json

The simulator (``streamstruct.testing.Simulator`` on uvicorn) runs in a child process, so that the
figures are the client's alone (one process, one event loop, one connection pool) and the server
does not compete with it for the GIL. Every stream is a ``create_partial`` of :class:`Order` - a
model with nested lists (``items: list[Item]``, each with ``tags: list[Tag]``, and ``notes``) - its
answer sent in 4-character deltas, one SSE event each, as a model writes; all are started at once
and iterated to the end. Each final object is compared with the expected one.

Printed: wall time; the client's CPU time (when it is well below the wall time, the server - a
single uvicorn process - is the bottleneck, not the client); SSE events per second (all streams together, counted from the body the
simulator sends); snapshots per second; the slowest stream; the client's peak memory - its
maximum resident set size (``getrusage``) and, with ``--tracemalloc`` (slower), the peak of the
Python heap during the run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import tracemalloc
from dataclasses import asdict, dataclass
from typing import Any

import anyio
import httpx
from pydantic import BaseModel

import streamstruct


class Tag(BaseModel):
    label: str
    weight: float


class Item(BaseModel):
    sku: str
    quantity: int
    tags: list[Tag]


class Order(BaseModel):
    id: int
    customer: str
    items: list[Item]
    notes: list[str]


def order_value(items: int = 4) -> dict[str, Any]:
    """The answer every stream gets: deterministic, about 120 bytes of JSON per item."""
    return {
        "id": 7,
        "customer": "Zoë Müller — Café «Nord»",
        "items": [
            {
                "sku": f"SKU-{n:04d}",
                "quantity": n + 1,
                "tags": [{"label": f"tag-{n}-{k}", "weight": k / 4} for k in range(3)],
            }
            for n in range(items)
        ],
        "notes": ["leave at the door", "fragile: glass", "日本語 note"],
    }


MESSAGES = [{"role": "user", "content": "An order."}]


@dataclass
class Result:
    backend: str
    streams: int
    events: int
    snapshots: int
    seconds: float
    client_cpu_seconds: float
    events_per_second: float
    snapshots_per_second: float
    slowest_stream: float
    peak_rss_mib: float
    peak_heap_mib: float | None
    failures: int


async def count_events(url: str) -> int:
    """SSE events in one answer, as the simulator sends it in the mode the streams use."""
    async with streamstruct.AsyncClient(base_url=url, api_key="sk-load", max_retries=0) as client:
        stream = client.chat.completions.create_partial(
            model="m", response_model=Order, messages=MESSAGES
        )
        async with stream:
            request = stream.response.request if stream.response is not None else None
            await stream.get_final()
    assert request is not None
    async with httpx.AsyncClient() as http:
        body = (await http.post(str(request.url), content=request.content)).content
    return body.count(b"\ndata: ") + int(body.startswith(b"data: "))


async def run_load(
    url: str, streams: int, *, expected: Order, heap: bool = False, backend: str = "asyncio"
) -> Result:
    """Start ``streams`` streams at once on one client; wait for all; return the figures."""
    events_each = await count_events(url)
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=streams)
    http = httpx.AsyncClient(limits=limits, timeout=httpx.Timeout(120.0), follow_redirects=False)
    snapshots = 0
    failures = 0
    slowest = 0.0
    async with (
        http,
        streamstruct.AsyncClient(base_url=url, api_key="sk-load", http_client=http) as client,
    ):

        async def one() -> None:
            nonlocal snapshots, failures, slowest
            started = time.perf_counter()
            stream = client.chat.completions.create_partial(
                model="m", response_model=Order, messages=MESSAGES
            )
            try:
                async for _ in stream:
                    snapshots += 1
                final = await stream.get_final()
            except streamstruct.StreamStructError:
                failures += 1
                return
            if final != expected:
                failures += 1
            slowest = max(slowest, time.perf_counter() - started)

        if heap:
            tracemalloc.start()
        started = time.perf_counter()
        cpu_started = time.process_time()
        async with anyio.create_task_group() as tasks:
            for _ in range(streams):
                tasks.start_soon(one)
        seconds = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
        peak_heap = None
        if heap:
            peak_heap = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
    events = events_each * streams
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return Result(
        backend=backend,
        streams=streams,
        events=events,
        snapshots=snapshots,
        seconds=round(seconds, 3),
        client_cpu_seconds=round(cpu, 3),
        events_per_second=round(events / seconds),
        snapshots_per_second=round(snapshots / seconds),
        slowest_stream=round(slowest, 3),
        peak_rss_mib=round(rss, 1),
        peak_heap_mib=None if peak_heap is None else round(peak_heap, 1),
        failures=failures,
    )


_SERVER = """
import sys
from streamstruct.testing import Reply, Simulator, serve
sys.path.insert(0, {root!r})
from benchmarks.load import order_value
with serve(Simulator(responses=Reply(order_value()), chunk_size=4)) as url:
    print(url, flush=True)
    sys.stdin.read()
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.load", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--backend", choices=["asyncio", "trio"], default="asyncio")
    parser.add_argument(
        "--tracemalloc", action="store_true", help="also trace the Python heap's peak"
    )
    parser.add_argument("--json", metavar="PATH", help="write the figures as JSON")
    args = parser.parse_args(argv)

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    server = subprocess.Popen(
        [sys.executable, "-c", _SERVER.format(root=root)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        expected = Order.model_validate(order_value())
        result = anyio.run(
            lambda: run_load(
                url, args.streams, expected=expected, heap=args.tracemalloc, backend=args.backend
            ),
            backend=args.backend,
        )
    finally:
        if server.stdin is not None:
            server.stdin.close()
        server.wait(timeout=30)
    print(
        f"{result.streams} concurrent Partial[Order] streams on {result.backend}, one client, loopback"
    )
    print(
        f"  wall time         {result.seconds:.2f} s (slowest stream {result.slowest_stream:.2f} s)"
    )
    print(
        f"  client CPU        {result.client_cpu_seconds:.2f} s "
        f"({result.client_cpu_seconds / result.seconds:.0%} of the wall time; the rest is waiting "
        "for the server)"
    )
    print(f"  SSE events        {result.events:,} ({result.events_per_second:,} events/s)")
    print(f"  snapshots         {result.snapshots:,} ({result.snapshots_per_second:,}/s)")
    print(f"  peak RSS          {result.peak_rss_mib:.1f} MiB (the whole client process)")
    if result.peak_heap_mib is not None:
        print(f"  peak Python heap  {result.peak_heap_mib:.1f} MiB (tracemalloc, during the run)")
    print(f"  failures          {result.failures}")
    if args.json:
        with open(args.json, "w") as out:
            json.dump(asdict(result), out, indent=2)
    return 1 if result.failures else 0


if __name__ == "__main__":
    sys.exit(main())
