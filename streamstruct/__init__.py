"""streamstruct: stream structured output from LLM chat-completion endpoints.

The public names are re-exported here; the modules behind them are private.
"""

from ._build import BuildInfo, build_info
from ._core._json import CompletedValue, JSONParser
from ._core._sse import ServerSentEvent, SSEDecoder
from ._core._wire import Usage
from ._errors import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    BodyNotJSONError,
    ClientClosedError,
    ClientUsageError,
    ConflictError,
    EventDataError,
    IncompleteOutputError,
    InternalServerError,
    InvalidArgumentError,
    InvalidArgumentTypeError,
    InvalidArgumentValueError,
    JSONDepthError,
    JSONParseError,
    JSONStringTooLongError,
    MalformedChunkError,
    NotEventStreamError,
    NotFoundError,
    PermissionDeniedError,
    ProtocolError,
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
from ._io._client import AsyncClient
from ._io._stream import AsyncIterableStream, AsyncPartialStream, StreamEnded, StreamEvent
from ._io._sync import Client, IterableStream, PartialStream
from ._model._annotations import Atomic, NotNull
from ._model._assembler import PartialAssembler
from ._model._iterable import ItemsAssembler
from ._model._partial import (
    FieldCompleted,
    FieldStarted,
    Partial,
    PartialEvent,
    Progress,
    SnapshotEvent,
    TextAppended,
    progress,
)
from ._path import Path
from ._request._modes import Mode

__version__ = "0.1.0.dev0"

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncClient",
    "AsyncIterableStream",
    "AsyncPartialStream",
    "Atomic",
    "AuthenticationError",
    "BadRequestError",
    "BodyNotJSONError",
    "BuildInfo",
    "Client",
    "ClientClosedError",
    "ClientUsageError",
    "CompletedValue",
    "ConflictError",
    "EventDataError",
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
    "MalformedChunkError",
    "Mode",
    "NotEventStreamError",
    "NotFoundError",
    "NotNull",
    "Partial",
    "PartialAssembler",
    "PartialEvent",
    "PartialStream",
    "Path",
    "PermissionDeniedError",
    "Progress",
    "ProtocolError",
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
