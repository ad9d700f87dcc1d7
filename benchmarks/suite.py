"""The whole benchmark in one command: ``python -m benchmarks``.

Four sections, run in order in one process (the concurrency server and the memory figures in child
processes), a progress bar on stderr while they run, then the tables, the targets of the issue
with PASS/FAIL, and a plot (time against output size, log-log, every method) written to
``docs/benchmarks.png``:

1. ``parser_alternatives``: JSONParser next to json.loads, jiter, and, streamed in 4-char pieces with
   a snapshot each time, jiter / pydantic-core / partial-json-parser re-parsing and ijson push;
   then issue 14's shapes (``benchmarks.shapes``: a long string, deep nesting) in both builds;
2. ``loopback``: end to end through a real HTTP/1.1 server in its own process (one chunk per SSE
   event), tools and content modes, 10 KB to 1 MB, burst and live pace: streamstruct's two builds
   (pure and compiled, each in a child process), the openai SDK's ``.stream()`` helper and
   instructor, next to the floor (httpx ``aiter_lines()`` + ``json.loads`` of each event): client
   CPU per SSE event, the methods interleaved round by round, GC on;
3. ``concurrency``: N = 1 to 1,000 concurrent streams through the same server, both builds and
   the openai SDK's raw streaming;
4. ``memory``: peak resident memory streaming a 10 MB structured output, both builds (each
   figure a fresh child on the build's copy).

``--quick`` runs small sizes (under a minute); ``--only parser,e2e`` picks sections; ``--markdown
FILE`` writes the end-to-end, concurrency and target tables as Markdown (what the README and
docs/benchmarks.md show). Missing optional packages (the ``bench`` extra) skip their columns, and
the output says which; without mypy or a C compiler, the compiled build is skipped and said so.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final

from benchmarks import concurrency, loopback, memory, parser_alternatives, plot, shapes
from benchmarks._common import KB, MB, Progress, Target, grid, parser_build, version
from benchmarks.builds import BUILDS

__all__ = ["FULL", "QUICK", "SECTIONS", "Settings", "SuiteResults", "format_suite", "main", "run"]

SECTIONS: Final = ("parser", "e2e", "concurrency", "memory")
DEFAULT_PLOT: Final = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.png"
QUICK_PLOT: Final = Path(tempfile.gettempdir()) / "streamstruct-benchmarks-quick.png"


@dataclass(frozen=True)
class Settings:
    """How big and how long: the full run, ``--quick``, or a test's tiny one."""

    parser_docs: tuple[str, ...] = ("B",)
    parser_sizes: tuple[int, ...] = (1 * KB, 10 * KB, 100 * KB, 1 * MB)
    parser_repeat: int = 3
    parser_budget: float = 2.0
    parser_shape_seconds: float = shapes.MIN_SECONDS  # each shape figure's runs, at least
    e2e: loopback.Plan = field(default_factory=loopback.Plan)
    builds: tuple[str, ...] = BUILDS
    concurrency_ns: tuple[int, ...] = concurrency.DEFAULT_N
    concurrency_rounds: int = concurrency.ROUNDS
    concurrency_min_streams: int = concurrency.MIN_STREAMS
    concurrency_clients: tuple[str, ...] = concurrency.CLIENTS
    memory_size: int = memory.DEFAULT_SIZE


FULL: Final = Settings()
QUICK: Final = Settings(
    parser_sizes=(1 * KB, 10 * KB),
    parser_repeat=1,
    parser_budget=0.2,
    parser_shape_seconds=0.0,
    e2e=loopback.Plan(
        sizes=(2 * KB, 10 * KB),
        live_sizes=(2 * KB,),
        rounds=1,
        pipeline_sizes=(10 * KB,),
        fit_sizes=(1 * KB,),
        budget=1.0,
        long_run=0.5,
    ),
    concurrency_ns=(1, 10, 100),
    concurrency_rounds=1,
    concurrency_min_streams=concurrency.QUICK_MIN_STREAMS,
    memory_size=1 * MB,
)


@dataclass
class SuiteResults:
    settings: Settings
    meta: dict[str, Any]
    parser: parser_alternatives.ParserResults | None = None
    e2e: loopback.LoopbackResults | None = None
    concurrency: concurrency.ConcurrencyResults | None = None
    memory: memory.MemoryResults | None = None
    seconds: float = 0.0
    plot: str = ""
    notes: list[str] = field(default_factory=list)

    def targets(self) -> list[Target]:
        out: list[Target] = []
        if self.parser is not None:
            out += parser_alternatives.shape_targets(self.parser)
        if self.e2e is not None:
            out += loopback.targets(self.e2e)
        if self.concurrency is not None:
            out += concurrency.targets(self.concurrency)
        if self.memory is not None:
            out += memory.targets(self.memory)
        return out


def _steps(settings: Settings, sections: Sequence[str]) -> int:
    steps = 0
    if "parser" in sections:
        steps += parser_alternatives.planned_steps(
            settings.parser_docs, settings.parser_sizes, settings.builds
        )
    if "e2e" in sections:
        steps += loopback.planned_steps(settings.e2e)
    if "concurrency" in sections:
        steps += concurrency.planned_steps(
            settings.concurrency_ns, settings.concurrency_rounds, settings.concurrency_clients
        )
    if "memory" in sections:
        steps += memory.planned_steps(settings.builds)
    return steps


def _meta() -> dict[str, Any]:
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "machine": platform.machine(),
        "system": f"{platform.system()} {platform.release()}",
        "cpus": os.cpu_count(),
        "load_average_at_start": None if load is None else [round(x, 2) for x in load],
        "streamstruct": version("streamstruct"),
        "parser_build": parser_build(),
        "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }


def run(
    settings: Settings = FULL,
    *,
    sections: Sequence[str] = SECTIONS,
    plot_path: Path | None = DEFAULT_PLOT,
    progress: Progress | None = None,
) -> SuiteResults:
    """Run the chosen sections; draw the plot when ``plot_path`` is given and matplotlib is there."""
    results = SuiteResults(settings, _meta())
    start = time.perf_counter()

    def attempt(section: str, measure: Callable[[], None]) -> None:
        # One section failing (a server that will not start, a reset connection) must not
        # throw away the others' figures: say so, and go on.
        try:
            measure()
        except Exception as exc:
            results.notes.append(f"section {section} failed: {type(exc).__name__}: {exc}")
            if progress is not None:
                progress.note(f"{section} failed: {type(exc).__name__}: {exc}")

    def parser() -> None:
        results.parser = parser_alternatives.run(
            docs=settings.parser_docs,
            sizes=settings.parser_sizes,
            repeat=settings.parser_repeat,
            budget=settings.parser_budget,
            builds=settings.builds,
            shape_seconds=settings.parser_shape_seconds,
            progress=progress,
        )

    def e2e() -> None:
        plan = dataclasses.replace(settings.e2e, builds=settings.builds)
        results.e2e = loopback.run(plan, progress=progress)

    def concurrent() -> None:
        results.concurrency = concurrency.run(
            ns=settings.concurrency_ns,
            rounds=settings.concurrency_rounds,
            min_streams=settings.concurrency_min_streams,
            clients=settings.concurrency_clients,
            builds=settings.builds,
            progress=progress,
        )

    def peak() -> None:
        results.memory = memory.run(
            size=settings.memory_size, builds=settings.builds, progress=progress
        )

    for section, measure in (
        ("parser", parser),
        ("e2e", e2e),
        ("concurrency", concurrent),
        ("memory", peak),
    ):
        if section in sections:
            attempt(section, measure)
    results.seconds = time.perf_counter() - start
    if plot_path is not None and (results.parser is not None or results.e2e is not None):
        if plot.available():
            title = (
                f"streamstruct {results.meta['streamstruct']}, Python {results.meta['python']},"
                f" {results.meta['cpus']} CPUs"
            )
            plot.write_plot(plot_path, parser=results.parser, e2e=results.e2e, title=title)
            results.plot = str(plot_path)
        else:
            results.notes.append("plot skipped: matplotlib not installed")
    return results


def format_suite(results: SuiteResults) -> str:
    meta = results.meta
    load = meta["load_average_at_start"]
    lines = [
        f"streamstruct {meta['streamstruct']} benchmarks (sections 2, 3 and 4, and section 1's"
        " shapes: each build in child processes; the rest of section 1:"
        f" {meta['parser_build']}):"
        f" Python {meta['python']}"
        f" ({meta['implementation']}, {meta['machine']}, {meta['system']}), {meta['cpus']} CPUs"
        + ("" if load is None else f", load average at start {load[0]:.2f}")
        + f", {meta['started']}",
        "",
    ]
    sections: list[str] = []
    if results.parser is not None:
        sections.append(parser_alternatives.format_results(results.parser))
    if results.e2e is not None:
        sections.append(loopback.format_results(results.e2e))
    if results.concurrency is not None:
        sections.append(concurrency.format_results(results.concurrency))
    if results.memory is not None:
        sections.append(memory.format_results(results.memory))
    lines.append("\n\n".join(sections))
    checks = results.targets()
    if checks:
        lines += ["", "Targets (the issue's):"]
        lines += grid(
            ["target", "limit", "measured", "verdict"],
            [[c.what, c.limit, c.measured, c.verdict] for c in checks],
            left=1,
        )
    lines.append("")
    if results.plot:
        lines.append(f"Plot: {results.plot}")
    lines += results.notes
    minutes, seconds = divmod(round(results.seconds), 60)
    lines.append(f"Total time: {minutes}:{seconds:02d}")
    return "\n".join(lines)


def format_markdown(results: SuiteResults) -> str:
    """The end-to-end, concurrency and target tables as Markdown, with the run's particulars:
    what the README and docs/benchmarks.md show, regenerated by ``--markdown FILE``."""
    meta = results.meta
    load = meta["load_average_at_start"]
    parts = [
        f"streamstruct {meta['streamstruct']}, Python {meta['python']} ({meta['implementation']},"
        f" {meta['machine']}, {meta['system']}), {meta['cpus']} CPUs"
        + ("" if load is None else f", load average at start {load[0]:.2f}")
        + f", {meta['started']}."
    ]
    if results.e2e is not None:
        parts += [
            "End to end, client CPU per SSE event in us: median (x the floor) min-max.",
            "\n".join(loopback.table(results.e2e, markdown=True)),
        ]
    if results.concurrency is not None:
        parts.append("\n".join(concurrency.table(results.concurrency, markdown=True)))
    checks = results.targets()
    if checks:
        rows = [[c.what, c.limit, c.measured, c.verdict] for c in checks]
        parts.append(
            "\n".join(grid(["target", "limit", "measured", "verdict"], rows, markdown=True))
        )
    return "\n\n".join(parts) + "\n"


def to_json(results: SuiteResults) -> dict[str, Any]:
    data = asdict(results)
    data["targets"] = [{**asdict(c), "verdict": c.verdict} for c in results.targets()]
    return data


def _sections(text: str) -> list[str]:
    chosen = [part.strip().lower() for part in text.split(",") if part.strip()]
    unknown = [part for part in chosen if part not in SECTIONS]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(
            f"unknown sections {', '.join(unknown) or '(none)'}: choose from {', '.join(SECTIONS)}"
        )
    return chosen


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=(__doc__ or "").split("\n\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, one run each (< 1 min)")
    parser.add_argument(
        "--only", type=_sections, default=list(SECTIONS), help="e.g. parser,e2e (default: all)"
    )
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the raw figures")
    parser.add_argument(
        "--plot",
        type=Path,
        help="the PNG (default docs/benchmarks.png; with --quick, one in the temporary directory,"
        " so that a quick run never replaces the committed plot)",
    )
    parser.add_argument(
        "--markdown", type=Path, metavar="FILE", help="also write the tables as Markdown"
    )
    parser.add_argument("--no-plot", action="store_true", help="write no PNG")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    args = parser.parse_args(argv)
    settings = QUICK if args.quick else FULL
    plot_path = args.plot or (QUICK_PLOT if args.quick else DEFAULT_PLOT)
    progress = Progress(_steps(settings, args.only), enabled=not args.no_progress)
    results = run(
        settings,
        sections=args.only,
        plot_path=None if args.no_plot else plot_path,
        progress=progress,
    )
    progress.finish()
    print(format_suite(results))
    if args.json is not None:
        args.json.write_text(json.dumps(to_json(results), indent=2) + "\n", encoding="utf-8")
    if args.markdown is not None:
        args.markdown.write_text(format_markdown(results), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
