"""Section 2 of the suite: end to end, per SSE event, against the floor and every alternative.

One recorded answer per size - ``benchmarks.e2e``'s ``Report`` (rows of id, name, email, score,
tags), about 1 KB, 10 KB, 100 KB and 1 MB of JSON - rendered as the ``chat.completion.chunk`` SSE
stream the OpenAI API sends for a structured output in **content** (``response_format`` with a JSON
schema): a role chunk, the JSON in 4-character ``content`` deltas, a ``finish_reason`` chunk, a usage
chunk and ``data: [DONE]``. Content, not tool calls, because the openai SDK's streaming helper reads
``content``; every method gets the same bytes from ``benchmarks.e2e.ReplayTransport`` (in process: no
network, no sleeps), one SSE event per read, through an ``httpx.AsyncClient``:

- **floor**: the SSE decoded (split on blank lines, ``data:`` stripped) and ``json.loads`` of each
  chunk envelope, and nothing else - what any client must at least do;
- **streamstruct**: ``create_partial(response_model=Report, mode=Mode.JSON_SCHEMA)``, iterated to
  the end, then ``get_final()``; and the same with the body read 16 KiB at a time (a replay at full
  speed, where snapshots coalesce to one per read), next to the floor read the same way;
- **openai helper**: ``AsyncOpenAI.chat.completions.stream(response_format=Report)``, every event
  iterated (``content.delta`` events carry ``parsed``), then ``get_final_completion()``;
- **instructor**: ``from_openai(AsyncOpenAI(...), mode=Mode.JSON_SCHEMA).chat.completions
  .create_partial(response_model=Report)`` - instructor's partial streaming of ``content``.

Measured: CPU (``time.process_time``) from the request to the final validated object, per SSE event,
and the snapshots each yielded; the median of up to 3 runs (one when a run is long), GC off.

The openai helper and instructor re-parse the whole text on every delta, so they are quadratic: each
runs at the sizes in ascending order; once two sizes are measured, cpu = a*bytes + b*bytes^2 is
fitted (``benchmarks.e2e.Fit``) and a size whose projection passes the budget is not run: its
figure is the fit's, marked ``*``.
"""

from __future__ import annotations

import asyncio
import bisect
import json
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import httpx

import streamstruct
from benchmarks import e2e
from benchmarks._common import (
    KB,
    MB,
    Figure,
    Progress,
    Target,
    gc_off,
    grid,
    installed,
    optional,
    size_label,
    version,
)

__all__ = [
    "DEFAULT_SIZES",
    "LABELS",
    "METHODS",
    "E2EResults",
    "E2ESize",
    "build_content_transcript",
    "format_results",
    "planned_steps",
    "rows_for",
    "run",
    "targets",
]

DEFAULT_SIZES: Final = (1 * KB, 10 * KB, 100 * KB, 1 * MB)
PIECE_CHARS: Final = 4
READ_BYTES: Final = 16 * 1024
REPEAT: Final = 5
#: stop repeating once the runs so far add up to this much CPU
REPEAT_SECONDS: Final = 30.0

FLOOR: Final = "floor"
STREAMSTRUCT: Final = "streamstruct"
FLOOR_16K: Final = "floor_16k"
STREAMSTRUCT_16K: Final = "streamstruct_16k"
OPENAI: Final = "openai_helper"
INSTRUCTOR: Final = "instructor"
METHODS: Final = (FLOOR, STREAMSTRUCT, OPENAI, INSTRUCTOR, FLOOR_16K, STREAMSTRUCT_16K)
QUADRATIC: Final = (OPENAI, INSTRUCTOR)
LABELS: Final = {
    FLOOR: "floor (SSE + json.loads)",
    STREAMSTRUCT: "streamstruct",
    OPENAI: "openai .stream() helper",
    INSTRUCTOR: "instructor create_partial",
    FLOOR_16K: "floor, 16 KiB reads",
    STREAMSTRUCT_16K: "streamstruct, 16 KiB reads",
}
#: the table's column heads
SHORT: Final = {
    FLOOR: "floor",
    STREAMSTRUCT: "streamstruct",
    OPENAI: "openai helper",
    INSTRUCTOR: "instructor",
    FLOOR_16K: "floor 16K",
    STREAMSTRUCT_16K: "streamstruct 16K",
}
#: the floor each method is compared with: the one reading the body the same way
FLOOR_OF: Final = {
    FLOOR: FLOOR,
    STREAMSTRUCT: FLOOR,
    OPENAI: FLOOR,
    INSTRUCTOR: FLOOR,
    FLOOR_16K: FLOOR_16K,
    STREAMSTRUCT_16K: FLOOR_16K,
}


Report = e2e.Report


# -- the transcript ------------------------------------------------------------------------------


def rows_for(size: int) -> int:
    """The fewest rows whose Report JSON is at least ``size`` bytes (rows are a stable prefix)."""
    rows = max(1, size // 100)
    while len(e2e._dump(e2e.build_report(rows)).encode()) < size:
        rows = max(rows + 1, int(rows * 1.02))
    # the loop may overshoot by a few rows: step back while still at least ``size``
    lengths = [len(e2e._dump(r).encode()) + 1 for r in e2e.build_report(rows)["rows"]]
    total = len(e2e._dump({"rows": []}).encode()) - 1  # one comma fewer than rows
    running = [total]
    for length in lengths:
        running.append(running[-1] + length)
    return max(1, bisect.bisect_left(running, size))


def build_content_transcript(rows: int, *, piece_chars: int = PIECE_CHARS) -> e2e.Transcript:
    """The SSE byte stream of a JSON-schema structured output in ``content``: the Report's JSON."""
    content = e2e._dump(e2e.build_report(rows))
    envelope = {
        "id": "chatcmpl-E2EBenchmarkContent00000000000",
        "object": "chat.completion.chunk",
        "created": 1_750_000_000,
        "model": e2e.MODEL,
        "service_tier": "default",
        "system_fingerprint": "fp_e2e0bench",
    }

    def chunk(choices: list[dict[str, Any]], usage: object = None) -> bytes:
        return e2e._sse(e2e._dump({**envelope, "choices": choices, "usage": usage}))

    def choice(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        return {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}

    frames = [chunk([choice({"role": "assistant", "content": "", "refusal": None})])]
    for start in range(0, len(content), piece_chars):
        frames.append(chunk([choice({"content": content[start : start + piece_chars]})]))
    frames.append(chunk([choice({}, "stop")]))
    tokens = -(-len(content) // piece_chars)
    usage = {"prompt_tokens": 120, "completion_tokens": tokens, "total_tokens": 120 + tokens}
    frames.append(chunk([], usage))
    frames.append(e2e._sse("[DONE]"))
    return e2e.Transcript(rows, content, tuple(frames))


# -- one run of each method ----------------------------------------------------------------------

#: one run: the final object (None for the floor) and the snapshots yielded
Consume = Callable[[httpx.AsyncClient], Awaitable[tuple[object, int]]]
_REQUEST: Final = {"model": e2e.MODEL, "messages": list(e2e.MESSAGES), "stream": True}


async def _floor(http: httpx.AsyncClient) -> tuple[object, int]:
    loads = json.loads
    async with http.stream("POST", f"{e2e.BASE_URL}/chat/completions", json=_REQUEST) as response:
        buffer = b""
        async for data in response.aiter_raw():
            *events, buffer = (buffer + data).split(b"\n\n")
            for event in events:
                if event.startswith(b"data: ") and event != b"data: [DONE]":
                    loads(event[6:])
    return None, 0


async def _streamstruct(http: httpx.AsyncClient) -> tuple[object, int]:
    client = streamstruct.AsyncClient(
        base_url=e2e.BASE_URL, api_key="x", http_client=http, max_retries=0
    )
    stream = client.chat.completions.create_partial(
        model=e2e.MODEL,
        response_model=Report,
        messages=e2e.MESSAGES,
        mode=streamstruct.Mode.JSON_SCHEMA,
    )
    snapshots = 0
    async for _partial in stream:
        snapshots += 1
    return await stream.get_final(), snapshots


async def _openai_helper(http: httpx.AsyncClient) -> tuple[object, int]:
    openai = optional("openai")
    assert openai is not None
    client = openai.AsyncOpenAI(api_key="x", base_url=e2e.BASE_URL, http_client=http, max_retries=0)
    snapshots = 0
    async with client.chat.completions.stream(
        model=e2e.MODEL, messages=list(e2e.MESSAGES), response_format=Report
    ) as stream:
        async for event in stream:
            if event.type == "content.delta":
                snapshots += 1
        completion = await stream.get_final_completion()
    return completion.choices[0].message.parsed, snapshots


async def _instructor(http: httpx.AsyncClient) -> tuple[object, int]:
    instructor, openai = optional("instructor"), optional("openai")
    assert instructor is not None
    assert openai is not None
    client = instructor.from_openai(
        openai.AsyncOpenAI(api_key="x", base_url=e2e.BASE_URL, http_client=http, max_retries=0),
        mode=instructor.Mode.JSON_SCHEMA,
    )
    snapshots = 0
    last: object = None
    async for partial in client.chat.completions.create_partial(
        model=e2e.MODEL, response_model=Report, messages=list(e2e.MESSAGES)
    ):
        snapshots += 1
        last = partial
    return last, snapshots


_RUNNERS: Final[dict[str, Consume]] = {
    FLOOR: _floor,
    FLOOR_16K: _floor,
    STREAMSTRUCT: _streamstruct,
    STREAMSTRUCT_16K: _streamstruct,
    OPENAI: _openai_helper,
    INSTRUCTOR: _instructor,
}


def available(method: str) -> str | None:
    """None when ``method`` can run here, else why not."""
    if method == OPENAI and not installed("openai"):
        return "openai not installed"
    if method == INSTRUCTOR and not (installed("instructor") and installed("openai")):
        return "instructor not installed"
    return None


def _pieces(transcript: e2e.Transcript, method: str) -> list[bytes]:
    return transcript.pieces(READ_BYTES if method in (FLOOR_16K, STREAMSTRUCT_16K) else None)


def _once(method: str, pieces: Sequence[bytes], expected: Report) -> tuple[float, int]:
    """One run of ``method``: its CPU seconds and snapshots; the final object checked."""

    async def main() -> tuple[float, int]:
        async with httpx.AsyncClient(transport=e2e.ReplayTransport(pieces)) as http:
            with gc_off():
                cpu = time.process_time()
                final, snapshots = await _RUNNERS[method](http)
                cpu = time.process_time() - cpu
        if method not in (FLOOR, FLOOR_16K) and final != expected:
            raise AssertionError(f"{method}: the final object is not the Report: {final!r:.200}")
        return cpu, snapshots

    return asyncio.run(main())


def measure(
    method: str, transcript: e2e.Transcript, *, repeat: int, repeat_seconds: float = REPEAT_SECONDS
) -> Figure:
    """The median CPU of up to ``repeat`` runs (fewer once they add up to ``repeat_seconds``)."""
    pieces = _pieces(transcript, method)
    expected = Report.model_validate_json(transcript.arguments)
    samples: list[float] = []
    snapshots = 0
    while len(samples) < repeat and (not samples or sum(samples) < repeat_seconds):
        cpu, snapshots = _once(method, pieces, expected)
        samples.append(cpu)
    return Figure(statistics.median(samples), len(samples), snapshots=snapshots)


def warm_up(methods: Sequence[str]) -> None:
    """One tiny run per method: imports, class building and caches are not timed later."""
    tiny = build_content_transcript(3)
    for method in methods:
        measure(method, tiny, repeat=1)


# -- the section ---------------------------------------------------------------------------------


@dataclass
class E2ESize:
    size: int
    rows: int
    json_bytes: int
    events: int
    figures: dict[str, Figure] = field(default_factory=dict)

    def per_event_us(self, method: str) -> float | None:
        figure = self.figures.get(method)
        if figure is None or figure.seconds is None:
            return None
        return figure.seconds / self.events * 1e6

    def over_floor(self, method: str) -> float | None:
        ours, floor = self.figures.get(method), self.figures.get(FLOOR_OF[method])
        if ours is None or floor is None or ours.seconds is None or not floor.seconds:
            return None
        return ours.seconds / floor.seconds

    def ratio(self, slow: str, fast: str) -> float | None:
        a, b = self.figures.get(slow), self.figures.get(fast)
        if a is None or b is None or a.seconds is None or not b.seconds:
            return None
        return a.seconds / b.seconds


@dataclass
class E2EResults:
    sizes: list[E2ESize]
    fits: dict[str, str]
    meta: dict[str, Any]

    def at(self, size: int) -> E2ESize | None:
        return next((s for s in self.sizes if s.size == size), None)


def planned_steps(sizes: Sequence[int], methods: Sequence[str] = METHODS) -> int:
    return 1 + len(sizes) * len(methods)


def run(
    *,
    sizes: Sequence[int] = DEFAULT_SIZES,
    methods: Sequence[str] = METHODS,
    repeat: int = REPEAT,
    budget: float = 60.0,
    progress: Progress | None = None,
) -> E2EResults:
    """Every method at every size; a quadratic method whose projection passes ``budget`` CPU
    seconds for one run is not run there, its figure projected by the fit instead."""

    def step(label: str) -> None:
        if progress is not None:
            progress.step(label)

    def note(text: str) -> None:
        if progress is not None:
            progress.note(text)

    runnable = [m for m in methods if available(m) is None]
    step("e2e: warming up")
    warm_up(runnable)
    results: list[E2ESize] = []
    fits: dict[str, e2e.Fit] = {}
    for size in sorted(sizes):
        rows = rows_for(size)
        transcript = build_content_transcript(rows)
        entry = E2ESize(size, rows, len(transcript.arguments.encode()), transcript.events)
        results.append(entry)
        for method in methods:
            step(f"e2e: {size_label(size)}: {LABELS[method]}")
            why = available(method)
            if why is not None:
                entry.figures[method] = Figure(None, note=why)
                continue
            fit = fits.get(method)
            if method in QUADRATIC and fit is not None and fit(entry.json_bytes) > budget:
                projected = fit(entry.json_bytes)
                note(
                    f"{LABELS[method]} at {size_label(size)}: projected {projected:,.0f} s CPU"
                    f" > {budget:g} s budget: extrapolated"
                )
                entry.figures[method] = Figure(
                    projected,
                    0,
                    # one per content delta, as measured at every smaller size
                    snapshots=_projected_snapshots(results, method, transcript),
                    extrapolated=_describe(fit),
                )
                continue
            entry.figures[method] = measure(method, transcript, repeat=repeat)
            if method in QUADRATIC:
                points = [
                    (s.json_bytes, f.seconds)
                    for s in results
                    if (f := s.figures.get(method)) is not None
                    and f.seconds is not None
                    and f.extrapolated is None
                ]
                if len(points) >= 2:
                    fits[method] = e2e.Fit.of(points)
    meta = {
        "piece_chars": PIECE_CHARS,
        "read_bytes": READ_BYTES,
        "repeat": repeat,
        "budget_seconds": budget,
        "versions": {
            name: version(name)
            for name in ("streamstruct", "httpx", "pydantic", "openai", "instructor")
        },
    }
    return E2EResults(results, {m: _describe(f) for m, f in fits.items()}, meta)


def _describe(fit: e2e.Fit) -> str:
    at = ", ".join(f"{n / KB:,.0f} KB" if n >= KB else f"{n} B" for n, _ in fit.points)
    return f"{fit.linear:.3g}*bytes + {fit.quadratic:.3g}*bytes^2 s (fitted at {at})"


def _projected_snapshots(results: list[E2ESize], method: str, transcript: e2e.Transcript) -> int:
    """Snapshots at a size not run: the same count per event as at the largest size measured."""
    measured = [
        s
        for s in results
        if (f := s.figures.get(method)) is not None
        and f.snapshots is not None
        and f.extrapolated is None
    ]
    if not measured:
        return transcript.events
    last = measured[-1]
    snapshots = last.figures[method].snapshots
    assert snapshots is not None
    return transcript.events - (last.events - snapshots)


# -- targets and the table -----------------------------------------------------------------------


def targets(results: E2EResults) -> list[Target]:
    """The issue's targets, for streamstruct read both ways: one event per read (a live model's
    pace: a snapshot per visible change) and 16 KiB per read (a replay at full speed)."""
    out: list[Target] = []
    ways = ((STREAMSTRUCT, ""), (STREAMSTRUCT_16K, ", 16 KiB reads"))
    for method, how in ways:
        for entry in results.sizes:
            out.append(
                Target.ratio(
                    f"e2e {size_label(entry.size)}: streamstruct per event / floor{how}",
                    entry.over_floor(method),
                    at_most=3,
                )
            )
    at = results.at(100 * KB)
    for slow, floor in ((OPENAI, 2.0), (INSTRUCTOR, 100.0)):
        mark = "*" if at is not None and (f := at.figures.get(slow)) and f.extrapolated else ""
        out.append(
            Target.ratio(
                f"e2e 100 KB: {LABELS[slow]} / streamstruct",
                None if at is None else at.ratio(slow, STREAMSTRUCT),
                at_least=floor,
                shown="{:,.1f}x",
                mark=mark,
            )
        )
    small, big = results.at(100 * KB), results.at(1 * MB)
    for method, how in ways:
        growth = None
        if small is not None and big is not None:
            a, b = small.figures.get(method), big.figures.get(method)
            if a is not None and b is not None and a.seconds and b.seconds:
                growth = b.seconds / a.seconds
        out.append(
            Target.ratio(
                f"e2e streamstruct: total time 1 MB / 100 KB{how}",
                growth,
                at_most=12,
                shown="{:.1f}x",
            )
        )
    return out


def _us(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def format_results(results: E2EResults) -> str:
    header = ["size", "JSON bytes", "SSE events"]
    for method in METHODS:
        header.append(SHORT[method])
    body: list[list[str]] = []
    for entry in results.sizes:
        line = [size_label(entry.size), f"{entry.json_bytes:,}", f"{entry.events:,}"]
        for method in METHODS:
            figure = entry.figures.get(method)
            per_event = entry.per_event_us(method)
            if figure is None or per_event is None:
                line.append("-")
                continue
            mark = "*" if figure.extrapolated else ""
            ratio = entry.over_floor(method)
            ratio_text = "" if method in (FLOOR, FLOOR_16K) or ratio is None else f" ({ratio:.1f}x)"
            line.append(f"{mark}{_us(per_event)}{ratio_text}")
        body.append(line)
    snaps = ["snapshots (largest)", "", ""]
    last = results.sizes[-1] if results.sizes else None
    for method in METHODS:
        figure = None if last is None else last.figures.get(method)
        if figure is None or figure.snapshots is None or figure.seconds is None:
            snaps.append("-")
        else:
            snaps.append(f"{'*' if figure.extrapolated else ''}{figure.snapshots:,}")
    body.append(snaps)
    if len(results.sizes) >= 2:
        small, big = results.sizes[-2], results.sizes[-1]
        line = [f"time {size_label(big.size)} / {size_label(small.size)}", "", ""]
        for method in METHODS:
            a, b = small.figures.get(method), big.figures.get(method)
            if a is None or b is None or not a.seconds or b.seconds is None:
                line.append("-")
                continue
            mark = "*" if a.extrapolated or b.extrapolated else ""
            line.append(f"{mark}{b.seconds / a.seconds:.1f}x")
        body.append(line)
    meta = results.meta
    versions = ", ".join(f"{k} {v or 'not installed'}" for k, v in meta["versions"].items())
    lines = [
        "2. End to end: the same content-mode (JSON schema) transcript replayed in process;"
        " CPU per SSE event in us (x the floor)",
        f"   {versions}",
        "",
        *grid(header, body, left=1),
        "",
        f"One SSE event per read ({meta['piece_chars']}-char content deltas); 16K: the body read"
        f" {meta['read_bytes'] // 1024} KiB at a time (snapshots coalesce, one per read).",
        "(x): over the floor read the same way. floor: SSE split + json.loads of each chunk,"
        " nothing else.",
        "streamstruct: create_partial(mode=Mode.JSON_SCHEMA); openai: chat.completions.stream("
        "response_format=Report); instructor: Mode.JSON_SCHEMA.",
        f"CPU: time.process_time() from the request to the final validated object, median of up"
        f" to {meta['repeat']} runs, GC off.",
    ]
    for method, fit in results.fits.items():
        projected = [
            size_label(s.size)
            for s in results.sizes
            if (f := s.figures.get(method)) is not None and f.extrapolated
        ]
        if projected:
            lines.append(
                f"* {LABELS[method]} at {', '.join(projected)}: projected, not run (over the"
                f" {meta['budget_seconds']:g} s budget): cpu = {fit}."
            )
    skipped = sorted({f.note for s in results.sizes for f in s.figures.values() if f.note})
    if skipped:
        lines.append("Skipped: " + ", ".join(skipped) + " (pip install 'streamstruct[bench]').")
    return "\n".join(lines)
