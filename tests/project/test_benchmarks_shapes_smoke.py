"""The benchmark's shapes of issue 14 (one long string, deep nesting, an endless string): the
documents are what they say, and the figures and targets come out. No figure is checked here."""

from __future__ import annotations

import json

from benchmarks import memory, parser_alternatives
from benchmarks.parser_alternatives import (
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
    shapes = parser_alternatives.measure_shapes((1_000, 2_000), repeat=1)
    results = parser_alternatives.ParserResults([], {}, shapes)
    kinds = {(f.shape, f.method) for f in shapes}
    assert kinds == {(s, m) for s in (LONG_STRING, NESTED, FLAT) for m in SHAPE_METHODS}
    assert all(f.seconds >= 0 for f in shapes)
    targets = parser_alternatives.shape_targets(results)
    assert len(targets) == 2 + 2 * len(parser_alternatives.DEPTHS)
    assert all(t.verdict in ("PASS", "FAIL") for t in targets)
    assert "ns/byte" in "\n".join(parser_alternatives.format_shapes(results))
