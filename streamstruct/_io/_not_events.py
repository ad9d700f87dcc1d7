"""A response body that is not an event stream: an HTML page, or a whole JSON completion.

I/O layer, split out of :mod:`._stream` (issue 18, to give its reading loop room): what the
stream does when the server answers with something else than Server-Sent Events, reading the
body at most as far as needed and closing the response. The stream feeds a whole completion to
its reader itself (its re-asks decide what a rejected one leads to).
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx

from .._errors import NotEventStreamError
from .._response._reader import ResponseReader
from ._body import media_type, read_at_most
from ._stream_errors import json_body, unread

__all__ = ["read_if_not_events"]

# How much of an HTML page (a proxy's, a login page) is read for the error message.
_HTML_HEAD = 200
_NO_LIMIT = sys.maxsize


async def read_if_not_events(
    response: httpx.Response,
    body: AsyncIterator[bytes],
    reader: ResponseReader,
    close: Callable[[], Awaitable[None]],
) -> tuple[object] | None:
    """None for an event stream (nothing read). Otherwise the body is read and ``close``d: an
    HTML page raises :class:`~streamstruct.NotEventStreamError`; a JSON body (the server
    ignored ``"stream": true``) is returned parsed, as a one-tuple (its JSON may be ``null``)."""
    content_type = response.headers.get("content-type", "")
    kind = media_type(content_type)
    if kind == "text/html":
        # A proxy's or a login page: not an event stream, whatever its status. Its first
        # bytes are what the message shows (the API key redacted); the rest (maybe
        # megabytes) is never read.
        page = (await _read_at_most(body, _HTML_HEAD, reader))[0]
        await close()
        head = reader.quote(page.decode("utf-8", errors="replace"), _HTML_HEAD)
        raise NotEventStreamError(
            f"the server answered with {content_type!r}, not an event stream: {head!r}"
        )
    if kind != "application/json":
        return None
    # A whole completion: read up to max_response_bytes, as a stream would be.
    limit = reader.max_response_bytes
    whole, ended = await _read_at_most(body, _NO_LIMIT if limit is None else limit, reader)
    await close()
    reader.count(len(whole))  # past the limit: ResponseTooLargeError
    assert ended
    return (json_body(whole, reader),)


async def _read_at_most(
    body: AsyncIterator[bytes], limit: int, reader: ResponseReader
) -> tuple[bytes, bool]:
    """:func:`read_at_most`, a failed read translated at this boundary as in a stream: a lost
    connection, a stall, a compressed body that does not decode."""
    try:
        return await read_at_most(body, limit)
    except (httpx.TransportError, httpx.DecodingError) as error:
        raise unread(error, body, reader) from error
