"""The annotations benchmark runs, on both shapes, and its annotated models withhold what they say.
No figure is checked here (speed is the benchmark's business, not the tests')."""

from __future__ import annotations

import json

import pytest

from benchmarks import annotations
from streamstruct import JSONParser, PartialAssembler, SnapshotEvent


@pytest.mark.parametrize("shape", sorted(annotations.SHAPES))
def test_each_shape_is_measured(shape: str, capsys: pytest.CaptureFixture[str]) -> None:
    cost = annotations.measure(rows=3, piece=8, repeat=1, shape=shape)
    assert cost.shape == shape
    assert cost.pieces > 10
    assert cost.plain_us > 0
    assert cost.annotated_us > 0
    assert annotations.main(["--rows", "2", "--repeat", "1", "--shape", shape]) == 0
    assert "ratio" in capsys.readouterr().out


@pytest.mark.parametrize("shape", sorted(annotations.SHAPES))
def test_the_annotated_model_withholds_and_ends_the_same(shape: str) -> None:
    plain_model, annotated_model, document = annotations.SHAPES[shape]
    text = document(4)
    finals = []
    for model in (plain_model, annotated_model):
        assembler = PartialAssembler(model)
        parser = JSONParser(completion_depth=assembler.completion_depth)
        shown = []
        for at in range(0, len(text), 8):
            parser.feed(text[at : at + 8])
            shown += [e for e in assembler.advance(parser) if isinstance(e, SnapshotEvent)]
        finals.append(assembler.finish(parser.close()).model_dump())
        if model is annotated_model:
            assert len(shown) > 3
    assert finals[0] == finals[1] == json.loads(text)
