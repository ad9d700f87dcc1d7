"""Which wire dialect a client speaks: its endpoint, defaults, request body and event decoder.

Request layer. ``AsyncClient(api=...)`` takes one of :data:`APIS`; :func:`dialect` gives the
facts the client and the reader need about it (:class:`Dialect`): where the request goes under the
base URL, which environment variables give the key and the base URL, how the key is sent, the
header that carries the request id, the finish reasons that mean "cut short" or "refused", and a
fresh event decoder per response. :func:`dialect_request` builds the request body of a
Responses or Anthropic call (:mod:`._dialect_request`'s translation of the chat-shaped plan), and :func:`check_dialect_keywords` refuses
a request parameter the dialect does not take (``CallOptions`` types all three dialects' names).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal, TypeAlias, final

from .._core._decoding import ChatEventDecoder, EventDecoder, JSONEventDecoder
from .._core._wire_anthropic import INCOMPLETE_REASONS as ANTHROPIC_INCOMPLETE
from .._core._wire_anthropic import REFUSAL_REASONS as ANTHROPIC_REFUSAL
from .._core._wire_anthropic import AnthropicDecoder
from .._core._wire_responses import INCOMPLETE_REASONS as RESPONSES_INCOMPLETE
from .._core._wire_responses import ResponsesDecoder
from .._errors import InvalidArgumentTypeError, InvalidArgumentValueError
from ._dialect_request import (
    AnthropicParams,
    ResponsesParams,
    anthropic_request,
    check_dialect_params,
    responses_request,
)
from ._modes import RequestPlan
from ._options import OpenAIParams

__all__ = [
    "APIS",
    "Api",
    "Dialect",
    "check_api",
    "check_dialect_keywords",
    "dialect",
    "dialect_request",
]

Api: TypeAlias = Literal["chat", "responses", "anthropic"]
APIS: Final[tuple[Api, ...]] = ("chat", "responses", "anthropic")


@final
@dataclass(frozen=True, slots=True)
class Dialect:
    """What the client and the reader need to know about one wire dialect."""

    api: Api
    path: str  # under the base URL, without a leading slash
    key_variable: str  # the environment variable the API key defaults to
    base_url_variable: str
    default_base_url: str
    key_header: str  # "Authorization" (as "Bearer <key>") or Anthropic's "x-api-key"
    request_id_header: str
    refusal_reasons: frozenset[str]
    new_decoder: Callable[[], EventDecoder]


def _responses_decoder() -> EventDecoder:
    return JSONEventDecoder(
        ResponsesDecoder(),
        incomplete_reasons=RESPONSES_INCOMPLETE,
        missing_end="no response.completed, response.incomplete or response.failed event was "
        "received",
    )


def _anthropic_decoder() -> EventDecoder:
    return JSONEventDecoder(
        AnthropicDecoder(),
        incomplete_reasons=ANTHROPIC_INCOMPLETE,
        missing_end="no message_delta with a stop_reason was received",
    )


_DIALECTS: Final[dict[str, Dialect]] = {
    "chat": Dialect(
        api="chat",
        path="chat/completions",
        key_variable="OPENAI_API_KEY",
        base_url_variable="OPENAI_BASE_URL",
        default_base_url="https://api.openai.com/v1",
        key_header="Authorization",
        request_id_header="x-request-id",
        refusal_reasons=frozenset(),
        new_decoder=ChatEventDecoder,
    ),
    "responses": Dialect(
        api="responses",
        path="responses",
        key_variable="OPENAI_API_KEY",
        base_url_variable="OPENAI_BASE_URL",
        default_base_url="https://api.openai.com/v1",
        key_header="Authorization",
        request_id_header="x-request-id",
        refusal_reasons=frozenset(),
        new_decoder=_responses_decoder,
    ),
    "anthropic": Dialect(
        api="anthropic",
        # Anthropic's base URL has no /v1 (ANTHROPIC_BASE_URL=https://api.anthropic.com, as the
        # anthropic SDK reads it): the path carries it.
        path="v1/messages",
        key_variable="ANTHROPIC_API_KEY",
        base_url_variable="ANTHROPIC_BASE_URL",
        default_base_url="https://api.anthropic.com",
        key_header="x-api-key",
        request_id_header="request-id",
        refusal_reasons=ANTHROPIC_REFUSAL,
        new_decoder=_anthropic_decoder,
    ),
}


def check_api(api: object) -> Api:
    """``api`` checked: one of :data:`APIS`."""
    if not isinstance(api, str):
        raise InvalidArgumentTypeError(
            f"api must be one of {', '.join(map(repr, APIS))}, not {type(api).__name__}",
            argument="api",
        )
    if api not in _DIALECTS:
        raise InvalidArgumentValueError(
            f"api must be one of {', '.join(map(repr, APIS))}, not {api!r}", argument="api"
        )
    return _DIALECTS[api].api


def dialect(api: Api) -> Dialect:
    return _DIALECTS[api]


# The names CallOptions types for the other dialects only: refused on a chat call, where they
# would otherwise go into the body unnoticed.
_NOT_CHAT: Final = (
    ResponsesParams.__optional_keys__ | AnthropicParams.__optional_keys__
) - OpenAIParams.__optional_keys__


def check_dialect_keywords(api: Api, params: Iterable[str]) -> None:
    """Refuse a typed request parameter (not ``extra_body``'s) the dialect does not take."""
    if api != "chat":
        check_dialect_params(api, dict.fromkeys(params))
        return
    for name in params:
        if name in _NOT_CHAT:
            raise InvalidArgumentTypeError(
                f"{name!r} is not a request parameter of the chat completions API (it is the "
                "Responses or the Anthropic API's): pass it in extra_body= if your server takes it",
                argument=name,
            )


def dialect_request(
    api: Literal["responses", "anthropic"],
    plan: RequestPlan,
    *,
    model: str,
    params: Mapping[str, Any],
    api_key: str | None,
) -> tuple[dict[str, Any], Mapping[str, str]]:
    """The JSON body of one call in the Responses or the Anthropic dialect and the dialect's own
    headers (Anthropic's ``anthropic-version`` and ``x-api-key``). Chat's body is the I/O layer's
    ``request_body``, as before."""
    if api == "responses":
        request = responses_request(plan, model=model, params=params)
    else:
        request = anthropic_request(plan, model=model, params=params, api_key=api_key)
    return request.body, request.headers
