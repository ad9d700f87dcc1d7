"""TextLog: the answer's raw text, kept compact, always equal to the pieces joined."""

from __future__ import annotations

import sys

from hypothesis import given
from hypothesis import strategies as st

from streamstruct._core._text import CHUNK_CHARS, PACK_CHARS, TextLog

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
