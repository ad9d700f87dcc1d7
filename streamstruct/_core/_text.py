"""TextLog: the raw text of an answer, received in many small pieces, kept compact.

Every error a stream raises carries the text received so far, so the text is kept. It arrives as
one piece per event, about a token (4 characters) each, and a list of such pieces costs ~60 bytes
of ``str`` object and list slot per piece: ~15 times the text itself, more than everything else a
stream holds (benchmarks.memory). Here the pieces are joined into chunks as they come, so the text
costs about its own size, and each character is copied once more, whatever the number of pieces.

Past ``PACK_CHARS``, the chunks are packed: joined and compressed (zlib, its fastest level). The
text is then a second copy of what the answer's strings hold already, read again only when an
error quotes it or the caller asks for it; packed, 10 MB of prose costs 2.4 MB instead of 10 MB
(4.2x; a table of rows 5.2x), for ~0.07 s of CPU in a 10 s stream. Peak above baseline streaming
10 MB (benchmarks.memory, pure): prose 26.2 -> 18.7 MB (1.91x -> 1.37x model_validate_json's),
rows 217.5 -> 211.1 MB; the pipeline's CPU on 300 KB 0.98-1.01x (paired medians). An answer
shorter than ``PACK_CHARS`` is never packed.
"""

from __future__ import annotations

import zlib
from typing import Final, final

__all__ = ["TextLog"]

CHUNK_CHARS: Final = 4096
"""Pieces are joined once this many characters wait: their overhead is then shared by a chunk."""

PACK_CHARS: Final = 64 * 1024
"""Chunks are packed (joined, compressed) once this many characters of them wait."""

_LEVEL: Final = 1  # zlib's fastest: 150 MB/s here, and 4-5x on prose and rows (6: 24-77 MB/s)


def _pack(text: str) -> bytes:
    # surrogatepass: decoded JSON may hold a lone surrogate ("\ud800"), and comes back the same.
    return zlib.compress(text.encode("utf-8", "surrogatepass"), _LEVEL)


def _unpack(packed: bytes) -> str:
    return zlib.decompress(packed).decode("utf-8", "surrogatepass")


@final
class TextLog:
    """Text appended piece by piece; :meth:`text` gives it whole.

    >>> log = TextLog()
    >>> log.append('{"a": ')
    6
    >>> log.append("1}")
    8
    >>> len(log), log.text()
    (8, '{"a": 1}')

    ``chunk_chars`` and ``pack_chars`` (``CHUNK_CHARS``, ``PACK_CHARS``) are for tests.
    """

    __slots__ = (
        "_chunk_chars",
        "_chunks",
        "_chunks_chars",
        "_length",
        "_pack_chars",
        "_packed",
        "_packed_chars",
        "_waiting",
        "_waiting_chars",
    )

    def __init__(self, *, chunk_chars: int = CHUNK_CHARS, pack_chars: int = PACK_CHARS) -> None:
        self._chunk_chars = chunk_chars
        self._pack_chars = pack_chars
        self._packed: list[bytes] = []  # packed chunks, in order
        self._packed_chars: list[int] = []  # how many characters each of them holds
        self._chunks: list[str] = []  # joined pieces since, fewer than pack_chars characters
        self._chunks_chars = 0
        self._waiting: list[str] = []  # the pieces since, fewer than chunk_chars characters
        self._waiting_chars = 0
        self._length = 0

    def append(self, piece: str) -> int:
        """Add ``piece``; return the length of the text now (the reader's mark per piece: a
        ``len()`` less per event, which calls ``__len__``)."""
        size = len(piece)
        self._waiting.append(piece)
        self._length += size
        self._waiting_chars += size
        if self._waiting_chars >= self._chunk_chars:
            self._chunks.append("".join(self._waiting))
            self._chunks_chars += self._waiting_chars
            self._waiting.clear()
            self._waiting_chars = 0
            if self._chunks_chars >= self._pack_chars:
                self._packed.append(_pack("".join(self._chunks)))
                self._packed_chars.append(self._chunks_chars)
                self._chunks.clear()
                self._chunks_chars = 0
        return self._length

    def text(self) -> str:
        """All the text appended, as one string."""
        if not self._packed and not self._waiting and len(self._chunks) == 1:
            return self._chunks[0]
        whole = "".join([*map(_unpack, self._packed), *self._chunks, *self._waiting])
        if not self._packed:
            # Kept as the one chunk: the same text asked for again costs nothing, and later
            # pieces are joined to it only when asked for. Once packed, it is made each time.
            self._chunks = [whole]
            self._chunks_chars = len(whole)
            self._waiting.clear()
            self._waiting_chars = 0
        return whole

    def since(self, start: int) -> str:
        """The text from character ``start`` on: costs what it returns (and the packed chunk it
        begins in), not the whole text."""
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
        for packed, chars in zip(reversed(self._packed), reversed(self._packed_chars), strict=True):
            begin = end - chars
            piece = _unpack(packed)
            found.append(piece if begin >= start else piece[start - begin :])
            if begin <= start:
                break
            end = begin
        return "".join(reversed(found))

    def __len__(self) -> int:
        return self._length

    def __bool__(self) -> bool:
        return self._length > 0

    def __repr__(self) -> str:
        return f"TextLog({self._length} characters)"
