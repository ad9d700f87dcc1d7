"""The normalised updates every wire decoder gives, and the readers the decoders share.

Core layer (stdlib and ``_errors`` only). A decoder turns one event of its dialect (the chat
completions of :mod:`streamstruct._core._wire`, the Responses API of :mod:`streamstruct._core._wire_responses`,
Anthropic's Messages of :mod:`streamstruct._core._wire_anthropic`) into a :class:`ChunkUpdate`: text for
the JSON source, tool-call fragments (:class:`ToolCallDelta`), usage, finish reason, refusal,
reasoning, an in-band error (:class:`APIErrorInfo`). The response pipeline reads only these, so a
new wire format is one new decoder. :func:`status_error` maps an HTTP status (or an in-band error
code) to the :class:`~streamstruct.APIStatusError` subclasses, so the HTTP layer and the stream agree.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, TypeAlias, final

from .._errors import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    MalformedChunkError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    UnprocessableEntityError,
)

__all__ = [
    "APIErrorInfo",
    "ChunkUpdate",
    "ToolCallDelta",
    "ToolCallKey",
    "Usage",
    "count",
    "error_info",
    "error_message",
    "malformed",
    "status_error",
    "usage_counts",
]

ToolCallKey: TypeAlias = int | str
"""Which tool call a fragment belongs to: the server's index, or the call's id (see the module doc)."""


@final
@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts as the server reported them.

    A count the server left out is 0, except ``total_tokens``, which is then the sum of the other
    two: some servers send only part of the triple, and a partial count is still worth reporting.
    """

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int

    def __reduce__(self) -> tuple[type[Usage], tuple[int, int, int]]:
        # Pickled by its fields: a frozen class compiled by mypyc cannot be unpickled by setting
        # its attributes (the compiled _wire module, see hatch_build.py).
        return Usage, (self.prompt_tokens, self.completion_tokens, self.total_tokens)


@final
@dataclass(frozen=True, slots=True)
class ToolCallDelta:
    """One fragment of one tool call.

    ``key`` says which call it belongs to (stable across fragments of that call); ``id`` and
    ``name`` are ``None`` unless this fragment carries a non-empty value; ``arguments`` is the
    next piece of the call's JSON arguments text (``""`` when this fragment has none).
    """

    key: ToolCallKey
    id: str | None
    name: str | None
    arguments: str


@final
@dataclass(frozen=True, slots=True)
class APIErrorInfo:
    """An error the server reported inside a 200 response (a stream event or a JSON body).

    ``message`` is always a string (an object message, as Mistral sends, is JSON-encoded);
    ``code`` and ``type`` are what the server gave; ``body`` is the error object itself (the value
    of ``"error"`` when there is one, else the whole payload).
    """

    message: str
    code: int | str | None
    type: str | None
    body: Any
    # The status a dialect decoder read off the error's type or code (Anthropic's
    # "overloaded_error" is a 529, the Responses API's "rate_limit_exceeded" a 429); None when
    # the error carries its status itself, or none at all.
    status: int | None = None

    def __reduce__(self) -> tuple[Callable[..., APIErrorInfo], tuple[Any, ...]]:
        # (``type[APIErrorInfo]`` cannot be spelled here: ``type`` is a field of the class.)
        # Pickled by its fields, as Usage is: a frozen class compiled by mypyc cannot be
        # unpickled by setting its attributes.
        return APIErrorInfo, (self.message, self.code, self.type, self.body, self.status)

    @property
    def status_code(self) -> int | None:
        """The HTTP-like status the error names, if it names one: the ``status`` a dialect decoder
        mapped from its type or code, else its ``code`` (OpenRouter, vLLM, llama.cpp), ``status``
        (Azure) or ``status_code`` (Groq's in-stream errors)."""
        body = self.body
        for candidate in (self.status, self.code, _get(body, "status"), _get(body, "status_code")):
            status = _as_status(candidate)
            if status is not None:
                return status
        return None

    def to_exception(self, *, request_id: str | None = None) -> APIStatusError:
        """The exception to raise: the class follows :attr:`status_code`, else the 200 of the response."""
        details = [f"code {self.code}"] if self.code is not None else []
        if self.type:
            details.append(f"type {self.type}")
        where = f" ({', '.join(details)})" if details else ""
        return status_error(
            self.status_code or 200,
            self.body,
            request_id=request_id,
            message=f"the server sent an error in the stream{where}: {self.message}",
        )


@final
@dataclass(frozen=True, slots=True)
class ChunkUpdate:
    """What one chunk (or a whole non-streaming response) adds, for choice 0.

    Strings are passed on as received, ``""`` included (OpenAI's first refusal delta is
    ``refusal: ""``); ``None`` means the field was null or absent.
    """

    content: str | None = None
    refusal: str | None = None
    reasoning: str | None = None
    tool_calls: tuple[ToolCallDelta, ...] = ()
    finish_reason: str | None = None
    usage: Usage | None = None
    error: APIErrorInfo | None = None
    # The keys of the tool calls this event closed (Anthropic's content_block_stop of a tool_use
    # block, the Responses API's function_call_arguments.done): their arguments are complete, so
    # an Iterable item can be handed out now. The chat dialect never says so (a call ends only
    # when the next one starts, or at the finish reason): always () there.
    calls_done: tuple[ToolCallKey, ...] = ()


_STATUS_CLASSES: Final[dict[int, type[APIStatusError]]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}

# How much of an unstructured error body (an HTML page from a proxy, say) goes into the message.
_MESSAGE_LIMIT: Final = 500


def status_error(
    status_code: int,
    body: object,
    *,
    request_id: str | None = None,
    message: str | None = None,
) -> APIStatusError:
    """The :class:`~streamstruct.APIStatusError` for an HTTP error response or an in-band error.

    ``body`` is the parsed JSON body, or the raw text when it was not JSON; when it is an object
    with an ``"error"`` key, the error's value becomes the exception's ``body`` (as openai-python
    does). ``message`` replaces the default ``"HTTP <status>: <the error's message>"``. The class
    follows the status: 400, 401, 403, 404, 409, 422 and 429 have their own, 5xx is
    :class:`~streamstruct.InternalServerError`, anything else the base class.
    """
    if isinstance(body, dict) and body.get("error") is not None:
        body = body["error"]
    if message is None:
        message = (
            f"HTTP {status_code}: {error_message(body) or 'the response gave no error message'}"
        )
    cls = (
        InternalServerError
        if status_code >= 500
        else _STATUS_CLASSES.get(status_code, APIStatusError)
    )
    return cls(message, status_code=status_code, body=body, request_id=request_id)


# -- readers every decoder shares ----------------------------------------------------------------


def error_info(body: object) -> APIErrorInfo:
    code = _get(body, "code")
    kind = _get(body, "type")
    return APIErrorInfo(
        message=error_message(body) or "the server reported an error without a message",
        code=code if isinstance(code, (int, str)) and not isinstance(code, bool) else None,
        type=kind if isinstance(kind, str) else None,
        body=body,
    )


def error_message(body: object) -> str:
    """The human-readable part of an error body, read defensively (any field may be any type)."""
    if isinstance(body, dict):
        for field in ("message", "detail"):  # "detail": FastAPI-style bodies
            value = body.get(field)
            if isinstance(value, str) and value:
                return value
            if value:
                # Mistral's 422 sends {"message": {"detail": [...]}}: keep it, readable as JSON.
                return _truncate(json.dumps(value, ensure_ascii=False, default=str))
    if isinstance(body, str):
        return _truncate(body.strip())
    if body is None or body == {}:
        return ""
    return _truncate(json.dumps(body, ensure_ascii=False, default=str))


def _truncate(text: str) -> str:
    return text if len(text) <= _MESSAGE_LIMIT else text[:_MESSAGE_LIMIT] + "…"


def _as_status(value: object) -> int | None:
    if isinstance(value, str) and len(value) == 3 and value.isdigit():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 100 <= value <= 599:
        return value
    return None


def _get(body: object, key: str) -> object:
    return body.get(key) if isinstance(body, dict) else None


def usage_counts(raw: object, prompt_key: str, completion_key: str) -> Usage | None:
    """The usage object ``raw``, its counts under these keys (each dialect names them its way)."""
    # Usage is bookkeeping, not output: an odd usage object is skipped rather than fatal.
    if not isinstance(raw, dict):
        return None
    prompt = count(raw.get(prompt_key))
    completion = count(raw.get(completion_key))
    total = count(raw.get("total_tokens"))
    if prompt is None and completion is None and total is None:
        return None
    prompt = prompt or 0
    completion = completion or 0
    return Usage(prompt, completion, prompt + completion if total is None else total)


def count(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


_JSON_TYPE_NAMES: Final = {
    dict: "an object",
    list: "a list",
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "a boolean",
    type(None): "null",
}


def malformed(what: str, path: str, value: object, expected: str) -> MalformedChunkError:
    # ``what`` is a _What here; the dialect decoders name their event ("Anthropic event ...").
    kind = _JSON_TYPE_NAMES.get(type(value), type(value).__name__)
    shown = repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return MalformedChunkError(f"malformed {what}: {path} is {kind} ({shown}), expected {expected}")
