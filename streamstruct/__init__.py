"""streamstruct: stream structured output from LLM chat-completion endpoints.

The public names are re-exported here; the modules behind them are private.
"""

from ._assembler import PartialAssembler
from ._build import BuildInfo, build_info
from ._client import AsyncClient
from ._errors import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ClientClosedError,
    ClientUsageError,
    ConflictError,
    IncompleteOutputError,
    InternalServerError,
    InvalidArgumentError,
    InvalidArgumentTypeError,
    InvalidArgumentValueError,
    JSONDepthError,
    JSONParseError,
    JSONStringTooLongError,
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
    TruncatedJSONError,
    UnprocessableEntityError,
)
from ._iterable import ItemsAssembler
from ._json import CompletedValue, JSONParser
from ._modes import Mode
from ._partial import (
    FieldCompleted,
    FieldStarted,
    Partial,
    PartialEvent,
    Progress,
    SnapshotEvent,
    TextAppended,
    progress,
)
from ._sse import ServerSentEvent, SSEDecoder
from ._stream import AsyncIterableStream, AsyncPartialStream, StreamEnded, StreamEvent
from ._sync import Client, IterableStream, PartialStream
from ._wire import Usage

__version__ = "0.1.0.dev0"

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncClient",
    "AsyncIterableStream",
    "AsyncPartialStream",
    "AuthenticationError",
    "BadRequestError",
    "BuildInfo",
    "Client",
    "ClientClosedError",
    "ClientUsageError",
    "CompletedValue",
    "ConflictError",
    "FieldCompleted",
    "FieldStarted",
    "IncompleteOutputError",
    "InternalServerError",
    "InvalidArgumentError",
    "InvalidArgumentTypeError",
    "InvalidArgumentValueError",
    "ItemsAssembler",
    "IterableStream",
    "JSONDepthError",
    "JSONParseError",
    "JSONParser",
    "JSONStringTooLongError",
    "Mode",
    "NotFoundError",
    "Partial",
    "PartialAssembler",
    "PartialEvent",
    "PartialStream",
    "PermissionDeniedError",
    "Progress",
    "RateLimitError",
    "RefusalError",
    "ResponseError",
    "ResponseTooLargeError",
    "ResponseValidationError",
    "SSEDecoder",
    "SSEError",
    "SSELimitError",
    "ServerSentEvent",
    "SnapshotEvent",
    "StreamEnded",
    "StreamEvent",
    "StreamInterruptedError",
    "StreamStructError",
    "TextAppended",
    "TruncatedJSONError",
    "UnprocessableEntityError",
    "Usage",
    "build_info",
    "progress",
]
