"""The suite's plot: time against output size, log-log, every method, one panel per section.

matplotlib (the ``bench`` extra) with the Agg backend, written to a small PNG
(``docs/benchmarks.png`` by default). A straight line of slope 1 is linear, of slope 2 quadratic;
hollow markers on a dashed line are figures projected by a fit, not measured.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks import loopback, parser_alternatives, server
from benchmarks._common import optional

__all__ = ["available", "write_plot"]

_STYLES: dict[str, tuple[str, str]] = {
    # method: (colour, marker); streamstruct's in the strongest colour
    parser_alternatives.JSON_LOADS: ("#9e9e9e", "s"),
    parser_alternatives.JITER: ("#bdbdbd", "D"),
    parser_alternatives.PARSER: ("#1f77b4", "s"),
    parser_alternatives.JITER_REPARSE: ("#d62728", "o"),
    parser_alternatives.PYDANTIC_REPARSE: ("#ff7f0e", "v"),
    parser_alternatives.PJP_REPARSE: ("#8c564b", "^"),
    parser_alternatives.IJSON_PUSH: ("#2ca02c", "P"),
    parser_alternatives.PARSER_STREAM: ("#08306b", "o"),
    loopback.FLOOR: ("#7f7f7f", "s"),
    loopback.SS_COMPILED: ("#08306b", "o"),
    loopback.SS_PURE: ("#6baed6", "o"),
    loopback.OPENAI: ("#d62728", "v"),
    loopback.INSTRUCTOR: ("#ff7f0e", "^"),
}


def available() -> bool:
    return optional("matplotlib") is not None


def _series(ax: Any, label: str, points: Sequence[tuple[int, float, bool]], method: str) -> None:
    """One method: solid where measured, dashed with hollow markers where projected."""
    colour, marker = _STYLES.get(method, ("#000000", "o"))
    measured = [(x, y) for x, y, projected in points if not projected]
    projected = [(x, y) for x, y, p in points if p]
    if measured:
        ax.plot(
            [x for x, _ in measured],
            [y for _, y in measured],
            color=colour,
            linestyle="-",
            linewidth=1.4,
            label=label,
        )
    if projected:
        # the dashed part: from the last measured point on
        tail = measured[-1:] + projected
        ax.plot(
            [x for x, _ in tail],
            [y for _, y in tail],
            color=colour,
            linestyle="--",
            linewidth=1.2,
            label=None if measured else f"{label} (projected)",
        )
        ax.plot(
            [x for x, _ in projected],
            [y for _, y in projected],
            linestyle="none",
            marker=marker,
            markerfacecolor="white",
            color=colour,
        )
    if measured:
        ax.plot(
            [x for x, _ in measured],
            [y for _, y in measured],
            linestyle="none",
            marker=marker,
            color=colour,
        )


def write_plot(
    path: Path,
    *,
    parser: parser_alternatives.ParserResults | None,
    e2e: loopback.LoopbackResults | None,
    title: str = "",
) -> Path:
    """Draw the sections that ran into ``path`` (a PNG); returns ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [p for p in (parser, e2e) if p is not None]
    fig, axes = plt.subplots(1, max(1, len(panels)), figsize=(6.2 * max(1, len(panels)), 4.6))
    axes_list = list(axes) if len(panels) > 1 else [axes]
    index = 0
    if parser is not None:
        ax = axes_list[index]
        index += 1
        doc = parser.rows[0].doc if parser.rows else "B"
        rows = sorted((r for r in parser.rows if r.doc == doc), key=lambda r: r.nbytes)
        for method in parser_alternatives.METHODS:
            points = [
                (row.nbytes, f.seconds, f.extrapolated is not None)
                for row in rows
                if (f := row.figures.get(method)) is not None and f.seconds is not None
            ]
            if points:
                _series(ax, parser_alternatives.LABELS[method], points, method)
        ax.set_title(f"1. Parser, document {doc}, 4-char pieces", fontsize=10)
        ax.set_ylabel("total time (s)")
    if e2e is not None:
        ax = axes_list[index]
        cases = [c for c in e2e.cases if (c.mode, c.pace) == (server.CONTENT, server.BURST)]
        for method in loopback.METHODS:
            if method in loopback.PIPELINE:
                continue
            points = [
                (c.json_bytes, cell.median, cell.extrapolated is not None)
                for c in cases
                if (cell := c.cells.get(method)) is not None and cell.median is not None
            ]
            if points:
                _series(ax, loopback.LABELS[method], points, method)
        ax.set_title("2. End to end, content mode, loopback server, burst", fontsize=10)
        ax.set_ylabel("CPU to the final object (s)")
    for ax in axes_list:
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("output size (bytes of JSON)")
        ax.grid(True, which="major", linewidth=0.4, alpha=0.6)
        ax.legend(fontsize=7, loc="upper left", framealpha=0.85)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.text(
        0.5,
        0.005,
        "log-log: slope 1 is linear, slope 2 quadratic; hollow markers on dashed lines are"
        " projected by a fit, not measured",
        ha="center",
        fontsize=7,
        color="#555555",
    )
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path
