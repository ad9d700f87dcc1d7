"""Two sets of ``python -m benchmarks --json`` files side by side: every ratio to the floor, before
and after a change (and the parser shapes' CPU time per byte), as medians over the files of each side, and the change in per cent.

Absolute times on a shared machine move with its load; the ratio of a method to the floor measured
in the same run moves much less, so that is what this compares (issue 13: "every e2e and parser
ratio within 10% of main before the change, in both builds"):

- **e2e**: each method's median CPU time per case over the floor's (``httpx`` lines +
  ``json.loads``) in the same case, labelled with the build that ran it;
- **parser**: each method's time on a document over ``json.loads`` on the same document (both
  wall-clock, measured one after the other). The shapes (a long string, deep nesting) are CPU time
  with no floor measured on the same clock, so they are compared as CPU nanoseconds per byte: on a
  loaded machine, the noisiest rows. The parser section's documents run in one build
  (``meta.parser_build``, or ``meta.build`` when the file says so); its shapes in each build, each
  figure labelled with its own.

Give a side several files (rounds run alternately with the other side's, A B A B A B) and each
ratio is the median over them::

    python -m benchmarks.compare --before base-1.json base-2.json --after new-1.json new-2.json

A row whose ratio grew by more than ``--threshold`` per cent is marked ``REGRESSED``.
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Final, NamedTuple

from benchmarks._common import grid, size_label

__all__ = ["Key", "Row", "compare", "format_rows", "main", "ratios"]

DEFAULT_THRESHOLD: Final = 10.0
_FLOOR: Final = "floor"
_PARSER_FLOOR: Final = "json_loads"
#: the build that runs each e2e method (benchmarks.loopback.RUNS, by name, so that files written
#: by an older harness read the same)
_E2E_BUILD: Final = {
    "streamstruct_compiled": "compiled",
    "pipeline_compiled": "compiled",
    "streamstruct_pure": "pure",
    "pipeline_pure": "pure",
}
_PARSER_BUILD: Final = {"pure Python": "pure", "compiled (mypyc)": "compiled"}


class Key(NamedTuple):
    """One figure: the section, the build that ran the method, what was measured, and its unit
    (``x``: a ratio to the floor)."""

    section: str
    build: str
    what: str
    unit: str = "x"


class Row(NamedTuple):
    key: Key
    before: list[float]
    after: list[float]

    @property
    def change(self) -> float | None:
        """The change of the median ratio, in per cent (positive: slower after)."""
        if not self.before or not self.after:
            return None
        return (statistics.median(self.after) / statistics.median(self.before) - 1) * 100


def _median(values: Iterable[float] | None) -> float | None:
    values = [v for v in values or () if v is not None]
    return statistics.median(values) if values else None


def _e2e_ratios(e2e: dict[str, Any]) -> dict[Key, float]:
    out: dict[Key, float] = {}
    for case in e2e.get("cases", []):
        cells = case.get("cells", {})
        floor = _median(cells.get(_FLOOR, {}).get("seconds"))
        if not floor:
            continue
        where = f"{case['pace']} {case['mode']} {size_label(case['size'])}"
        for method, cell in cells.items():
            seconds = _median(cell.get("seconds"))
            if method == _FLOOR or seconds is None:
                continue
            build = _E2E_BUILD.get(method, "pure")
            out[Key("e2e", build, f"{where}: {method} / floor")] = seconds / floor
    return out


def _parser_ratios(parser: dict[str, Any], build: str) -> dict[Key, float]:
    out: dict[Key, float] = {}
    for row in parser.get("rows", []):
        figures = row.get("figures", {})
        floor = figures.get(_PARSER_FLOOR, {}).get("seconds")
        if not floor:
            continue
        where = f"{row['doc']} {size_label(row['size'])}"
        for method, figure in figures.items():
            seconds = figure.get("seconds")
            if method == _PARSER_FLOOR or seconds is None:
                continue
            out[Key("parser", build, f"{where}: {method} / json.loads")] = seconds / floor
    for shape in parser.get("shapes", []):
        what = f"{shape['shape']} {shape['detail']}: {shape['method']}, CPU per byte"
        where = shape.get("build", build)  # each build's own since the shapes ran in both
        out[Key("parser", where, what, " ns")] = shape["seconds"] / shape["nbytes"] * 1e9
    return out


def ratios(data: dict[str, Any]) -> dict[Key, float]:
    """Every ratio to the floor (and shape figure) in one ``--json`` file of the suite."""
    out: dict[Key, float] = {}
    if data.get("e2e"):
        out.update(_e2e_ratios(data["e2e"]))
    if data.get("parser"):
        meta = data.get("meta", {})
        build = meta.get("build") or _PARSER_BUILD.get(meta.get("parser_build", ""), "pure")
        out.update(_parser_ratios(data["parser"], build))
    return out


def _gather(files: Sequence[Path]) -> dict[Key, list[float]]:
    out: dict[Key, list[float]] = {}
    for path in files:
        for key, value in ratios(json.loads(path.read_text(encoding="utf-8"))).items():
            out.setdefault(key, []).append(value)
    return out


def compare(before: Sequence[Path], after: Sequence[Path]) -> list[Row]:
    """A row for every ratio on either side, in section, build and measurement order."""
    old, new = _gather(before), _gather(after)
    return [Row(key, old.get(key, []), new.get(key, [])) for key in sorted({*old, *new})]


def _cell(values: list[float], unit: str) -> str:
    if not values:
        return "-"
    spread = f" ({min(values):.2f}-{max(values):.2f})" if len(values) > 1 else ""
    return f"{statistics.median(values):.2f}{unit}{spread}"


def format_rows(rows: Sequence[Row], *, threshold: float = DEFAULT_THRESHOLD) -> str:
    table = []
    for row in rows:
        change = row.change
        verdict = "" if change is None or change <= threshold else "REGRESSED"
        shown = "-" if change is None else f"{change:+.1f}%"
        section, build, what, unit = row.key
        before, after = _cell(row.before, unit), _cell(row.after, unit)
        table.append([section, build, what, before, after, shown, verdict])
    header = ["section", "build", "figure", "before", "after", "change", ""]
    return "\n".join(grid(header, table, 3, markdown=True))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.compare",
        description="Ratios to the floor before and after a change, medians over rounds.",
    )
    parser.add_argument("--before", type=Path, nargs="+", required=True, metavar="FILE")
    parser.add_argument("--after", type=Path, nargs="+", required=True, metavar="FILE")
    parser.add_argument(
        "--threshold", type=float, default=DEFAULT_THRESHOLD, help="per cent (default: 10)"
    )
    args = parser.parse_args(argv)
    rows = compare(args.before, args.after)
    print(format_rows(rows, threshold=args.threshold))
    regressed = [r for r in rows if r.change is not None and r.change > args.threshold]
    print(f"\n{len(rows)} figures, {len(regressed)} more than {args.threshold:g}% higher after")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
