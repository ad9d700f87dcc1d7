"""streamstruct: stream structured output from LLM chat-completion endpoints.

The public names are re-exported here; the modules behind them are private.
"""

from typing_extensions import TypeAliasType

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
    UnsupportedResponseModelError,
)
from ._io._client import AsyncClient
from ._io._stream import AsyncIterableStream, AsyncPartialStream, StreamEnded, StreamEvent
from ._io._sync import Client, IterableStream, PartialStream
from ._model._annotations import Atomic, NotNull
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
from ._model._partial_assembler import PartialAssembler
from ._request._modes import Mode
from ._request._reask import Reasked
from ._response._events import ReasoningAppended

__version__ = "0.1.0.dev0"

# Public as a TypeAliasType, so that it belongs to streamstruct and reads as Path in documentation
# (the layers below use the plain alias in _path: the core imports only the standard library).
Path = TypeAliasType("Path", tuple[str | int, ...])
"""Where a value sits in the JSON: the keys and indexes from the root, ``("rows", 3, "name")``.
What ``ResponseValidationError.path``, ``CompletedValue.path`` and the field events give."""

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
    "Reasked",
    "ReasoningAppended",
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
    "UnsupportedResponseModelError",
    "Usage",
    "build_info",
    "progress",
]
