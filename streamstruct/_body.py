"""A response body as the stream reads it: its media type, its content coding, decoded as it streams.

The I/O shell's helper for what HTTP says about a body before the SSE decoder sees a byte:

* :func:`media_type`: the ``Content-Type`` as HTTP defines it (RFC 9110 8.3): the type and subtype
  compared case-insensitively, parameters (``; charset=utf-8``) set aside.
* :func:`decoded_body`: the body's bytes with the ``Content-Encoding`` undone, piece by piece as
  they arrive (a compressed event stream still streams), by httpx's own decoders. Only a coding
  the request advertised in ``Accept-Encoding`` is accepted (httpx's default asks for ``gzip,
  deflate``, and ``br`` / ``zstd`` only when brotli / zstandard is installed); any other is an
  :class:`~streamstruct.APIError` saying which, where httpx would pass the bytes on undecoded.
* :func:`read_at_most`: the first bytes of a body that is not an event stream (an HTML page, a
  whole JSON completion), never more than the caller needs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Final, final

import httpx
from httpx._decoders import SUPPORTED_DECODERS, ContentDecoder

from ._errors import APIError

__all__ = ["DecodedBody", "decoded_body", "media_type", "read_at_most"]

# What a coding needs that is not installed, for the error message.
_PACKAGES: Final = {"br": "brotli (or brotlicffi)", "zstd": "zstandard"}


def media_type(content_type: str) -> str:
    """``"text/event-stream"`` for ``"TEXT/Event-Stream; charset=UTF-8"``: lower case, no parameters."""
    return content_type.partition(";")[0].strip().lower()


def decoded_body(raw: AsyncIterator[bytes], response: httpx.Response) -> AsyncIterator[bytes]:
    """``raw`` (the body's bytes as received) decoded as the response's ``Content-Encoding`` says.

    The body itself when it is not encoded (or ``identity``); a :class:`DecodedBody` otherwise.
    Raises :class:`~streamstruct.APIError` for a coding the request did not advertise or that
    cannot be decoded here.
    """
    codings = [
        coding
        for coding in (
            value.strip().lower()
            for value in response.headers.get_list("content-encoding", split_commas=True)
        )
        if coding and coding != "identity"
    ]
    if not codings:
        return raw
    asked = response.request.headers.get("accept-encoding", "")
    advertised = {value.partition(";")[0].strip().lower() for value in asked.split(",")}
    for coding in codings:
        if coding not in advertised or coding not in SUPPORTED_DECODERS:
            raise APIError(_unwanted(coding, asked))
    # httpx's own choice of decoders for these headers (one per coding, in reverse order).
    return DecodedBody(raw, response._get_content_decoder(), ", ".join(codings))


def _unwanted(coding: str, asked: str) -> str:
    said = f"Accept-Encoding: {asked}" if asked else "no Accept-Encoding"
    if coding in SUPPORTED_DECODERS:
        why = "it was not asked for"
    elif coding in _PACKAGES:
        why = f"decoding it needs the {_PACKAGES[coding]} package, which is not installed"
    else:
        why = "it cannot be decoded here"
    return f"the server encoded the response body as {coding!r} ({said} was sent): {why}"


@final
class DecodedBody:
    """A body iterator whose pieces are decoded as they arrive; empty pieces are not handed out.

    A class rather than an async generator, as the stream needs (see ``_stream``): closing it
    leaves nothing half-run. ``raw`` is the iterator it reads, which the stream finishes itself.
    """

    __slots__ = ("_decoder", "_flushed", "coding", "raw")

    def __init__(self, raw: AsyncIterator[bytes], decoder: ContentDecoder, coding: str) -> None:
        self.raw = raw
        self.coding = coding
        self._decoder = decoder
        self._flushed = False

    def __aiter__(self) -> DecodedBody:
        return self

    async def __anext__(self) -> bytes:
        """The next decoded bytes; raises ``httpx.DecodingError`` for a body that is not in its
        coding (or is cut short inside it)."""
        while not self._flushed:
            try:
                data = await self.raw.__anext__()
            except StopAsyncIteration:
                self._flushed = True
                data = self._decoder.flush()
            else:
                data = self._decoder.decode(data)
            if data:
                return data
        raise StopAsyncIteration


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
