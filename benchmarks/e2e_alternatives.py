"""The content-mode transcript: the Report's JSON as a JSON-schema structured output streams it.

``benchmarks.e2e``'s ``Report`` (rows of id, name, email, score, tags) rendered as the
``chat.completion.chunk`` SSE stream the OpenAI API sends for a structured output in **content**
(``response_format`` with a JSON schema): a role chunk, the JSON in 4-character ``content``
deltas, a ``finish_reason`` chunk, a usage chunk and ``data: [DONE]``. Content, not tool calls,
because the openai SDK's streaming helper and instructor's ``Mode.JSON_SCHEMA`` read ``content``:
``benchmarks.server`` serves it (the ``content`` mode of the end-to-end section,
``benchmarks.loopback``) beside ``benchmarks.e2e``'s tool-call transcript. ``rows_for(size)``
gives the rows for a size of JSON.
"""

from __future__ import annotations

import bisect
from typing import Any, Final

from benchmarks import e2e

__all__ = ["PIECE_CHARS", "build_content_transcript", "rows_for"]

PIECE_CHARS: Final = 4


Report = e2e.Report


# -- the transcript ------------------------------------------------------------------------------


def rows_for(size: int) -> int:
    """The fewest rows whose Report JSON is at least ``size`` bytes (rows are a stable prefix)."""
    rows = max(1, size // 100)
    while len(e2e._dump(e2e.build_report(rows)).encode()) < size:
        rows = max(rows + 1, int(rows * 1.02))
    # the loop may overshoot by a few rows: step back while still at least ``size``
    lengths = [len(e2e._dump(r).encode()) + 1 for r in e2e.build_report(rows)["rows"]]
    total = len(e2e._dump({"rows": []}).encode()) - 1  # one comma fewer than rows
    running = [total]
    for length in lengths:
        running.append(running[-1] + length)
    return max(1, bisect.bisect_left(running, size))


def build_content_transcript(rows: int, *, piece_chars: int = PIECE_CHARS) -> e2e.Transcript:
    """The SSE byte stream of a JSON-schema structured output in ``content``: the Report's JSON."""
    content = e2e._dump(e2e.build_report(rows))
    envelope = {
        "id": "chatcmpl-E2EBenchmarkContent00000000000",
        "object": "chat.completion.chunk",
        "created": 1_750_000_000,
        "model": e2e.MODEL,
        "service_tier": "default",
        "system_fingerprint": "fp_e2e0bench",
    }

    def chunk(choices: list[dict[str, Any]], usage: object = None) -> bytes:
        return e2e._sse(e2e._dump({**envelope, "choices": choices, "usage": usage}))

    def choice(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        return {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}

    frames = [chunk([choice({"role": "assistant", "content": "", "refusal": None})])]
    for start in range(0, len(content), piece_chars):
        frames.append(chunk([choice({"content": content[start : start + piece_chars]})]))
    frames.append(chunk([choice({}, "stop")]))
    tokens = -(-len(content) // piece_chars)
    usage = {"prompt_tokens": 120, "completion_tokens": tokens, "total_tokens": 120 + tokens}
    frames.append(chunk([], usage))
    frames.append(e2e._sse("[DONE]"))
    return e2e.Transcript(rows, content, tuple(frames))
