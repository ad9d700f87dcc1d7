"""The JSONParser benchmark: one table, every method measured in the same run.

Run from the project root::

    python -m benchmarks.parser                # A, B, C at 1 KB, 10 KB, 100 KB, 1 MB (about two minutes)
    python -m benchmarks.parser --quick        # 1 KB and 10 KB, one run each (a few seconds)
    python benchmarks/parser.py --sizes 100K,1M --repeat 3 --json out.json

The documents are built here, deterministically (no files, no network):

- **A**: a few short fields and one long prose string with escapes (``\\n``, ``\\"``, ``\\\\``,
  ``\\u00e9``, a ``\\ud83d\\ude00`` surrogate pair) and raw non-ASCII text (é, 中文, emoji);
- **B**: ``{"records": [...]}``, a list of small records (name, age, email, tags, score);
- **C**: 50 levels of objects and arrays, alternating, a little content on every level, and the bulk (a
  long list of small objects) inside the 50th.

Sizes are decimal (1 KB = 1,000 bytes of UTF-8); MB/s is 10^6 bytes of UTF-8 per second.

The methods, side by side:

- **one-shot**: ``JSONParser`` (feed the whole text, then ``close()``) next to ``json.loads`` and
  ``jiter.from_json`` (given bytes, its native input);
- **4-char pieces**: the text fed 4 characters at a time, as an LLM stream delivers it. ``JSONParser``
  feed only; ``JSONParser`` with ``snapshot()`` after every piece; re-parsing the accumulated text
  after every piece with ``jiter.from_json(buf.encode(), partial_mode="trailing-strings")`` (what a
  caller does without a resumable parser; quadratic, so capped and extrapolated when it would take too
  long); and ijson's push parser (``ijson.parse_coro``, events only, on pre-encoded byte pieces).

Why: a resumable parser must stay linear in the size of the document while handing out a snapshot
after every delta. The 1 MB / 100 KB ratio of each method says which it is (10 is linear, 100 is
quadratic). Timing: ``time.perf_counter``, one untimed warm-up, the garbage collector off while timing,
the median of several runs, and small inputs timed in loops so that each run lasts at least 20 ms.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import operator
import platform
import random
import statistics
import sys
import textwrap
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from types import ModuleType
from typing import Any

if __package__ in (None, ""):  # run as `python benchmarks/parser.py`: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import MeasuredTarget as Target
from benchmarks._common import (
    gc_off,
    grid,
    parser_build,
    pure_python_parser,
    targets_json,
    targets_table,
)
from streamstruct._core._json import JSONParser

__all__ = [
    "BUILDERS",
    "DOC_DESCRIPTIONS",
    "Figure",
    "Report",
    "Row",
    "build_a",
    "build_b",
    "build_c",
    "format_report",
    "main",
    "parse_size",
    "run",
]

KB = 1_000
MB = 1_000_000
DEFAULT_SIZES = (1 * KB, 10 * KB, 100 * KB, 1 * MB)
QUICK_SIZES = (1 * KB, 10 * KB)
PIECE_CHARS = 4
C_DEPTH = 50
MIN_SAMPLE_SECONDS = 0.02
REPARSE_BUDGET_SECONDS = 3.0
QUICK_REPARSE_BUDGET_SECONDS = 0.3

#: the method keys, in table order
ONE_SHOT_PARSER = "oneshot_parser"
ONE_SHOT_BULK = "oneshot_parser_bulk"
ONE_SHOT_JSON = "oneshot_json"
ONE_SHOT_JITER = "oneshot_jiter"
FEED = "feed"
FEED_SNAPSHOT = "feed_snapshot"
FEED_PURE = "feed_pure"  # the pure-Python parser, fed the same way, where the compiled one is used
JITER_REPARSE = "jiter_reparse"
IJSON_PUSH = "ijson_push"
METHODS = (
    ONE_SHOT_PARSER,
    ONE_SHOT_BULK,
    ONE_SHOT_JSON,
    ONE_SHOT_JITER,
    FEED,
    FEED_SNAPSHOT,
    FEED_PURE,
    JITER_REPARSE,
    IJSON_PUSH,
)


def _optional(name: str) -> ModuleType | None:
    """The module, or None when it is not installed (jiter and ijson come with the ``bench`` extra)."""
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


jiter = _optional("jiter")
ijson = _optional("ijson")


# -- the documents -------------------------------------------------------------------------------

_PROSE = (
    'The committee met on Tuesday and agreed that "streaming" should mean exactly one pass.\n',
    "Café owners in Montréal said the déjà vu was real: naïve, perhaps, but sincere. ",
    "中文的句子也在这里\uff0c带着标点符号\u3002",  # full-width comma and stop
    "Emoji too 🎉🚀, and a Windows path: C:\\Users\\streamstruct\\notes.txt\n",
    "\tTabs, 'single quotes', a slash / and a final \"quoted\" word.\n",
    "Numbers like 3.14159 and 1e-9 stay text inside a string. ",
)
# already in JSON-literal form: the \uXXXX escapes a model may emit for the same characters
_ESCAPED = ("\\u00e9", "\\u4e2d\\u6587", "\\ud83d\\ude00", "\\/", "\\u00fc\\u00df")

_FIRST = ("Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Margaret", "Ken", "Frances")
_LAST = ("Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Hamilton", "Thompson")
_TAGS = ("admin", "beta", "ops", "sales", "research", "support", "remote", "oncall")


def _utf8_len(text: str) -> int:
    return len(text.encode())


def build_a(size: int) -> str:
    """Document A: short fields and one long prose string, about ``size`` bytes of UTF-8."""
    rng = random.Random(0xA)
    head = (
        '{"id": 7, "title": "Release notes", "lang": "en", "draft": false, '
        '"tags": ["prose", "unicode"], "body": "'
    )
    tail = '"}'
    parts: list[str] = []
    total = _utf8_len(head) + len(tail)
    while total < size:
        part = json.dumps(rng.choice(_PROSE), ensure_ascii=False)[1:-1]
        if rng.random() < 0.3:
            part += rng.choice(_ESCAPED)
        parts.append(part)
        total += _utf8_len(part)
    return head + "".join(parts) + tail


def _record(rng: random.Random, index: int) -> dict[str, Any]:
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    return {
        "name": f"{first} {last}",
        "age": rng.randint(18, 90),
        "email": f"{first.lower()}.{last.lower()}{index}@example.com",
        "tags": rng.sample(_TAGS, rng.randint(0, 3)),
        "score": round(rng.uniform(0, 100), 2),
    }


def build_b(size: int) -> str:
    """Document B: ``{"records": [...]}`` with as many small records as fit in ``size`` bytes."""
    rng = random.Random(0xB)
    head, tail = '{"records": [', "]}"
    records: list[str] = []
    total = len(head) + len(tail)
    while total < size or not records:
        record = json.dumps(_record(rng, len(records)))
        records.append(record)
        total += len(record) + 2
    return head + ", ".join(records) + tail


def build_c(size: int) -> str:
    """Document C: objects and arrays alternating 50 deep, the bulk inside the 50th level.

    Compact separators, unlike A and B, so that the three documents cover both styles.
    """
    rng = random.Random(0xC)
    opens: list[str] = []
    closes: list[str] = []
    for level in range(C_DEPTH):
        if level % 2 == 0:
            opens.append(f'{{"n":{level},"c":')
            closes.append("}")
        else:
            opens.append(f'[{level},"leaf",')
            closes.append("]")
    # the innermost level is an array (C_DEPTH is even): the bulk items are its elements
    items: list[str] = []
    total = sum(map(len, opens)) + len(closes)
    while total < size or not items:
        index = len(items)
        item = json.dumps(
            {"id": index, "ok": rng.random() < 0.5, "v": round(rng.uniform(-1, 1), 3)},
            separators=(",", ":"),
        )
        items.append(item)
        total += len(item) + 1
    return "".join(opens) + ",".join(items) + "".join(reversed(closes))


BUILDERS: dict[str, Callable[[int], str]] = {"A": build_a, "B": build_b, "C": build_c}
DOC_DESCRIPTIONS: dict[str, str] = {
    "A": "short fields + one long prose string (escapes, é, 中文, emoji)",
    "B": '{"records": [...]} of small records',
    "C": f"objects/arrays alternating {C_DEPTH} deep, bulk at depth {C_DEPTH}",
}


def parse_size(text: str) -> int:
    """``"1K"``, ``"100KB"``, ``"1M"``, ``"2500"`` → bytes (decimal units)."""
    spec = text.strip().upper().removesuffix("B")
    scale = 1
    if spec.endswith("K"):
        spec, scale = spec[:-1], KB
    elif spec.endswith("M"):
        spec, scale = spec[:-1], MB
    value = int(float(spec) * scale)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"not a positive size: {text!r}")
    return value


def size_label(size: int) -> str:
    if size >= MB and size % MB == 0:
        return f"{size // MB} MB"
    if size >= KB and size % KB == 0:
        return f"{size // KB} KB"
    return f"{size} B"


# -- the measurements ----------------------------------------------------------------------------


@dataclass
class Figure:
    """One method's time on one document: ``seconds`` is the median total (None: not measured)."""

    seconds: float | None
    runs: int = 0
    #: (pieces actually re-parsed, pieces in all) when the time is extrapolated
    extrapolated_from: tuple[int, int] | None = None
    note: str = ""


@dataclass
class Row:
    doc: str
    size: int
    nbytes: int
    nchars: int
    pieces: int
    figures: dict[str, Figure] = field(default_factory=dict)

    def mb_per_s(self, method: str) -> float | None:
        seconds = self.figures[method].seconds
        return None if seconds is None else self.nbytes / seconds / MB


@dataclass
class Report:
    rows: list[Row]
    meta: dict[str, Any]


def _timed(fn: Callable[[], object], repeat: int) -> tuple[float, int]:
    """The median seconds per call of ``fn`` over ``repeat`` runs, after one untimed warm-up.

    A run that would last under ``MIN_SAMPLE_SECONDS`` calls ``fn`` in a loop and divides, so that
    the timer's resolution and one-off hiccups do not dominate small documents.
    """
    start = time.perf_counter()
    fn()  # the warm-up, timed only to size the loop
    estimate = time.perf_counter() - start
    number = max(1, math.ceil(MIN_SAMPLE_SECONDS / max(estimate, 1e-7)))
    samples: list[float] = []
    with gc_off():
        for _ in range(repeat):
            start = time.perf_counter()
            for _ in range(number):
                fn()
            samples.append((time.perf_counter() - start) / number)
    return statistics.median(samples), repeat


def _parse_whole(text: str) -> object:
    parser = JSONParser()
    parser.feed(text)
    return parser.close()


def _parse_whole_untracked(text: str) -> object:
    # Only the root's completion reported: whole containers may then go to the C decoder.
    parser = JSONParser(completion_depth=0)
    parser.feed(text)
    return parser.close()


def _feed_pieces(pieces: Sequence[str], parser_class: type[JSONParser] = JSONParser) -> object:
    parser = parser_class()
    feed = parser.feed
    for piece in pieces:
        feed(piece)
    return parser.close()


def _feed_pieces_with_snapshots(pieces: Sequence[str]) -> object:
    parser = JSONParser()
    feed, snapshot = parser.feed, parser.snapshot
    for piece in pieces:
        feed(piece)
        snapshot()
    return parser.close()


#: a streamed method that may be too slow to finish: it runs the pieces until done or past the
#: deadline (seconds) and returns checkpoints (pieces done, seconds elapsed), the last one last
Runner = Callable[[Sequence[Any], float], list[tuple[int, float]]]
_CHECK_EVERY = 64  # pieces between two looks at the clock


def _jiter_reparse(pieces: Sequence[str], deadline: float) -> list[tuple[int, float]]:
    """After every piece, re-parse all the text so far, as a caller without a resumable parser does."""
    assert jiter is not None
    from_json = jiter.from_json
    n = len(pieces)
    checkpoints: list[tuple[int, float]] = []
    buf = ""
    start = time.perf_counter()
    for k, piece in enumerate(pieces, 1):
        buf += piece
        from_json(buf.encode(), partial_mode="trailing-strings")
        if k % _CHECK_EVERY == 0 or k == n:
            elapsed = time.perf_counter() - start
            checkpoints.append((k, elapsed))
            if elapsed > deadline:
                break
    return checkpoints


def _ijson_push(pieces: Sequence[bytes], deadline: float) -> list[tuple[int, float]]:
    """ijson's push parser (``parse_coro``) fed the pieces as bytes; the events are dropped."""
    assert ijson is not None
    n = len(pieces)
    checkpoints: list[tuple[int, float]] = []
    events = ijson.sendable_list()
    coro = ijson.parse_coro(events)
    start = time.perf_counter()
    for k, piece in enumerate(pieces, 1):
        coro.send(piece)
        del events[:]
        if k == n:
            coro.close()
        if k % _CHECK_EVERY == 0 or k == n:
            elapsed = time.perf_counter() - start
            checkpoints.append((k, elapsed))
            if elapsed > deadline:
                break
    return checkpoints


def _capped(runner: Runner, pieces: Sequence[Any], repeat: int, budget: float) -> Figure:
    """A streamed method that may be slow, timed within about ``budget`` seconds.

    Re-parsing is quadratic, and so is ijson's yajl backend on a long string cut into small pieces,
    so a full run can take minutes at 1 MB. A first run (the warm-up) stops at the budget; if it
    finished, up to ``repeat`` more runs fit the budget and their median counts (or that one run,
    when it took more than half the budget). If it did not finish, T(k) = a*k + b*k^2 fitted to
    the times at half the pieces run and at all of them gives the time for every piece.
    """
    n = len(pieces)
    with gc_off():
        trial = runner(pieces, budget)
    done, elapsed = trial[-1]
    if done == n:
        if elapsed * 2 > budget:
            return Figure(elapsed, 1)
        runs = max(1, min(repeat, int(budget / max(elapsed, 1e-9))))
        samples: list[float] = []
        for _ in range(runs):
            with gc_off():
                samples.append(runner(pieces, math.inf)[-1][1])
        return Figure(statistics.median(samples), runs)
    half, t_half = min(trial, key=lambda point: abs(point[0] - done / 2))
    if half == done:  # the budget ran out before the second checkpoint
        a, b = elapsed / done, 0.0
    else:
        b = (elapsed - t_half * done / half) / (done * done - done * half)
        a = (t_half - b * half * half) / half
        # Noise can push one coefficient below zero: then the other one alone, through the origin
        # and the last point (a line if the growth is not quadratic, a parabola if it is).
        if b < 0:
            a, b = elapsed / done, 0.0
        elif a < 0:
            a, b = 0.0, elapsed / (done * done)
    return Figure(a * n + b * n * n, 1, extrapolated_from=(done, n))


def measure(doc: str, size: int, text: str, repeat: int, budget: float) -> Row:
    """Every method on one document."""
    pieces = [text[i : i + PIECE_CHARS] for i in range(0, len(text), PIECE_CHARS)]
    row = Row(doc, size, _utf8_len(text), len(text), len(pieces))
    figures = row.figures
    figures[ONE_SHOT_PARSER] = Figure(*_timed(lambda: _parse_whole(text), repeat))
    figures[ONE_SHOT_BULK] = Figure(*_timed(lambda: _parse_whole_untracked(text), repeat))
    figures[ONE_SHOT_JSON] = Figure(*_timed(lambda: json.loads(text), repeat))
    figures[FEED] = Figure(*_timed(lambda: _feed_pieces(pieces), repeat))
    figures[FEED_SNAPSHOT] = Figure(*_timed(lambda: _feed_pieces_with_snapshots(pieces), repeat))
    pure = pure_python_parser()
    if pure is JSONParser:
        figures[FEED_PURE] = figures[FEED]  # the parser in use is the pure-Python one
    else:
        figures[FEED_PURE] = Figure(*_timed(lambda: _feed_pieces(pieces, pure), repeat))
    if jiter is None:
        figures[ONE_SHOT_JITER] = Figure(None, note="jiter not installed")
        figures[JITER_REPARSE] = Figure(None, note="jiter not installed")
    else:
        data = text.encode()
        from_json = jiter.from_json
        figures[ONE_SHOT_JITER] = Figure(*_timed(lambda: from_json(data), repeat))
        figures[JITER_REPARSE] = _capped(_jiter_reparse, pieces, repeat, budget)
    if ijson is None:
        figures[IJSON_PUSH] = Figure(None, note="ijson not installed")
    else:
        byte_pieces = [piece.encode() for piece in pieces]
        figures[IJSON_PUSH] = _capped(_ijson_push, byte_pieces, repeat, budget)
    return row


def run(
    *,
    sizes: Sequence[int] = DEFAULT_SIZES,
    docs: Sequence[str] = ("A", "B", "C"),
    repeat: int | None = None,
    budget: float = REPARSE_BUDGET_SECONDS,
    progress: Callable[[str], None] | None = None,
) -> Report:
    """Measure every method on every document at every size. ``repeat`` None: 5 runs, 3 at ≥ 1 MB."""
    rows: list[Row] = []
    for doc in docs:
        for size in sizes:
            if progress is not None:
                progress(f"measuring {doc} at {size_label(size)}")
            runs = repeat if repeat is not None else (3 if size >= MB else 5)
            rows.append(measure(doc, size, BUILDERS[doc](size), runs, budget))
    meta = {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "parser_build": parser_build(),
        "machine": platform.machine(),
        "jiter": getattr(jiter, "__version__", None),
        "ijson": getattr(ijson, "__version__", None),
        "ijson_backend": getattr(ijson, "backend", None),
        "piece_chars": PIECE_CHARS,
        "repeat": repeat,
        "reparse_budget_seconds": budget,
    }
    return Report(rows, meta)


# -- the table -----------------------------------------------------------------------------------


def _seconds(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.2f} s"
    milliseconds = seconds * 1e3
    return f"{milliseconds:.3f} ms" if milliseconds < 1 else f"{milliseconds:.1f} ms"


def _rate(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:.0f}" if value >= 100 else f"{value:.1f}"


def _time_and_rate(row: Row, method: str) -> str:
    figure = row.figures[method]
    if figure.seconds is None:
        return "n/a"
    marker = "*" if figure.extrapolated_from else ""
    return f"{marker}{_seconds(figure.seconds)} ({_rate(row.mb_per_s(method))})"


def _speedup(row: Row) -> float | None:
    slow, fast = row.figures[JITER_REPARSE].seconds, row.figures[FEED_SNAPSHOT].seconds
    return None if slow is None or fast is None else slow / fast


def _ratio(big: Row, small: Row, method: str) -> float | None:
    slow, fast = big.figures[method].seconds, small.figures[method].seconds
    return None if slow is None or fast is None else slow / fast


def _find(rows: Sequence[Row], doc: str, size: int) -> Row | None:
    return next((row for row in rows if row.doc == doc and row.size == size), None)


def targets(rows: Sequence[Row]) -> list[Target]:
    """The performance targets, checked on the documents of 100 KB and more that were measured."""

    def check(what: str, limit: str, value: float | None, ok: Callable[[float], bool]) -> Target:
        return Target(what, limit, value, None if value is None else ok(value))

    out: list[Target] = []
    b100 = _find(rows, "B", 100 * KB)
    out.append(
        check(
            "B 100 KB, 4-char pieces + snapshot each: speedup over jiter re-parse",
            "≥ 100x",
            None if b100 is None else _speedup(b100),
            lambda v: v >= 100,
        )
    )
    for doc in ("A", "B", "C"):
        big, small = _find(rows, doc, MB), _find(rows, doc, 100 * KB)
        ratio = None if big is None or small is None else _ratio(big, small, FEED)
        out.append(check(f"{doc} feed-only time 1 MB / 100 KB", "≤ 12x", ratio, lambda v: v <= 12))
    for doc, method, label, floor in (
        ("A", FEED, "feed in 4-char pieces", 25.0),
        ("B", FEED, "feed in 4-char pieces", 6.0),
        ("A", FEED_PURE, "feed in 4-char pieces, pure Python", 25.0),
        ("B", FEED_PURE, "feed in 4-char pieces, pure Python", 6.0),
        ("A", ONE_SHOT_PARSER, "one-shot", 100.0),
        ("B", ONE_SHOT_PARSER, "one-shot", 8.0),
        ("B", ONE_SHOT_BULK, "one-shot, completion_depth=0", 8.0),
    ):
        sized = [row for row in rows if row.doc == doc and row.size >= 100 * KB]
        if not sized:
            out.append(check(f"{doc} {label} (at ≥ 100 KB)", f"≥ {floor:g} MB/s", None, bool))
        for row in sized:
            out.append(
                check(
                    f"{doc} {size_label(row.size)} {label}",
                    f"≥ {floor:g} MB/s",
                    row.mb_per_s(method),
                    partial(operator.le, floor),  # floor <= value
                )
            )
    return out


def format_report(report: Report) -> str:
    rows = report.rows
    meta = report.meta
    header = [
        "doc",
        "size",
        "bytes",
        "one-shot MB/s: JSONParser",
        "(completion_depth=0)",
        "json.loads",
        "jiter",
        "4-char feed only",
        "feed + snapshot",
        "feed, pure Python",
        "jiter re-parse",
        "ijson push",
        "speedup",
    ]
    body: list[list[str]] = []
    for doc in dict.fromkeys(row.doc for row in rows):
        doc_rows = sorted((row for row in rows if row.doc == doc), key=lambda row: row.size)
        for row in doc_rows:
            speedup = _speedup(row)
            body.append(
                [
                    doc,
                    size_label(row.size),
                    f"{row.nbytes:,}",
                    _rate(row.mb_per_s(ONE_SHOT_PARSER)),
                    _rate(row.mb_per_s(ONE_SHOT_BULK)),
                    _rate(row.mb_per_s(ONE_SHOT_JSON)),
                    _rate(row.mb_per_s(ONE_SHOT_JITER)),
                    _time_and_rate(row, FEED),
                    _time_and_rate(row, FEED_SNAPSHOT),
                    _time_and_rate(row, FEED_PURE),
                    _time_and_rate(row, JITER_REPARSE),
                    _time_and_rate(row, IJSON_PUSH),
                    "n/a"
                    if speedup is None
                    else f"{speedup:,.0f}x"
                    if speedup >= 10
                    else f"{speedup:.1f}x",
                ]
            )
        if len(doc_rows) >= 2:
            small, big = doc_rows[-2], doc_rows[-1]

            def ratio(method: str, big: Row = big, small: Row = small) -> str:
                value = _ratio(big, small, method)
                marked = any(r.figures[method].extrapolated_from for r in (big, small))
                return "n/a" if value is None else f"{'*' if marked else ''}{value:.1f}x"

            body.append(
                [
                    doc,
                    f"time {size_label(big.size)} / {size_label(small.size)}",
                    "",
                    ratio(ONE_SHOT_PARSER),
                    ratio(ONE_SHOT_BULK),
                    ratio(ONE_SHOT_JSON),
                    ratio(ONE_SHOT_JITER),
                    ratio(FEED),
                    ratio(FEED_SNAPSHOT),
                    ratio(FEED_PURE),
                    ratio(JITER_REPARSE),
                    ratio(IJSON_PUSH),
                    "",
                ]
            )
    lines = [
        f"JSONParser benchmark ({meta['parser_build']}): Python {meta['python']} "
        f"({meta['implementation']}, {meta['machine']}), jiter {meta['jiter'] or 'not installed'}, "
        f"ijson {meta['ijson'] or 'not installed'}"
        + (f" (backend {meta['ijson_backend']})" if meta["ijson_backend"] else ""),
        "",
        *grid(header, body, left=2),
        "",
        "Throughputs in MB/s (10^6 bytes of UTF-8 per second); streamed columns: total time (MB/s).",
        "one-shot: feed(whole) + close() (every value reported; then with completion_depth=0, which lets whole containers go to the C decoder) / json.loads(str) / jiter.from_json(bytes).",
        f"{PIECE_CHARS}-char pieces: JSONParser.feed per piece (+ snapshot() after every piece);",
        "  feed, pure Python: the same feed with the parser's Python source (what every install but",
        "  a STREAMSTRUCT_COMPILE=1 wheel runs; the same as feed only when that is what ran);",
        '  jiter re-parse: jiter.from_json(buf.encode(), partial_mode="trailing-strings") after',
        "  every piece; ijson push: ijson.parse_coro fed pre-encoded byte pieces (events only).",
        "speedup: jiter re-parse time / JSONParser feed + snapshot time.",
        "time X / Y: the time on the larger document over the time on the smaller one",
        "  (for 1 MB / 100 KB, linear is 10x, quadratic 100x).",
    ]
    extrapolated = [
        f"{label} {row.doc} {size_label(row.size)}: first {m:,} of {n:,} pieces"
        for row in rows
        for method, label in ((JITER_REPARSE, "jiter"), (IJSON_PUSH, "ijson"))
        for m, n in [row.figures[method].extrapolated_from or (0, 0)]
        if n
    ]
    if extrapolated:
        note = (
            "* extrapolated: a full run would have taken too long, so only a prefix of the pieces"
            " ran and T(k) = a*k + b*k^2, fitted at half the prefix and at the whole prefix, gave"
            " the time for all of them (" + "; ".join(extrapolated) + ")."
        )
        lines += textwrap.wrap(note, width=100, subsequent_indent="  ")
    missing = sorted({f.note for row in rows for f in row.figures.values() if f.note})
    if missing:
        lines.append("Columns skipped: " + ", ".join(missing) + " (pip install '.[bench]').")
    checks = targets(rows)
    lines += ["", "Targets:"]
    lines += targets_table(checks)
    return "\n".join(lines)


def to_json(report: Report) -> dict[str, Any]:
    return {
        "meta": report.meta,
        "rows": [asdict(row) for row in report.rows],
        "targets": targets_json(targets(report.rows)),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.parser", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--sizes",
        type=lambda text: [parse_size(part) for part in text.split(",")],
        help="comma-separated sizes, e.g. 1K,10K,100K,1M (the default)",
    )
    parser.add_argument("--docs", default="A,B,C", help="which documents (default A,B,C)")
    parser.add_argument("--repeat", type=int, help="runs per measurement (default 5; 3 at 1 MB)")
    parser.add_argument(
        "--quick", action="store_true", help="1 KB and 10 KB only, one run each, short caps"
    )
    parser.add_argument("--json", type=Path, metavar="OUT", help="also write the raw numbers here")
    args = parser.parse_args(argv)
    docs = [doc.strip().upper() for doc in args.docs.split(",")]
    unknown = [doc for doc in docs if doc not in BUILDERS]
    if unknown:
        parser.error(f"unknown documents: {', '.join(unknown)} (choose from A, B, C)")
    sizes = args.sizes or (QUICK_SIZES if args.quick else DEFAULT_SIZES)
    repeat = args.repeat if args.repeat is not None else (1 if args.quick else None)
    budget = QUICK_REPARSE_BUDGET_SECONDS if args.quick else REPARSE_BUDGET_SECONDS
    report = run(
        sizes=sizes,
        docs=docs,
        repeat=repeat,
        budget=budget,
        progress=lambda message: print(message, file=sys.stderr, flush=True),
    )
    print(format_report(report))
    if args.json is not None:
        args.json.write_text(json.dumps(to_json(report), indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
