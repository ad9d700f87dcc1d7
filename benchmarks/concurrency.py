"""Section 3 of the suite: N concurrent streams through the loopback server, both builds.

The server is ``benchmarks.server`` in its own process (one HTTP chunk per SSE event, kept-alive
connections), answering every request with the same small ``Report`` (``benchmarks.e2e``'s, a few
rows, JSON in 4-character ``content`` deltas, usage included); the clients run in the
``benchmarks.worker`` children of ``benchmarks.builds``, so the client's CPU is the worker's
``time.process_time()`` and the server's is read from ``/proc/<pid>/stat`` (Linux), shown to say
whether the server was the bottleneck.

For each N in 1, 100, 1,000: each client gets its pool of N connections (all kept alive for the
whole run: ``httpx.Limits(max_connections=N, max_keepalive_connections=N, keepalive_expiry=3600)``,
the same timeouts), opened by an untimed round of N streams; then the clients take turns, the
order rotated each round, N workers streaming back to back until ``max(N, min_streams)`` streams
are done; the round with the median events/s counts. Three clients on the same server:

- **streamstruct compiled** and **streamstruct pure**: ``create_partial(response_model=Report,
  mode=Mode.JSON_SCHEMA)`` iterated to the end, then ``get_final()`` (every snapshot a validated
  partial model); the client's own pool (``AsyncClient(limits=...)``);
- **openai raw**: ``AsyncOpenAI.chat.completions.create(stream=True)`` iterated to the end (every
  chunk a ``ChatCompletionChunk``; no JSON parsed, no model built), on an
  ``httpx.AsyncClient(limits=...)``: the openai SDK closes each response at ``[DONE]``, before its
  end, so httpcore drops the connection and every stream opens a new one ("new conns").

Run alone: ``python -m benchmarks.concurrency [--quick] [--n 1,100,1000]``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

if __package__ in (None, ""):  # run as `python benchmarks/concurrency.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import e2e, server
from benchmarks._common import Progress, Target, grid, installed, version
from benchmarks.builds import BUILDS, COMPILED, PURE, Workers

__all__ = [
    "CLIENTS",
    "DEFAULT_N",
    "ConcurrencyResults",
    "Measurement",
    "events_per_stream",
    "format_results",
    "main",
    "planned_steps",
    "run",
    "table",
    "targets",
]

DEFAULT_N: Final = (1, 100, 1_000)
QUICK_N: Final = (1, 10, 100)
REPLY_ROWS: Final = 2
MIN_STREAMS: Final = 100
QUICK_MIN_STREAMS: Final = 20
ROUNDS: Final = 3
#: the issue's ceiling on CPU per event at the largest N over the smallest, for each build
CPU_GROWTH_CEILING: Final = 1.2

SS_COMPILED: Final = "streamstruct_compiled"
SS_PURE: Final = "streamstruct_pure"
OPENAI_RAW: Final = "openai_raw"
CLIENTS: Final = (SS_COMPILED, SS_PURE, OPENAI_RAW)
LABELS: Final = {
    SS_COMPILED: "streamstruct compiled",
    SS_PURE: "streamstruct pure",
    OPENAI_RAW: "openai raw",
}
#: the build whose worker runs each client, and the worker's name for it
RUNS: Final = {
    SS_COMPILED: (COMPILED, "streamstruct"),
    SS_PURE: (PURE, "streamstruct"),
    OPENAI_RAW: (PURE, "openai_raw"),
}
STREAMSTRUCT_OF: Final = {COMPILED: SS_COMPILED, PURE: SS_PURE}


def events_per_stream(rows: int = REPLY_ROWS) -> int:
    """SSE events in one answer (usage and ``[DONE]`` included)."""
    return len(server.frames_for(server.CONTENT, rows))


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


def measure_level(
    clients: Sequence[str],
    n: int,
    streams: int,
    events: int,
    served: server.ServerProcess,
    workers: Workers,
    *,
    rounds: int,
    step: Callable[[str], None] | None = None,
) -> list[Measurement]:
    """Each client at concurrency ``n``: ``rounds`` timed rounds of ``streams`` streams each.

    Every client gets its own pool of ``n`` connections, opened by an untimed round of ``n``
    streams; then the clients take turns, round after round, the order rotated, so that a slow
    spell of the machine falls on all of them. Per client, the round with the median events/s
    counts.
    """
    url = served.url(server.CONTENT, REPLY_ROWS)
    samples: dict[str, list[Measurement]] = {client: [] for client in clients}
    opened: list[str] = []
    try:
        for client in clients:
            if step is not None:
                step(f"concurrency: N = {n:,}: {LABELS[client]} (opening {n:,} connections)")
            build, name = RUNS[client]
            workers.workers[build].ask(op="open", client=name, n=n, url=url)
            opened.append(client)
        for index in range(rounds):
            turn = index % len(clients)
            for client in [*clients[turn:], *clients[:turn]]:
                if step is not None:
                    step(f"concurrency: N = {n:,}: {LABELS[client]} (round {index + 1})")
                samples[client].append(_one_round(client, n, streams, events, served, workers))
    finally:
        for client in opened:
            build, name = RUNS[client]
            workers.workers[build].ask(op="close", client=name)
    chosen: list[Measurement] = []
    for client in clients:
        ranked = sorted(samples[client], key=lambda m: m.events_per_second)
        median = ranked[(len(ranked) - 1) // 2]
        median.runs = len(ranked)
        chosen.append(median)
    return chosen


def _one_round(
    client: str,
    n: int,
    streams: int,
    events: int,
    served: server.ServerProcess,
    workers: Workers,
) -> Measurement:
    build, name = RUNS[client]
    accepted = served.connections()
    server_cpu = served.cpu_seconds()
    answer = workers.workers[build].ask(op="round", client=name, streams=streams)
    after = served.cpu_seconds()
    spent = None if server_cpu is None or after is None else after - server_cpu
    return Measurement(
        client,
        n,
        streams,
        streams * events,
        float(answer["wall"]),
        float(answer["cpu"]),
        spent,
        connections=served.connections() - accepted,
    )


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
    builds: Sequence[str] = BUILDS,
    progress: Progress | None = None,
) -> ConcurrencyResults:
    if progress is not None:
        progress.step("concurrency: starting the server and the builds")
    fd_limit = server.raise_fd_limit()
    events = events_per_stream(rows)
    results = ConcurrencyResults()
    say = None if progress is None else progress.note
    step = None if progress is None else progress.step
    with (
        Workers(list(builds), say=say) as workers,
        server.ServerProcess([(server.CONTENT, rows)]) as served,
    ):
        chosen = []
        for client in clients:
            build = RUNS[client][0]
            if build not in workers.workers:
                results.skipped[client] = workers.skipped.get(build, f"the {build} build not asked")
            elif client == OPENAI_RAW and not installed("openai"):
                results.skipped[client] = "openai not installed"
            else:
                chosen.append(client)
        for n in ns:
            streams = max(n, min_streams)
            results.measurements += measure_level(
                chosen, n, streams, events, served, workers, rounds=rounds, step=step
            )
    results.meta = {
        "reply_rows": rows,
        "reply_json_bytes": len(e2e._dump(e2e.build_report(rows)).encode()),
        "events_per_stream": events,
        "min_streams": min_streams,
        "rounds": rounds,
        "fd_limit": fd_limit,
        "versions": {name: version(name) for name in ("httpx", "httpcore", "openai")},
    }
    return results


def targets(results: ConcurrencyResults) -> list[Target]:
    """For each build: CPU per event at the largest N within 1.2x of that at the smallest."""
    out: list[Target] = []
    ns = sorted({m.n for m in results.measurements})
    one, big = (ns[0], ns[-1]) if ns else (1, 1)
    for build in BUILDS:
        ours = STREAMSTRUCT_OF[build]
        low, high = results.get(ours, one), results.get(ours, big)
        ratio = (
            None
            if low is None or high is None or one == big
            else high.cpu_per_event_us / low.cpu_per_event_us
        )
        out.append(
            Target.ratio(
                f"{build}: concurrency: streamstruct CPU per event at N = {big:,} / at N = {one:,}",
                ratio,
                at_most=CPU_GROWTH_CEILING,
            )
        )
    return out


def table(results: ConcurrencyResults, *, markdown: bool = False) -> list[str]:
    """One line per N and client."""
    header = ["N", "client", "streams", "events", "events/s", "x openai raw", "CPU us/ev"]
    header += ["server us/ev", "server busy", "new conns"]
    body: list[list[str]] = []
    for n in sorted({m.n for m in results.measurements}):
        raw = results.get(OPENAI_RAW, n)
        for client in CLIENTS:
            m = results.get(client, n)
            if m is None:
                continue
            spent, busy = m.server_cpu_per_event_us, m.server_busy
            body.append(
                [
                    f"{n:,}",
                    LABELS[client],
                    f"{m.streams:,}",
                    f"{m.events:,}",
                    f"{m.events_per_second:,.0f}",
                    "-" if raw is None else f"{m.events_per_second / raw.events_per_second:.2f}x",
                    f"{m.cpu_per_event_us:.1f}",
                    "?" if spent is None else f"{spent:.1f}",
                    "?" if busy is None else f"{busy:.0%}",
                    "?" if m.connections is None else f"{m.connections:,}",
                ]
            )
    return grid(header, body, left=2, markdown=markdown)


def format_results(results: ConcurrencyResults) -> str:
    meta = results.meta
    versions = ", ".join(f"{k} {v or 'not installed'}" for k, v in meta.get("versions", {}).items())
    lines = [
        "3. Concurrency: N concurrent streams through the loopback server (its own process),"
        " both builds",
        f"   each answer {meta.get('reply_json_bytes', 0):,} bytes of JSON,"
        f" {meta.get('events_per_stream', 0)} SSE events; {versions}",
        "",
        *table(results),
        "",
        f"The median (by events/s) of {meta.get('rounds')} round(s), the clients taking turns in"
        " a rotated order. events/s: wall clock; CPU us/ev: the client's worker process's"
        " process_time per event; server: the server process's.",
        "server busy: its CPU / wall time (near 100%: the one-process server set the pace, not the"
        " client). new conns: connections the server accepted during the round.",
        "streamstruct: create_partial(Report, Mode.JSON_SCHEMA), a validated snapshot per read,"
        " its own pool; openai raw: create(stream=True), chunks only, an httpx.AsyncClient; all"
        " pools N connections, kept alive.",
    ]
    for client, why in results.skipped.items():
        lines.append(f"Skipped: {LABELS[client]}: {why}.")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.concurrency")
    parser.add_argument("--n", help="comma-separated concurrency levels (default 1,100,1000)")
    parser.add_argument("--quick", action="store_true", help="N = 1, 10, 100, fewer streams")
    args = parser.parse_args(argv)
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
        progress=progress,
    )
    progress.finish()
    print(format_results(results))
    for target in targets(results):
        print(f"{target.verdict:4} {target.what}: {target.measured} (target {target.limit})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
