"""The keywords a call takes besides ``model``, ``response_model`` and ``messages``, typed once.

:class:`CallOptions` is the one list, shared by ``AsyncClient``'s and ``Client``'s ``create``,
``create_partial`` and ``create_iterable`` (as ``**options: Unpack[CallOptions]``, PEP 692), so
a type checker refuses ``mode="bogus"`` or ``deadlin=3`` on either client alike. It holds
streamstruct's own options, the OpenAI request parameters a caller may set (typed as the
``openai`` package types them, without importing it), and ``extra_body=`` / ``extra_headers=``
for anything else. The request parameters that the mode writes (``tools``, ``tool_choice``,
``response_format``, ...) are not among them, nor ``n`` (one call reads one answer), nor
``audio`` and ``modalities`` (an answer in audio is no JSON to stream).

At run time :func:`split_options` refuses a keyword that is not in the list with an
:class:`~streamstruct.InvalidArgumentTypeError` naming it (a ``TypeError``, as Python's own for
an unexpected keyword), where it used to go silently into the request body.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from typing import Any, Final, Literal, NamedTuple, TypedDict

import httpx

from .._errors import InvalidArgumentTypeError
from ._modes import Mode, ModeName

__all__ = ["CallOptions", "DialectParams", "OpenAIParams", "SplitOptions", "split_options"]


class OpenAIParams(TypedDict, total=False):
    """The chat-completions request parameters a caller sets, sent into the body unchanged."""

    temperature: float | None
    top_p: float | None
    max_tokens: int | None
    max_completion_tokens: int | None
    seed: int | None
    stop: str | Sequence[str] | None
    user: str
    metadata: Mapping[str, str] | None
    reasoning_effort: Literal["none", "minimal", "low", "medium", "high", "xhigh", "max"] | None
    # "standard_only" is Anthropic's (AsyncClient(api="anthropic")).
    service_tier: (
        Literal["auto", "default", "flex", "scale", "priority", "fast", "standard_only"] | None
    )
    parallel_tool_calls: bool
    logprobs: bool | None
    top_logprobs: int | None
    frequency_penalty: float | None
    presence_penalty: float | None
    logit_bias: Mapping[str, int] | None
    prediction: Mapping[str, Any] | None
    store: bool | None
    verbosity: Literal["low", "medium", "high"] | None
    prompt_cache_key: str | None
    prompt_cache_retention: Literal["in_memory", "24h"] | None
    safety_identifier: str | None
    web_search_options: Mapping[str, Any]
    stream_options: Mapping[str, Any] | None  # merged with {"include_usage": True}


class DialectParams(TypedDict, total=False):
    """The request parameters of the Responses API (``api="responses"``) and of Anthropic's
    Messages (``api="anthropic"``) that chat completions has not, typed as their SDKs type them
    (the names both share with chat are above). A call refuses those its dialect does not take
    (``_request._dialects.check_dialect_keywords``)."""

    # The Responses API's (openai-python ResponseCreateParams)
    max_output_tokens: int | None
    max_tool_calls: int | None
    reasoning: Mapping[str, Any] | None  # {"effort", "summary"}
    previous_response_id: str | None
    conversation: str | Mapping[str, Any] | None
    include: Sequence[str] | None
    truncation: Literal["auto", "disabled"] | None
    # Anthropic's (anthropic-sdk-python MessageCreateParams)
    top_k: int
    stop_sequences: Sequence[str]
    thinking: Mapping[str, Any]  # {"type": "enabled", "budget_tokens": n} | {"type": "adaptive"}
    output_config: Mapping[str, Any]  # {"effort": ...}; "format" is the mode's
    container: str | None
    inference_geo: str | None


class CallOptions(OpenAIParams, DialectParams, total=False):
    """Every keyword a call takes besides ``model``, ``response_model``, ``messages`` (and
    ``create``'s ``stream``): streamstruct's own, then the request parameters above."""

    mode: Mode | ModeName | None
    strict: bool | None
    max_retries: int | None
    # Re-asks after an answer that fails validation (0: none); max_retries is HTTP retries.
    max_reasks: int | None
    timeout: float | httpx.Timeout | None
    deadline: float | None
    validation_context: Any
    # Anything else for the request body, under the mode's fields and streamstruct's own.
    extra_body: Mapping[str, Any] | None
    # Headers for this call: over the client's default_headers, under Authorization.
    extra_headers: Mapping[str, str] | None


_OWN: Final = frozenset(
    {"mode", "strict", "max_retries", "max_reasks", "timeout", "deadline", "validation_context"}
)
_KNOWN: Final = CallOptions.__optional_keys__ | CallOptions.__required_keys__
_WRITTEN_BY_THE_MODE: Final = frozenset(
    {"tools", "tool_choice", "response_format", "functions", "function_call"}
)
# Why a keyword someone coming from instructor or the openai package may pass is refused.
_REASONS: Final = {
    "max_validation_retries": "instructor's validation retries are max_reasks= here "
    "(max_retries= is HTTP retries)",
    "context": "instructor's context= is validation_context= here (the context handed to "
    "pydantic's validators)",
    "n": "n is refused: one call streams one answer (make several calls for several); "
    "extra_body={'n': 1} if a server insists",
}


class SplitOptions(NamedTuple):
    """A call's options, checked: streamstruct's own, the request body's, and extra headers."""

    own: dict[str, Any]
    body: dict[str, Any]
    headers: Mapping[str, str] | None


def split_options(method: str, options: Mapping[str, Any]) -> SplitOptions:
    """Check the keywords' names (their values are ``_arguments``' business) and sort them."""
    for name in options:
        if name not in _KNOWN:
            raise InvalidArgumentTypeError(_unknown(method, name), argument=name)
    own = {name: value for name, value in options.items() if name in _OWN}
    body = {
        name: value
        for name, value in options.items()
        if name not in _OWN and name not in ("extra_body", "extra_headers")
    }
    extra_body = options.get("extra_body")
    if extra_body is not None:
        if not isinstance(extra_body, Mapping):
            raise InvalidArgumentTypeError(
                f"extra_body must be a mapping (a dict), not {type(extra_body).__name__}",
                argument="extra_body",
            )
        body.update(extra_body)
    return SplitOptions(own, body, options.get("extra_headers"))


def _unknown(method: str, name: str) -> str:
    message = f"{method}() got an unexpected keyword argument {name!r}"
    if name in _REASONS:
        return f"{message}: {_REASONS[name]}"
    if name in _WRITTEN_BY_THE_MODE:
        return f"{message}: the mode writes {name} (choose mode=, or pass it in extra_body=)"
    close = difflib.get_close_matches(name, sorted(_KNOWN), n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"{message}: {hint}a request parameter not listed in CallOptions goes in extra_body="
