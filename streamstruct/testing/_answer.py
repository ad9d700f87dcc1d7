"""What an answer says and the abstract events of its stream: the seam between the planner
(:mod:`._plan`, which decides them) and a renderer per wire format (:mod:`._chat_render` for chat
completions), so that another API's events are one more renderer over the same plan.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol, TypeAlias

from ._script import ErrorEvent

__all__ = [
    "_ArgumentsDelta",
    "_Call",
    "_Done",
    "_Event",
    "_Failed",
    "_Finished",
    "_Identity",
    "_Opening",
    "_Renderer",
    "_Said",
    "_TextDelta",
    "_ToolCallOpened",
    "_Usage",
    "_UsageReport",
]


@dataclass(frozen=True, slots=True)
class _Call:
    """One tool call: its id and its (possibly truncated) arguments text."""

    call_id: str
    arguments: str


@dataclass(frozen=True, slots=True)
class _Said:
    """The answer after faults: content, tool calls or a refusal, and why it finished."""

    content: str | None
    calls: list[_Call]
    refusal: str | None
    finish_reason: str

    @property
    def text(self) -> str:
        """Everything said, the unit usage counts tokens of."""
        if self.refusal is not None:
            return self.refusal
        return self.content or "".join(call.arguments for call in self.calls)


@dataclass(frozen=True, slots=True)
class _Usage:
    prompt_tokens: int
    completion_tokens: int


@dataclass(frozen=True, slots=True)
class _Identity:
    """The response's random id text, creation time and fingerprint, drawn once per answer."""

    id_text: str
    created: int
    fingerprint: str


@dataclass(frozen=True, slots=True)
class _Opening:
    """The first event: the assistant's turn starts, answering in ``channel``."""

    channel: Literal["content", "tools", "refusal"]


@dataclass(frozen=True, slots=True)
class _TextDelta:
    """A piece of content or refusal text (a text delta, counted by faults' ``after``)."""

    channel: Literal["content", "refusal"]
    text: str


@dataclass(frozen=True, slots=True)
class _ToolCallOpened:
    index: int
    call_id: str
    name: str


@dataclass(frozen=True, slots=True)
class _ArgumentsDelta:
    """A piece of one tool call's arguments (a text delta, counted by faults' ``after``)."""

    index: int
    text: str


@dataclass(frozen=True, slots=True)
class _Finished:
    reason: str


@dataclass(frozen=True, slots=True)
class _UsageReport:
    usage: _Usage


@dataclass(frozen=True, slots=True)
class _Failed:
    """A late failure reported in the stream, which then ends."""

    error: ErrorEvent


@dataclass(frozen=True, slots=True)
class _Done:
    """The stream's terminator (``[DONE]`` in chat completions)."""


_Event: TypeAlias = (
    _Opening
    | _TextDelta
    | _ToolCallOpened
    | _ArgumentsDelta
    | _Finished
    | _UsageReport
    | _Failed
    | _Done
)


class _Renderer(Protocol):
    """Turns the abstract answer into one wire format's bytes."""

    def event(self, event: _Event) -> bytes:
        """One SSE event of the stream."""
        ...

    def keep_alive(self) -> bytes:
        """A comment that keeps an idle stream open."""
        ...

    def whole(self, said: _Said, usage: _Usage) -> bytes:
        """The body of a non-streamed answer."""
        ...
