"""The parser's record of the string values whose text is the string itself (share_strings), for
a text log to keep those strings instead of their text (``_text.TextLog.watch``)."""

from __future__ import annotations

import json

import pytest
from shared_support import split_at

from streamstruct._core._json import SHARED_STRING_CHARS, JSONParser, Shortcuts
from streamstruct._errors import JSONParseError

LONG = "x" * SHARED_STRING_CHARS
DOCUMENT = json.dumps(
    {
        LONG: "a key is never recorded",
        "long": LONG,
        "short": LONG[1:],  # one character too short
        "escaped": LONG + "\n",
        "unicode": "\u00e9\U0001f600" * 40,  # escaped by json.dumps: \u00e9\ud83d\ude00
        "list": [LONG + "1", {"deep": [LONG + "2"]}],
    }
)
RECORDED = [LONG, LONG + "1", LONG + "2"]
NONE_OFF = Shortcuts()
ALL_OFF = Shortcuts(*(False for _ in Shortcuts._fields))


def _records(pieces: list[str], shortcuts: Shortcuts = NONE_OFF) -> list[tuple[int, str]]:
    parser = JSONParser(shortcuts=shortcuts)
    parser.share_strings()
    taken: list[tuple[int, str]] = []
    for piece in pieces:
        parser.feed(piece)
        strings, hold = parser.take_shared_strings()
        taken += strings
        assert all(offset + len(string) <= hold for offset, string in strings)
    parser.close()
    return taken


@pytest.mark.parametrize("shortcuts", [NONE_OFF, ALL_OFF], ids=["shortcuts", "careful"])
def test_long_unescaped_values_are_recorded_with_their_offset_on_every_split(
    shortcuts: Shortcuts,
) -> None:
    """Whole, cut at every point, one character at a time; with the shortcuts (a string whole in
    a piece is decoded in one call) and without: the same records, each the text at its offset."""
    expected = _records([DOCUMENT], shortcuts)
    assert [string for _, string in expected] == RECORDED
    assert all(DOCUMENT[at : at + len(string)] == string for at, string in expected)
    for cut in range(len(DOCUMENT) + 1):
        assert _records(split_at(DOCUMENT, [cut]), shortcuts) == expected
    assert _records(list(DOCUMENT), shortcuts) == expected


def test_nothing_is_recorded_unless_asked_for() -> None:
    parser = JSONParser()
    parser.feed(DOCUMENT)
    assert parser.take_shared_strings() == ([], 0)


def test_the_text_held_back_begins_at_the_open_string_or_what_is_not_read() -> None:
    parser = JSONParser()
    parser.share_strings()
    parser.feed('["' + LONG + '", "ab')
    strings, hold = parser.take_shared_strings()
    assert strings == [(2, LONG)]
    assert hold == len(LONG) + 6  # the open string's first character
    parser.feed('c", 12')  # a number the end of the piece may cut: not read yet
    assert parser.take_shared_strings() == ([], len(LONG) + 12)
    assert parser.take_shared_strings() == ([], len(LONG) + 12)  # taken once


def test_a_string_closed_before_an_error_is_recorded() -> None:
    parser = JSONParser()
    parser.share_strings()
    with pytest.raises(JSONParseError):
        parser.feed('["' + LONG + '", tru]')
    assert parser.take_shared_strings()[0] == [(2, LONG)]
