"""TextLog: the raw text of an answer, received in many small pieces, kept compact.

Every error a stream raises carries the text received so far, so the text is kept. It arrives as
one piece per event, about a token (4 characters) each, and a list of such pieces costs ~60 bytes
of ``str`` object and list slot per piece: ~15 times the text itself, more than everything else a
stream holds (benchmarks.memory). Here the pieces are joined into chunks as they come, so the text
costs about its own size, and each character is copied once more, whatever the number of pieces.
"""

from __future__ import annotations

from typing import Final, final

__all__ = ["TextLog"]

CHUNK_CHARS: Final = 4096
"""Pieces are joined once this many characters wait: their overhead is then shared by a chunk."""


@final
class TextLog:
    """Text appended piece by piece; :meth:`text` gives it whole.

    >>> log = TextLog()
    >>> log.append('{"a": ')
    >>> log.append("1}")
    >>> len(log), log.text()
    (8, '{"a": 1}')
    """

    __slots__ = ("_chunks", "_length", "_waiting", "_waiting_chars")

    def __init__(self) -> None:
        self._chunks: list[str] = []  # joined pieces, in order
        self._waiting: list[str] = []  # the pieces since, fewer than CHUNK_CHARS characters
        self._waiting_chars = 0
        self._length = 0

    def append(self, piece: str) -> None:
        size = len(piece)
        self._waiting.append(piece)
        self._length += size
        self._waiting_chars += size
        if self._waiting_chars >= CHUNK_CHARS:
            self._chunks.append("".join(self._waiting))
            self._waiting.clear()
            self._waiting_chars = 0

    def text(self) -> str:
        """All the text appended, as one string."""
        if not self._waiting and len(self._chunks) == 1:
            return self._chunks[0]
        whole = "".join([*self._chunks, *self._waiting])
        # Kept as the one chunk: the same text asked for again costs nothing, and later pieces
        # are joined to it only when asked for.
        self._chunks = [whole]
        self._waiting.clear()
        self._waiting_chars = 0
        return whole

    def since(self, start: int) -> str:
        """The text from character ``start`` on: costs what it returns, not the whole text."""
        if start >= self._length:
            return ""
        found: list[str] = []
        end = self._length  # where the piece looked at ends
        for pieces in (self._waiting, self._chunks):
            for piece in reversed(pieces):
                begin = end - len(piece)
                if begin >= start:
                    found.append(piece)
                else:
                    found.append(piece[start - begin :])
                    return "".join(reversed(found))
                end = begin
                if end == start:
                    return "".join(reversed(found))
        return "".join(reversed(found))

    def __len__(self) -> int:
        return self._length

    def __bool__(self) -> bool:
        return self._length > 0

    def __repr__(self) -> str:
        return f"TextLog({self._length} characters)"
