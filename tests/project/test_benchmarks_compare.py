"""``python -m benchmarks.compare`` reads the suite's ``--json`` files and sets their ratios side by
side: medians over each side's files, the change in per cent, a mark past the threshold."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # `benchmarks` is a package beside `streamstruct`, not installed
    sys.path.insert(0, str(ROOT))

from benchmarks import compare  # noqa: E402


def _suite_json(floor: float, ours: float, parser: float, build: str = "pure Python") -> Any:
    """The parts of a ``python -m benchmarks --json`` file that compare reads."""
    return {
        "meta": {"parser_build": build},
        "e2e": {
            "cases": [
                {
                    "mode": "content",
                    "pace": "burst",
                    "size": 10_000,
                    "cells": {
                        "floor": {"seconds": [floor, floor * 3, floor]},
                        "streamstruct_compiled": {"seconds": [ours]},
                    },
                }
            ]
        },
        "parser": {
            "rows": [
                {
                    "doc": "B",
                    "size": 1_000,
                    "nbytes": 1000,
                    "figures": {
                        "json_loads": {"seconds": 0.5},
                        "jsonparser": {"seconds": parser},
                        "jiter": {"seconds": None},
                    },
                }
            ],
            "shapes": [
                {"shape": "nested", "detail": "990", "method": "m", "nbytes": 10, "seconds": 0.05}
            ],
        },
    }


def _write(folder: Path, name: str, data: Any) -> Path:
    path = folder / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_ratios_are_to_the_floor_of_the_same_run_by_build() -> None:
    found = compare.ratios(_suite_json(floor=2.0, ours=3.0, parser=1.5, build="compiled (mypyc)"))
    assert found == {
        compare.Key("e2e", "compiled", "burst content 10 KB: streamstruct_compiled / floor"): 1.5,
        compare.Key("parser", "compiled", "B 1 KB: jsonparser / json.loads"): 3.0,
        # no floor on the same clock: CPU nanoseconds per byte
        compare.Key("parser", "compiled", "nested 990: m, CPU per byte", " ns"): 5e6,
    }


def test_two_sides_of_files_compare_as_medians(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = [
        _write(tmp_path, f"before{i}.json", _suite_json(floor=1.0, ours=o, parser=1.0))
        for i, o in enumerate((2.0, 2.2, 9.0))
    ]
    after = [
        _write(tmp_path, f"after{i}.json", _suite_json(floor=1.0, ours=o, parser=1.04))
        for i, o in enumerate((2.6, 2.4))
    ]
    rows = {row.key.what: row for row in compare.compare(before, after)}
    e2e = rows["burst content 10 KB: streamstruct_compiled / floor"]
    assert e2e.before == [2.0, 2.2, 9.0]
    assert e2e.change == pytest.approx((2.5 / 2.2 - 1) * 100)  # medians: 2.5 after, 2.2 before
    assert rows["B 1 KB: jsonparser / json.loads"].change == pytest.approx(4.0)

    compare.main(["--before", *map(str, before), "--after", *map(str, after)])
    out = capsys.readouterr().out
    lines = {line.split("|")[3].strip(): line for line in out.splitlines() if line.count("|") > 6}
    assert "REGRESSED" in lines["burst content 10 KB: streamstruct_compiled / floor"]
    assert "REGRESSED" not in lines["B 1 KB: jsonparser / json.loads"]
    assert "3 figures, 1 more than 10% higher after" in out
