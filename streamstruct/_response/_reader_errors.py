"""The errors the response reader raises about how an answer ended, worded in one place.

Each function makes the error and nothing more; the reader gives it the partial result and the
text (``ResponseReader._attach``) before raising it. Kept apart from :mod:`._reader` so that the
pipeline reads without the wording in between, and because only error paths come here (this
module is not compiled: nothing here runs per event).
"""

from __future__ import annotations

from .._errors import (
    EventDataError,
    IncompleteOutputError,
    JSONParseError,
    RefusalError,
    ResponseError,
    ResponseTooLargeError,
    StreamInterruptedError,
    TruncatedJSONError,
)

__all__ = [
    "event_not_json",
    "incomplete",
    "no_end",
    "no_output",
    "refused",
    "too_large",
    "truncated",
]


def event_not_json(quoted: str) -> EventDataError:
    return EventDataError(f"the server sent an event whose data is not JSON: {quoted!r}")


def too_large(limit: int, received: int) -> ResponseTooLargeError:
    return ResponseTooLargeError(
        f"the response passed max_response_bytes={limit} ({received} bytes received); raise the "
        "limit with AsyncClient(max_response_bytes=...) if the answer really is that large",
        limit=limit,
    )


# The advice an answer cut short gets, per finish reason in each dialect's words (chat, Anthropic,
# Responses): the request parameter that sets the token budget is named as the dialect spells it (a
# Responses call refuses max_tokens), a full context window has none to raise, and a reason that
# says nothing more (the Responses API's bare "incomplete", a reason added later) gets no advice.
_ADVICE = {
    "length": "; raise max_tokens or ask for less",
    "max_tokens": "; raise max_tokens or ask for less",
    "max_output_tokens": "; raise max_output_tokens or ask for less",
    "model_context_window_exceeded": "; the model's context window is full: ask for less",
    "content_filter": "; the output was filtered",
}


def truncated(error: JSONParseError, reason: str) -> TruncatedJSONError:
    """The model was stopped for ``reason`` after its JSON had gone wrong: one error for both."""
    both = TruncatedJSONError(
        f'the model stopped (finish_reason "{reason}") after its JSON had gone wrong: '
        f"{error.message}" + _ADVICE.get(reason, ""),
        finish_reason=reason,
        parse_error=error,
    )
    both.__cause__ = error  # "from error", which compiled code ignores
    both.__suppress_context__ = True
    return both


def no_end(missing_end: str) -> StreamInterruptedError:
    """``missing_end``: what the wire format ends a stream with, said as missing."""
    return StreamInterruptedError(
        f"the stream ended before the answer was complete ({missing_end})"
    )


def refused(refusal: str) -> RefusalError:
    return RefusalError(f"the model refused: {refusal}", refusal=refusal)


def incomplete(reason: str, *, cause: JSONParseError | None = None) -> IncompleteOutputError:
    """The model was stopped for ``reason`` before its JSON (``cause``: its last tool call's
    arguments, which did not parse) was complete."""
    if cause is None:
        advice = _ADVICE.get(reason, "")
        message = (
            f'the model stopped (finish_reason "{reason}") before its JSON was complete{advice}'
        )
    else:
        message = (
            f'the model stopped (finish_reason "{reason}") before its last tool call was complete'
        )
    error = IncompleteOutputError(message, finish_reason=reason)
    if cause is not None:
        error.__cause__ = cause  # "from error", which compiled code ignores
        error.__suppress_context__ = True
    return error


def no_output(finish_reason: str | None, *, refused: bool) -> ResponseError:
    return ResponseError(
        f"the response held no structured output (finish_reason {finish_reason!r}); the model "
        "answered with " + ("a refusal" if refused else "no JSON")
    )
