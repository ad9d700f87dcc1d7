"""The parser benchmark still runs: its documents build, and a tiny ``--quick`` run prints its table.

Benchmarks are not tests; this only keeps ``benchmarks/parser.py`` from rotting. It is loaded from
its file, so that it works however pytest was started (the project root need not be on sys.path).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from benchmark_support import loaded_harness


@pytest.fixture(scope="module")
def harness() -> Iterator[ModuleType]:
    with loaded_harness("parser.py", "_streamstruct_parser_benchmark") as module:
        yield module


@pytest.mark.parametrize("doc", ["A", "B", "C"])
@pytest.mark.parametrize("size", [1_000, 10_000])
def test_documents_are_valid_deterministic_and_about_the_size(
    harness: ModuleType, doc: str, size: int
) -> None:
    build = harness.BUILDERS[doc]
    text = build(size)
    assert build(size) == text
    assert size <= len(text.encode()) <= size * 1.2
    json.loads(text)


def test_documents_have_what_they_promise(harness: ModuleType) -> None:
    a = harness.build_a(10_000)
    for needle in ("\\n", '\\"', "\\\\", "\\u00e9", "\\ud83d\\ude00", "é", "中文", "🎉"):
        assert needle in a, needle
    assert len(json.loads(harness.build_b(10_000))["records"]) > 10
    c = json.loads(harness.build_c(1_000))
    depth = 0
    while isinstance(c, list) or (isinstance(c, dict) and "c" in c):
        c = c["c"] if isinstance(c, dict) else c[-1]
        depth += 1
    assert depth == harness.C_DEPTH  # 50 levels, then the bulk's small objects
    assert set(c) == {"id", "ok", "v"}


def test_parse_size(harness: ModuleType) -> None:
    assert [harness.parse_size(s) for s in ("1K", "10kb", "100K", "1M", "1MB", "2500")] == [
        1_000,
        10_000,
        100_000,
        1_000_000,
        1_000_000,
        2_500,
    ]


def test_a_quick_run_prints_one_table_and_writes_json(
    harness: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out.json"
    assert harness.main(["--quick", "--sizes", "1K", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    for doc in ("A", "B", "C"):
        assert f"\n{doc} " in printed
    assert "Targets:" in printed
    data = json.loads(out.read_text(encoding="utf-8"))
    assert [row["doc"] for row in data["rows"]] == ["A", "B", "C"]
    for row in data["rows"]:
        assert row["figures"]["feed_snapshot"]["seconds"] > 0
    assert {target["verdict"] for target in data["targets"]} <= {"PASS", "FAIL", "n/a"}


def test_the_pure_python_parser_is_the_source_and_agrees_with_the_one_in_use(
    harness: ModuleType,
) -> None:
    import streamstruct._core._json

    common = sys.modules["benchmarks._common"]
    pure = common.pure_python_parser()
    assert sys.modules[pure.__module__].__file__.endswith("_json.py")
    compiled = not streamstruct._core._json.__file__.endswith(".py")
    assert (pure is not streamstruct._core._json.JSONParser) == compiled
    assert common.parser_build() == ("compiled (mypyc)" if compiled else "pure Python")
    text = harness.build_b(2_000)
    for parser_class in (pure, streamstruct._core._json.JSONParser):
        parser = parser_class()
        for start in range(0, len(text), 4):
            parser.feed(text[start : start + 4])
        assert parser.close() == json.loads(text)
