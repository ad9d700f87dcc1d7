"""Reading what follows an answer: the rest of a body after ``[DONE]``, or after broken JSON.

I/O layer, split out of :mod:`._stream` (issue 13). Both reads are bounded in bytes and in time:
what they read is either ignored (after ``[DONE]``) or only wanted for its finish reason (after
JSON that went wrong), so a server that keeps talking or stalls is not waited for.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import NoReturn

import anyio
import httpx

from .._errors import StreamStructError
from .._response._reader import ResponseReader

__all__ = ["drain_rest", "look_ahead"]

# How much of a body may follow [DONE] before the connection is closed rather than reused.
_DRAIN_BYTES = 64 * 1024
_DRAIN_SECONDS = 0.1
# After JSON that went wrong: how long to wait for the finish reason (and at most _DRAIN_BYTES).
_LOOK_AHEAD_SECONDS = 1.0


async def look_ahead(raw: AsyncIterator[bytes], reader: ResponseReader) -> NoReturn:
    """After JSON that went wrong, read on a little for the finish reason, which says whether
    the model was also cut off (``"length"``), then raise: the parse error, or one error that
    says both. Bounded like the drain after ``[DONE]``: the answer is lost either way, so a
    model that goes on writing is not waited for.
    """
    seen = 0
    with anyio.move_on_after(_LOOK_AHEAD_SECONDS):
        try:
            async for data in raw:
                seen += len(data)
                reader.feed(data)  # raises once the finish reason or [DONE] comes
                if seen > _DRAIN_BYTES:
                    break
        except (httpx.HTTPError, StreamStructError):
            pass  # what it says is raised below: the finish reason, if it came, is known
    raise reader.broken_error()


async def drain_rest(raw: AsyncIterator[bytes]) -> bool:
    """Read the (normally empty) rest of a body after ``[DONE]``; True when it was read to its end.

    Reading to the end hands the connection back to the pool for reuse, where closing a
    half-read body would throw it away. The rest is ignored, and bounded in size and time: a
    server that keeps talking or stalls after ``[DONE]`` just has its connection closed.
    """
    drained = 0
    with anyio.move_on_after(_DRAIN_SECONDS):
        try:
            async for data in raw:
                drained += len(data)
                if drained > _DRAIN_BYTES:
                    return False
            return True
        except httpx.HTTPError:
            pass
    return False
