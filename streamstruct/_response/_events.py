"""The stream events the reader makes beside the model's own (response layer).

:class:`ReasoningAppended`: a piece of the model's reasoning (chat's ``reasoning_content`` /
``reasoning``, the Responses API's reasoning summaries and raw reasoning text, Anthropic's
thinking blocks). Reasoning is never the answer: it is never fed to the JSON parser, only kept
(``stream.reasoning``) and reported in ``events()``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import final

__all__ = ["ReasoningAppended"]


@final
@dataclass(frozen=True, slots=True)
class ReasoningAppended:
    """``text`` was appended to the model's reasoning (``stream.reasoning`` holds all of it)."""

    text: str
