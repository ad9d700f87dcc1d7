"""The benchmark's shapes of issue 14 (one long string, deep nesting, an endless string): the
documents are what they say, and the figures and targets come out. No figure is checked here."""

from __future__ import annotations

import dataclasses
import json

import pytest

import streamstruct
from benchmarks import builds, compare, memory, parser_alternatives, shapes
from benchmarks.shapes import (
    FLAT,
    LONG_STRING,
    NESTED,
    SHAPE_METHODS,
    flat_json,
    long_string_json,
    nested_json,
)


def test_the_long_string_document_is_one_string_field_of_the_size_asked() -> None:
    value = json.loads(long_string_json(10_000))
    assert set(value) == {"title", "body"}
    assert 9_900 < len(json.dumps(value)) <= 10_000


def test_nested_and_flat_hold_as_many_arrays() -> None:
    nested, flat = nested_json(50, 2_000), flat_json(50, 2_000)
    assert nested.count("[") == flat.count("[")
    deepest = json.loads(nested)["data"][0]
    for _ in range(49):
        (deepest,) = deepest
    assert deepest == []
    assert all(len(one) == 49 for one in json.loads(flat)["data"])
    assert memory.document_json(memory.NESTED, 40_000)[1] is memory.Holder


def test_every_shape_is_measured_and_checked() -> None:
    figures = shapes.measure((1_000, 2_000), repeat=1, min_seconds=0.0)
    results = parser_alternatives.ParserResults([], {}, figures)
    kinds = {(f.shape, f.method) for f in figures}
    assert kinds == {(s, m) for s in (LONG_STRING, NESTED, FLAT) for m in SHAPE_METHODS}
    assert all(f.seconds >= 0 for f in figures)
    build = streamstruct.build_info().build  # whichever the tests run: the sources, or compiled
    assert {f.build for f in figures} == {build}
    targets = parser_alternatives.shape_targets(results)
    assert len(targets) == 2 + 2 * len(shapes.DEPTHS)
    assert all(t.verdict in ("PASS", "FAIL") for t in targets)
    assert all(t.what.endswith(f"({build})") for t in targets)
    assert "ns/byte" in "\n".join(shapes.format_shapes(figures))


def test_the_shapes_run_in_each_build_asked_for_and_are_checked_per_build() -> None:
    figures, skipped = shapes.measure_in_builds(
        (1_000, 2_000), repeat=1, min_seconds=0.0, builds=(builds.PURE,)
    )
    assert skipped == {}
    assert {f.build for f in figures} == {builds.PURE}
    assert len(figures) == 2 * 2 + 2 * 2 * len(shapes.DEPTHS)  # each shape, each method
    # Two builds' figures: a target per build, each named, each from its own build's figures.
    compiled = [
        dataclasses.replace(f, build=builds.COMPILED, seconds=f.seconds / 2) for f in figures
    ]
    targets = shapes.targets([*figures, *compiled])
    assert len(targets) == 2 * (2 + 2 * len(shapes.DEPTHS))
    assert [t.what.rsplit(" ", 1)[-1] for t in targets].count("(compiled)") == len(targets) // 2
    data = {"parser": {"shapes": shapes.as_json([*figures, *compiled])}, "meta": {}}
    keys = compare.ratios(data)
    assert {key.build for key in keys} == {builds.PURE, builds.COMPILED}


def test_a_build_that_cannot_be_made_is_left_out_of_the_shapes_and_said(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(builds, "compiled_unavailable", lambda: "no compiler here")
    figures, skipped = shapes.measure_in_builds(
        (1_000,), repeat=1, min_seconds=0.0, builds=(builds.COMPILED,)
    )
    assert figures == []
    assert skipped == {builds.COMPILED: "no compiler here"}
    results = parser_alternatives.ParserResults([], {}, figures, skipped)
    assert shapes.targets(results.shapes) == []
