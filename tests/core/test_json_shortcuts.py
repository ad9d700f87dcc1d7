"""Every shortcut of the JSON parser gives what the careful path gives.

Each shortcut is switched off through ``Shortcuts`` (one at a time, then all of them) and the parser
is compared with the default one on every split of the documents: the same snapshot after every
piece, the same completed values, the same final value, the same error at the same offset.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator

import pytest

from streamstruct import JSONParseError, JSONStringTooLongError
from streamstruct._core._json import JSONParser, Shortcuts

# One switched off at a time, then all of them: the careful path alone.
OFF = {
    **{name: Shortcuts(**{name: False}) for name in Shortcuts._fields},
    "none": Shortcuts(*(False for _ in Shortcuts._fields)),
}

DOCUMENTS = [
    r'"plain prose then \n an escape, \"quotes\", \\ and \u00e9 \ud83d\ude00 and \ud83d alone"',
    r'{"key \n\u00e9": "value \t\u2028", "k\"2": ["\\", "\"", "\u0000"], "n": -12.5e3}',
    '{"records": [{"name": "n1", "tags": ["a", "b"], "ok": true, "x": null}, {"name": "n2"}]}',
    '[[1, 2, [3, [4, []]]], {"a": {"b": {}}}, false, 0, -0.5, 1E+2, ""]',
    '  {"long": "' + "words and more words " * 30 + '"}  ',
    '{"deep": [[[["x"]]], [1], [[]], [{"a": [true]}]], "tags": ["one"], "two": [1, 2]}',
]

INVALID = [
    '{"a": "bad \\x escape"}',
    '{"a": "control \x01"}',
    '{"a": [1, 2,]}',
    '{"a": 01}',
    '["\\u12G4"]',
    '{"a": tru}',
    '{"a" 1}',
    "[1] 2",
]


def _splits(text: str) -> Iterator[list[str]]:
    """Every piece size from 1 to 7, then every cut in two."""
    for size in range(1, 8):
        yield [text[i : i + size] for i in range(0, len(text), size)]
    for cut in range(len(text) + 1):
        yield [text[:cut], text[cut:]]


def _run(
    pieces: list[str],
    shortcuts: Shortcuts,
    completion_depth: int | None,
    max_string_chars: int | None = None,
) -> list[object]:
    """What the parser shows: snapshot and completed values after each piece, then the end."""
    parser = JSONParser(
        shortcuts=shortcuts,
        completion_depth=completion_depth,
        max_string_chars=max_string_chars,
    )
    seen: list[object] = []
    try:
        for piece in pieces:
            parser.feed(piece)
            # A copy: the lists of a snapshot nobody holds are reused (recycled_lists).
            seen.append((json.dumps(parser.snapshot()), parser.pop_completed()))
        seen.append(parser.close())
    except JSONParseError as error:
        seen.append((type(error), error.offset, error.reason, error.expected))
    return seen


@pytest.mark.parametrize("name", sorted(OFF))
@pytest.mark.parametrize("text", DOCUMENTS + INVALID)
def test_a_shortcut_switched_off_changes_nothing(name: str, text: str) -> None:
    for completion_depth in (None, 1):
        for pieces in _splits(text):
            expected = _run(pieces, Shortcuts(), completion_depth)
            assert _run(pieces, OFF[name], completion_depth) == expected, pieces


# Strings (values and keys, plain and with escapes) of 4 characters, around max_string_chars.
CAPPED = '[{"abcd": "efgh"}, {"\\u00e9bcd": ["x\\nyz"]}, {"k": [{"a": "wxyz"}]}]'


@pytest.mark.parametrize("name", sorted(OFF))
@pytest.mark.parametrize("max_string_chars", [3, 4])
def test_max_string_chars_is_enforced_the_same_with_a_shortcut_switched_off(
    name: str, max_string_chars: int
) -> None:
    # (A container the json module's decoder takes whole must not let a string past the cap.)
    for completion_depth in (None, 0, 1):
        for pieces in _splits(CAPPED):
            expected = _run(pieces, Shortcuts(), completion_depth, max_string_chars)
            got = _run(pieces, OFF[name], completion_depth, max_string_chars)
            assert got == expected, pieces


def test_the_careful_path_alone_parses_what_json_loads_parses() -> None:
    for text in DOCUMENTS:
        assert _run([text], OFF["none"], None)[-1] == json.loads(text)


@pytest.mark.parametrize("recycled", [True, False])
def test_snapshots_kept_or_dropped_are_the_same_with_or_without_recycled_lists(
    recycled: bool,
) -> None:
    text = json.dumps([[k, [k] * 3, {"k": k}] for k in range(40)])
    shortcuts = Shortcuts(recycled_lists=recycled)
    dropped, kept = JSONParser(shortcuts=shortcuts), JSONParser(shortcuts=shortcuts)
    held = []
    for i in range(0, len(text), 3):
        dropped.feed(text[i : i + 3])
        kept.feed(text[i : i + 3])
        held.append(kept.snapshot())
        assert json.dumps(dropped.snapshot()) == json.dumps(held[-1])
    for snapshot, end in zip(held, range(3, len(text) + 3, 3), strict=True):
        reference = JSONParser(shortcuts=Shortcuts(recycled_lists=False))
        reference.feed(text[:end])
        assert snapshot == reference.snapshot()  # a snapshot held is never changed


# The json module's decoders are tried once per piece, the piece recognised by identity: pieces fed
# again as the very same ``str`` objects (a string whose C decoding fails at a cut high surrogate,
# a container decoded whole) are not tried again, and still give what the careful path gives.
REPEATED_PIECES = [
    ["["] + ['"ab\\ud83d', '\\ude00 x", '] * 3 + ['"end"]'],
    ["["] + ["[1, [2]], "] * 3 + ["0]"],
    ["["] + ['{"k": "\\n\\u00e9", "v": [true]}, '] * 3 + ['""]'],
]


@pytest.mark.parametrize("name", sorted(OFF))
@pytest.mark.parametrize("pieces", REPEATED_PIECES)
def test_pieces_fed_again_as_the_same_objects_change_nothing(name: str, pieces: list[str]) -> None:
    for completion_depth in (None, 0):
        expected = _run(pieces, Shortcuts(), completion_depth)
        assert expected[-1] == json.loads("".join(pieces))
        assert _run(pieces, OFF[name], completion_depth) == expected


def test_an_empty_string_closed_in_the_piece_that_opens_it_is_shown() -> None:
    # No snapshot showed it open: closing it is what shows it (the careful path: c_strings off).
    parser = JSONParser(shortcuts=Shortcuts(c_strings=False))
    parser.feed("[1, ")
    assert parser.snapshot() == [1]
    parser.feed('""')
    assert parser.snapshot() == [1, ""]


@pytest.mark.parametrize("name", sorted(OFF))
def test_a_snapshot_after_growing_string_shows_what_grew(name: str) -> None:
    # growing_string() makes the text a snapshot shows anew: the next snapshot still shows it.
    parser = JSONParser(shortcuts=OFF[name])
    parser.feed('{"a": "x')
    assert parser.snapshot() == {"a": "x"}
    for piece, text, snapshot in [
        ("yy", "xyy", {"a": "xyy"}),
        ("\\n", "xyy\n", {"a": "xyy\n"}),
        ('z", "b": "w', "w", {"a": "xyy\nz", "b": "w"}),
    ]:
        parser.feed(piece)
        current = parser.growing_string()
        assert current is not None
        assert current[1] == text
        assert parser.snapshot() == snapshot


@pytest.mark.parametrize("name", sorted(OFF))
def test_a_string_too_long_after_a_cut_escape_is_refused_in_that_piece(name: str) -> None:
    # The escape cut by the first piece is completed by the second, which the escaped-run
    # shortcut takes: it refuses the string there, as the careful path does.
    parser = JSONParser(max_string_chars=5, shortcuts=OFF[name])
    parser.feed('"abcd\\')
    with pytest.raises(JSONStringTooLongError) as refused:
        parser.feed("nefgh")
    assert refused.value.offset == 11


def test_an_array_of_one_member_is_made_at_its_size_and_shared_by_later_snapshots() -> None:
    """sized_lists: a closed one-member array is a list with room for its member alone (what
    ``[member]`` makes), not the 4 slots CPython's first append gives, and it is the object every
    later snapshot and the completed record hold (the assembler's memo reuses by identity)."""
    parser = JSONParser()
    for piece in ["[[[", "1]]", ", 2"]:
        parser.feed(piece)
    first = parser.snapshot()
    (inner,) = [c.value for c in parser.pop_completed() if c.path == (0,)]
    assert first[0] is inner
    assert sys.getsizeof(inner) == sys.getsizeof([1])
    assert sys.getsizeof(inner[0]) == sys.getsizeof([1])
    parser.feed("]")
    assert parser.snapshot()[0] is inner
    assert parser.close()[0] is inner
    careful = JSONParser(shortcuts=Shortcuts(sized_lists=False))
    careful.feed("[[[1]], 2]")
    assert sys.getsizeof(careful.close()[0]) > sys.getsizeof([1])
