"""Section 4 of the suite: peak memory while streaming a 10 MB structured output.

Each figure comes from a fresh child process (``python -m benchmarks.memory --child ...``), so
that nothing the suite did before counts. The child imports everything, builds the 10 MB
``Report`` JSON (``benchmarks.e2e``'s rows), warms the client up on a tiny answer, collects the
garbage and takes its **baseline**: the resident set size (``VmRSS``). Then it resets the kernel's
high-water mark (``/proc/self/clear_refs``), streams, and reads the **peak** (``VmHWM``); the
figure is peak - baseline, the memory the stream itself needed, final object included.

- **streamstruct**: ``create_partial(response_model=Report, mode=Mode.JSON_SCHEMA)`` over an
  in-process transport that renders the SSE body on the fly (the 10 MB of JSON in 64-character
  ``content`` deltas, read 16 KiB at a time), iterated to the end, then ``get_final()``. Only the
  JSON text is held before the baseline, as a server would hold it; the ~100 MB SSE body never is.
- **reference**: ``Report.model_validate_json(text)`` on the same text: what the final validated
  object alone costs, a bound no streaming client can go under.

Linux only (it reads ``/proc``); elsewhere the section says it was skipped.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import httpx

if __package__ in (None, ""):  # run as `python benchmarks/memory.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import e2e
from benchmarks._common import MB, Progress, Target, grid, size_label

__all__ = [
    "DEFAULT_SIZE",
    "MemoryResults",
    "Peak",
    "format_results",
    "main",
    "measure",
    "planned_steps",
    "run",
    "targets",
]

DEFAULT_SIZE: Final = 10 * MB
PIECE_CHARS: Final = 64
READ_BYTES: Final = 16 * 1024
CEILING: Final = 4.0

STREAMSTRUCT: Final = "streamstruct"
REFERENCE: Final = "reference"
KINDS: Final = (STREAMSTRUCT, REFERENCE)
LABELS: Final = {
    STREAMSTRUCT: "streamstruct create_partial",
    REFERENCE: "final model alone (model_validate_json)",
}
_ROOT: Final = Path(__file__).resolve().parents[1]
_STATUS: Final = Path("/proc/self/status")
_CLEAR_REFS: Final = Path("/proc/self/clear_refs")


# -- in the child --------------------------------------------------------------------------------


def _status_kib(field_name: str) -> int:
    for line in _STATUS.read_text().splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field_name} is not in {_STATUS}")


def _reset_peak() -> None:
    _CLEAR_REFS.write_text("5")  # "5": reset the peak resident set size to the current one


def _frames(content: str, piece_chars: int) -> Iterator[bytes]:
    """The SSE events of a content-mode answer, rendered one at a time."""
    envelope = {
        "id": "chatcmpl-memory",
        "object": "chat.completion.chunk",
        "created": 1_750_000_000,
        "model": e2e.MODEL,
    }

    def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        return e2e._sse(e2e._dump({**envelope, "choices": [choice], "usage": None}))

    yield chunk({"role": "assistant", "content": ""})
    # every content chunk is the same bytes around the piece: render only the piece
    head, tail = chunk({"content": "\x00"}).split(b'"\\u0000"')
    dumps = json.dumps
    for start in range(0, len(content), piece_chars):
        yield head + dumps(content[start : start + piece_chars], ensure_ascii=False).encode() + tail
    yield chunk({}, "stop")
    yield b"data: [DONE]\n\n"


class _RenderedStream(httpx.AsyncByteStream):
    def __init__(self, content: str, piece_chars: int, read_bytes: int) -> None:
        self._content = content
        self._piece_chars = piece_chars
        self._read_bytes = read_bytes

    async def __aiter__(self) -> AsyncIterator[bytes]:
        batch: list[bytes] = []
        size = 0
        for frame in _frames(self._content, self._piece_chars):
            batch.append(frame)
            size += len(frame)
            if size >= self._read_bytes:
                yield b"".join(batch)
                batch, size = [], 0
        if batch:
            yield b"".join(batch)


class _RenderingTransport(httpx.AsyncBaseTransport):
    def __init__(self, content: str, piece_chars: int, read_bytes: int) -> None:
        self._args = (content, piece_chars, read_bytes)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        return httpx.Response(
            200,
            headers={"content-type": "text/event-stream; charset=utf-8"},
            stream=_RenderedStream(*self._args),
            request=request,
        )


async def _stream(content: str, piece_chars: int, read_bytes: int) -> tuple[e2e.Report, int]:
    import streamstruct

    transport = _RenderingTransport(content, piece_chars, read_bytes)
    async with httpx.AsyncClient(transport=transport) as http:
        client = streamstruct.AsyncClient(
            base_url=e2e.BASE_URL, api_key="x", http_client=http, max_retries=0
        )
        stream = client.chat.completions.create_partial(
            model=e2e.MODEL,
            response_model=e2e.Report,
            messages=e2e.MESSAGES,
            mode=streamstruct.Mode.JSON_SCHEMA,
        )
        snapshots = 0
        async for _partial in stream:
            snapshots += 1
        final = await stream.get_final()
    assert isinstance(final, e2e.Report)
    return final, snapshots


def _child(kind: str, size: int, piece_chars: int, read_bytes: int) -> dict[str, Any]:
    """Measure one kind in this (fresh) process; the figures as JSON-able data."""
    from benchmarks.e2e_alternatives import rows_for

    rows = rows_for(size)
    content = e2e._dump(e2e.build_report(rows))
    if kind == STREAMSTRUCT:
        asyncio.run(_stream(e2e._dump(e2e.build_report(3)), piece_chars, read_bytes))  # warm-up
    else:
        e2e.Report.model_validate_json(e2e._dump(e2e.build_report(3)))
    gc.collect()
    baseline = _status_kib("VmRSS")
    _reset_peak()
    start = time.perf_counter()
    snapshots = 0
    if kind == STREAMSTRUCT:
        final, snapshots = asyncio.run(_stream(content, piece_chars, read_bytes))
    else:
        final = e2e.Report.model_validate_json(content)
    seconds = time.perf_counter() - start
    peak = _status_kib("VmHWM")
    after = _status_kib("VmRSS")
    if len(final.rows) != rows:
        raise AssertionError(f"{kind}: {len(final.rows)} rows, expected {rows}")
    return {
        "kind": kind,
        "json_bytes": len(content.encode()),
        "baseline_kib": baseline,
        "peak_kib": peak,
        "after_kib": after,
        "seconds": seconds,
        "snapshots": snapshots,
        "events": -(-len(content) // piece_chars) + 3,
    }


# -- in the suite --------------------------------------------------------------------------------


@dataclass
class Peak:
    kind: str
    json_bytes: int
    baseline_kib: int
    peak_kib: int
    after_kib: int
    seconds: float
    snapshots: int
    events: int

    @property
    def above_baseline(self) -> int:
        """Bytes of peak resident memory above the baseline."""
        return (self.peak_kib - self.baseline_kib) * 1024

    @property
    def ratio(self) -> float:
        return self.above_baseline / self.json_bytes


@dataclass
class MemoryResults:
    size: int
    peaks: list[Peak] = field(default_factory=list)
    skipped: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    def get(self, kind: str) -> Peak | None:
        return next((p for p in self.peaks if p.kind == kind), None)


def measure(kind: str, size: int, piece_chars: int, read_bytes: int) -> Peak:
    """One kind, measured in a fresh child process."""
    command = [
        sys.executable,
        "-m",
        "benchmarks.memory",
        "--child",
        kind,
        "--size",
        str(size),
        "--piece-chars",
        str(piece_chars),
        "--read-bytes",
        str(read_bytes),
    ]
    done = subprocess.run(command, cwd=_ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the memory child failed ({kind}):\n{done.stderr[-2000:]}")
    return Peak(**json.loads(done.stdout.strip().splitlines()[-1]))


def planned_steps() -> int:
    return len(KINDS)


def run(
    *,
    size: int = DEFAULT_SIZE,
    piece_chars: int = PIECE_CHARS,
    read_bytes: int = READ_BYTES,
    progress: Progress | None = None,
) -> MemoryResults:
    results = MemoryResults(size)
    results.meta = {"piece_chars": piece_chars, "read_bytes": read_bytes}
    if not (_STATUS.exists() and _CLEAR_REFS.exists()):
        results.skipped = "needs Linux's /proc/self/status and /proc/self/clear_refs"
        for _ in KINDS:
            if progress is not None:
                progress.step("memory: skipped")
        return results
    for kind in KINDS:
        if progress is not None:
            progress.step(f"memory: {size_label(size)}: {LABELS[kind]}")
        results.peaks.append(measure(kind, size, piece_chars, read_bytes))
    return results


def targets(results: MemoryResults) -> list[Target]:
    peak = results.get(STREAMSTRUCT)
    return [
        Target.ratio(
            f"memory {size_label(results.size)}: streamstruct peak above baseline / output size",
            None if peak is None else peak.ratio,
            at_most=CEILING,
        )
    ]


def _mb(count: float) -> str:
    return f"{count / MB:,.1f} MB"


def format_results(results: MemoryResults) -> str:
    meta = results.meta
    lines = [
        f"4. Memory: peak resident memory streaming a {size_label(results.size)} structured output"
        " (fresh process each)",
        "",
    ]
    if results.skipped:
        return "\n".join([*lines, f"Skipped: {results.skipped}."])
    header = [
        "what",
        "JSON",
        "baseline RSS",
        "peak above baseline",
        "x output",
        "time",
        "snapshots",
    ]
    body = [
        [
            LABELS[p.kind],
            _mb(p.json_bytes),
            _mb(p.baseline_kib * 1024),
            _mb(p.above_baseline),
            f"{p.ratio:.2f}x",
            f"{p.seconds:.1f} s",
            f"{p.snapshots:,}" if p.kind == STREAMSTRUCT else "-",
        ]
        for p in results.peaks
    ]
    lines += grid(header, body, left=1)
    lines += [
        "",
        f"baseline: VmRSS after imports, a warm-up and the JSON text built; peak: VmHWM after the"
        f" run. Streamed in {meta['piece_chars']}-char",
        f"content deltas, read {meta['read_bytes'] // 1024} KiB at a time, rendered on the fly (the"
        " SSE body is never held whole).",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.memory")
    parser.add_argument("--child", choices=KINDS, help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, default=DEFAULT_SIZE, help="bytes of JSON")
    parser.add_argument("--piece-chars", type=int, default=PIECE_CHARS)
    parser.add_argument("--read-bytes", type=int, default=READ_BYTES)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_child(args.child, args.size, args.piece_chars, args.read_bytes)))
        return 0
    progress = Progress(planned_steps())
    results = run(
        size=args.size, piece_chars=args.piece_chars, read_bytes=args.read_bytes, progress=progress
    )
    progress.finish()
    print(format_results(results))
    for target in targets(results):
        print(f"{target.verdict:4} {target.what}: {target.measured} (target {target.limit})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
