"""Issue 14's shapes, section 1 of the suite's last part: what used to cost more than its length.

CPU time (medians, the garbage collector on), in each build of streamstruct (``benchmarks.builds``:
a child process per build; :func:`measure` in this process for one build alone):

- **one long string**: ``{"title": ..., "body": "<prose>"}`` at the two largest sizes, in
  4-character pieces, read by a consumer of every snapshot: ``JSONParser`` feed+snapshot, and
  ``create_partial`` over an in-process transport handing over one SSE event per read (every
  snapshot made and read). Target: the larger size costs at most 12x the smaller (10x the text);
- **deep nesting**: arrays nested 990 deep (``max_depth=1000``, the default) and 16,000 deep
  (``max_depth=20000``), repeated to about 200 KB, beside the same arrays side by side (two levels
  deep: as many brackets, and a comma each, so 1.5x the bytes). Same two methods
  (``Partial[Holder]``, ``data: Any``). Target: time per byte nested at most 2x flat.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import json
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Final

from pydantic import BaseModel

import streamstruct
from benchmarks._common import KB, Progress, Target, grid, seconds_label, size_label
from benchmarks.builds import BUILDS, PURE, Workers
from benchmarks.parser import PIECE_CHARS
from streamstruct._core._json import JSONParser

__all__ = [
    "DEPTHS",
    "FLAT",
    "LONG_STRING",
    "NESTED",
    "SHAPE_METHODS",
    "ShapeFigure",
    "flat_json",
    "format_shapes",
    "long_string_json",
    "measure",
    "measure_in_builds",
    "nested_json",
    "planned_steps",
    "targets",
]


@dataclass
class ShapeFigure:
    """One shape (a long string, nested or flat arrays) measured one way: CPU seconds (median)."""

    shape: str  # LONG_STRING, NESTED or FLAT
    detail: str  # the size, or the depth
    method: str  # SHAPE_PARSER or SHAPE_PARTIAL
    nbytes: int
    seconds: float
    build: str = PURE  # the build of streamstruct it ran in (``benchmarks.builds``)

    @property
    def ns_per_byte(self) -> float:
        return self.seconds / self.nbytes * 1e9


LONG_STRING: Final = "long string"
NESTED: Final = "nested"
FLAT: Final = "flat"
SHAPE_PARSER: Final = "JSONParser feed+snapshot"
SHAPE_PARTIAL: Final = "create_partial, 1 event/read"
SHAPE_METHODS: Final = (SHAPE_PARSER, SHAPE_PARTIAL)
DEPTHS: Final = ((990, 1000), (16_000, 20_000))  # (depth, max_depth)
DEPTH_BYTES: Final = 200 * KB
MIN_SECONDS: Final = 0.3  # CPU time of a figure's timed runs, at least (see _cpu)
MAX_RUNS: Final = 50  # ... unless it took this many
LONG_STRING_GROWTH_LIMIT: Final = 12.0
DEPTH_LIMIT: Final = 2.0


class Answer(BaseModel):
    title: str
    body: str


class Holder(BaseModel):
    data: Any


def long_string_json(size: int) -> str:
    """``{"title": ..., "body": ...}``: one string field of prose, about ``size`` bytes in all."""
    words = itertools.cycle(("streaming ", "one ", "long ", "answer ", "field, ", "token ", "by "))
    body = "".join(itertools.islice(words, size // 5))[: max(size - 40, 1)]
    return json.dumps({"title": "A long answer", "body": body})


def nested_json(depth: int, size: int) -> str:
    """``{"data": [...]}`` holding arrays nested ``depth`` deep, as many as fit in ``size``."""
    one = "[" * depth + "]" * depth
    return '{"data": [' + ",".join([one] * max(1, size // (2 * depth + 1))) + "]}"


def flat_json(depth: int, size: int) -> str:
    """What :func:`nested_json` holds, the arrays side by side: as many brackets, and a comma
    between each (1.5x the bytes: per byte the nested text has 1.5x the work)."""
    one = "[" + ",".join(["[]"] * (depth - 1)) + "]"
    return '{"data": [' + ",".join([one] * max(1, size // (2 * depth + 1))) + "]}"


def _cpu(fn: Callable[[], object], repeat: int, min_seconds: float) -> float:
    # One run first, not timed: the first of a shape's runs paid for its warm-up (the 100 KB long
    # string, compiled: 13.4x its later runs' ratio to 1 MB in one trial, 7.7-8.1x after it), which
    # with three runs could decide the median and the verdict.
    # Then at least ``repeat`` runs and ``min_seconds`` of them (MIN_SECONDS, or MAX_RUNS runs): the 100 KB long string takes ~3 ms
    # compiled, and three runs of it on a loaded machine gave the 1 MB / 100 KB verdict to the noise.
    # The garbage collector stays on (it is what deep nesting costs) and collects before each run,
    # as the worker does before each stream: one run's garbage is not the next one's bill.
    fn()
    samples: list[float] = []
    while len(samples) < repeat or (sum(samples) < min_seconds and len(samples) < MAX_RUNS):
        gc.collect()
        start = time.process_time()
        fn()
        samples.append(time.process_time() - start)
    return statistics.median(samples)


def _parser_stream(text: str, max_depth: int) -> Callable[[], object]:
    pieces = [text[i : i + PIECE_CHARS] for i in range(0, len(text), PIECE_CHARS)]

    def run() -> object:
        parser = JSONParser(max_depth=max_depth)
        feed, snapshot = parser.feed, parser.snapshot
        for piece in pieces:
            feed(piece)
            snapshot()
        return parser.close()

    return run


def _partial_stream(text: str, model: type[BaseModel], max_depth: int) -> Callable[[], object]:
    """create_partial over an in-process transport, one SSE event per read, every snapshot read."""
    import httpx

    from benchmarks import memory

    async def stream() -> None:
        transport = memory._RenderingTransport(text, PIECE_CHARS, 1)  # one event per read
        async with httpx.AsyncClient(transport=transport) as http:
            partial_stream = memory._create_partial(
                http, model, max_response_bytes=None, max_depth=max_depth
            )
            async for _partial in partial_stream:
                pass
            await partial_stream.get_final()

    return lambda: asyncio.run(stream())


def measure(
    sizes: Sequence[int],
    *,
    repeat: int,
    min_seconds: float = MIN_SECONDS,
    progress: Progress | None = None,
) -> list[ShapeFigure]:
    """The long string at the two largest ``sizes``; nested and flat arrays at each depth, in
    this process (the build it imports); each figure the median of ``repeat`` runs at least, and
    of ``min_seconds`` of them (see _cpu)."""
    build = streamstruct.build_info().build
    out: list[ShapeFigure] = []
    for size in sorted(sizes)[-2:]:
        if progress is not None:
            progress.step(f"parser shapes: one long string, {size_label(size)}")
        text = long_string_json(size)
        for method, fn in (
            (SHAPE_PARSER, _parser_stream(text, 1000)),
            (SHAPE_PARTIAL, _partial_stream(text, Answer, 1000)),
        ):
            out.append(
                ShapeFigure(
                    LONG_STRING,
                    size_label(size),
                    method,
                    len(text),
                    _cpu(fn, repeat, min_seconds),
                    build,
                )
            )
    for depth, max_depth in DEPTHS:
        if progress is not None:
            progress.step(f"parser shapes: {depth:,} deep and flat")
        size = min(DEPTH_BYTES, max(sizes))
        for shape, text in (
            (NESTED, nested_json(depth, size)),
            (FLAT, flat_json(depth, size)),
        ):
            for method, fn in (
                (SHAPE_PARSER, _parser_stream(text, max_depth)),
                (SHAPE_PARTIAL, _partial_stream(text, Holder, max_depth)),
            ):
                seconds = _cpu(fn, repeat, min_seconds)
                figure = ShapeFigure(shape, f"{depth:,}", method, len(text), seconds, build)
                out.append(figure)
    return out


#: progress steps :func:`measure` takes: two long strings, two depths
STEPS: Final = 4


def planned_steps(builds: Sequence[str]) -> int:
    return STEPS * max(1, len(builds))


def measure_in_builds(
    sizes: Sequence[int],
    *,
    repeat: int,
    min_seconds: float = MIN_SECONDS,
    builds: Sequence[str] = BUILDS,
    progress: Progress | None = None,
) -> tuple[list[ShapeFigure], dict[str, str]]:
    """:func:`measure` in a child process per build (the builds that cannot be made here are
    left out: the second item says why); in this process when ``builds`` is empty."""
    if not builds:
        return measure(sizes, repeat=repeat, min_seconds=min_seconds, progress=progress), {}
    out: list[ShapeFigure] = []
    with Workers(tuple(builds)) as workers:
        for build in builds:
            worker = workers.workers.get(build)
            if worker is not None:
                answer = worker.ask(
                    op="shapes", sizes=list(sizes), repeat=repeat, min_seconds=min_seconds
                )
                out += [ShapeFigure(**figure) for figure in answer["figures"]]
            if progress is not None:
                for _ in range(STEPS):
                    progress.step(f"parser shapes: {build}")
        return out, dict(workers.skipped)


def as_json(figures: Sequence[ShapeFigure]) -> list[dict[str, Any]]:
    return [asdict(figure) for figure in figures]


def _shape(
    figures: Sequence[ShapeFigure], build: str, shape: str, detail: str, method: str
) -> ShapeFigure | None:
    return next(
        (
            f
            for f in figures
            if f.build == build and f.shape == shape and f.detail == detail and f.method == method
        ),
        None,
    )


def targets(figures: Sequence[ShapeFigure]) -> list[Target]:
    """Issue 14's targets 1 and 3 (time), per build: a long string linear, deep nesting like flat."""
    out: list[Target] = []
    for build in dict.fromkeys(f.build for f in figures):
        out += _build_targets(figures, build)
    return out


def _build_targets(figures: Sequence[ShapeFigure], build: str) -> list[Target]:
    out: list[Target] = []
    details = list(
        dict.fromkeys(f.detail for f in figures if f.build == build and f.shape == LONG_STRING)
    )
    for method in SHAPE_METHODS:
        small = _shape(figures, build, LONG_STRING, details[0], method) if details else None
        big = _shape(figures, build, LONG_STRING, details[-1], method) if details else None
        ratio = None if small is None or big is None else big.seconds / small.seconds
        what = (
            f"one long string, {details[-1]} / {details[0]}: {method} CPU"
            if details
            else f"one long string: {method} CPU"
        )
        out.append(
            Target.ratio(
                f"{what} ({build})", ratio, at_most=LONG_STRING_GROWTH_LIMIT, shown="{:.1f}x"
            )
        )
    for depth, max_depth in DEPTHS:
        for method in SHAPE_METHODS:
            nested = _shape(figures, build, NESTED, f"{depth:,}", method)
            flat = _shape(figures, build, FLAT, f"{depth:,}", method)
            ratio = (
                None if nested is None or flat is None else nested.ns_per_byte / flat.ns_per_byte
            )
            out.append(
                Target.ratio(
                    f"{depth:,} nested arrays (max_depth={max_depth:,}) / flat: {method}"
                    f" time per byte ({build})",
                    ratio,
                    at_most=DEPTH_LIMIT,
                )
            )
    return out


def format_shapes(
    figures: Sequence[ShapeFigure], skipped: dict[str, str] | None = None
) -> list[str]:
    if not figures:
        return []
    body = [
        [
            f.build,
            f.shape,
            f.detail,
            f.method,
            size_label(f.nbytes),
            seconds_label(f.seconds),
            f"{f.ns_per_byte:,.0f}",
        ]
        for f in figures
    ]
    header = ["build", "shape", "size/depth", "method", "JSON", "CPU", "ns/byte"]
    lines = [
        "",
        "Shapes (CPU, median, the collector on; each build in a child process unless run alone):"
        " one long string field in 4-char pieces; arrays nested 990 and 16,000 deep beside the same"
        " arrays flat",
        *grid(header, body, left=3),
    ]
    lines += [f"Shapes: the {build} build skipped: {why}" for build, why in (skipped or {}).items()]
    return lines
