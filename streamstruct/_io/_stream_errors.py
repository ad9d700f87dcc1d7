"""The errors the stream objects make themselves, each given the partial result and the text.

Everything else a stream raises comes from the reader (:mod:`._reader`), which attaches the
partial result itself; these are the few the I/O shell meets first: a stream cut off, a body
whose compression does not decode, a whole JSON body that does not parse.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx

from .._errors import (
    APIError,
    APITimeoutError,
    BodyNotJSONError,
    StreamInterruptedError,
    StreamStructError,
)
from .._response._reader import ResponseReader
from ._body import DecodedBody

__all__ = ["interrupted", "json_body", "read_error", "undecodable", "unread"]


def interrupted(message: str, reader: ResponseReader) -> StreamInterruptedError:
    return StreamInterruptedError(message, partial=reader.partial, text=reader.text)


def read_error(error: httpx.TransportError, reader: ResponseReader) -> StreamStructError:
    """A failed network read, translated at the stream's boundary."""
    if isinstance(error, httpx.TimeoutException):
        return APITimeoutError(
            f"the stream stalled: nothing arrived within the read timeout ({error!r})",
            partial=reader.partial,
            text=reader.text,
        )
    return interrupted(
        f"the connection was lost mid-stream ({type(error).__name__}: {error})", reader
    )


def unread(
    error: httpx.TransportError | httpx.DecodingError,
    body: AsyncIterator[bytes],
    reader: ResponseReader,
) -> StreamStructError:
    """A read of ``body`` that failed: the connection (:func:`read_error`) or a compressed body
    that does not decode (:func:`undecodable`)."""
    if isinstance(error, httpx.DecodingError):
        return undecodable(error, body, reader)
    return read_error(error, reader)


def undecodable(
    error: httpx.DecodingError, body: AsyncIterator[bytes], reader: ResponseReader
) -> APIError:
    coding = body.coding if isinstance(body, DecodedBody) else "its Content-Encoding"
    return APIError(
        f"the response body is not valid {coding} ({error})",
        partial=reader.partial,
        text=reader.text,
    )


def json_body(body: bytes, reader: ResponseReader) -> object:
    try:
        return json.loads(body)
    except (ValueError, RecursionError):  # json.loads recurses: a hostile nesting
        text = reader.quote(body.decode("utf-8", errors="replace"))
        raise BodyNotJSONError(
            f"the server answered with JSON that does not parse: {text!r}",
            partial=reader.partial,
            text=reader.text,
        ) from None
