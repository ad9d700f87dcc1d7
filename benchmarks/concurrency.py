"""Section 3 of the suite: N concurrent streams against the simulator over loopback.

The simulator (``streamstruct.testing.Simulator`` served by uvicorn on 127.0.0.1 with
``streamstruct.testing.serve``) runs in a **subprocess**, so the server's CPU is not the client's:
the client's CPU is ``time.process_time()`` of this process, the server's is read from
``/proc/<pid>/stat`` (Linux) and shown to say whether the server was the bottleneck. Every request
is answered with the same small ``Report`` (``benchmarks.e2e``'s, a few rows, JSON in 4-character
``content`` deltas, no delay).

For each N in 1, 10, 100, 1,000: N workers share one client (a pool of N connections, all kept
alive for the whole run: ``httpx.Limits(max_connections=N, max_keepalive_connections=N,
keepalive_expiry=3600)``, and the same timeouts) and
stream back to back until ``max(N, min_streams)`` streams are done; a first, untimed round of N
streams opens the connections. Two clients on the same server, each with its pool built the way
its users get one:

- **streamstruct**: ``create_partial(response_model=Report, mode=Mode.JSON_SCHEMA)`` iterated to the
  end, then ``get_final()`` (every snapshot a validated partial model); the client's own pool
  (``AsyncClient(limits=...)``);
- **openai raw**: ``AsyncOpenAI.chat.completions.create(stream=True, response_format=json_schema)``
  iterated to the end (every chunk a ``ChatCompletionChunk``; no JSON parsed, no model built); an
  ``httpx.AsyncClient(limits=...)`` as ``http_client``.

Both ask for usage (``stream_options.include_usage``), so both get the same SSE events per stream.
Reported: events per second (wall clock), client CPU per event, server CPU per event, how busy
the server was (its CPU over the wall time: near 100% means the server set the pace), and how many
connections the server accepted during the round. streamstruct reads each body to its end and
reuses its connections (0 new ones once the pool is open); the openai SDK closes each response at
``[DONE]``, before its end, so httpcore drops the connection and every stream opens a new one.

Run alone: ``python -m benchmarks.concurrency [--quick] [--n 1,10,100,1000]``; the server alone:
``python -m benchmarks.concurrency --serve`` (prints its base URL, stops when stdin closes).
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import os
import resource
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import httpx

if __package__ in (None, ""):  # run as `python benchmarks/concurrency.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import streamstruct
from benchmarks import e2e
from benchmarks._common import Progress, Target, grid, installed, optional, version

__all__ = [
    "DEFAULT_N",
    "ConcurrencyResults",
    "Measurement",
    "ServerProcess",
    "format_results",
    "main",
    "planned_steps",
    "run",
    "targets",
]

DEFAULT_N: Final = (1, 10, 100, 1_000)
QUICK_N: Final = (1, 10, 100)
REPLY_ROWS: Final = 2
MIN_STREAMS: Final = 100
QUICK_MIN_STREAMS: Final = 20
FD_NEEDED: Final = 8_192
ROUNDS: Final = 3
#: generous, and the same for both clients: 1,000 connections opened at once on a busy machine
#: must not trip a client's own default connect timeout
TIMEOUT: Final = httpx.Timeout(120.0, connect=60.0)
#: seconds an idle connection is kept, by the server and by both clients' pools: all the run
KEEP_ALIVE: Final = 3_600

#: where the server says how many connections it has accepted (outside the API's /v1)
CONNECTIONS_PATH: Final = "/_bench/connections"

STREAMSTRUCT: Final = "streamstruct"
OPENAI_RAW: Final = "openai_raw"
CLIENTS: Final = (STREAMSTRUCT, OPENAI_RAW)
LABELS: Final = {STREAMSTRUCT: "streamstruct", OPENAI_RAW: "openai raw"}

_ROOT: Final = Path(__file__).resolve().parents[1]
_CLOCK_TICKS: Final = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def raise_fd_limit(needed: int = FD_NEEDED) -> int:
    """Raise the soft open-files limit towards ``needed`` (up to the hard limit); the new soft."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    if soft != resource.RLIM_INFINITY and soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
        return want
    return soft


# -- the server, in its own process -------------------------------------------------------------


def _serve(rows: int) -> None:
    """The subprocess: serve the simulator, print the base URL, run until stdin closes.

    uvicorn as ``streamstruct.testing.serve`` configures it, on a socket made with
    ``IPPROTO_TCP``: asyncio sets ``TCP_NODELAY`` on accepted connections only when the listening
    socket's ``proto`` says TCP, and without it every request on a kept-alive connection waits
    about 40 ms (Nagle's algorithm against the client's delayed ACK).
    """
    import threading

    import uvicorn
    from uvicorn.protocols.http.h11_impl import H11Protocol

    from streamstruct.testing import Simulator

    raise_fd_limit()
    simulator = Simulator(responses=e2e.build_report(rows), chunk_size=4)
    accepted = 0

    class Counting(H11Protocol):
        """uvicorn's HTTP/1.1 protocol, counting the connections it is made for."""

        def connection_made(self, transport: Any) -> None:
            nonlocal accepted
            accepted += 1
            super().connection_made(transport)

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == CONNECTIONS_PATH:
            body = str(accepted).encode()
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": body})
            return
        await simulator(scope, receive, send)

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        app,
        interface="asgi3",
        http=Counting,
        ws="none",
        lifespan="off",
        log_config=None,
        log_level="warning",
        access_log=False,
        backlog=4_096,
        # the pools stay open across rounds; uvicorn's 5 s default would close the idle ones
        # while the other client runs, racing the next request on them
        timeout_keep_alive=KEEP_ALIVE,
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise SystemExit("uvicorn did not start")
        time.sleep(0.005)
    print(f"http://127.0.0.1:{sock.getsockname()[1]}/v1", flush=True)
    sys.stdin.read()
    server.should_exit = True
    thread.join(10)


class ServerProcess:
    """The simulator served by uvicorn in a subprocess; a context manager giving the base URL."""

    def __init__(self, rows: int = REPLY_ROWS) -> None:
        self._rows = rows
        self._process: subprocess.Popen[str] | None = None
        self._asking: http.client.HTTPConnection | None = None
        self.url = ""

    def __enter__(self) -> ServerProcess:
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(_ROOT), os.environ.get("PYTHONPATH", "")]),
        }
        self._process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.concurrency", "--serve", "--rows", str(self._rows)],
            cwd=_ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._process.stdout is not None
        self.url = self._process.stdout.readline().strip()
        if not self.url.startswith("http://"):
            self.__exit__()
            raise RuntimeError("the simulator's server process did not start")
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._asking is not None:
            self._asking.close()
            self._asking = None
        process, self._process = self._process, None
        if process is None:
            return
        assert process.stdin is not None
        process.stdin.close()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()

    def connections(self) -> int:
        """Connections the server has accepted so far (asked on one kept-alive connection of its
        own, counted once: differences between two calls count the clients' only)."""
        if self._asking is None:
            netloc = self.url.split("/")[2]
            self._asking = http.client.HTTPConnection(netloc, timeout=60)
        self._asking.request("GET", CONNECTIONS_PATH)
        return int(self._asking.getresponse().read())

    def cpu_seconds(self) -> float | None:
        """The server process's CPU so far (user + system), or None where /proc is missing."""
        if self._process is None:
            return None
        try:
            fields = Path(f"/proc/{self._process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


# -- the clients ---------------------------------------------------------------------------------

_RESPONSE_FORMAT: Final = {
    "type": "json_schema",
    "json_schema": {"name": "Report", "schema": e2e.Report.model_json_schema(), "strict": False},
}
Stream = Callable[[], Awaitable[None]]
Close = Callable[[], Awaitable[None]]


def _streamstruct(url: str, limits: httpx.Limits) -> tuple[Stream, Close]:
    client = streamstruct.AsyncClient(
        base_url=url, api_key="sk-sim", limits=limits, max_retries=0, timeout=TIMEOUT
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


def _openai_raw(url: str, limits: httpx.Limits) -> tuple[Stream, Close]:
    openai = optional("openai")
    assert openai is not None
    http = httpx.AsyncClient(limits=limits, timeout=TIMEOUT)
    client = openai.AsyncOpenAI(
        base_url=url, api_key="sk-sim", http_client=http, max_retries=0, timeout=TIMEOUT
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


_CLIENTS: Final[dict[str, Callable[[str, httpx.Limits], tuple[Stream, Close]]]] = {
    STREAMSTRUCT: _streamstruct,
    OPENAI_RAW: _openai_raw,
}


def events_per_stream(rows: int = REPLY_ROWS) -> int:
    """SSE events in one answer, counted on the same simulator in process (usage included)."""
    from streamstruct.testing import Simulator

    simulator = Simulator(responses=e2e.build_report(rows), chunk_size=4)
    request = {
        "model": e2e.MODEL,
        "messages": list(e2e.MESSAGES),
        "stream": True,
        "stream_options": {"include_usage": True},
        "response_format": _RESPONSE_FORMAT,
    }

    async def count() -> int:
        transport = httpx.ASGITransport(app=simulator)
        async with httpx.AsyncClient(transport=transport) as http:
            response = await http.post("http://sim/v1/chat/completions", json=request)
            return response.text.count("data: ")

    return asyncio.run(count())


@dataclass
class Measurement:
    client: str
    n: int
    streams: int
    events: int
    wall: float
    cpu: float
    server_cpu: float | None
    runs: int = 1
    connections: int | None = None  # connections the server accepted during the round

    @property
    def events_per_second(self) -> float:
        return self.events / self.wall

    @property
    def cpu_per_event_us(self) -> float:
        return self.cpu / self.events * 1e6

    @property
    def server_cpu_per_event_us(self) -> float | None:
        return None if self.server_cpu is None else self.server_cpu / self.events * 1e6

    @property
    def server_busy(self) -> float | None:
        return None if self.server_cpu is None else self.server_cpu / self.wall


async def _round(one: Stream, workers: int, streams: int) -> None:
    remaining = streams

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await one()

    await asyncio.gather(*(worker() for _ in range(workers)))


def measure_level(
    clients: Sequence[str],
    n: int,
    streams: int,
    events: int,
    server: ServerProcess,
    *,
    rounds: int,
    step: Callable[[str], None] | None = None,
) -> list[Measurement]:
    """Each client at concurrency ``n``: ``rounds`` timed rounds of ``streams`` streams each.

    Every client gets its own pool of ``n`` connections, opened by an untimed round of ``n``
    streams; then the clients take turns, round after round, so that a slow spell of the machine
    falls on all of them. Per client, the round with the median events/s counts.
    """

    async def main() -> list[Measurement]:
        # Kept alive as long as the server keeps them: httpx's default of 5 s would close a
        # client's idle pool while the other client runs, and its next round would reconnect.
        limits = httpx.Limits(
            max_connections=n, max_keepalive_connections=n, keepalive_expiry=KEEP_ALIVE
        )
        samples: dict[str, list[Measurement]] = {client: [] for client in clients}
        made = [_CLIENTS[client](server.url, limits) for client in clients]
        ones = [one for one, _close in made]
        try:
            for client, one in zip(clients, ones, strict=False):
                if step is not None:
                    step(f"concurrency: N = {n:,}: {LABELS[client]} (opening {n:,} connections)")
                await _round(one, n, n)
            for index in range(rounds):
                for client, one in zip(clients, ones, strict=False):
                    if step is not None:
                        step(f"concurrency: N = {n:,}: {LABELS[client]} (round {index + 1})")
                    accepted = server.connections()
                    server_cpu = server.cpu_seconds()
                    wall, cpu = time.perf_counter(), time.process_time()
                    await _round(one, n, streams)
                    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                    after = server.cpu_seconds()
                    spent = None if server_cpu is None or after is None else after - server_cpu
                    opened = server.connections() - accepted
                    samples[client].append(
                        Measurement(
                            client,
                            n,
                            streams,
                            streams * events,
                            wall,
                            cpu,
                            spent,
                            connections=opened,
                        )
                    )
        finally:
            for _one, close in made:
                await close()
        chosen: list[Measurement] = []
        for client in clients:
            ranked = sorted(samples[client], key=lambda m: m.events_per_second)
            median = ranked[(len(ranked) - 1) // 2]
            median.runs = len(ranked)
            chosen.append(median)
        return chosen

    return asyncio.run(main())


@dataclass
class ConcurrencyResults:
    measurements: list[Measurement] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    def get(self, client: str, n: int) -> Measurement | None:
        return next((m for m in self.measurements if m.client == client and m.n == n), None)


def planned_steps(ns: Sequence[int], rounds: int = ROUNDS, clients: Sequence[str] = CLIENTS) -> int:
    return 1 + len(ns) * len(clients) * (1 + rounds)


def run(
    *,
    ns: Sequence[int] = DEFAULT_N,
    min_streams: int = MIN_STREAMS,
    rows: int = REPLY_ROWS,
    rounds: int = ROUNDS,
    clients: Sequence[str] = CLIENTS,
    progress: Progress | None = None,
) -> ConcurrencyResults:
    if progress is not None:
        progress.step("concurrency: starting the server process")
    fd_limit = raise_fd_limit()
    events = events_per_stream(rows)
    results = ConcurrencyResults()
    wanted = clients
    clients = [c for c in wanted if c != OPENAI_RAW or installed("openai")]
    if OPENAI_RAW in wanted and not installed("openai"):
        results.skipped[OPENAI_RAW] = "openai not installed"
    step = None if progress is None else progress.step
    with ServerProcess(rows) as server:
        for n in ns:
            streams = max(n, min_streams)
            results.measurements += measure_level(
                clients, n, streams, events, server, rounds=rounds, step=step
            )
    results.meta = {
        "reply_rows": rows,
        "reply_json_bytes": len(e2e._dump(e2e.build_report(rows)).encode()),
        "events_per_stream": events,
        "min_streams": min_streams,
        "rounds": rounds,
        "fd_limit": fd_limit,
        "cpus": os.cpu_count(),
        "versions": {name: version(name) for name in ("uvicorn", "httpx", "openai")},
    }
    return results


def targets(results: ConcurrencyResults) -> list[Target]:
    out: list[Target] = []
    ns = sorted({m.n for m in results.measurements})
    one, big = (ns[0], ns[-1]) if ns else (1, 1)
    low, high = results.get(STREAMSTRUCT, one), results.get(STREAMSTRUCT, big)
    ratio = (
        None
        if low is None or high is None or one == big
        else high.cpu_per_event_us / low.cpu_per_event_us
    )
    out.append(
        Target.ratio(
            f"concurrency: streamstruct CPU/event at N = {big:,} / at N = {one:,}",
            ratio,
            at_most=1.5,
        )
    )
    for n in ns:
        ours, theirs = results.get(STREAMSTRUCT, n), results.get(OPENAI_RAW, n)
        value = (
            None
            if ours is None or theirs is None
            else ours.events_per_second / theirs.events_per_second
        )
        out.append(
            Target.ratio(
                f"concurrency N = {n:,}: streamstruct events/s / openai raw events/s",
                value,
                at_least=1,
            )
        )
    return out


def format_results(results: ConcurrencyResults) -> str:
    meta = results.meta
    header = ["N", "streams", "events"]
    for client in CLIENTS:
        label = LABELS[client]
        header += [
            f"{label} events/s",
            f"{label} CPU us/ev",
            "server us/ev",
            "server busy",
            "new conns",
        ]
    body: list[list[str]] = []
    for n in sorted({m.n for m in results.measurements}):
        first = next(m for m in results.measurements if m.n == n)
        line = [f"{n:,}", f"{first.streams:,}", f"{first.events:,}"]
        for client in CLIENTS:
            m = results.get(client, n)
            if m is None:
                line += ["-", "-", "-", "-", "-"]
                continue
            server = m.server_cpu_per_event_us
            busy = m.server_busy
            line += [
                f"{m.events_per_second:,.0f}",
                f"{m.cpu_per_event_us:.1f}",
                "?" if server is None else f"{server:.1f}",
                "?" if busy is None else f"{busy:.0%}",
                "?" if m.connections is None else f"{m.connections:,}",
            ]
        body.append(line)
    versions = ", ".join(f"{k} {v or 'not installed'}" for k, v in meta.get("versions", {}).items())
    lines = [
        "3. Concurrency: N concurrent streams against the simulator over loopback (server in a"
        " subprocess)",
        f"   each answer {meta.get('reply_json_bytes', 0):,} bytes of JSON,"
        f" {meta.get('events_per_stream', 0)} SSE events; {versions}; {meta.get('cpus')} CPUs",
        "",
        *grid(header, body, left=1),
        "",
        f"The median (by events/s) of {meta.get('rounds')} round(s), the clients taking turns."
        " events/s: wall clock; CPU us/ev: this (client) process's process_time per event;"
        " server: the uvicorn process's.",
        "server busy: its CPU / wall time (near 100%: the one-process server set the pace, not the"
        " client). new conns: connections the server accepted during the round.",
        "streamstruct: create_partial(Report, Mode.JSON_SCHEMA), a validated snapshot per read,"
        " its own pool; openai raw: create(stream=True), chunks only, an httpx.AsyncClient; both"
        " pools N connections, all kept alive.",
    ]
    for client, why in results.skipped.items():
        lines.append(f"Skipped: {LABELS[client]} ({why}; pip install 'streamstruct[bench]').")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.concurrency")
    parser.add_argument("--serve", action="store_true", help="only run the server (subprocess)")
    parser.add_argument("--rows", type=int, default=REPLY_ROWS, help="rows in each answer")
    parser.add_argument("--n", help="comma-separated concurrency levels (default 1,10,100,1000)")
    parser.add_argument("--quick", action="store_true", help="N = 1, 10, 100, fewer streams")
    args = parser.parse_args(argv)
    if args.serve:
        _serve(args.rows)
        return 0
    ns = (
        [int(part) for part in args.n.split(",")]
        if args.n
        else (QUICK_N if args.quick else DEFAULT_N)
    )
    rounds = 1 if args.quick else ROUNDS
    progress = Progress(planned_steps(ns, rounds))
    results = run(
        ns=ns,
        rounds=rounds,
        min_streams=QUICK_MIN_STREAMS if args.quick else MIN_STREAMS,
        rows=args.rows,
        progress=progress,
    )
    progress.finish()
    print(format_results(results))
    for target in targets(results):
        print(f"{target.verdict:4} {target.what}: {target.measured} (target {target.limit})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
