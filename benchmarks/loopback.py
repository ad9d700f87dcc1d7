"""Section 2 of the suite: end to end through a real HTTP/1.1 server, both builds, per SSE event.

What a user pays per event, measured from outside: the Report (``benchmarks.e2e``) at 10 KB,
100 KB and 1 MB of JSON, streamed by ``benchmarks.server`` in its own process over loopback, one
HTTP chunk per SSE event, in two modes (``tools``: tool-call argument deltas; ``content``: a
JSON-schema structured output in ``content`` deltas) and at two paces (``burst``: the server writes
as fast as the socket takes it; ``live``: it sleeps ~400 us before each event, as a model does).
The clients run in ``benchmarks.worker`` children, one per build of streamstruct
(``benchmarks.builds``: pure and compiled, in the same run), the garbage collector on:

- **floor**: ``httpx`` ``aiter_lines()`` + ``json.loads`` of every ``data:`` event, on the same
  server and connection settings: what any client must at least do;
- **streamstruct compiled** / **streamstruct pure**: ``create_partial(response_model=Report)``;
- **openai helper** / **instructor** (content mode, burst): the openai SDK's ``.stream()`` helper
  and instructor's ``create_partial``. Both re-parse the whole text on every delta (quadratic):
  they run at ``fit_sizes`` and wherever ``cpu = a*bytes + b*bytes^2`` fitted to what they ran
  projects at most ``budget`` seconds for one run; elsewhere the figure is the fit's, marked ``*``;
- **pipeline only** (burst): streamstruct from an in-process transport, one event per read - no
  HTTP, no socket: a secondary figure, what streamstruct's own pipeline costs.

The same Report also streams in the other two wire dialects (``server.DIALECT_MODES``,
``benchmarks.e2e_dialects``: ``responses_tools``/``_content``, ``anthropic_tools``/``_content``),
with the same methods, each over its own floor (the floor parses each API's own, larger, events),
the official SDKs' helpers beside them (**openai responses helper**: ``responses.stream`` with a
``text_format``, on ``responses_content``; **anthropic helper**: ``messages.stream``, whose
tool-input snapshots re-parse the input so far on every delta, on ``anthropic_tools``; both fitted
and projected like the chat helpers), and the column **vs chat**: streamstruct's CPU per event
in the dialect over its CPU per event on the chat transcript of the same kind, pace and size
(compiled / pure): the issue wants it within 1.2x at every size (so as linear as chat).

Every (mode, pace, size) runs all its methods round by round, the order rotated each round, so a
slow spell of the shared machine falls on all of them; figures are the medians with their min-max.
Per event = client CPU (``time.process_time`` of the worker) / SSE events.
"""

from __future__ import annotations

import functools
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from benchmarks import e2e, e2e_alternatives, e2e_dialects, server
from benchmarks._common import KB, MB, Progress, Target, grid, installed, size_label, version
from benchmarks.builds import BUILDS, COMPILED, PURE, Workers

__all__ = [
    "LABELS",
    "METHODS",
    "Case",
    "Cell",
    "LoopbackResults",
    "Plan",
    "format_results",
    "planned_steps",
    "run",
    "targets",
    "vs_chat",
]

FLOOR: Final = "floor"
SS_COMPILED: Final = "streamstruct_compiled"
SS_PURE: Final = "streamstruct_pure"
OPENAI: Final = "openai_helper"
INSTRUCTOR: Final = "instructor"
OPENAI_RESPONSES: Final = "openai_responses_helper"
ANTHROPIC: Final = "anthropic_helper"
PIPE_COMPILED: Final = "pipeline_compiled"
PIPE_PURE: Final = "pipeline_pure"
METHODS: Final = (
    FLOOR,
    SS_COMPILED,
    SS_PURE,
    OPENAI,
    INSTRUCTOR,
    OPENAI_RESPONSES,
    ANTHROPIC,
    PIPE_COMPILED,
    PIPE_PURE,
)
QUADRATIC: Final = (OPENAI, INSTRUCTOR, OPENAI_RESPONSES, ANTHROPIC)
#: the one mode each other library's helper runs in (burst pace)
HELPER_MODE: Final = {
    OPENAI: server.CONTENT,
    INSTRUCTOR: server.CONTENT,
    OPENAI_RESPONSES: "responses_content",
    ANTHROPIC: "anthropic_tools",
}
#: the issue's ceiling on streamstruct's CPU per event in another dialect over chat's
DIALECT_CEILING: Final = 1.2
PIPELINE: Final = (PIPE_COMPILED, PIPE_PURE)
#: the build whose worker runs each method, and the worker's name for it
RUNS: Final = {
    FLOOR: (PURE, "floor"),
    SS_COMPILED: (COMPILED, "streamstruct"),
    SS_PURE: (PURE, "streamstruct"),
    OPENAI: (PURE, "openai_helper"),
    INSTRUCTOR: (PURE, "instructor"),
    OPENAI_RESPONSES: (PURE, "openai_responses_helper"),
    ANTHROPIC: (PURE, "anthropic_helper"),
    PIPE_COMPILED: (COMPILED, "pipeline"),
    PIPE_PURE: (PURE, "pipeline"),
}
STREAMSTRUCT_OF: Final = {COMPILED: SS_COMPILED, PURE: SS_PURE}
LABELS: Final = {
    FLOOR: "floor",
    SS_COMPILED: "streamstruct compiled",
    SS_PURE: "streamstruct pure",
    OPENAI: "openai helper",
    INSTRUCTOR: "instructor",
    OPENAI_RESPONSES: "openai responses helper",
    ANTHROPIC: "anthropic helper",
    PIPE_COMPILED: "pipeline only, compiled",
    PIPE_PURE: "pipeline only, pure",
}
#: the issue's ceilings on streamstruct / floor per event, burst, by build; and live, any build
BURST_CEILING: Final = {COMPILED: 1.5, PURE: 2.5}
LIVE_CEILING: Final = 1.1
#: the issue's floors on (alternative / streamstruct) at 100 KB, content mode, burst
ALTERNATIVE_FLOOR: Final = {OPENAI: 40.0, INSTRUCTOR: 150.0}
TINY_ROWS: Final = 3


@dataclass(frozen=True)
class Plan:
    """What to run: the full suite's, ``--quick``'s, or a test's tiny one."""

    sizes: tuple[int, ...] = (10 * KB, 100 * KB, 1 * MB)
    live_sizes: tuple[int, ...] = (10 * KB,)
    modes: tuple[str, ...] = server.ALL_MODES
    rounds: int = 3
    #: the in-process figure, secondary: not at 1 MB, where it would cost a minute
    pipeline_sizes: tuple[int, ...] = (10 * KB, 100 * KB)
    fit_sizes: tuple[int, ...] = (3 * KB, 30 * KB)
    #: a quadratic method whose one run the fit projects over this is projected, not run ...
    budget: float = 40.0
    #: ... and over this, it runs in the first round only
    long_run: float = 5.0
    builds: tuple[str, ...] = BUILDS
    methods: tuple[str, ...] = METHODS


@dataclass
class Cell:
    """One method's runs in one case: CPU seconds per run, snapshots; or a fit's projection."""

    seconds: list[float] = field(default_factory=list)
    snapshots: int | None = None
    extrapolated: str | None = None  # the fit, when projected rather than run

    @property
    def median(self) -> float | None:
        return statistics.median(self.seconds) if self.seconds else None


@dataclass
class Case:
    mode: str
    pace: str
    size: int
    rows: int
    json_bytes: int
    events: int
    cells: dict[str, Cell] = field(default_factory=dict)

    def per_event_us(
        self, method: str, pick: Callable[[list[float]], float] | None = None
    ) -> float | None:
        cell = self.cells.get(method)
        if cell is None or not cell.seconds:
            return None
        value = (pick or statistics.median)(cell.seconds)
        return value / self.events * 1e6

    def ratio(self, slow: str, fast: str) -> float | None:
        a, b = self.cells.get(slow), self.cells.get(fast)
        if a is None or b is None or a.median is None or not b.median:
            return None
        return a.median / b.median


@dataclass
class LoopbackResults:
    cases: list[Case] = field(default_factory=list)
    fit_points: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    fits: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    builds: dict[str, dict[str, Any]] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    def at(self, mode: str, pace: str, size: int) -> Case | None:
        return next((c for c in self.cases if (c.mode, c.pace, c.size) == (mode, pace, size)), None)


def _applies(method: str, mode: str, pace: str, size: int, plan: Plan) -> bool:
    if method in QUADRATIC:
        return mode == HELPER_MODE[method] and pace == server.BURST
    if method in PIPELINE:
        return pace == server.BURST and size in plan.pipeline_sizes
    return True


def _cases(plan: Plan) -> list[tuple[str, str, int]]:
    out = [(m, server.BURST, s) for m in plan.modes for s in sorted(plan.sizes)]
    out += [(m, server.LIVE, s) for m in plan.modes for s in sorted(plan.live_sizes)]
    return out


def planned_steps(plan: Plan) -> int:
    helped = [mode for mode in plan.modes if mode in HELPER_MODE.values()]
    fits = len(plan.fit_sizes) * len(helped)  # a step a round, even idle
    return 2 + (len(_cases(plan)) + fits) * plan.rounds


@functools.cache
def _rows(size: int) -> int:
    """The rows of the Report of ``size`` bytes of JSON (building it to measure takes a second at
    1 MB, so once)."""
    return e2e_alternatives.rows_for(size)


class _Runner:
    """Sends each method's runs to the worker of its build; knows which methods can run."""

    def __init__(self, plan: Plan, workers: Workers, origin: str, results: LoopbackResults) -> None:
        self.plan, self.workers, self.origin = plan, workers, origin
        self.skipped = results.skipped
        for method in plan.methods:
            why = self._unavailable(method)
            if why is not None:
                self.skipped[method] = why

    def _unavailable(self, method: str) -> str | None:
        build = RUNS[method][0]
        if build not in self.workers.workers:
            return self.workers.skipped.get(build, f"the {build} build was not asked for")
        if method == OPENAI and not installed("openai"):
            return "openai not installed"
        if method == INSTRUCTOR and not (installed("instructor") and installed("openai")):
            return "instructor not installed"
        if method == OPENAI_RESPONSES and not installed("openai"):
            return "openai not installed"
        if method == ANTHROPIC and not installed("anthropic"):
            return "anthropic not installed"
        return None

    def runnable(self, mode: str, pace: str, size: int) -> list[str]:
        return [
            m
            for m in self.plan.methods
            if m not in self.skipped and _applies(m, mode, pace, size, self.plan)
        ]

    def once(self, method: str, mode: str, pace: str, rows: int) -> tuple[float, int]:
        build, name = RUNS[method]
        url = f"{self.origin}/{mode}/{rows}/{pace}/v1"
        answer = self.workers.workers[build].ask(
            op="e2e", method=name, url=url, mode=mode, rows=rows
        )
        return float(answer["cpu"]), int(answer["snapshots"])

    def rounds(
        self,
        methods: Sequence[str],
        case: Case,
        step: Callable[[str], None],
        once: Sequence[str] = (),
    ) -> None:
        """``plan.rounds`` rounds of every method, the order rotated each round (those in
        ``once``: the first round only)."""
        for index in range(self.plan.rounds):
            step(f"e2e: {case.mode} {case.pace} {size_label(case.size)}: round {index + 1}")
            turn = index % max(1, len(methods))
            for method in [*methods[turn:], *methods[:turn]]:
                if index and method in once:
                    continue
                cpu, snapshots = self.once(method, case.mode, case.pace, case.rows)
                cell = case.cells.setdefault(method, Cell())
                cell.seconds.append(cpu)
                cell.snapshots = snapshots


def run(plan: Plan = Plan(), *, progress: Progress | None = None) -> LoopbackResults:
    def step(label: str) -> None:
        if progress is not None:
            progress.step(label)

    def note(text: str) -> None:
        if progress is not None:
            progress.note(text)

    results = LoopbackResults()
    step("e2e: preparing the builds and the server")
    sizes = {*plan.sizes, *plan.live_sizes, *plan.fit_sizes}
    transcripts = [(mode, rows) for mode in plan.modes for rows in (TINY_ROWS, *map(_rows, sizes))]
    with Workers(plan.builds, say=note) as workers, server.ServerProcess(transcripts) as served:
        results.builds = workers.hellos()
        runner = _Runner(plan, workers, served.origin, results)
        step("e2e: warming up")
        for mode in plan.modes:
            for method in runner.runnable(mode, server.BURST, min(plan.pipeline_sizes, default=0)):
                runner.once(method, mode, server.BURST, TINY_ROWS)
        fits = _fit_points(plan, runner, results, step)
        for mode, pace, size in _cases(plan):
            case = _case(mode, pace, size)
            results.cases.append(case)
            _run_case(plan, runner, case, fits, step, note)
            _refit(fits, results, case)
    results.fits = {method: _describe(fit) for method, fit in fits.items()}
    results.meta = {
        "rounds": plan.rounds,
        "budget_seconds": plan.budget,
        "live_pace_us": server.LIVE_PACE * 1e6,
        "piece_chars": e2e.PIECE_CHARS,
        "versions": {
            name: version(name)
            for name in (
                "streamstruct",
                "httpx",
                "httpcore",
                "h11",
                "pydantic",
                "openai",
                "instructor",
            )
        },
    }
    return results


def _shape(rows: int, mode: str = server.TOOLS) -> tuple[int, int]:
    """Bytes of JSON and SSE events of the Report of ``rows`` rows: a delta per ``PIECE_CHARS``
    characters, and the events around them (chat: the opening, the finish, the usage,
    ``[DONE]``; another dialect: its own, counted on a one-row transcript)."""
    text = e2e._dump(e2e.build_report(rows))
    return len(text.encode()), -(-len(text) // e2e.PIECE_CHARS) + _framing(mode)


@functools.cache
def _framing(mode: str) -> int:
    """The events of ``mode``'s transcripts that carry no piece of the JSON."""
    if mode not in e2e_dialects.DIALECT_MODES:
        return 4
    transcript = e2e_dialects.build_dialect_transcript(mode, 1)
    return transcript.events - -(-len(transcript.arguments) // e2e.PIECE_CHARS)


def _case(mode: str, pace: str, size: int) -> Case:
    rows = _rows(size)
    return Case(mode, pace, size, rows, *_shape(rows, mode))


def _run_case(
    plan: Plan,
    runner: _Runner,
    case: Case,
    fits: dict[str, e2e.Fit],
    step: Callable[[str], None],
    note: Callable[[str], None],
) -> None:
    """Every method that applies, in rounds; a quadratic one projected by its fit when one run
    would pass ``plan.budget``, run in the first round only when it would pass ``plan.long_run``."""
    methods, once = [], []
    for method in runner.runnable(case.mode, case.pace, case.size):
        fit = fits.get(method) if method in QUADRATIC else None
        projected = None if fit is None else fit(case.json_bytes)
        if fit is not None and projected is not None and projected > plan.budget:
            note(f"{LABELS[method]} at {size_label(case.size)}: projected {projected:,.0f} s")
            case.cells[method] = Cell([projected], extrapolated=_describe(fit))
            continue
        methods.append(method)
        if projected is not None and projected > plan.long_run:
            once.append(method)
    runner.rounds(methods, case, step, once)


def _fit_points(
    plan: Plan, runner: _Runner, results: LoopbackResults, step: Callable[[str], None]
) -> dict[str, e2e.Fit]:
    """The quadratic methods at ``plan.fit_sizes`` (each in its mode, burst), one run each
    (points for the fit, not figures shown; instructor at 30 KB alone takes ~11 s): their fits."""
    for mode in plan.modes:
        methods = [m for m in runner.runnable(mode, server.BURST, 0) if m in QUADRATIC]
        if not methods:
            continue
        for size in sorted(plan.fit_sizes):
            case = _case(mode, server.BURST, size)
            runner.rounds(methods, case, step, once=methods)
            for method, cell in case.cells.items():
                if cell.median is not None:
                    point = (case.json_bytes, cell.median)
                    results.fit_points.setdefault(method, []).append(point)
    return {
        method: e2e.Fit.of(points)
        for method, points in results.fit_points.items()
        if len(points) >= 2
    }


def _refit(fits: dict[str, e2e.Fit], results: LoopbackResults, case: Case) -> None:
    """Add what a quadratic method ran at this size to its fit."""
    for method in QUADRATIC:
        cell = case.cells.get(method)
        if cell is None or cell.extrapolated is not None or cell.median is None:
            continue
        points = results.fit_points.setdefault(method, [])
        points.append((case.json_bytes, cell.median))
        if len(points) >= 2:
            fits[method] = e2e.Fit.of(points)


def _describe(fit: e2e.Fit) -> str:
    at = ", ".join(size_label(n) if n >= KB else f"{n} B" for n, _ in fit.points)
    return f"{fit.linear:.3g}*bytes + {fit.quadratic:.3g}*bytes^2 s (fitted at {at})"


# -- targets and tables --------------------------------------------------------------------------


def targets(results: LoopbackResults) -> list[Target]:
    """The issue's targets on this section, for each build."""
    out: list[Target] = []
    for build in BUILDS:
        ours = STREAMSTRUCT_OF[build]
        for case in results.cases:
            ceiling = BURST_CEILING[build] if case.pace == server.BURST else LIVE_CEILING
            out.append(
                Target.ratio(
                    f"{build}: {case.pace} {case.mode} {size_label(case.size)}: streamstruct / floor,"
                    " CPU per event",
                    case.ratio(ours, FLOOR),
                    at_most=ceiling,
                )
            )
        for case in results.cases:
            if case.mode in e2e_dialects.DIALECT_MODES:
                out.append(
                    Target.ratio(
                        f"{build}: {case.pace} {case.mode} {size_label(case.size)}: streamstruct,"
                        " CPU per event, over chat's",
                        vs_chat(results, case, build),
                        at_most=DIALECT_CEILING,
                    )
                )
        at = results.at(server.CONTENT, server.BURST, 100 * KB)
        for slow, least in ALTERNATIVE_FLOOR.items():
            cell = None if at is None else at.cells.get(slow)
            out.append(
                Target.ratio(
                    f"{build}: burst content 100 KB: {LABELS[slow]} / streamstruct",
                    None if at is None else at.ratio(slow, ours),
                    at_least=least,
                    shown="{:,.1f}x",
                    mark="*" if cell is not None and cell.extrapolated else "",
                )
            )
    return out


def vs_chat(results: LoopbackResults, case: Case, build: str) -> float | None:
    """streamstruct's CPU per event in ``case`` (another dialect) over its CPU per event on the
    chat transcript of the same kind (tools or content), pace and size."""
    chat = results.at(e2e_dialects.KIND_OF[case.mode], case.pace, case.size)
    if chat is None:
        return None
    ours = case.per_event_us(STREAMSTRUCT_OF[build])
    theirs = chat.per_event_us(STREAMSTRUCT_OF[build])
    return None if ours is None or not theirs else ours / theirs


def _vs_chat_cell(results: LoopbackResults, case: Case) -> str:
    if case.mode not in e2e_dialects.DIALECT_MODES:
        return "-"
    ratios = [vs_chat(results, case, build) for build in (COMPILED, PURE)]
    return " / ".join("-" if r is None else f"{r:.2f}x" for r in ratios)


def _us(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def _cell(case: Case, method: str) -> str:
    """``median (x floor) min-max``; ``*`` before a projection, ``(1 run)`` after a single run."""
    cell = case.cells.get(method)
    median = case.per_event_us(method)
    if cell is None or median is None:
        return "-"
    ratio = case.ratio(method, FLOOR)
    shown = "" if method in (FLOOR, *PIPELINE) or ratio is None else f" ({ratio:,.2f}x)"
    if cell.extrapolated is not None:
        return f"*{_us(median)}{shown}"
    if len(cell.seconds) == 1:
        return f"{_us(median)}{shown} (1 run)"
    low, high = case.per_event_us(method, min), case.per_event_us(method, max)
    assert low is not None
    assert high is not None
    return f"{_us(median)}{shown} {_us(low)}-{_us(high)}"


def table(results: LoopbackResults, *, markdown: bool = False) -> list[str]:
    """The per-event table: every case, every method that ran anywhere."""
    shown = [m for m in METHODS if any(m in c.cells for c in results.cases)]
    header = ["pace", "mode", "size", "events", *(LABELS[m] for m in shown)]
    body = [
        [case.pace, case.mode, size_label(case.size), f"{case.events:,}"]
        + [_cell(case, m) for m in shown]
        for case in results.cases
    ]
    if any(case.mode in e2e_dialects.DIALECT_MODES for case in results.cases):
        header.append("vs chat (compiled / pure)")
        for row, case in zip(body, results.cases, strict=True):
            row.append(_vs_chat_cell(results, case))
    return grid(header, body, left=3, markdown=markdown)


def format_results(results: LoopbackResults) -> str:
    meta = results.meta
    versions = ", ".join(f"{k} {v or 'not installed'}" for k, v in meta["versions"].items())
    builds = "; ".join(
        f"{build}: {hello.get('build')} ({len(hello.get('files', {}))} core modules checked)"
        for build, hello in results.builds.items()
    )
    lines = [
        "2. End to end through a loopback HTTP/1.1 server (its own process, one chunk per SSE"
        " event): client CPU per SSE event in us",
        f"   {versions}",
        f"   builds: {builds}",
        "",
        *table(results),
        "",
        f"Cells: median (x the floor's median) min-max over {meta['rounds']} round(s), the methods"
        " interleaved, the order rotated each round; GC on. (1 run): a quadratic method's long run,"
        " in the first round only.",
        "floor: httpx aiter_lines() + json.loads of each data: event. burst: the server writes as"
        f" fast as it can; live: it sleeps {meta['live_pace_us']:.0f} us before each event.",
        "pipeline only: streamstruct from an in-process transport (no HTTP, no socket), one event"
        " per read: not what a user pays.",
        "responses_* / anthropic_*: the same Report in the Responses API's / Anthropic's events,"
        " each over its own floor; vs chat: streamstruct's CPU per event there over its CPU per"
        " event on chat's transcript of the same kind, pace and size (target: at most"
        f" {DIALECT_CEILING:g}x).",
    ]
    for method, fit in results.fits.items():
        projected = [
            f"{c.mode} {size_label(c.size)}"
            for c in results.cases
            if (cell := c.cells.get(method)) is not None and cell.extrapolated
        ]
        if projected:
            lines.append(
                f"* {LABELS[method]} at {', '.join(projected)}: projected, not run (over the"
                f" {meta['budget_seconds']:g} s budget): cpu = {fit}."
            )
    for what, why in results.skipped.items():
        lines.append(f"Skipped: {LABELS.get(what, what)}: {why}.")
    return "\n".join(lines)
