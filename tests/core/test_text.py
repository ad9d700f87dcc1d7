"""TextLog: the answer's raw text, kept compact, always equal to the pieces joined."""

from __future__ import annotations

import sys

from hypothesis import given
from hypothesis import strategies as st

from streamstruct._core._text import CHUNK_CHARS, TextLog

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
    kept = sys.getsizeof(log._chunks) + sum(sys.getsizeof(chunk) for chunk in log._chunks)
    kept += sys.getsizeof(log._waiting) + sum(sys.getsizeof(p) for p in log._waiting)
    as_list = sys.getsizeof(pieces) + sum(sys.getsizeof(p) for p in pieces)
    assert kept < 1.1 * len(log)
    assert as_list > 10 * len(log)  # what the list of pieces it replaces cost
    assert log.text() == "".join(pieces)
