"""A response body as the stream reads it: its media type, its content coding, decoded as it streams.

The I/O shell's helper for what HTTP says about a body before the SSE decoder sees a byte:

* :func:`media_type`: the ``Content-Type`` as HTTP defines it (RFC 9110 8.3): the type and subtype
  compared case-insensitively, parameters (``; charset=utf-8``) set aside.
* :func:`decoded_body`: the body's bytes with the ``Content-Encoding`` undone, piece by piece as
  they arrive (a compressed event stream still streams), by the standard library's ``zlib``. The
  client asks for :data:`ACCEPT_ENCODING` (``gzip, deflate``) and nothing else, whatever
  compression packages are installed; a coding the request did not advertise, or that is not one
  of those two, is an :class:`~streamstruct.APIError` saying which. No httpx internals: httpx's
  decoders are private API.
* :func:`read_at_most`: the first bytes of a body that is not an event stream (an HTML page, a
  whole JSON completion), never more than the caller needs.

A decoded piece is at most :data:`_MAX_PIECE` bytes, however much a read inflates to: a small
compressed body that inflates to gigabytes (a "zip bomb") is handed out in bounded pieces, so
``max_response_bytes`` and the caps on what an error message reads still hold.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator
from typing import Final, final

import httpx

from .._errors import APIError

__all__ = ["ACCEPT_ENCODING", "DecodedBody", "decoded_body", "media_type", "read_at_most"]

ACCEPT_ENCODING: Final = "gzip, deflate"
"""What the client's requests advertise: the codings :func:`decoded_body` decodes."""
_DECODED: Final = frozenset({"gzip", "deflate"})
# The most one decoded piece may hold (see the module's docstring).
_MAX_PIECE: Final = 64 * 1024
# zlib's window bits for a gzip stream, and for a raw deflate stream (deflate without the zlib
# wrapper, which some servers send as "deflate").
_GZIP_WBITS: Final = 16 + zlib.MAX_WBITS
_RAW_WBITS: Final = -zlib.MAX_WBITS
_GZIP_MAGIC: Final = b"\x1f\x8b"


def media_type(content_type: str) -> str:
    """``"text/event-stream"`` for ``"TEXT/Event-Stream; charset=UTF-8"``: lower case, no parameters."""
    return content_type.partition(";")[0].strip().lower()


def decoded_body(raw: AsyncIterator[bytes], response: httpx.Response) -> AsyncIterator[bytes]:
    """``raw`` (the body's bytes as received) decoded as the response's ``Content-Encoding`` says.

    The body itself when it is not encoded (or ``identity``); a :class:`DecodedBody` otherwise.
    Raises :class:`~streamstruct.APIError` for a coding the request did not advertise or that
    cannot be decoded here.
    """
    # As the server wrote them, for messages: lower-cased, a key it echoed would escape redaction.
    codings = [
        coding
        for coding in (
            value.strip()
            for value in response.headers.get_list("content-encoding", split_commas=True)
        )
        if coding and coding.lower() != "identity"
    ]
    if not codings:
        return raw
    asked = response.request.headers.get("accept-encoding", "")
    advertised = {value.partition(";")[0].strip().lower() for value in asked.split(",")}
    for coding in codings:
        if coding.lower() not in advertised or coding.lower() not in _DECODED:
            raise APIError(_unwanted(coding, asked))
    # Codings are listed in the order they were applied: undone last one first.
    decoders = [_Inflater(coding.lower()) for coding in reversed(codings)]
    return DecodedBody(raw, decoders, ", ".join(coding.lower() for coding in codings))


def _unwanted(coding: str, asked: str) -> str:
    said = f"Accept-Encoding: {asked}" if asked else "no Accept-Encoding"
    if coding.lower() in _DECODED:
        why = "it was not asked for"
    else:
        why = "it was not asked for, and only gzip and deflate are decoded here"
    return f"the server encoded the response body as {coding!r} ({said} was sent): {why}"


@final
class _Inflater:
    """One gzip or deflate layer, decoded incrementally, handing out at most so many bytes a call.

    ``deflate`` is the zlib format by the standard, but some servers send raw deflate data under
    that name: as httpx does, the layer tells them apart by the first bytes. A gzip body made of
    several members (a proxy that compresses each flush on its own) is decoded member by member;
    what follows the last member (padding) is ignored, as httpx ignores it.
    """

    __slots__ = ("_coding", "_decompressor", "_ending", "_more", "_pending")

    def __init__(self, coding: str) -> None:
        self._coding = coding
        self._decompressor: zlib._Decompress | None = (
            None if coding == "deflate" else zlib.decompressobj(_GZIP_WBITS)
        )
        self._pending = b""  # input zlib has not taken yet
        self._more = False  # whether zlib may hold output it could not hand out (the limit)
        self._ending = False  # no more input will come

    def feed(self, data: bytes) -> None:
        self._pending += data

    def end(self) -> None:
        """No more input comes: the bytes kept to tell what follows are taken as they are."""
        self._ending = True

    @property
    def waiting(self) -> bool:
        """Whether bytes are kept until more come (to tell a format), and the input has not ended."""
        return bool(self._pending) and not self._ending

    def read(self, limit: int) -> bytes:
        """Up to ``limit`` decoded bytes from the input fed so far (``b""``: it needs more).

        Raises ``httpx.DecodingError`` for input that is not in the layer's coding.
        """
        out = b""
        try:
            while len(out) < limit:
                decompressor = self._next_decompressor()
                if decompressor is None:
                    break
                want = limit - len(out)
                got = decompressor.decompress(self._pending, want)
                out += got
                self._more = len(got) == want
                eof = decompressor.eof
                self._pending = decompressor.unused_data if eof else decompressor.unconsumed_tail
        except zlib.error as error:
            raise httpx.DecodingError(str(error)) from error
        return out

    def _next_decompressor(self) -> zlib._Decompress | None:
        """The decompressor to give ``_pending`` to next, or ``None`` when there is nothing to
        decode now: no input (nor output held back), or too few bytes yet to tell what follows."""
        decompressor = self._decompressor
        if decompressor is None:  # deflate, not begun: its form is told from two bytes
            if len(self._pending) < 2 and not (self._ending and self._pending):
                return None
            decompressor = self._decompressor = zlib.decompressobj(_deflate_wbits(self._pending))
            return decompressor
        if not decompressor.eof:
            return decompressor if self._pending or self._more else None
        # The stream ended: another gzip member may follow; anything else is ignored.
        if len(self._pending) < 2 and not self._ending:
            return None
        if self._coding == "deflate" or not self._pending.startswith(_GZIP_MAGIC):
            self._pending = b""
            return None
        decompressor = self._decompressor = zlib.decompressobj(_GZIP_WBITS)
        return decompressor


def _deflate_wbits(head: bytes) -> int:
    """zlib's window bits for a "deflate" body that begins with ``head``: the zlib format when
    its two-byte header is one (compression method 8, a window that fits, the check bits right),
    else raw deflate."""
    zlib_header = (
        len(head) >= 2
        and head[0] & 0x0F == 8
        and head[0] >> 4 <= 7
        and (head[0] << 8 | head[1]) % 31 == 0
    )
    return zlib.MAX_WBITS if zlib_header else _RAW_WBITS


@final
class DecodedBody:
    """A body iterator whose pieces are decoded as they arrive; empty pieces are not handed out.

    A class rather than an async generator, as the stream needs (see ``_stream``): closing it
    leaves nothing half-run. ``raw`` is the iterator it reads, which the stream finishes itself.
    """

    __slots__ = ("_ended", "_layers", "coding", "raw")

    def __init__(self, raw: AsyncIterator[bytes], layers: list[_Inflater], coding: str) -> None:
        self.raw = raw
        self.coding = coding
        self._layers = layers  # the coding applied last (undone first) first
        self._ended = False

    def __aiter__(self) -> DecodedBody:
        return self

    async def __anext__(self) -> bytes:
        """The next decoded bytes (at most :data:`_MAX_PIECE`); raises ``httpx.DecodingError``
        for a body that is not in its coding."""
        while not (data := self._decode()):
            if self._ended:
                raise StopAsyncIteration
            try:
                piece = await self.raw.__anext__()
            except StopAsyncIteration:
                self._ended = True
            else:
                self._layers[0].feed(piece)
        return data

    def _decode(self) -> bytes:
        """Decoded bytes from what was already read, through every layer; ``b""``: read more (or,
        at the end of the body, there is no more)."""
        layers = self._layers
        while True:
            out = layers[-1].read(_MAX_PIECE)
            if out:
                return out
            # The innermost layer with output passes it on, one bounded piece at a time.
            for index in reversed(range(len(layers) - 1)):
                piece = layers[index].read(_MAX_PIECE)
                if piece:
                    layers[index + 1].feed(piece)
                    break
            else:
                # Nothing moved. At the end of the body, the outermost layer still keeping bytes
                # to tell what follows goes on without more; before it, read more.
                waiting = [layer for layer in layers if layer.waiting] if self._ended else []
                if not waiting:
                    return b""
                waiting[0].end()


async def read_at_most(body: AsyncIterator[bytes], limit: int) -> tuple[bytes, bool]:
    """The body's first bytes, read until more than ``limit`` came or it ended: (those bytes,
    whether it ended). Reads are not split, so a little more than ``limit`` may come back."""
    pieces: list[bytes] = []
    size = 0
    async for piece in body:
        pieces.append(piece)
        size += len(piece)
        if size > limit:
            return b"".join(pieces), False
    return b"".join(pieces), True
