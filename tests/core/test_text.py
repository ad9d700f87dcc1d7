"""TextLog: the answer's raw text, kept compact, always equal to the pieces joined."""

from __future__ import annotations

import contextlib
import json
import sys
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from shared_support import pieces, split_at

from streamstruct._core._json import SHARED_STRING_CHARS, JSONParser
from streamstruct._core._text import CHUNK_CHARS, PACK_CHARS, TextLog
from streamstruct._errors import JSONParseError

# Pieces of any size, small ones (a token) most often, and points where the text is asked for.
pieces_and_asks = st.lists(
    st.tuples(
        st.one_of(st.text(max_size=6), st.text(min_size=CHUNK_CHARS - 3, max_size=CHUNK_CHARS + 3)),
        st.booleans(),
    ),
    max_size=60,
)


@given(pieces_and_asks)
def test_the_text_is_the_pieces_joined_whenever_it_is_asked_for(
    steps: list[tuple[str, bool]],
) -> None:
    log = TextLog()
    received = ""
    for piece, ask in steps:
        log.append(piece)
        received += piece
        assert len(log) == len(received)
        assert bool(log) == bool(received)
        if ask:
            assert log.text() == received
            assert log.text() == received  # asked again, nothing new
    assert log.text() == received


def test_an_empty_log() -> None:
    log = TextLog()
    assert (log.text(), len(log), bool(log)) == ("", 0, False)
    assert repr(log) == "TextLog(0 characters)"


def test_small_pieces_cost_about_the_text_not_an_object_each() -> None:
    log, pieces = TextLog(), []
    for i in range(400_000):
        piece = f"{i % 10_000:04d}"  # 4-character pieces (a token each), each its own str object
        log.append(piece)
        pieces.append(piece)
    kept = sys.getsizeof(log._packed) + sum(sys.getsizeof(pack) for pack in log._packed)
    kept += sys.getsizeof(log._chunks) + sum(sys.getsizeof(chunk) for chunk in log._chunks)
    kept += sys.getsizeof(log._waiting) + sum(sys.getsizeof(p) for p in log._waiting)
    as_list = sys.getsizeof(pieces) + sum(sys.getsizeof(p) for p in pieces)
    assert kept < 1.1 * len(log)
    assert as_list > 10 * len(log)  # what the list of pieces it replaces cost
    assert log.text() == "".join(pieces)


# Any text, lone surrogates included (JSON's "\ud800" decodes to one), in pieces of any size.
any_pieces = st.lists(st.text(st.characters(codec=None), max_size=9), max_size=40)


@given(any_pieces, st.integers(1, 8), st.integers(1, 20), st.data())
def test_packed_the_text_is_the_pieces_joined_and_any_tail_of_it(
    pieces: list[str], chunk_chars: int, pack_chars: int, data: st.DataObject
) -> None:
    """Small chunks and packs, so that every piece crosses them: text() and since() give what
    the pieces joined give, whether the text is in pieces, chunks or packs, or all three."""
    log = TextLog(chunk_chars=chunk_chars, pack_chars=pack_chars)
    received = ""
    for piece in pieces:
        log.append(piece)
        received += piece
        if data.draw(st.booleans()):
            assert log.text() == received
    assert len(log) == len(received)
    for start in range(len(received) + 2):  # every start, and past the end
        assert log.since(start) == received[start:]
    assert log.text() == received
    assert log.text() == received  # asked again


def test_a_long_text_is_kept_packed_and_comes_back_whole() -> None:
    words = ["the", "stream", "parser", "model", "token", "schema", "field", "value", "answer"]
    pieces = [f"{words[i % len(words)]} " for i in range(200_000)]  # ~1.1 MB, a word a piece
    log = TextLog()
    for piece in pieces:
        log.append(piece)
    received = "".join(pieces)
    kept = sum(map(len, log._packed)) + sum(map(len, log._chunks)) + sum(map(len, log._waiting))
    assert log._packed
    assert sum(log._packed_chars) > len(received) - PACK_CHARS - CHUNK_CHARS
    assert kept < len(received) / 3  # deterministic: zlib's output for this input
    assert log.text() == received
    assert log.since(len(received) - PACK_CHARS - 10) == received[-PACK_CHARS - 10 :]
    assert not log._chunks or sum(map(len, log._chunks)) < PACK_CHARS  # text() kept nothing whole


def test_lone_surrogates_and_a_text_of_exactly_pack_chars_come_back() -> None:
    """Deterministic (the strategy above draws a surrogate in ~1 example of 400): JSON's
    "\\ud800" decodes to a lone surrogate, which UTF-8 cannot encode but a pack must keep; a
    pair's halves may fall in two packs; a text of exactly PACK_CHARS is packed whole."""
    whole = "\ud800" + "a" * (PACK_CHARS - 2) + "\udfff"
    log = TextLog()
    log.append(whole)
    assert log._packed_chars == [PACK_CHARS]
    assert not log._chunks
    assert not log._waiting
    log.append("")
    log.append("\udc00x")
    received = whole + "\udc00x"
    assert log.text() == received
    for start in (0, 1, PACK_CHARS - 1, PACK_CHARS, PACK_CHARS + 1, PACK_CHARS + 2, PACK_CHARS + 3):
        assert log.since(start) == received[start:]
    halves = TextLog(chunk_chars=2, pack_chars=2)
    pieces = ["a\ud83d", "\ude00b", "", "\ud83d\ude00"]
    for piece in pieces:
        halves.append(piece)
    joined = "".join(pieces)
    assert len(halves._packed) == 3
    assert halves.text() == joined
    assert [halves.since(start) for start in range(len(joined) + 1)] == [
        joined[start:] for start in range(len(joined) + 1)
    ]


# -- a log that watches the parser fed the same text: long strings kept by reference -----------

LONG = "Prose, long enough to be shared: " + "word " * 12  # 93 characters, no escape
_DOCUMENTS = {
    "plain": json.dumps({"title": LONG, "sections": [LONG + "1", "short", LONG + "2"]}),
    "escapes": json.dumps({"a": LONG + '"quoted" \\ \n', "b": "\u00e9\u4e2d" * 40, "c": LONG}),
    "unicode as is": json.dumps({"a": "\u00e9\U0001f600" * 40, "b": [LONG]}, ensure_ascii=False),
    "surrogate pairs": '["\\ud83d\\ude00' + "x" * 70 + '", "' + LONG + '"]',
    "a lone surrogate as is": '["\ud800' + "y" * 70 + '", "' + LONG + '"]',
    "a long key": json.dumps({LONG: LONG, "k": 1.5}),
    "an open string": '{"a": "' + LONG + '", "b": "' + LONG,
    "an error after one": '["' + LONG + '", "' + LONG + '" tru',
    "an error inside one": '["' + LONG + '", "' + LONG[:40] + "\x01" + LONG,
}


def _feed_watched(pieces: list[str], chunk_chars: int, pack_chars: int) -> tuple[TextLog, Any]:
    """Feed the pieces to a parser and to a log watching it, as the response reader does,
    checking the log's text and tails after every piece."""
    log = TextLog(chunk_chars=chunk_chars, pack_chars=pack_chars)
    parser = JSONParser()
    log.watch(parser)
    fed = ""
    for piece in pieces:
        log.append(piece)
        fed += piece
        with contextlib.suppress(JSONParseError):
            parser.feed(piece)
        assert log.text() == fed
        assert len(log) == len(fed)
        for start in (-1, 0, len(fed) // 2, len(fed) - 3, len(fed) + 1):
            assert log.since(start) == fed[max(start, 0) :]
    for start in range(len(fed) + 2):
        assert log.since(start) == fed[start:]
    return log, parser


@pytest.mark.parametrize("sizes", [(1, 1), (3, 7), (16, 40), (CHUNK_CHARS, PACK_CHARS)])
@pytest.mark.parametrize("name", list(_DOCUMENTS))
def test_a_watched_log_gives_the_text_fed_on_every_split(name: str, sizes: tuple[int, int]) -> None:
    """Cut in two at every point, and one character at a time: the text and every tail of it
    are the text fed, with the strings kept by reference, packed or not, an open string, escapes,
    surrogates and errors."""
    document = _DOCUMENTS[name]
    for cut in range(len(document) + 1):
        _feed_watched(split_at(document, [cut]), *sizes)
    _feed_watched(list(document), *sizes)


def test_a_watched_log_keeps_the_parsers_strings_not_their_text() -> None:
    """The long strings with no escape are the parser's own objects, once their text is
    settled (here: packed after every chunk); the skeleton keeps the rest."""
    # Whitespace after it, so that the last string is settled too (a string held back puts the
    # next settle off by as much again as was held: its length here).
    document = _DOCUMENTS["plain"] + " " * 2 * len(LONG)
    log, parser = _feed_watched(pieces(document, 4), 8, 8)
    value = parser.close()
    assert log._shared == [LONG, LONG + "1", LONG + "2"]
    assert log._shared[0] is value["title"]
    assert log._shared[1] is value["sections"][0]
    assert log._shared[2] is value["sections"][2]
    kept = sum(map(len, log._chunks)) + sum(log._packed_chars) + sum(map(len, log._waiting))
    assert kept == len(document) - 3 * len(LONG) - 2
    assert sum(log._packed_chars) > kept - 2 * len(LONG)
    assert log.text() == document


def test_an_open_string_is_held_back_not_packed_until_it_closes() -> None:
    """The text from the open string's first character is kept as it came (a pack cannot be
    cut), joined again at most once per as much again as there is of it, then shared."""
    log = TextLog(chunk_chars=4, pack_chars=16)
    parser = JSONParser()
    log.watch(parser)
    head = '{"a": "'
    for piece in [head, *pieces("z" * 1000, 4)]:
        log.append(piece)
        parser.feed(piece)
    assert log._packed_total <= len(head)  # the open string is not packed
    assert log._settle_at > 1000  # put off as it grew
    for piece in ('", "b": 1', "}"):
        log.append(piece)
        parser.feed(piece)
    assert not log._shared
    log.append(" " * 1024)  # as much again: a settle, which takes the string out
    assert log._shared == ["z" * 1000]
    assert log.text() == head + "z" * 1000 + '", "b": 1}' + " " * 1024


def test_settle_shares_a_string_that_closed_last_without_more_text() -> None:
    # What the reader does at the end of a stream: nothing more will come to put it off to.
    log = TextLog(chunk_chars=4, pack_chars=16)
    parser = JSONParser()
    log.watch(parser)
    text = '{"a": "' + "z" * 1000 + '"}'
    for piece in pieces(text, 4):
        log.append(piece)
        parser.feed(piece)
    assert not log._shared
    log.settle()
    assert log._shared == ["z" * 1000]
    assert log._shared[0] is parser.close()["a"]
    assert sum(map(len, log._chunks)) + len(log._waiting) == 0
    assert log.text() == text
    log.settle()  # again: nothing to do
    assert (log.text(), len(log)) == (text, len(text))


def test_a_log_watches_its_parser_from_the_first_character() -> None:
    log = TextLog()
    log.append("[")
    with pytest.raises(ValueError, match="first character"):
        log.watch(JSONParser())


class _WrongSource:
    """A source whose strings are not in the text: they stay text (never, from a parser)."""

    def share_strings(self) -> None:
        pass

    def take_shared_strings(self) -> tuple[list[tuple[int, str]], int]:
        return [(2, "not the text"), (0, "x" * 99)], 1_000


def test_strings_not_found_in_the_text_stay_text() -> None:
    log = TextLog(chunk_chars=1, pack_chars=1)
    log.watch(_WrongSource())
    for piece in pieces(LONG, 4):
        log.append(piece)
    assert not log._shared
    assert log.text() == LONG


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(st.characters(codec=None), max_size=5)
    | st.text(st.characters(codec=None), min_size=SHARED_STRING_CHARS, max_size=90),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3), inner, max_size=4)
    ),
    max_leaves=8,
)


@given(json_values, st.booleans(), st.integers(1, 9), st.integers(1, 30), st.data())
def test_a_watched_log_gives_any_json_fed_in_any_pieces(
    value: Any, ascii_only: bool, chunk_chars: int, pack_chars: int, data: st.DataObject
) -> None:
    document = json.dumps(value, ensure_ascii=ascii_only)
    cuts = data.draw(st.lists(st.integers(0, len(document)), max_size=12))
    _, parser = _feed_watched(split_at(document, cuts), chunk_chars, pack_chars)
    assert parser.close() == value
