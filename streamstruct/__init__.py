"""streamstruct: stream structured output from LLM chat-completion endpoints.

The public names are re-exported here; the modules behind them are private.
"""

from ._errors import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    IncompleteOutputError,
    InternalServerError,
    JSONDepthError,
    JSONParseError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RefusalError,
    ResponseError,
    ResponseTooLargeError,
    ResponseValidationError,
    SSEError,
    SSELimitError,
    StreamInterruptedError,
    StreamStructError,
    UnprocessableEntityError,
)

__version__ = "0.1.0.dev0"

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "IncompleteOutputError",
    "InternalServerError",
    "JSONDepthError",
    "JSONParseError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RefusalError",
    "ResponseError",
    "ResponseTooLargeError",
    "ResponseValidationError",
    "SSEError",
    "SSELimitError",
    "StreamInterruptedError",
    "StreamStructError",
    "UnprocessableEntityError",
]
