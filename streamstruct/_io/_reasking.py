"""Re-asks in the I/O shell: the request body of each attempt, and what a re-ask appends to it.

I/O layer. A call made with ``max_reasks`` > 0 keeps its request body here; when an answer fails
validation, the stream (:mod:`._stream`) closes the response and asks :meth:`Reasks.reask` for
the next request: the same body, its conversation grown by the rejected answer and its errors,
in the shape :func:`~streamstruct._request._reask.reask_shape` gives for the request's API.
"""

from __future__ import annotations

from typing import Any, final

from .._core._wire import Usage
from .._errors import ResponseValidationError
from .._request._modes import RequestPlan
from .._request._reask import API, reask_shape, rejected_answer
from .._response._reader import ResponseReader
from ._sending import encoded

__all__ = ["Reasks", "summed_usage"]


@final
class Reasks:
    """The request of the attempt being made (``content``, the encoded body) and how many re-asks
    are left (``left``); :meth:`reask` makes the next attempt's request."""

    __slots__ = ("_body", "_build", "_key", "_mode", "_tool", "content", "left")

    def __init__(
        self, body: dict[str, Any], plan: RequestPlan, max_reasks: int, api: API = "chat"
    ) -> None:
        self._body = body
        self._mode = plan.mode
        self._tool = next(iter(plan.tools), "")  # the name of a call the server left unnamed
        self._key, self._build = reask_shape(api)
        self.content = encoded(body)  # refused when the call is made if JSON cannot carry it
        self.left = max_reasks

    def reask(
        self, reader: ResponseReader, error: ResponseValidationError, kept_items: int
    ) -> None:
        """The next request: the conversation plus the answer ``reader`` read, rejected by
        ``error``; ``kept_items`` items of it (an ``Iterable``'s, already yielded) are kept."""
        calls = reader.tool_calls_read()
        answer = rejected_answer("" if calls else reader.text, calls, self._tool)
        turns = self._build(self._mode, answer, error, kept_items=kept_items)
        self._body = {**self._body, self._key: [*self._body[self._key], *turns]}
        self.content = encoded(self._body)
        self.left -= 1


def summed_usage(before: Usage | None, usage: Usage | None) -> Usage | None:
    """Two attempts' usage, summed; either may be unknown (``None``)."""
    if before is None or usage is None:
        return usage if before is None else before
    return Usage(
        before.prompt_tokens + usage.prompt_tokens,
        before.completion_tokens + usage.completion_tokens,
        before.total_tokens + usage.total_tokens,
    )
