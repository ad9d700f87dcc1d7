"""The end-to-end benchmark: ``Partial[Report]`` from an in-process transport, next to instructor.

Run from the project root::

    python -m benchmarks.e2e                    # 500, 2,000 and 20,000 rows (several minutes)
    python -m benchmarks.e2e --quick            # small sizes, instructor at a tiny size (seconds)
    python -m benchmarks.e2e --skip-instructor --json out.json

What is streamed: a ``Report`` whose ``rows: list[Row]`` hold id, name, email, score and tags, built
here deterministically (about 100 bytes of JSON per row: 500 rows are about 50 KB). The JSON is
rendered once per size as the ``chat.completion.chunk`` SSE byte stream the OpenAI API sends for a
forced tool call: a first chunk with the role and the call's id, name and ``arguments: ""``; then
the arguments in 4-character pieces, one chunk each; a chunk with ``finish_reason``; a usage chunk
(``stream_options.include_usage``); ``data: [DONE]``. Every library gets the same bytes, from a
:class:`ReplayTransport` (an ``httpx.AsyncBaseTransport`` with no network and no sleeps), so only
client-side CPU is measured. Both libraries run in their default tool-calling mode (streamstruct's
``Mode.TOOLS``, instructor's ``Mode.TOOLS``), on the async client, on asyncio.

The columns, per library: total CPU seconds (``time.process_time``) from the request to the final
validated object, that CPU per SSE event, and the snapshots yielded. Two streamstruct columns,
because streamstruct coalesces snapshots per network read (a consumer gets the newest state, never
a backlog) while instructor yields one per event:

- **16 KiB reads**: the body arrives in 16 KiB pieces (a replay at full speed: about 47 events,
  190 characters of JSON, per read, and at most one snapshot per read);
- **event/read**: every SSE event arrives in its own read, as it does when a model writes at a few
  hundred tokens a second: one snapshot per event, as many as instructor yields.

instructor re-parses the whole accumulated JSON on every chunk, so it is quadratic: it is timed at
small sizes first (by default 50, 100 and 200 rows), ``cpu = a*rows + b*rows^2`` is fitted to those
(see :class:`Fit`), and it runs at a larger size only when the fit projects at most 90 s of CPU for
one run (and is then refitted on every size it ran at); above that the figure is the fit's, marked
``*`` in the table. The table says where
instructor was capped and the growth exponent measured between its two largest runs.

Timing: one untimed warm-up per library (class building, imports), the garbage collector off while
timing (after a collection), the median of several runs (3; 1 when a run takes over 30 s).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import importlib
import importlib.metadata
import json
import math
import platform
import pstats
import random
import statistics
import sys
import textwrap
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Final

import httpx
from pydantic import BaseModel

if __package__ in (None, ""):  # run as `python benchmarks/e2e.py`: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import streamstruct
from benchmarks._common import MeasuredTarget as Target
from benchmarks._common import gc_off, grid, parser_build, targets_json, targets_table

__all__ = [
    "LIBRARIES",
    "Fit",
    "Measurement",
    "ReplayTransport",
    "Report",
    "Results",
    "Row",
    "Sample",
    "Size",
    "Target",
    "Transcript",
    "build_report",
    "build_transcript",
    "format_report",
    "growth",
    "main",
    "measure_instructor",
    "measure_streamstruct",
    "profile",
    "run",
    "targets",
    "to_json",
    "warm_up",
]

DEFAULT_ROWS: Final = (500, 2_000, 20_000)
QUICK_ROWS: Final = (50, 200)
INSTRUCTOR_FIT_ROWS: Final = (50, 100, 200)
QUICK_INSTRUCTOR_FIT_ROWS: Final = (20, 50)
INSTRUCTOR_BUDGET_SECONDS: Final = 90.0
QUICK_INSTRUCTOR_BUDGET_SECONDS: Final = 1.0
PIECE_CHARS: Final = 4
READ_BYTES: Final = 16 * 1024
REPEAT: Final = 3
LONG_RUN_SECONDS: Final = 30.0  # a run longer than this is not repeated

BASE_URL: Final = "http://replay.invalid/v1"
MODEL: Final = "gpt-4o-mini-2024-07-18"
MESSAGES: Final = ({"role": "user", "content": "Tabulate the accounts as a Report."},)

#: the measured columns, in table order
STREAMSTRUCT: Final = "streamstruct"
STREAMSTRUCT_PER_EVENT: Final = "streamstruct_event_reads"
INSTRUCTOR: Final = "instructor"
LIBRARIES: Final = (STREAMSTRUCT, STREAMSTRUCT_PER_EVENT, INSTRUCTOR)
_LABELS: Final = {
    STREAMSTRUCT: "streamstruct (16 KiB reads)",
    STREAMSTRUCT_PER_EVENT: "streamstruct (event/read)",
    INSTRUCTOR: "instructor",
}

#: the targets of the issue
SPEEDUP_ROWS: Final = 500
SPEEDUP_FLOOR: Final = 50.0
GROWTH_ROWS: Final = (2_000, 20_000)
GROWTH_CEILING: Final = 12.0


def _optional(name: str) -> ModuleType | None:
    """The module, or None when it is not installed (instructor comes with the ``bench`` extra)."""
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


# -- the document --------------------------------------------------------------------------------


class Row(BaseModel):
    id: int
    name: str
    email: str
    score: float
    tags: list[str]


class Report(BaseModel):
    rows: list[Row]


_FIRST = ("Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Margaret", "Ken", "Frances")
_LAST = ("Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Hamilton", "Thompson")
_TAGS = ("admin", "beta", "ops", "sales", "research", "support", "remote", "oncall")


def build_report(rows: int) -> dict[str, Any]:
    """The ``Report`` for ``rows`` rows, as plain JSON data: the same for the same ``rows``."""
    rng = random.Random(0xE2E)
    out: list[dict[str, Any]] = []
    for index in range(rows):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        out.append(
            {
                "id": index + 1,
                "name": f"{first} {last}",
                "email": f"{first.lower()}.{last.lower()}{index + 1}@example.com",
                "score": round(rng.uniform(0, 100), 2),
                "tags": rng.sample(_TAGS, rng.randint(0, 3)),
            }
        )
    return {"rows": out}


# -- the transcript ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Transcript:
    """One answer as the OpenAI API streams it: ``frames`` are the SSE events' bytes, in order."""

    rows: int
    arguments: str  # the tool call's arguments: the Report's JSON text
    frames: tuple[bytes, ...]

    @property
    def body(self) -> bytes:
        return b"".join(self.frames)

    @property
    def events(self) -> int:
        """SSE events in the body, ``data: [DONE]`` included."""
        return len(self.frames)

    def pieces(self, read_bytes: int | None) -> list[bytes]:
        """The body cut for a transport: ``read_bytes`` per read, or one event per read (None)."""
        if read_bytes is None:
            return list(self.frames)
        body = self.body
        return [body[i : i + read_bytes] for i in range(0, len(body), read_bytes)]


def _dump(value: object) -> str:
    """Compact JSON, as the API writes it."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _sse(data: str) -> bytes:
    return f"data: {data}\n\n".encode()


def build_transcript(rows: int, *, piece_chars: int = PIECE_CHARS) -> Transcript:
    """The SSE byte stream of a forced tool call whose arguments are the Report for ``rows`` rows."""
    arguments = _dump(build_report(rows))
    envelope = {
        "id": "chatcmpl-E2EBenchmarkTranscript0000000",
        "object": "chat.completion.chunk",
        "created": 1_750_000_000,
        "model": MODEL,
        "service_tier": "default",
        "system_fingerprint": "fp_e2e0bench",
    }

    def chunk(choices: list[dict[str, Any]], usage: object = None) -> bytes:
        return _sse(_dump({**envelope, "choices": choices, "usage": usage}))

    def choice(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        return {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}

    opening = {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "index": 0,
                "id": "call_E2EBenchmarkToolCall0000",
                "type": "function",
                "function": {"name": Report.__name__, "arguments": ""},
            }
        ],
        "refusal": None,
    }
    frames = [chunk([choice(opening)])]
    for start in range(0, len(arguments), piece_chars):
        piece = arguments[start : start + piece_chars]
        delta = {"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}
        frames.append(chunk([choice(delta)]))
    frames.append(chunk([choice({}, "stop")]))  # "stop", not "tool_calls": the tool was forced
    completion_tokens = math.ceil(len(arguments) / piece_chars)
    usage = {
        "prompt_tokens": 120,
        "completion_tokens": completion_tokens,
        "total_tokens": 120 + completion_tokens,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }
    frames.append(chunk([], usage))
    frames.append(_sse("[DONE]"))
    return Transcript(rows, arguments, tuple(frames))


# -- the transport -------------------------------------------------------------------------------


class _ReplayStream(httpx.AsyncByteStream):
    def __init__(self, pieces: Sequence[bytes]) -> None:
        self._pieces = pieces

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for piece in self._pieces:
            yield piece


class ReplayTransport(httpx.AsyncBaseTransport):
    """Answer every request with the same pre-rendered SSE body, in the given pieces.

    No network and no sleeps: each read hands over the next piece at once, so the time measured is
    the client's own. The request body is read (as a server would) and otherwise ignored.
    """

    def __init__(self, pieces: Sequence[bytes]) -> None:
        self._pieces = tuple(pieces)
        self.requests = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        self.requests += 1
        return httpx.Response(
            200,
            headers={
                "content-type": "text/event-stream; charset=utf-8",
                "cache-control": "no-cache",
                "x-request-id": f"req_replay_{self.requests}",
            },
            stream=_ReplayStream(self._pieces),
            request=request,
        )


# -- the measurements ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    """One run: CPU and wall seconds from the request to the final object, snapshots yielded."""

    cpu: float
    wall: float
    snapshots: int


async def _timed(consume: Callable[[], Awaitable[tuple[object, int]]], expected: Report) -> Sample:
    """Time ``consume`` (which returns the final object and the snapshot count); check the object."""
    with gc_off():
        cpu, wall = time.process_time(), time.perf_counter()
        final, snapshots = await consume()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    if final != expected:
        raise AssertionError(f"the final object differs from the expected Report: {final!r:.200}")
    return Sample(cpu, wall, snapshots)


async def _streamstruct_once(pieces: Sequence[bytes], expected: Report) -> Sample:
    async with httpx.AsyncClient(transport=ReplayTransport(pieces)) as http:
        client = streamstruct.AsyncClient(
            base_url=BASE_URL, api_key="x", http_client=http, max_retries=0
        )

        async def consume() -> tuple[object, int]:
            stream = client.chat.completions.create_partial(
                model=MODEL, response_model=Report, messages=MESSAGES
            )
            snapshots = 0
            async for _partial in stream:
                snapshots += 1
            return await stream.get_final(), snapshots

        return await _timed(consume, expected)


async def _instructor_once(pieces: Sequence[bytes], expected: Report) -> Sample:
    instructor = importlib.import_module("instructor")
    openai = importlib.import_module("openai")
    async with httpx.AsyncClient(transport=ReplayTransport(pieces)) as http:
        client = instructor.from_openai(
            openai.AsyncOpenAI(api_key="x", base_url=BASE_URL, http_client=http, max_retries=0)
        )

        async def consume() -> tuple[object, int]:
            partials = client.chat.completions.create_partial(
                model=MODEL, response_model=Report, messages=list(MESSAGES)
            )
            snapshots = 0
            last: object = None
            async for partial in partials:
                snapshots += 1
                last = partial
            return last, snapshots

        return await _timed(consume, expected)


Runner = Callable[[Sequence[bytes], Report], Coroutine[Any, Any, Sample]]


@dataclass
class Measurement:
    """One library at one size: the median of ``runs`` samples, or a fitted projection."""

    cpu: float
    wall: float | None
    snapshots: int | None
    runs: int
    #: how the projection was made, when this figure was not measured
    extrapolated: str | None = None
    samples: list[Sample] = field(default_factory=list)


def _measure(runner: Runner, pieces: Sequence[bytes], expected: Report, repeat: int) -> Measurement:
    samples = [asyncio.run(runner(pieces, expected))]
    while len(samples) < repeat and samples[0].cpu <= LONG_RUN_SECONDS:
        samples.append(asyncio.run(runner(pieces, expected)))
    return Measurement(
        cpu=statistics.median(s.cpu for s in samples),
        wall=statistics.median(s.wall for s in samples),
        snapshots=samples[0].snapshots,
        runs=len(samples),
        samples=samples,
    )


def _expected(transcript: Transcript) -> Report:
    return Report.model_validate_json(transcript.arguments)


def measure_streamstruct(
    transcript: Transcript, *, read_bytes: int | None = READ_BYTES, repeat: int = REPEAT
) -> Measurement:
    """streamstruct on the transcript: ``read_bytes`` per read, or one event per read (None)."""
    return _measure(
        _streamstruct_once, transcript.pieces(read_bytes), _expected(transcript), repeat
    )


def measure_instructor(
    transcript: Transcript, *, read_bytes: int | None = READ_BYTES, repeat: int = REPEAT
) -> Measurement:
    """instructor (``from_openai(AsyncOpenAI(...))``, ``Mode.TOOLS``) on the transcript."""
    return _measure(_instructor_once, transcript.pieces(read_bytes), _expected(transcript), repeat)


def warm_up(instructor: bool) -> None:
    """One tiny run per library: imports, class building and caches are not timed later."""
    tiny = build_transcript(3)
    measure_streamstruct(tiny, repeat=1)
    if instructor:
        measure_instructor(tiny, repeat=1)


@dataclass(frozen=True)
class Fit:
    """instructor's CPU as ``linear * rows + quadratic * rows^2`` seconds.

    Why this shape: every chunk costs instructor a constant (the SDK's chunk model) plus work in
    proportion to the text so far (a jiter re-parse, a completeness walk and a partial object over
    every row), so the total is a*n + b*n^2 and its log-log slope creeps up to 2 as n grows. A power
    law fitted at small sizes would keep the small sizes' slope (about 1.7 at 50-200 rows) and
    underestimate large ones. Least squares on cpu/rows = a + b*rows; a negative coefficient (noise
    at tiny sizes) falls back to the other one alone.
    """

    linear: float
    quadratic: float
    points: tuple[tuple[int, float], ...]

    @classmethod
    def of(cls, points: Sequence[tuple[int, float]]) -> Fit:
        xs = [float(rows) for rows, _ in points]
        ys = [cpu / rows for rows, cpu in points]
        mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
        spread = sum((x - mean_x) ** 2 for x in xs)
        b = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread
        a = mean_y - b * mean_x
        total_rows, total_cpu = sum(xs), sum(cpu for _, cpu in points)
        if b < 0:
            a, b = total_cpu / total_rows, 0.0
        elif a < 0:
            a, b = 0.0, total_cpu / sum(x * x for x in xs)
        return cls(a, b, tuple(points))

    def __call__(self, rows: int) -> float:
        return (self.linear + self.quadratic * rows) * rows

    def exponent(self, small: int, big: int) -> float:
        """The fit's growth exponent between two sizes: log(T(big)/T(small)) / log(big/small)."""
        return math.log(self(big) / self(small)) / math.log(big / small)

    def describe(self) -> str:
        at = ", ".join(f"{rows:,}" for rows, _ in self.points)
        return f"{self.linear:.3g}*rows + {self.quadratic:.3g}*rows^2 s (fitted at {at} rows)"


@dataclass
class Size:
    """Everything measured at one size."""

    rows: int
    json_bytes: int
    body_bytes: int
    events: int
    figures: dict[str, Measurement] = field(default_factory=dict)

    def per_event_us(self, library: str) -> float | None:
        figure = self.figures.get(library)
        return None if figure is None else figure.cpu / self.events * 1e6

    def ratio(self, library: str = STREAMSTRUCT) -> float | None:
        """instructor's CPU over ``library``'s at this size."""
        slow, fast = self.figures.get(INSTRUCTOR), self.figures.get(library)
        return None if slow is None or fast is None else slow.cpu / fast.cpu


@dataclass
class Results:
    sizes: list[Size]
    fit: Fit | None
    meta: dict[str, Any]


def run(
    rows: Sequence[int] = DEFAULT_ROWS,
    *,
    instructor: bool = True,
    fit_rows: Sequence[int] = INSTRUCTOR_FIT_ROWS,
    budget: float = INSTRUCTOR_BUDGET_SECONDS,
    repeat: int = REPEAT,
    progress: Callable[[str], None] | None = None,
) -> Results:
    """Measure every library at every size (``rows`` and, for instructor's fit, ``fit_rows``).

    instructor runs at ``fit_rows`` first; at the other sizes only when the fit projects at most
    ``budget`` CPU seconds for one run (and runs once when ``repeat`` runs would not fit the budget);
    above that its figure is the fit's projection.
    """

    def say(message: str) -> None:
        if progress is not None:
            progress(message)

    def measured(label: str, figure: Measurement) -> Measurement:
        say(f"  {label}: {figure.cpu:.3f} s CPU (median of {figure.runs})")
        return figure

    say("warming up")
    warm_up(instructor)
    all_rows = sorted({*rows, *(fit_rows if instructor else ())})
    sizes: dict[int, Size] = {}
    fit: Fit | None = None
    for n in all_rows:
        say(f"{n:,} rows: building the transcript")
        transcript = build_transcript(n)
        size = sizes[n] = Size(
            n, len(transcript.arguments.encode()), len(transcript.body), transcript.events
        )
        say(f"{n:,} rows, {size.json_bytes:,} bytes of JSON, {size.events:,} SSE events")
        size.figures[STREAMSTRUCT] = measured(
            _LABELS[STREAMSTRUCT], measure_streamstruct(transcript, repeat=repeat)
        )
        size.figures[STREAMSTRUCT_PER_EVENT] = measured(
            _LABELS[STREAMSTRUCT_PER_EVENT],
            measure_streamstruct(transcript, read_bytes=None, repeat=repeat),
        )
        if not instructor:
            continue
        if n in fit_rows:
            size.figures[INSTRUCTOR] = measured(
                "instructor (fit point)", measure_instructor(transcript, repeat=repeat)
            )
            done = [(r, sizes[r].figures[INSTRUCTOR].cpu) for r in fit_rows if r in sizes]
            if len(done) == len(set(fit_rows)) and len(done) >= 2:
                fit = Fit.of(sorted(done))
                say(f"  instructor fit: cpu = {fit.describe()}")
            continue
        if fit is None:  # a size below the fit's: the projection is not known yet
            size.figures[INSTRUCTOR] = measured(
                "instructor", measure_instructor(transcript, repeat=repeat)
            )
            continue
        projected = fit(n)
        if projected <= budget:
            say(f"  instructor: projected {projected:.1f} s of CPU per run, running it")
            runs = repeat if projected * repeat <= budget else 1
            size.figures[INSTRUCTOR] = measured(
                "instructor", measure_instructor(transcript, repeat=runs)
            )
            # The larger the sizes fitted, the better the projection further out: refit on all.
            fit = Fit.of(
                [
                    (r, figure.cpu)
                    for r, other in sorted(sizes.items())
                    if (figure := other.figures.get(INSTRUCTOR)) is not None
                    and figure.extrapolated is None
                ]
            )
            say(f"  instructor refit: cpu = {fit.describe()}")
        else:
            say(f"  instructor: projected {projected:.0f} s of CPU > {budget:g} s, extrapolated")
            size.figures[INSTRUCTOR] = Measurement(
                cpu=projected,
                wall=None,
                # one per arguments chunk, the opening one with "" included, as at every size
                snapshots=transcript.events - 3,
                runs=0,
                extrapolated=fit.describe(),
            )
    meta = {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "machine": platform.machine(),
        "streamstruct": _version("streamstruct"),
        "build": parser_build(),
        "instructor": _version("instructor") if instructor else None,
        "openai": _version("openai") if instructor else None,
        "httpx": _version("httpx"),
        "pydantic": _version("pydantic"),
        "piece_chars": PIECE_CHARS,
        "read_bytes": READ_BYTES,
        "repeat": repeat,
        "instructor_fit_rows": sorted(fit_rows) if instructor else None,
        "instructor_budget_seconds": budget if instructor else None,
    }
    return Results([sizes[n] for n in all_rows], fit, meta)


# -- the targets ---------------------------------------------------------------------------------


def _size(results: Results, rows: int) -> Size | None:
    return next((size for size in results.sizes if size.rows == rows), None)


def growth(results: Results, library: str, small: int, big: int) -> float | None:
    """``library``'s CPU at ``big`` rows over its CPU at ``small`` rows."""
    a, b = _size(results, small), _size(results, big)
    fa = None if a is None else a.figures.get(library)
    fb = None if b is None else b.figures.get(library)
    return None if fa is None or fb is None else fb.cpu / fa.cpu


def targets(results: Results) -> list[Target]:
    """The issue's two targets, for each way streamstruct reads the body."""
    out: list[Target] = []
    at = _size(results, SPEEDUP_ROWS)
    small, big = GROWTH_ROWS
    for library in (STREAMSTRUCT, STREAMSTRUCT_PER_EVENT):
        label = _LABELS[library].removeprefix("streamstruct ")
        ratio = None if at is None else at.ratio(library)
        slow = None if at is None else at.figures.get(INSTRUCTOR)
        out.append(
            Target(
                f"{SPEEDUP_ROWS:,} rows: instructor CPU / streamstruct CPU {label}",
                f">= {SPEEDUP_FLOOR:g}x",
                ratio,
                None if ratio is None else ratio >= SPEEDUP_FLOOR,
                extrapolated=slow is not None and slow.extrapolated is not None,
            )
        )
        value = growth(results, library, small, big)
        out.append(
            Target(
                f"streamstruct {label}: CPU {big:,} rows / {small:,} rows",
                f"<= {GROWTH_CEILING:g}x",
                value,
                None if value is None else value <= GROWTH_CEILING,
            )
        )
    return out


# -- the table -----------------------------------------------------------------------------------


def _seconds(seconds: float) -> str:
    if seconds >= 100:
        return f"{seconds:,.0f} s"
    if seconds >= 10:
        return f"{seconds:.1f} s"
    return f"{seconds:.3f} s" if seconds >= 0.1 else f"{seconds * 1e3:.1f} ms"


def _number(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def _bytes(count: int) -> str:
    if count >= 1_000_000:
        return f"{count / 1e6:.2f} MB"
    return f"{count / 1e3:.1f} KB" if count >= 1_000 else f"{count} B"


def _library_cells(size: Size, library: str) -> list[str]:
    figure = size.figures.get(library)
    if figure is None:
        return ["-", "-", "-"]
    mark = "*" if figure.extrapolated else ""
    per_event = size.per_event_us(library)
    assert per_event is not None
    snapshots = "?" if figure.snapshots is None else f"{mark}{figure.snapshots:,}"
    return [f"{mark}{_seconds(figure.cpu)}", f"{mark}{_number(per_event)}", snapshots]


def _ratio_cell(size: Size, library: str) -> str:
    ratio = size.ratio(library)
    if ratio is None:
        return "-"
    figure = size.figures[INSTRUCTOR]
    return f"{'*' if figure.extrapolated else ''}{_number(ratio)}x"


def format_report(results: Results) -> str:
    meta = results.meta
    with_instructor = meta["instructor"] is not None
    libraries = [STREAMSTRUCT, STREAMSTRUCT_PER_EVENT] + ([INSTRUCTOR] if with_instructor else [])
    short = {STREAMSTRUCT: "ss 16K", STREAMSTRUCT_PER_EVENT: "ss ev", INSTRUCTOR: "instr"}
    header = ["rows", "JSON", "SSE events"]
    for library in libraries:
        header += [f"{short[library]} CPU", f"{short[library]} us/ev", f"{short[library]} snaps"]
    if with_instructor:
        header += ["instr/ss 16K", "instr/ss ev"]
    body: list[list[str]] = []
    for size in results.sizes:
        line = [f"{size.rows:,}", _bytes(size.json_bytes), f"{size.events:,}"]
        for library in libraries:
            line += _library_cells(size, library)
        if with_instructor:
            line += [_ratio_cell(size, STREAMSTRUCT), _ratio_cell(size, STREAMSTRUCT_PER_EVENT)]
        body.append(line)
    small, big = GROWTH_ROWS
    if _size(results, small) is None or _size(results, big) is None:
        small, big = (results.sizes[-2].rows, results.sizes[-1].rows)
    if small != big:
        line = [f"CPU {big:,} / {small:,} rows (linear: {big / small:g}x)", "", ""]
        for library in libraries:
            value = growth(results, library, small, big)
            marked = any(
                (s := _size(results, r)) is not None
                and (f := s.figures.get(library)) is not None
                and f.extrapolated is not None
                for r in (small, big)
            )
            line += ["-" if value is None else f"{'*' if marked else ''}{value:.1f}x", "", ""]
        if with_instructor:
            line += ["", ""]
        body.append(line)
    lines = [
        "End-to-end benchmark: Partial[Report] streamed from an in-process transport "
        f"(tool call, {meta['piece_chars']}-char argument pieces)",
        f"Python {meta['python']} ({meta['implementation']}, {meta['machine']}), "
        f"streamstruct {meta['streamstruct']} ({meta.get('build', 'build not recorded')}), "
        f"httpx {meta['httpx']}, pydantic {meta['pydantic']}, "
        + (
            f"instructor {meta['instructor']} (openai {meta['openai']}, Mode.TOOLS, AsyncOpenAI)"
            if with_instructor
            else "instructor not measured"
        ),
        "",
        *grid(header, body, left=1),
        "",
        "CPU: time.process_time() from the request to the final validated object, the median of"
        f" {meta['repeat']} run(s)",
        f"  (1 when a run takes over {LONG_RUN_SECONDS:g} s), GC off while timing; us/ev: that CPU"
        " per SSE event.",
        f"ss 16K: streamstruct, the body read in {meta['read_bytes'] // 1024} KiB pieces (snapshots"
        " coalesce: one per read);",
        "ss ev: streamstruct, one SSE event per read (one snapshot per visible change, as from a"
        " live model).",
        "snaps: snapshots yielded to the caller. instr/ss: instructor CPU / streamstruct CPU.",
    ]
    if with_instructor and results.fit is not None:
        extrapolated = [
            size.rows for size in results.sizes if size.figures[INSTRUCTOR].extrapolated
        ]
        measured_rows = [
            size.rows for size in results.sizes if not size.figures[INSTRUCTOR].extrapolated
        ]
        note = (
            f"instructor: measured at {', '.join(f'{r:,}' for r in measured_rows)} rows; "
            f"fit: cpu = {results.fit.describe()}."
        )
        if len(measured_rows) >= 2:
            small, big = measured_rows[-2:]
            cpu = {size.rows: size.figures[INSTRUCTOR].cpu for size in results.sizes}
            exponent = math.log(cpu[big] / cpu[small]) / math.log(big / small)
            note += (
                f" Measured growth exponent {exponent:.2f} from {small:,} to {big:,} rows"
                " (1 is linear, 2 quadratic)."
            )
        lines += textwrap.wrap(note, width=100, subsequent_indent="  ")
        if extrapolated:
            note = (
                f"* instructor capped at {max(measured_rows):,} rows (a run the fit projects over"
                f" {meta['instructor_budget_seconds']:g} s of CPU is not made): its figures at "
                + ", ".join(f"{r:,}" for r in extrapolated)
                + " rows are the fit's, not measured."
            )
            lines += textwrap.wrap(note, width=100, subsequent_indent="  ")
    elif not with_instructor:
        lines.append(
            "instructor columns skipped: "
            + (
                "--skip-instructor."
                if _instructor_available()
                else "instructor/openai not installed (pip install 'streamstruct[bench]')."
            )
        )
    checks = targets(results)
    lines += ["", "Targets:"]
    lines += targets_table(checks, "x")
    return "\n".join(lines)


def to_json(results: Results) -> dict[str, Any]:
    return {
        "meta": results.meta,
        "sizes": [asdict(size) for size in results.sizes],
        "instructor_fit": None if results.fit is None else asdict(results.fit),
        "targets": targets_json(targets(results)),
    }


# -- the profile ---------------------------------------------------------------------------------


def profile(rows: int, *, read_bytes: int | None = READ_BYTES, top: int = 10) -> str:
    """streamstruct at ``rows`` under cProfile: the top functions by own and by cumulative time."""
    warm_up(instructor=False)
    transcript = build_transcript(rows)
    pieces, expected = transcript.pieces(read_bytes), _expected(transcript)
    profiler = cProfile.Profile()
    profiler.enable()
    sample = asyncio.run(_streamstruct_once(pieces, expected))
    profiler.disable()
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    events = transcript.events
    reads = "one SSE event" if read_bytes is None else f"{read_bytes // 1024} KiB"
    lines = [
        f"streamstruct under cProfile: {rows:,} rows, {events:,} SSE events, {reads} per read, "
        f"{sample.snapshots:,} snapshots; {sample.cpu:.2f} s CPU with the profiler "
        f"({sample.cpu / events * 1e6:.1f} us per event)",
    ]
    package = str(Path(streamstruct.__file__).resolve().parent)
    for title, column, only_ours in (
        ("own time", 2, False),
        # Cumulative time is led by the event loop and this harness, which wrap everything:
        # streamstruct's own functions only.
        ("cumulative time, streamstruct's functions", 3, True),
    ):
        candidates = [
            item
            for item in stats.items()
            if not only_ours or str(Path(item[0][0]).resolve()).startswith(package)
        ]
        ranked = sorted(candidates, key=lambda item: item[1][column], reverse=True)[:top]
        body = [
            [
                _where(key),
                f"{value[1]:,}",
                f"{value[2]:.3f}",
                f"{value[3]:.3f}",
                f"{value[column] / events * 1e6:.2f}",
            ]
            for key, value in ranked
        ]
        lines += ["", f"Top {top} by {title}:"]
        lines += grid(["function", "calls", "own s", "cum s", "us/event"], body, left=1)
    return "\n".join(lines)


def _where(key: tuple[str, int, str]) -> str:
    filename, line, function = key
    if filename == "~":  # a builtin
        return function
    path = Path(filename)
    parts = path.parts
    for anchor in ("streamstruct", "benchmarks", "site-packages", "lib"):
        if anchor in parts:
            index = len(parts) - 1 - parts[::-1].index(anchor)
            start = index + 1 if anchor in ("site-packages", "lib") else index
            return f"{'/'.join(parts[start:])}:{line}({function})"
    return f"{path.name}:{line}({function})"


# -- the command line ----------------------------------------------------------------------------


def _instructor_available() -> bool:
    return _optional("instructor") is not None and _optional("openai") is not None


def _rows(text: str) -> list[int]:
    values = [int(part.replace("_", "").replace(",", "")) for part in text.split(",") if part]
    if not values or any(value <= 0 for value in values):
        raise argparse.ArgumentTypeError(f"not a list of positive row counts: {text!r}")
    return values


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.e2e", description=(__doc__ or "").split("\n\n")[0]
    )
    parser.add_argument(
        "--rows", type=_rows, help="comma-separated row counts (default 500,2000,20000)"
    )
    parser.add_argument("--repeat", type=int, help=f"runs per measurement (default {REPEAT})")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="50 and 200 rows, instructor fitted at 20 and 50, one run each (seconds)",
    )
    parser.add_argument("--skip-instructor", action="store_true", help="streamstruct only")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the raw numbers here")
    parser.add_argument(
        "--profile",
        type=int,
        metavar="ROWS",
        help="instead of the table: streamstruct at ROWS rows under cProfile (16 KiB and event reads)",
    )
    args = parser.parse_args(argv)

    def progress(message: str) -> None:
        print(f"[e2e] {message}", file=sys.stderr, flush=True)

    if args.profile is not None:
        for read_bytes in (READ_BYTES, None):
            progress(f"profiling {args.profile:,} rows")
            print(profile(args.profile, read_bytes=read_bytes), end="\n\n")
        return 0
    instructor = not args.skip_instructor
    if instructor and not _instructor_available():
        progress(
            "instructor or openai is not installed: its columns are skipped "
            "(pip install 'streamstruct[bench]')"
        )
        instructor = False
    rows = args.rows or (QUICK_ROWS if args.quick else DEFAULT_ROWS)
    repeat = args.repeat if args.repeat is not None else (1 if args.quick else REPEAT)
    results = run(
        rows,
        instructor=instructor,
        fit_rows=QUICK_INSTRUCTOR_FIT_ROWS if args.quick else INSTRUCTOR_FIT_ROWS,
        budget=QUICK_INSTRUCTOR_BUDGET_SECONDS if args.quick else INSTRUCTOR_BUDGET_SECONDS,
        repeat=repeat,
        progress=progress,
    )
    print(format_report(results))
    if args.json is not None:
        args.json.write_text(json.dumps(to_json(results), indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
