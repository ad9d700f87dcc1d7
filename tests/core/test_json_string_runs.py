"""Strings continued across pieces, decoded a run at a time by the json module's decoder.

The run decoder must give what the careful path gives: the same text, a high surrogate held back
until its low half is known, errors at the same offset, and snapshots that only grow.
"""

from __future__ import annotations

import itertools
import json

import pytest
from shared_support import pieces

from streamstruct import JSONParseError
from streamstruct._core._json import JSONParser

TEXTS = [
    r'"plain text, then an escape \n and \"quotes\" and \\ and \/ and \u00e9 \u4e2d"',
    r'"a pair \ud83d\ude00 then a lone high \ud83d and a lone low \ude00 end"',
    r'"\ud83d\ude00\ud83d\ude00\ud83d"',
    r'"\ud83d\u0041\ud83d\\\ud83dx"',
    r'{"key \n\u00e9": "value \t\u2028 \ud83d\ude00", "k\"2": ["\\", "\"", "\u0000"]}',
    '"raw \u2028 and \U0001f600 characters"',
]


def _feed_all(parser: JSONParser, pieces: list[str]) -> object:
    for piece in pieces:
        parser.feed(piece)
    return parser.close()


@pytest.mark.parametrize("text", TEXTS)
@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 6, 7, 11])
def test_every_piece_size_gives_what_json_loads_gives(text: str, size: int) -> None:
    parser = JSONParser()
    shown: list[object] = []
    for piece in pieces(text, size):
        parser.feed(piece)
        shown.append(parser.snapshot())
    assert parser.close() == json.loads(text)
    strings = [s for s in shown if isinstance(s, str)]
    for before, after in itertools.pairwise(strings):
        assert after.startswith(before)  # a string only grows: no half pair shown and replaced
        assert not (before and "\ud800" <= before[-1] <= "\udbff" and after != before)


@pytest.mark.parametrize("text", TEXTS)
def test_every_two_piece_split_gives_what_json_loads_gives(text: str) -> None:
    for cut in range(len(text) + 1):
        parser = JSONParser()
        parser.feed(text[:cut])
        parser.feed(text[cut:])
        assert parser.close() == json.loads(text), cut


@pytest.mark.parametrize(
    ("text", "offset"),
    [
        ('"abc\\x"', 5),
        ('"abc\\u12g4"', 8),
        ('"abc\x01"', 4),
        ('{"ke\x1fy": 1}', 4),
        ('"ok \\n then \x00"', 12),
    ],
)
@pytest.mark.parametrize("first", [1, 2, 3])
def test_errors_come_at_the_same_offset_from_a_continued_string(
    text: str, offset: int, first: int
) -> None:
    for size in range(1, len(text) + 1):
        parser = JSONParser()
        with pytest.raises(JSONParseError) as raised:
            _feed_all(parser, [text[:first], *pieces(text[first:], size)])
        assert raised.value.offset == offset, size
