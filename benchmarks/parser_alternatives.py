"""Section 1 of the suite: JSONParser next to every alternative, on the same documents.

One-shot (the whole text at once): ``json.loads``, ``jiter.from_json`` and ``JSONParser``. Streamed
in 4-character pieces with a snapshot of the value so far after every piece, as a caller showing a
live structured output needs:

- **jiter re-parse**: ``jiter.from_json(buf.encode(), partial_mode="trailing-strings")`` on all the
  text so far;
- **pydantic-core re-parse**: ``pydantic_core.from_json(buf, allow_partial="trailing-strings")``
  (what ``pydantic`` itself offers for partial JSON);
- **partial-json-parser re-parse**: ``partial_json_parser.loads(buf)`` (pure Python);
- **ijson push**: ``ijson.parse_coro`` fed byte pieces. ijson hands out events, not values, so it
  yields no snapshot: it is here as the other resumable parser, for its speed, not as a like-for-like;
- **JSONParser**: ``feed(piece)`` then ``snapshot()``.

The re-parsers are quadratic: each is run until done or past a time budget, and past the budget the
time for every piece is the fit T(k) = a*k + b*k^2 through the prefix it ran (see
``benchmarks.parser._capped``), marked ``*``. The documents are ``benchmarks.parser``'s (B by
default: ``{"records": [...]}`` of small records, the shape of most structured outputs).

Then issue 14's shapes (a long string, deep nesting), in each build: ``benchmarks.shapes``.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from benchmarks import parser as base
from benchmarks import shapes as shape_figures
from benchmarks._common import (
    MB,
    Figure,
    Progress,
    Target,
    grid,
    optional,
    seconds_label,
    size_label,
    version,
)
from benchmarks.builds import BUILDS
from benchmarks.shapes import ShapeFigure
from streamstruct._core._json import JSONParser

__all__ = [
    "LABELS",
    "METHODS",
    "ParserResults",
    "ParserRow",
    "format_results",
    "planned_steps",
    "run",
    "shape_targets",
    "targets",
]

jiter = optional("jiter")
ijson = optional("ijson")
pydantic_core = optional("pydantic_core")
partial_json_parser = optional("partial_json_parser")

PIECE_CHARS: Final = base.PIECE_CHARS

JSON_LOADS: Final = "json_loads"
JITER: Final = "jiter"
PARSER: Final = "jsonparser"
JITER_REPARSE: Final = "jiter_reparse"
PYDANTIC_REPARSE: Final = "pydantic_core_reparse"
PJP_REPARSE: Final = "partial_json_parser_reparse"
IJSON_PUSH: Final = "ijson_push"
PARSER_STREAM: Final = "jsonparser_stream"

ONE_SHOT: Final = (JSON_LOADS, JITER, PARSER)
STREAMED: Final = (JITER_REPARSE, PYDANTIC_REPARSE, PJP_REPARSE, IJSON_PUSH, PARSER_STREAM)
METHODS: Final = (*ONE_SHOT, *STREAMED)
REPARSERS: Final = (JITER_REPARSE, PYDANTIC_REPARSE, PJP_REPARSE)
LABELS: Final = {
    JSON_LOADS: "json.loads",
    JITER: "jiter",
    PARSER: "JSONParser",
    JITER_REPARSE: "jiter re-parse",
    PYDANTIC_REPARSE: "pydantic-core re-parse",
    PJP_REPARSE: "partial-json-parser re-parse",
    IJSON_PUSH: "ijson push (no snapshot)",
    PARSER_STREAM: "JSONParser feed+snapshot",
}
SHORT: Final = {
    **LABELS,
    PYDANTIC_REPARSE: "pydantic-core re-parse",
    PJP_REPARSE: "partial-json-parser",
    IJSON_PUSH: "ijson push",
    PARSER_STREAM: "JSONParser stream",
}
_REQUIRES: Final = {
    JITER: ("jiter", jiter),
    JITER_REPARSE: ("jiter", jiter),
    PYDANTIC_REPARSE: ("pydantic-core", pydantic_core),
    PJP_REPARSE: ("partial-json-parser", partial_json_parser),
    IJSON_PUSH: ("ijson", ijson),
}


@dataclass
class ParserRow:
    doc: str
    size: int
    nbytes: int
    pieces: int
    figures: dict[str, Figure] = field(default_factory=dict)

    def mb_per_s(self, method: str) -> float | None:
        figure = self.figures.get(method)
        if figure is None or figure.seconds is None:
            return None
        return self.nbytes / figure.seconds / MB


@dataclass
class ParserResults:
    rows: list[ParserRow]
    meta: dict[str, Any]
    shapes: list[ShapeFigure] = field(default_factory=list)
    shapes_skipped: dict[str, str] = field(default_factory=dict)  # build: why


def _reparser(parse: Callable[[str], object]) -> base.Runner:
    """A runner for ``base._capped``: after every piece, ``parse`` all the text so far."""

    def run(pieces: Sequence[Any], deadline: float) -> list[tuple[int, float]]:
        n = len(pieces)
        checkpoints: list[tuple[int, float]] = []
        buf = ""
        start = time.perf_counter()
        for k, piece in enumerate(pieces, 1):
            buf += piece
            parse(buf)
            if k % 64 == 0 or k == n:
                elapsed = time.perf_counter() - start
                checkpoints.append((k, elapsed))
                if elapsed > deadline:
                    break
        return checkpoints

    return run


def _reparse_functions() -> dict[str, Callable[[str], object]]:
    out: dict[str, Callable[[str], object]] = {}
    if jiter is not None:
        jiter_from_json = jiter.from_json
        out[JITER_REPARSE] = lambda buf: jiter_from_json(
            buf.encode(), partial_mode="trailing-strings"
        )
    if pydantic_core is not None:
        core_from_json = pydantic_core.from_json
        out[PYDANTIC_REPARSE] = lambda buf: core_from_json(buf, allow_partial="trailing-strings")
    if partial_json_parser is not None:
        out[PJP_REPARSE] = partial_json_parser.loads
    return out


def _from_capped(figure: base.Figure, pieces: int) -> Figure:
    extrapolated = None
    if figure.extrapolated_from is not None:
        done, total = figure.extrapolated_from
        extrapolated = f"fitted on the first {done:,} of {total:,} pieces"
    return Figure(figure.seconds, figure.runs, snapshots=pieces, extrapolated=extrapolated)


def measure(
    doc: str,
    size: int,
    *,
    repeat: int,
    budget: float,
    progress: Progress | None = None,
) -> ParserRow:
    """Every method on one document of about ``size`` bytes."""
    text = base.BUILDERS[doc](size)
    pieces = [text[i : i + PIECE_CHARS] for i in range(0, len(text), PIECE_CHARS)]
    row = ParserRow(doc, size, len(text.encode()), len(pieces))
    figures = row.figures
    data = text.encode()

    def timed(fn: Callable[[], object]) -> Figure:
        seconds, runs = base._timed(fn, repeat)
        return Figure(seconds, runs)

    def parse_whole() -> object:
        parser = JSONParser()
        parser.feed(text)
        return parser.close()

    figures[JSON_LOADS] = timed(lambda: json.loads(text))
    figures[PARSER] = timed(parse_whole)
    if jiter is not None:
        jiter_from_json = jiter.from_json
        figures[JITER] = timed(lambda: jiter_from_json(data))
    reparse = _reparse_functions()
    for method in REPARSERS:
        if method in reparse:
            if progress is not None:
                progress.step(f"parser: {doc} {size_label(size)}: {LABELS[method]}")
            capped = base._capped(_reparser(reparse[method]), pieces, repeat, budget)
            figures[method] = _from_capped(capped, len(pieces))
    if ijson is not None:
        byte_pieces = [piece.encode() for piece in pieces]
        capped = base._capped(base._ijson_push, byte_pieces, repeat, budget)
        figures[IJSON_PUSH] = _from_capped(capped, 0)
    streamed = timed(lambda: base._feed_pieces_with_snapshots(pieces))
    streamed.snapshots = len(pieces)
    figures[PARSER_STREAM] = streamed
    for method, (package, module) in _REQUIRES.items():
        if module is None:
            figures[method] = Figure(None, note=f"{package} not installed")
    return row


def planned_steps(docs: Sequence[str], sizes: Sequence[int], builds: Sequence[str] = BUILDS) -> int:
    """Progress steps :func:`run` takes: one per document and size, one per re-parser there, and
    the shapes' (``benchmarks.shapes``) in each build."""
    shapes = shape_figures.planned_steps(builds)
    return len(docs) * len(sizes) * (1 + len(_reparse_functions())) + shapes


def run(
    *,
    docs: Sequence[str] = ("B",),
    sizes: Sequence[int],
    repeat: int,
    budget: float,
    builds: Sequence[str] = BUILDS,
    shape_seconds: float = shape_figures.MIN_SECONDS,
    progress: Progress | None = None,
) -> ParserResults:
    """The documents in this process; the shapes in each of ``builds`` (in this one if none)."""
    rows: list[ParserRow] = []
    for doc in docs:
        for size in sizes:
            if progress is not None:
                progress.step(f"parser: {doc} {size_label(size)}: one-shot and resumable")
            rows.append(measure(doc, size, repeat=repeat, budget=budget, progress=progress))
    shapes, skipped = shape_figures.measure_in_builds(
        sizes, repeat=repeat, min_seconds=shape_seconds, builds=builds, progress=progress
    )
    meta = {
        "docs": {doc: base.DOC_DESCRIPTIONS[doc] for doc in docs},
        "piece_chars": PIECE_CHARS,
        "repeat": repeat,
        "budget_seconds": budget,
        "versions": {
            name: version(name)
            for name in ("jiter", "pydantic-core", "partial-json-parser", "ijson")
        },
        "ijson_backend": getattr(ijson, "backend", None),
    }
    return ParserResults(rows, meta, shapes, skipped)


def shape_targets(results: ParserResults) -> list[Target]:
    """Issue 14's targets 1 and 3 (time), per build (``benchmarks.shapes``)."""
    return shape_figures.targets(results.shapes)


def _cell(row: ParserRow, method: str) -> str:
    figure = row.figures.get(method)
    if figure is None or figure.seconds is None:
        return "n/a"
    mark = "*" if figure.extrapolated else ""
    rate = row.mb_per_s(method)
    assert rate is not None
    rate_text = f"{rate:.0f}" if rate >= 10 else f"{rate:.2f}" if rate < 1 else f"{rate:.1f}"
    return f"{mark}{seconds_label(figure.seconds)} ({rate_text})"


def _best_alternative(row: ParserRow) -> tuple[str, float] | None:
    """The fastest re-parser that yields a snapshot per piece, and its time."""
    candidates = [
        (method, figure.seconds)
        for method in REPARSERS
        if (figure := row.figures.get(method)) is not None and figure.seconds is not None
    ]
    return min(candidates, key=lambda item: item[1]) if candidates else None


def speedup(row: ParserRow) -> float | None:
    """The fastest snapshotting re-parser's time over JSONParser feed+snapshot's."""
    best = _best_alternative(row)
    ours = row.figures[PARSER_STREAM].seconds
    return None if best is None or ours is None else best[1] / ours


def targets(results: ParserResults) -> list[Target]:
    out: list[Target] = []
    for row in results.rows:
        value = speedup(row)
        best = _best_alternative(row)
        out.append(
            Target(
                f"parser {row.doc} {size_label(row.size)}: JSONParser feed+snapshot vs the "
                f"fastest re-parser ({LABELS[best[0]] if best else 'none'})",
                "faster (> 1x)",
                "n/a" if value is None else f"{value:,.1f}x",
                None if value is None else value > 1,
            )
        )
    return out


def format_results(results: ParserResults) -> str:
    header = ["doc", "size", *(SHORT[m] for m in METHODS), "speedup"]
    body: list[list[str]] = []
    for doc in dict.fromkeys(row.doc for row in results.rows):
        rows = sorted((r for r in results.rows if r.doc == doc), key=lambda r: r.size)
        for row in rows:
            value = speedup(row)
            body.append(
                [
                    doc,
                    size_label(row.size),
                    *(_cell(row, m) for m in METHODS),
                    "n/a"
                    if value is None
                    else f"{value:,.0f}x"
                    if value >= 10
                    else f"{value:.1f}x",
                ]
            )
        if len(rows) >= 2:
            small, big = rows[-2], rows[-1]
            cells = []
            for method in METHODS:
                a, b = small.figures.get(method), big.figures.get(method)
                if a is None or b is None or a.seconds is None or b.seconds is None:
                    cells.append("n/a")
                    continue
                mark = "*" if a.extrapolated or b.extrapolated else ""
                cells.append(f"{mark}{b.seconds / a.seconds:.1f}x")
            growth = f"time {size_label(big.size)} / {size_label(small.size)}"
            body.append([doc, growth, *cells, ""])
    meta = results.meta
    versions = ", ".join(f"{k} {v or 'not installed'}" for k, v in meta["versions"].items())
    lines = [
        f"1. Parser: one-shot, then {meta['piece_chars']}-char pieces with a snapshot after each "
        f"({versions})",
        *(f"   document {doc}: {text}" for doc, text in meta["docs"].items()),
        "",
        *grid(header, body, left=2),
        "",
        "Cells: total time (MB/s). JSONParser stream: feed(piece) + snapshot() per piece."
        " speedup: the fastest re-parser's time / JSONParser stream's.",
        "Re-parsers parse all the text so far after every piece (trailing-strings partial mode);"
        " ijson push: parse_coro, events only (no snapshot).",
    ]
    extrapolated = sorted(
        {
            f"{LABELS[m]} at {size_label(r.size)}"
            for r in results.rows
            for m, f in r.figures.items()
            if f.extrapolated
        }
    )
    if extrapolated:
        budget = meta["budget_seconds"]
        lines.append(
            f"* extrapolated (a run would pass the {budget:g} s budget): T(k) = a*k + b*k^2 fitted"
            " on the pieces run: " + ", ".join(extrapolated) + "."
        )
    skipped = sorted({f.note for r in results.rows for f in r.figures.values() if f.note})
    if skipped:
        lines.append("Skipped: " + ", ".join(skipped) + " (pip install 'streamstruct[bench]').")
    lines += shape_figures.format_shapes(results.shapes, results.shapes_skipped)
    return "\n".join(lines)


def growth_exponent(small: ParserRow, big: ParserRow, method: str) -> float | None:
    a, b = small.figures.get(method), big.figures.get(method)
    if a is None or b is None or not a.seconds or not b.seconds:
        return None
    return math.log(b.seconds / a.seconds) / math.log(big.nbytes / small.nbytes)
