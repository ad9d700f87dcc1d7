"""What a wrapped response type costs: ``list[Row]`` next to the model ``Report(rows: list[Row])``.

Run from the project root::

    python -m benchmarks.response_types               # 300 rows, 7 runs each (about a minute)
    python -m benchmarks.response_types --rows 100 --repeat 3

A ``response_model`` that is not a model (``list[Row]``, ``int``, ...) is requested as the object
``{"response": ...}`` and unwrapped for the caller: each snapshot's wrapper field is taken out, and
the field events' paths are written without its key (see ``streamstruct/_model/_response_types.py``). The
two answers streamed here are the same JSON but for that one key, ``{"rows": [...]}`` for
``Report`` and ``{"response": [...]}`` for ``list[Row]`` (the rows of :mod:`benchmarks.e2e`), as a
forced tool call in 4-character pieces, one SSE event per read (one snapshot per event: the most
unwrapping there can be), from :class:`~benchmarks.e2e.ReplayTransport`. The figure is the CPU per
event of each, the median of the runs (alternated, so both see the same machine), and their ratio;
the issue's bound is 1.05. ``--events`` reads ``events()`` (field events too) instead of snapshots.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import httpx

if __package__ in (None, ""):  # run as `python benchmarks/response_types.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import streamstruct
from benchmarks._common import gc_off
from benchmarks.e2e import (
    BASE_URL,
    MESSAGES,
    MODEL,
    PIECE_CHARS,
    ReplayTransport,
    Report,
    Row,
    _dump,
    _sse,
    build_report,
)

__all__ = ["BOUND", "measure", "transcript"]

BOUND: Final = 1.05
"""The issue's bound: wrapping costs at most 5% per event over a plain model."""


def transcript(arguments: str, tool: str) -> list[bytes]:
    """The SSE events of a forced tool call named ``tool`` whose arguments are ``arguments``."""
    envelope = {
        "id": "chatcmpl-wrap",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": MODEL,
    }

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        return _sse(_dump({**envelope, "choices": [choice]}))

    call = {"index": 0, "id": "call_wrap", "type": "function", "function": {"name": tool}}
    frames = [chunk({"role": "assistant", "tool_calls": [{**call, "arguments": ""}]})]
    for start in range(0, len(arguments), PIECE_CHARS):
        piece = arguments[start : start + PIECE_CHARS]
        frames.append(chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}))
    frames.append(chunk({}, "stop"))
    frames.append(_sse("[DONE]"))
    return frames


async def _once(frames: Sequence[bytes], response_model: Any, events: bool) -> tuple[float, Any]:
    async with httpx.AsyncClient(transport=ReplayTransport(frames)) as http:
        client = streamstruct.AsyncClient(base_url=BASE_URL, http_client=http, max_retries=0)
        with gc_off():
            cpu = time.process_time()
            stream = client.chat.completions.create_partial(
                model=MODEL, response_model=response_model, messages=MESSAGES
            )
            async for _ in stream.events() if events else stream:
                pass
            final = await stream.get_final()
            cpu = time.process_time() - cpu
        return cpu, final


def measure(rows: int, repeat: int, *, events: bool = False) -> dict[str, float]:
    """Median CPU microseconds per event, plain and wrapped, and their ratio."""
    data = build_report(rows)
    plain = transcript(_dump(data), "Report")
    wrapped = transcript(_dump({"response": data["rows"]}), "RowList")
    expected = Report.model_validate(data)
    cases = {"plain": (plain, Report), "wrapped": (wrapped, list[Row])}
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for run in range(repeat + 1):  # the first round warms up (class building), untimed
        for name, (frames, response_model) in cases.items():
            cpu, final = asyncio.run(_once(frames, response_model, events))
            got = final if name == "plain" else Report(rows=final)
            if got != expected:
                raise AssertionError(f"{name}: the final value differs from the expected rows")
            if run:
                samples[name].append(cpu * 1e6 / len(frames))
    out = {name: statistics.median(values) for name, values in samples.items()}
    out["ratio"] = out["wrapped"] / out["plain"]
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.response_types")
    parser.add_argument("--rows", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--events", action="store_true", help="read events(), not snapshots")
    args = parser.parse_args(argv)
    figures = measure(args.rows, args.repeat, events=args.events)
    build = streamstruct.build_info()
    print(f"{build}: {args.rows} rows, one event per read, {args.repeat} runs each")
    print(f"  Report (plain model):     {figures['plain']:8.2f} us/event")
    print(f"  list[Row] (wrapped):      {figures['wrapped']:8.2f} us/event")
    verdict = "within" if figures["ratio"] <= BOUND else "OVER"
    print(f"  ratio wrapped/plain:      {figures['ratio']:8.3f} ({verdict} the bound {BOUND})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
