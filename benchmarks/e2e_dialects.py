"""The Report's transcripts in the other two wire dialects: the Responses API and Anthropic.

``benchmarks.e2e``'s ``Report`` (its JSON cut in the same 4-character pieces as the chat
transcripts) rendered as each API streams it, by the simulator's renderers
(``streamstruct.testing._dialects``, whose event shapes the official SDKs read):

- ``responses_tools``: a forced function call, the JSON in ``response.function_call_arguments.delta``
  events; ``responses_content``: a ``text.format`` json_schema answer, the JSON in
  ``response.output_text.delta`` events; both end with ``response.completed`` (usage);
- ``anthropic_tools``: a forced tool, the JSON in ``input_json_delta`` events of a ``tool_use``
  block; ``anthropic_content``: a structured output (``output_config.format``), the JSON in
  ``text_delta`` events; ``message_start`` ... ``message_stop``.

One event per piece, as in chat: the per-event figures of the dialects are comparable with chat's
(each API's events differ in size from chat's, so the floor, which parses every event, is
measured per dialect).
"""

from __future__ import annotations

import math
from typing import Final

from benchmarks import e2e
from streamstruct.testing._dialects import (
    PlannedCall,
    PlannedReply,
    render_anthropic,
    render_responses,
)

__all__ = ["API_OF", "DIALECT_MODES", "KIND_OF", "build_dialect_transcript", "path_for"]

RESPONSES_TOOLS: Final = "responses_tools"
RESPONSES_CONTENT: Final = "responses_content"
ANTHROPIC_TOOLS: Final = "anthropic_tools"
ANTHROPIC_CONTENT: Final = "anthropic_content"
DIALECT_MODES: Final = (RESPONSES_TOOLS, RESPONSES_CONTENT, ANTHROPIC_TOOLS, ANTHROPIC_CONTENT)
#: the client's ``api=`` and the kind of answer (``tools`` or ``content``) of each mode
API_OF: Final = {
    RESPONSES_TOOLS: "responses",
    RESPONSES_CONTENT: "responses",
    ANTHROPIC_TOOLS: "anthropic",
    ANTHROPIC_CONTENT: "anthropic",
}
KIND_OF: Final = {
    RESPONSES_TOOLS: "tools",
    RESPONSES_CONTENT: "content",
    ANTHROPIC_TOOLS: "tools",
    ANTHROPIC_CONTENT: "content",
}
_PATHS: Final = {"chat": "/chat/completions", "responses": "/responses", "anthropic": "/messages"}


def path_for(mode: str) -> str:
    """Where a client of ``mode`` posts, under a base URL ending in ``/v1``."""
    return _PATHS[API_OF.get(mode, "chat")]


def build_dialect_transcript(
    mode: str, rows: int, *, piece_chars: int = e2e.PIECE_CHARS
) -> e2e.Transcript:
    """The SSE events of ``mode`` for a Report of ``rows`` rows."""
    text = e2e._dump(e2e.build_report(rows))
    pieces = tuple(text[start : start + piece_chars] for start in range(0, len(text), piece_chars))
    tokens = math.ceil(len(text) / piece_chars)
    if KIND_OF[mode] == "tools":
        call = PlannedCall("call_E2EBenchmarkToolCall0000", e2e.Report.__name__, pieces)
        reply = PlannedReply(e2e.MODEL, calls=(call,), prompt_tokens=120, completion_tokens=tokens)
    else:
        reply = PlannedReply(e2e.MODEL, content=pieces, prompt_tokens=120, completion_tokens=tokens)
    render = render_responses if API_OF[mode] == "responses" else render_anthropic
    frames = tuple(frame for frame, _counts in render(reply))
    return e2e.Transcript(rows, text, frames)
