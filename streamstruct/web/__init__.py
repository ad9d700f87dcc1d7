"""streamstruct.web: a stream, sent to a browser as it is written.

>>> from streamstruct import web
>>> stream = client.chat.completions.create_partial(...)  # doctest: +SKIP
>>> return StreamingResponse(web.sse(stream), headers=web.SSE_HEADERS)  # doctest: +SKIP

* :func:`sse` turns a ``create_partial`` or ``create_iterable`` stream into ``text/event-stream``
  bytes in the protocol of docs/web.md: what changed at which path (text appended, a value set, a
  value complete), never the whole object again, then the validated value, or the error.
* :func:`json_text` sends the raw JSON text as it arrives (what Vercel's ``useObject`` reads).
* :data:`CLIENT_JS` is the browser side, an ES module shipped in the package: ``readObject(response)``
  rebuilds the value from a ``fetch`` response.

Both are plain async iterators of bytes, for any ASGI server or framework (no dependency on one),
and both close the upstream request the moment they are closed: an ASGI server stops iterating when
the browser goes away, and the tokens after that are not paid for.
"""

from __future__ import annotations

from ._protocol import PROTOCOL_VERSION
from ._server import CLIENT_JS, SSE_HEADERS, json_text, sse

__all__ = ["CLIENT_JS", "PROTOCOL_VERSION", "SSE_HEADERS", "json_text", "sse"]
