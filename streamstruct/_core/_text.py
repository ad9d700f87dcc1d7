"""TextLog: the raw text of an answer, received in many small pieces, kept compact.

Every error a stream raises carries the text received so far, so the text is kept. It arrives as
one piece per event, about a token (4 characters) each, and a list of such pieces costs ~60 bytes
of ``str`` object and list slot per piece: ~15 times the text itself, more than everything else a
stream holds (benchmarks.memory). Here the pieces are joined into chunks as they come, so the text
costs about its own size, and each character is copied once more, whatever the number of pieces.

Most of a long answer's text is the text of its strings, which the parser's values and the final
object hold already. A log that watches the parser fed the same text (:meth:`TextLog.watch`) keeps
each long string value with no escape in it (``_json.SHARED_STRING_CHARS``) as a reference to the
parser's ``str``, which is its text exactly, and the rest (the *skeleton*: punctuation, keys,
numbers, short or escaped strings) as text: one copy of the text, rebuilt whole when asked for.
The text that may still turn out to be such a string (the open string value, what the parser has
not read yet) is kept as it came until it is settled.

Past ``PACK_CHARS``, the skeleton's chunks are packed: joined and compressed (zlib, its fastest
level), read again only when an error quotes the text or the caller asks for it. Peak above
baseline streaming 10 MB of prose (benchmarks.memory, pure): 26.2 MB with the text unpacked, 18.7
MB packed (zlib alone: 4.2x smaller), 16.5 MB with the strings shared (1.91x -> 1.36x -> 1.21x
model_validate_json's; the log itself: 0.3 MB instead of 2.4 MB); a table of rows, whose strings
are short, is packed as before (5.2x). An answer shorter than ``PACK_CHARS`` is never packed.
"""

from __future__ import annotations

import zlib
from array import array
from typing import Final, Protocol, final

__all__ = ["StringSource", "TextLog"]

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


class StringSource(Protocol):
    """What a log watches (``_json.JSONParser``): the strings of the text it is fed too."""

    def share_strings(self) -> None:
        """Record from now on the string values whose text is the string itself."""

    def take_shared_strings(self) -> tuple[list[tuple[int, str]], int]:
        """Those recorded since the last call, each with the offset of its first character, in
        order; and the offset from which the text may still turn out to be one."""


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
        "_packed_total",
        "_settle_at",
        "_shared",
        "_shared_at",
        "_shared_chars",
        "_source",
        "_waiting",
        "_waiting_chars",
    )

    def __init__(self, *, chunk_chars: int = CHUNK_CHARS, pack_chars: int = PACK_CHARS) -> None:
        self._chunk_chars = chunk_chars
        self._pack_chars = pack_chars
        # The skeleton (the text but for the shared strings): packed chunks, then joined pieces
        # not packed yet, then the pieces since.
        self._packed: list[bytes] = []  # packed chunks, in order
        self._packed_chars: list[int] = []  # how many characters each of them holds
        self._packed_total = 0
        self._chunks: list[str] = []  # joined pieces since
        self._chunks_chars = 0
        self._settle_at = pack_chars  # (see _settle)
        self._waiting: list[str] = []  # the pieces since, fewer than chunk_chars characters
        self._waiting_chars = 0
        self._length = 0  # of the whole text
        # The strings shared with the source, in order, each with its offset in the skeleton.
        self._source: StringSource | None = None
        self._shared: list[str] = []
        self._shared_at: array[int] = array("q")
        self._shared_chars = 0

    def watch(self, source: StringSource) -> None:
        """Keep the strings ``source`` records (see ``StringSource``) as references: it is fed
        the same text as this log, from the start (none appended yet)."""
        if self._length:
            raise ValueError("a TextLog watches its source from the first character")
        source.share_strings()
        self._source = source

    def append(self, piece: str) -> int:
        """Add ``piece``; return the length of the text now (the reader's mark per piece: a
        ``len()`` less per event, which calls ``__len__``)."""
        size = len(piece)
        self._waiting.append(piece)
        self._length += size
        self._waiting_chars += size
        if self._waiting_chars >= self._chunk_chars:
            self._join_waiting()
            if self._chunks_chars >= self._settle_at:
                self._settle()
        return self._length

    def _join_waiting(self) -> None:
        """The pieces since the last chunk, joined into one (once per ``chunk_chars``)."""
        self._chunks.append("".join(self._waiting))
        self._chunks_chars += self._waiting_chars
        self._waiting.clear()
        self._waiting_chars = 0

    def settle(self) -> None:
        """Share and pack what can be now, without waiting for more text: at the end of a
        stream, where the text held back for a string that was open (perhaps the whole answer,
        one long field) would otherwise stay as it came, beside the string itself."""
        if self._waiting:
            self._join_waiting()
        if self._chunks:
            self._settle()

    def _settle(self) -> None:
        """Take the source's strings out of the chunks, and pack them up to where the text may
        still turn out to be one of them.

        What is held back (an open string, perhaps long) is joined again at the next settle, so
        that is put off until as much again has come: each character is joined a few times at
        most, however long the string."""
        rest = "".join(self._chunks)
        keep = 0  # the characters at the end of rest held back
        source = self._source
        if source is not None:
            strings, hold = source.take_shared_strings()
            if strings:
                rest = self._cut(rest, strings)
            # Every string shared is before ``hold``: its offset in the skeleton is this.
            keep = min(
                len(rest), max(0, self._packed_total + len(rest) - (hold - self._shared_chars))
            )
        if keep < len(rest):
            packed = rest[: len(rest) - keep] if keep else rest
            self._packed.append(_pack(packed))
            self._packed_chars.append(len(packed))
            self._packed_total += len(packed)
        self._chunks = [rest[len(rest) - keep :]] if keep else []
        self._chunks_chars = keep
        self._settle_at = keep + max(self._pack_chars, keep)

    def _cut(self, rest: str, strings: list[tuple[int, str]]) -> str:
        """``rest`` (the skeleton's chunks) without the text of ``strings``, which are kept as
        they are instead. A string whose text is not there as it should be (never, when the
        source was fed the same text) stays as text."""
        parts: list[str] = []
        done = 0  # how much of rest is in parts
        at = self._packed_total  # where the skeleton's next part begins
        base = self._packed_total + self._shared_chars  # the offset of rest in the whole text
        for offset, string in strings:
            begin = offset - base
            if begin < done or not rest.startswith(string, begin):
                continue
            parts.append(rest[done:begin])
            at += begin - done
            done = begin + len(string)
            self._shared.append(string)
            self._shared_at.append(at)
            self._shared_chars += len(string)
        parts.append(rest[done:])
        return "".join(parts)

    def _skeleton(self) -> str:
        return "".join([*map(_unpack, self._packed), *self._chunks, *self._waiting])

    def text(self) -> str:
        """All the text appended, as one string."""
        shared = self._shared
        if shared:
            skeleton = self._skeleton()
            parts: list[str] = []
            done = 0
            for string, at in zip(shared, self._shared_at, strict=True):
                parts.append(skeleton[done:at])
                parts.append(string)
                done = at
            parts.append(skeleton[done:])
            return "".join(parts)
        if not self._packed and not self._waiting and len(self._chunks) == 1:
            return self._chunks[0]
        whole = self._skeleton()
        if not self._packed:
            # Kept as the one chunk: the same text asked for again costs nothing, and later
            # pieces are joined to it only when asked for. Once packed, it is made each time.
            self._chunks = [whole]
            self._chunks_chars = len(whole)
            self._waiting.clear()
            self._waiting_chars = 0
            if self._chunks_chars >= self._settle_at:  # (else a caller asking after every
                self._settle()  # piece would keep it all as it came)
        return whole

    def since(self, start: int) -> str:
        """The text from character ``start`` on: costs what it returns (and the packed chunk it
        begins in), not the whole text."""
        if start >= self._length:
            return ""
        start = max(start, 0)  # (before any character: all of it)
        shared, shared_at = self._shared, self._shared_at
        # The shared strings that end after start: shared[first:]; ``before``, the characters of
        # those before them.
        first, before = len(shared), self._shared_chars
        while first and shared_at[first - 1] + before > start:
            first -= 1
            before -= len(shared[first])
        head = ""
        at = start - before  # where start is in the skeleton
        if first < len(shared) and shared_at[first] + before < start:  # start is inside it
            head = shared[first][start - shared_at[first] - before :]
            at = shared_at[first]
            first += 1
        tail = self._skeleton_since(at)
        parts = [head]
        done = 0
        for k in range(first, len(shared)):
            parts.append(tail[done : shared_at[k] - at])
            parts.append(shared[k])
            done = shared_at[k] - at
        parts.append(tail[done:])
        return "".join(parts)

    def _skeleton_since(self, start: int) -> str:
        """The skeleton from its character ``start`` on."""
        end = self._length - self._shared_chars  # where the piece looked at ends
        if start >= end:
            return ""
        found: list[str] = []
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
