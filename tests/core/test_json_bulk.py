"""The bulk path: a container whose members are not reported one by one is decoded whole in C.

It must give exactly the careful path's answers: the same values, the same refusals.
"""

from __future__ import annotations

import json

import pytest

from streamstruct import JSONParseError, JSONParser

DOCUMENT = json.dumps(
    {"records": [{"name": f"n{i}", "tags": ["a", "b"], "score": i / 3} for i in range(50)]}
)


def _parse(text: str, completion_depth: int | None) -> object:
    parser = JSONParser(completion_depth=completion_depth)
    parser.feed(text)
    return parser.close()


@pytest.mark.parametrize("completion_depth", [0, 1, 2, None])
def test_whole_documents_give_json_loads_value(completion_depth: int | None) -> None:
    assert _parse(DOCUMENT, completion_depth) == json.loads(DOCUMENT)


def test_only_the_reported_levels_are_reported() -> None:
    parser = JSONParser(completion_depth=1)
    parser.feed(DOCUMENT)
    assert [done.path for done in parser.pop_completed()] == [("records",), ()]


@pytest.mark.parametrize(
    "text",
    [
        '{"a": [NaN]}',
        '{"a": [Infinity]}',
        '{"a": [-Infinity]}',
        '{"a": "\x01"}',
        '{"a": [1.' + "0" * 12_000 + "]}",
        '{"a": [' + "1" * 5_000 + "]}",
        '{"a": [1,]}',
    ],
)
def test_refusals_are_the_careful_paths(text: str) -> None:
    verdicts = []
    for completion_depth in (0, None):
        with pytest.raises(JSONParseError) as caught:
            _parse(text, completion_depth)
        verdicts.append((caught.value.offset, caught.value.reason))
    assert verdicts[0] == verdicts[1]


def test_nesting_past_max_depth_is_refused_either_way() -> None:
    deep = "[" * 1500 + "]" * 1500
    for completion_depth in (0, None):
        parser = JSONParser(completion_depth=completion_depth)
        with pytest.raises(JSONParseError, match="max_depth"):
            parser.feed(deep)
