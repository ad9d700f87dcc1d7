"""Section 4 of the suite: peak memory while streaming a 10 MB structured output, in each build
(every figure a fresh child on that build's copy of streamstruct, ``benchmarks.builds``).

Two documents of 10 MB of JSON each, as a model writes them, in token-sized (4-character)
``content`` deltas:

- **prose**: an ``Article`` (a title, sections of a heading and paragraphs of text): what most of
  a long answer is made of. Its Python objects cost about the size of its text.
- **rows**: ``benchmarks.e2e``'s ``Report``, a table of small records (id, name, email, score,
  tags): the worst case for Python's per-object overhead, ~113 bytes of JSON becoming ~1.2 KB of
  objects per row: the final validated object alone is about 11 times its JSON once made, and
  ``model_validate_json`` peaks at about 17 times while making it.

Each figure comes from a fresh child process (``python -m benchmarks.memory --child ...``), so
that nothing the suite did before counts. The child imports everything, reads the JSON from a file
the suite wrote (built there: the memory of building it, freed but kept by the allocator, would
otherwise sit in the baseline and be reused unseen), warms the client up on a tiny answer, collects
the garbage and takes its **baseline**: the resident set
size (``VmRSS``). Then it resets the kernel's high-water mark (``/proc/self/clear_refs``), streams,
and reads the **peak** (``VmHWM``); the figure is peak - baseline, the memory the stream itself
needed, final object included.

- **streamstruct**: ``create_partial(response_model=..., mode=Mode.JSON_SCHEMA)`` over an
  in-process transport that renders the SSE body on the fly (read 16 KiB at a time), iterated to
  the end, then ``get_final()``. Only the JSON text is held before the baseline, as a server would
  hold it; the SSE body (~55 times the JSON in 4-character deltas, ~550 MB) never is.
- **reference**: ``model_validate_json(text)`` on the same text: the peak of making the final
  validated object alone (the object and pydantic's parsing of the text), which any client that
  hands back that object pays in some form.

Then the shapes of issue 14, each in a fresh child too:

- **deep nesting**: 1 MB of arrays nested 16,000 deep (``max_depth=20000``) streamed as
  ``Partial[Holder]`` (``data: Any``), beside the same arrays side by side (two levels deep): peak
  above baseline per byte of JSON, nested over flat (target: at most 2x);
- **an endless string**: a server that streams one string forever, with the client's defaults, in
  4-character deltas and in 4 KiB deltas: the CPU time and the peak until the client cuts it off
  with a typed error (targets: within 30 s of CPU and 1.5 GB).

And the many small events of a tool call (issue 14, item 4):

- **tool-call deltas**: ``create_partial(mode=Mode.TOOLS)`` reading one tool call whose arguments
  (a ``Report``) come in 100,000 deltas of 4 characters, in the smallest chat chunks a server
  sends (``{"choices": [{"index": 0, "delta": {"tool_calls": [...]}}]}``, ~103 bytes of SSE
  each: a 9.8 MiB body): peak above baseline over the body's size (target: at most 3x).

Linux only (it reads ``/proc``); elsewhere the section says it was skipped.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import httpx

if __package__ in (None, ""):  # run as `python benchmarks/memory.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pydantic import BaseModel

from benchmarks import e2e
from benchmarks._common import MB, Progress, Target, grid, size_label
from benchmarks.builds import (
    BUILDS,
    COMPILED,
    check_build,
    compiled_unavailable,
    prepare,
)

if TYPE_CHECKING:
    from streamstruct import AsyncPartialStream

__all__ = [
    "DEFAULT_SIZE",
    "DOCUMENTS",
    "Article",
    "MemoryResults",
    "Peak",
    "build_article",
    "document_json",
    "format_results",
    "main",
    "measure",
    "planned_steps",
    "run",
    "targets",
]

DEFAULT_SIZE: Final = 10 * MB
PIECE_CHARS: Final = 4
READ_BYTES: Final = 16 * 1024
CEILING: Final = 4.0

PROSE: Final = "prose"
ROWS: Final = "rows"
DOCUMENTS: Final = (PROSE, ROWS)
DOCUMENT_LABELS: Final = {PROSE: "prose (Article)", ROWS: "rows (Report)"}

STREAMSTRUCT: Final = "streamstruct"
REFERENCE: Final = "reference"
KINDS: Final = (STREAMSTRUCT, REFERENCE)
ENDLESS: Final = "endless"  # a child kind: an endless string, not in KINDS
TOOL_DELTAS: Final = "tool_deltas"  # a child kind: one tool call in many deltas, not in KINDS
LABELS: Final = {
    STREAMSTRUCT: "streamstruct create_partial",
    REFERENCE: "final model alone (model_validate_json)",
    ENDLESS: "streamstruct, defaults, until cut off",
    TOOL_DELTAS: "streamstruct create_partial, Mode.TOOLS",
}

NESTED: Final = "nested"
FLAT: Final = "flat"
SHAPES: Final = (NESTED, FLAT)
SHAPE_DEPTH: Final = 16_000
SHAPE_MAX_DEPTH: Final = 20_000
SHAPE_SIZE: Final = 1 * MB
DEPTH_CEILING: Final = 2.0
LEAN_CEILING: Final = 1.3  # peak over model_validate_json's, the final object's own cost
ENDLESS_PIECES: Final = (4, 4096)  # characters per delta
ENDLESS_CPU_CEILING: Final = 30.0  # seconds
ENDLESS_PEAK_CEILING: Final = 1.5 * 1000**3  # bytes
TOOL_DELTA_COUNT: Final = 100_000
TOOL_DELTA_CEILING: Final = 3.0  # peak above baseline over the SSE body's size
DOCUMENT_LABELS_SHAPES: Final = {
    NESTED: f"arrays nested {SHAPE_DEPTH:,} deep (Holder)",
    FLAT: "the same arrays side by side (Holder)",
}
_ROOT: Final = Path(__file__).resolve().parents[1]
_STATUS: Final = Path("/proc/self/status")
_CLEAR_REFS: Final = Path("/proc/self/clear_refs")


# -- the documents ---------------------------------------------------------------------------


class Section(BaseModel):
    heading: str
    paragraphs: list[str]


class Article(BaseModel):
    title: str
    sections: list[Section]


_WORDS: Final = [
    "the",
    "stream",
    "parser",
    "model",
    "token",
    "schema",
    "field",
    "value",
    "answer",
    "request",
    "server",
    "client",
    "object",
    "list",
    "string",
    "number",
    "event",
    "snapshot",
    "partial",
    "complete",
    "growing",
    "validated",
    "section",
    "paragraph",
    "report",
    "latency",
    "memory",
    "linear",
    "chunk",
    "buffer",
    "network",
    "reader",
    "writer",
    "careful",
    "quick",
    "result",
    "table",
    "record",
]


def build_article(size: int) -> dict[str, Any]:
    """An ``Article`` of at least ``size`` bytes of JSON, as plain data: the same for the same size.

    Paragraphs of 60 to 120 words (about 400 to 900 characters), three to six per section.
    """
    rng = random.Random(0xA27)
    sections: list[dict[str, Any]] = []
    total = 0
    while total < size:
        paragraphs = []
        for _ in range(rng.randint(3, 6)):
            words = rng.choices(_WORDS, k=rng.randint(60, 120))
            paragraph = " ".join(words).capitalize() + "."
            paragraphs.append(paragraph)
            total += len(paragraph) + 3  # its quotes and the ", " before it, at most
        heading = " ".join(rng.choices(_WORDS, k=4)).title()
        sections.append({"heading": heading, "paragraphs": paragraphs})
        total += len(heading) + 30  # the keys and punctuation of a section, at most
    article = {"title": "On streaming structured output", "sections": sections}
    if len(e2e._dump(article).encode()) < size:  # the estimates err low: top up once
        return build_article(size + size // 50 + 1000)
    return article


class Holder(BaseModel):
    data: Any


def document_json(document: str, size: int) -> tuple[str, type[BaseModel]]:
    """The JSON text of ``document`` at about ``size`` bytes, and its model."""
    from benchmarks.shapes import flat_json, nested_json

    if document == NESTED:
        return nested_json(SHAPE_DEPTH, size), Holder
    if document == FLAT:
        return flat_json(SHAPE_DEPTH, size), Holder
    if document == PROSE:
        return e2e._dump(build_article(size)), Article
    from benchmarks.e2e_alternatives import rows_for

    return e2e._dump(e2e.build_report(rows_for(size))), e2e.Report


def _tiny_json(document: str) -> str:
    if document in SHAPES:
        return '{"data": [[[]]]}'
    return e2e._dump(build_article(2000) if document == PROSE else e2e.build_report(3))


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


def _tool_frames(arguments: str, piece_chars: int) -> Iterator[bytes]:
    """The SSE events of a tool call whose arguments come in ``piece_chars`` pieces, in the
    smallest chunks a server sends (no id, model or usage in each): the most events per byte."""

    def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
        choice: dict[str, Any] = {"index": 0, "delta": delta}
        if finish_reason is not None:
            choice["finish_reason"] = finish_reason
        return e2e._sse(e2e._dump({"choices": [choice]}))

    call = {"index": 0, "id": "call_0", "type": "function", "function": {"name": "Report"}}
    yield chunk({"role": "assistant", "tool_calls": [{**call, "function": {"name": "Report"}}]})
    delta = {"tool_calls": [{"index": 0, "function": {"arguments": "\x00"}}]}
    head, tail = chunk(delta).split(b'"\\u0000"')
    dumps = json.dumps
    for start in range(0, len(arguments), piece_chars):
        yield (
            head + dumps(arguments[start : start + piece_chars], ensure_ascii=False).encode() + tail
        )
    yield chunk({}, "stop")
    yield b"data: [DONE]\n\n"


class _RenderedStream(httpx.AsyncByteStream):
    def __init__(
        self, content: str, piece_chars: int, read_bytes: int, tools: bool = False
    ) -> None:
        self._content = content
        self._piece_chars = piece_chars
        self._read_bytes = read_bytes
        self._frames = _tool_frames if tools else _frames

    async def __aiter__(self) -> AsyncIterator[bytes]:
        batch: list[bytes] = []
        size = 0
        for frame in self._frames(self._content, self._piece_chars):
            batch.append(frame)
            size += len(frame)
            if size >= self._read_bytes:
                yield b"".join(batch)
                batch, size = [], 0
        if batch:
            yield b"".join(batch)


class _RenderingTransport(httpx.AsyncBaseTransport):
    def __init__(
        self, content: str, piece_chars: int, read_bytes: int, tools: bool = False
    ) -> None:
        self._args = (content, piece_chars, read_bytes, tools)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        return httpx.Response(
            200,
            headers={"content-type": "text/event-stream; charset=utf-8"},
            stream=_RenderedStream(*self._args),
            request=request,
        )


def _create_partial(
    http: httpx.AsyncClient, model: type[BaseModel], mode: str = "json_schema", **options: Any
) -> AsyncPartialStream[Any]:
    """``create_partial(response_model=model)`` over ``http``: e2e's model and messages, no retry.

    ``options`` go to the client (the caps and limits a benchmark sets).
    """
    import streamstruct

    client = streamstruct.AsyncClient(
        base_url=e2e.BASE_URL, api_key="x", http_client=http, max_retries=0, **options
    )
    return client.chat.completions.create_partial(
        model=e2e.MODEL,
        response_model=model,
        messages=e2e.MESSAGES,
        mode=streamstruct.Mode(mode),
    )


async def _stream(
    content: str,
    model: type[BaseModel],
    piece_chars: int,
    read_bytes: int,
    out: list[Any],
    max_depth: int = 1000,
    tools: bool = False,
) -> None:
    """Stream ``content``; put the final object and the number of snapshots in ``out``.

    Not returned: ``asyncio.run`` makes the ``repr()`` of its task's result when it puts back the
    SIGINT handler (``signal.signal`` turning the old handler, which holds the task, into an enum
    fails and formats it), and the full repr of a 10 MB model is tens of MB of peak memory that
    is not the stream's.
    """
    transport = _RenderingTransport(content, piece_chars, read_bytes, tools)
    mode = "tools" if tools else "json_schema"
    async with httpx.AsyncClient(transport=transport) as http:
        # No cap on the body: 10 MB of JSON in 4-character deltas is ~550 MB of SSE, past the
        # default max_response_bytes (256 MiB; no model writes 2.5 million tokens).
        stream = _create_partial(http, model, mode, max_response_bytes=None, max_depth=max_depth)
        snapshots = 0
        async for _partial in stream:
            snapshots += 1
        final = await stream.get_final()
    assert isinstance(final, model)
    out += [final, snapshots]


def _child(
    kind: str, document: str, json_file: Path, piece_chars: int, read_bytes: int
) -> dict[str, Any]:
    """Measure one kind in this (fresh) process; the figures as JSON-able data."""
    content = json_file.read_text(encoding="utf-8")
    model: type[BaseModel] = Article if document == PROSE else e2e.Report
    depth = 1000
    if document in SHAPES:
        model, depth = Holder, SHAPE_MAX_DEPTH
    if kind == STREAMSTRUCT:
        tiny = _tiny_json(document)
        asyncio.run(_stream(tiny, model, piece_chars, read_bytes, [], depth))  # warm-up
    elif document in SHAPES:
        # The parsed value alone (pydantic's JSON stops far short of 16,000 deep; the C json
        # module goes as deep as the recursion limit lets it).
        sys.setrecursionlimit(max(sys.getrecursionlimit(), 4 * SHAPE_MAX_DEPTH))
        json.loads(_tiny_json(document))
    else:
        model.model_validate_json(_tiny_json(document))
    gc.collect()
    baseline = _status_kib("VmRSS")
    _reset_peak()
    start = time.perf_counter()
    snapshots = 0
    if kind == STREAMSTRUCT:
        out: list[Any] = []
        asyncio.run(_stream(content, model, piece_chars, read_bytes, out, depth))
        final, snapshots = out
    elif document in SHAPES:
        final = Holder.model_construct(data=json.loads(content)["data"])
    else:
        final = model.model_validate_json(content)
    seconds = time.perf_counter() - start
    peak = _status_kib("VmHWM")
    after = _status_kib("VmRSS")
    if document in SHAPES:
        # json.loads, pydantic's JSON and == all recurse, and stop far short of 16,000 deep.
        if _count_lists(final.data) != content.count("["):
            raise AssertionError(f"{kind}: the final object is not the Holder streamed")
        expected = final
    else:
        expected = model.model_validate_json(content)
    if final != expected:  # after the peak was read
        raise AssertionError(f"{kind}: the final object is not the {model.__name__} streamed")
    return {
        "kind": kind,
        "document": document,
        "json_bytes": len(content.encode()),
        "baseline_kib": baseline,
        "peak_kib": peak,
        "after_kib": after,
        "seconds": seconds,
        "snapshots": snapshots,
        "events": -(-len(content) // piece_chars) + 3,
    }


def _count_lists(value: Any) -> int:
    """How many lists ``value`` holds, itself included, walked without recursion."""
    count, todo = 0, [value]
    while todo:
        item = todo.pop()
        if isinstance(item, list):
            count += 1
            todo += item
    return count


class _EndlessStream(httpx.AsyncByteStream):
    """A server writing one string forever, in well-formed events of ``piece_chars`` characters."""

    def __init__(self, piece_chars: int) -> None:
        self._piece_chars = piece_chars

    async def __aiter__(self) -> AsyncIterator[bytes]:
        frames = _frames('{"title": "t", "body": "', len('{"title": "t", "body": "'))
        yield next(frames) + next(frames)  # the role, then the start of the answer
        text = ("lorem ipsum dolor sit amet " * (self._piece_chars // 27 + 1))[: self._piece_chars]
        piece = list(_frames(text, self._piece_chars))[1]
        batch = piece * max(1, READ_BYTES // len(piece))
        while True:
            yield batch


class _EndlessTransport(httpx.AsyncBaseTransport):
    def __init__(self, piece_chars: int) -> None:
        self._piece_chars = piece_chars

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        return httpx.Response(
            200,
            headers={"content-type": "text/event-stream; charset=utf-8"},
            stream=_EndlessStream(self._piece_chars),
            request=request,
        )


class Answer(BaseModel):
    title: str
    body: str


async def _endless(piece_chars: int, out: list[Any]) -> None:
    """Stream from an endless server with the client's defaults until it is cut off; put the
    error's class name, the length of its text and the number of snapshots in ``out``."""
    import streamstruct

    async with httpx.AsyncClient(transport=_EndlessTransport(piece_chars)) as http:
        stream = _create_partial(http, Answer)
        snapshots = 0
        try:
            async for _partial in stream:
                snapshots += 1
        except streamstruct.StreamStructError as error:
            if error.partial is None or not error.text:
                raise AssertionError("the error lost what came") from error
            out += [type(error).__name__, len(error.text), snapshots]
            return
    raise AssertionError("the endless stream ended")


def _endless_child(piece_chars: int) -> dict[str, Any]:
    """Measure an endless string in this (fresh) process, with the client's defaults."""
    asyncio.run(_stream('{"title": "t", "body": "warm"}', Answer, 4, READ_BYTES, []))  # warm-up
    gc.collect()
    baseline = _status_kib("VmRSS")
    _reset_peak()
    start = time.process_time()
    out: list[Any] = []
    asyncio.run(_endless(piece_chars, out))
    seconds = time.process_time() - start
    error, text_chars, snapshots = out
    return {
        "kind": ENDLESS,
        "document": f"{piece_chars}",
        "json_bytes": text_chars,
        "baseline_kib": baseline,
        "peak_kib": _status_kib("VmHWM"),
        "after_kib": _status_kib("VmRSS"),
        "seconds": seconds,
        "snapshots": snapshots,
        "events": text_chars // piece_chars,
        "error": error,
    }


def _tool_deltas_child(piece_chars: int, read_bytes: int) -> dict[str, Any]:
    """Measure one tool call in TOOL_DELTA_COUNT deltas in this (fresh) process."""
    from benchmarks.e2e_alternatives import rows_for

    # A Report whose arguments are about TOOL_DELTA_COUNT pieces long, cut to that many.
    arguments = e2e._dump(e2e.build_report(rows_for(TOOL_DELTA_COUNT * piece_chars)))
    asyncio.run(_stream(_tiny_json(ROWS), e2e.Report, piece_chars, read_bytes, [], tools=True))
    gc.collect()
    baseline = _status_kib("VmRSS")
    _reset_peak()
    start = time.perf_counter()
    out: list[Any] = []
    asyncio.run(_stream(arguments, e2e.Report, piece_chars, read_bytes, out, tools=True))
    seconds = time.perf_counter() - start
    peak = _status_kib("VmHWM")
    final, snapshots = out
    if final != e2e.Report.model_validate_json(arguments):  # after the peak was read
        raise AssertionError("tool deltas: the final object is not the Report streamed")
    frames = list(_tool_frames(arguments, piece_chars))
    return {
        "kind": TOOL_DELTAS,
        "document": ROWS,
        "json_bytes": len(arguments.encode()),
        "baseline_kib": baseline,
        "peak_kib": peak,
        "after_kib": _status_kib("VmRSS"),
        "seconds": seconds,
        "snapshots": snapshots,
        "events": len(frames),
        "body_bytes": sum(map(len, frames)),
    }


# -- in the suite --------------------------------------------------------------------------------


@dataclass
class Peak:
    kind: str
    document: str
    json_bytes: int
    baseline_kib: int
    peak_kib: int
    after_kib: int
    seconds: float
    snapshots: int
    events: int
    error: str = ""  # ENDLESS: the error that cut the stream off
    body_bytes: int = 0  # TOOL_DELTAS: the SSE body's size
    build: str = ""  # the build of streamstruct the child imported (benchmarks.builds)

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
    skipped_builds: dict[str, str] = field(default_factory=dict)  # build: why

    def builds(self) -> list[str]:
        return list(dict.fromkeys(p.build for p in self.peaks))

    def get(self, kind: str, document: str, build: str | None = None) -> Peak | None:
        """The figure of ``kind`` on ``document`` in ``build`` (None: the first of any build)."""
        return next(
            (
                p
                for p in self.peaks
                if p.kind == kind and p.document == document and build in (None, p.build)
            ),
            None,
        )


def measure(
    kind: str,
    document: str,
    json_file: Path | None,
    piece_chars: int,
    read_bytes: int,
    build: str | None = None,
) -> Peak:
    """One kind, measured in a fresh child process, streaming the JSON in ``json_file`` (or, for
    ENDLESS, from a server that never ends); on ``build``'s copy of streamstruct
    (``benchmarks.builds``), as the workers of sections 2 and 3 are, or on this checkout's own
    build when None. A child that imported another build than the one asked for is refused."""
    command = [
        sys.executable,
        "-m",
        "benchmarks.memory",
        "--child",
        kind,
        "--document",
        document,
        *(["--json-file", str(json_file)] if json_file is not None else []),
        "--piece-chars",
        str(piece_chars),
        "--read-bytes",
        str(read_bytes),
    ]
    cwd, env = _ROOT, None
    if build is not None:
        cwd = prepare(build)  # ``-m`` puts it first on sys.path; the checkout next
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(cwd), str(_ROOT)]),
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the memory child failed ({kind}):\n{done.stderr[-2000:]}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    files = figures.pop("files", {})
    if build is not None:  # the build asked for, every core module from its copy (as a Worker's)
        check_build(build, {"build": figures["build"], "files": files}, Path(cwd))
    return Peak(**figures)


def planned_steps(builds: Sequence[str] = BUILDS) -> int:
    one = len(KINDS) * (len(DOCUMENTS) + len(SHAPES)) + len(ENDLESS_PIECES) + 1
    return one * max(1, len(builds))


def run(
    *,
    size: int = DEFAULT_SIZE,
    piece_chars: int = PIECE_CHARS,
    read_bytes: int = READ_BYTES,
    builds: Sequence[str] = BUILDS,
    progress: Progress | None = None,
) -> MemoryResults:
    """Every figure in each of ``builds`` that can be made here (each figure a fresh child on
    that build's copy), or on this checkout's own build when ``builds`` is empty."""
    results = MemoryResults(size)
    results.meta = {"piece_chars": piece_chars, "read_bytes": read_bytes}
    if not (_STATUS.exists() and _CLEAR_REFS.exists()):
        results.skipped = "needs Linux's /proc/self/status and /proc/self/clear_refs"
        for _ in range(planned_steps(builds)):
            if progress is not None:
                progress.step("memory: skipped")
        return results
    for build in builds or [None]:
        why = None if build is None else _unavailable(build)
        if why is not None:
            results.skipped_builds[str(build)] = why
            for _ in range(planned_steps(())):
                if progress is not None:
                    progress.step(f"memory: the {build} build skipped")
            continue
        _run_build(results, build, size, piece_chars, read_bytes, progress)
    return results


def _unavailable(build: str) -> str | None:
    """Why ``build`` cannot be measured here, or None (its copy then made, or already there)."""
    why = compiled_unavailable() if build == COMPILED else None
    if why is None:
        try:
            prepare(build)
        except subprocess.CalledProcessError as error:
            why = f"compiling failed: {error}"
    return why


def _run_build(
    results: MemoryResults,
    build: str | None,
    size: int,
    piece_chars: int,
    read_bytes: int,
    progress: Progress | None,
) -> None:
    """Every figure of the section in one build (None: this checkout's own)."""

    def measure_one(kind: str, document: str, json_file: Path | None, pieces: int) -> None:
        results.peaks.append(measure(kind, document, json_file, pieces, read_bytes, build))

    with tempfile.TemporaryDirectory() as folder:
        for document in DOCUMENTS:
            json_file = Path(folder) / f"{document}.json"
            json_file.write_text(document_json(document, size)[0], encoding="utf-8")
            for kind in KINDS:
                if progress is not None:
                    progress.step(
                        f"memory ({build}): {size_label(size)} {document}: {LABELS[kind]}"
                    )
                measure_one(kind, document, json_file, piece_chars)
        for document in SHAPES:
            json_file = Path(folder) / f"{document}.json"
            json_file.write_text(document_json(document, min(size, SHAPE_SIZE))[0], "utf-8")
            for kind in KINDS:
                if progress is not None:
                    progress.step(f"memory ({build}): {DOCUMENT_LABELS_SHAPES[document]}: {kind}")
                measure_one(kind, document, json_file, piece_chars)
    for pieces in ENDLESS_PIECES:
        if progress is not None:
            progress.step(f"memory ({build}): an endless string in {pieces}-character deltas")
        measure_one(ENDLESS, "prose", None, pieces)
    if progress is not None:
        progress.step(f"memory ({build}): one tool call in {TOOL_DELTA_COUNT:,} deltas")
    measure_one(TOOL_DELTAS, ROWS, None, piece_chars)


def targets(results: MemoryResults) -> list[Target]:
    """Each target in each build measured, named with it (`` (pure)``, `` (compiled)``)."""
    out: list[Target] = []
    for build in results.builds():
        for target in _build_targets(results, build):
            target.what += f" ({build})" if build else ""
            out.append(target)
    return out


def _build_targets(results: MemoryResults, build: str) -> list[Target]:
    out = []
    for document in DOCUMENTS:
        peak = results.get(STREAMSTRUCT, document, build)
        out.append(
            Target.ratio(
                f"memory {size_label(results.size)} {document}: streamstruct peak above baseline"
                " / output size",
                None if peak is None else peak.ratio,
                at_most=CEILING,
            )
        )
    for document in DOCUMENTS:  # issue 14, item 4: lean
        peak, alone = (
            results.get(STREAMSTRUCT, document, build),
            results.get(REFERENCE, document, build),
        )
        ratio = None
        if peak is not None and alone is not None and alone.above_baseline > 0:
            ratio = peak.above_baseline / alone.above_baseline
        out.append(
            Target.ratio(
                f"memory {size_label(results.size)} {document}: streamstruct peak"
                " / model_validate_json's",
                ratio,
                at_most=LEAN_CEILING,
            )
        )
    out.append(_depth_target(results, build))
    for pieces in ENDLESS_PIECES:
        endless = next(
            (
                p
                for p in results.peaks
                if p.kind == ENDLESS and p.document == f"{pieces}" and p.build == build
            ),
            None,
        )
        what = f"an endless string in {pieces}-char deltas, defaults"
        out.append(
            Target(
                f"{what}: CPU until cut off",
                f"<= {ENDLESS_CPU_CEILING:g} s",
                "n/a" if endless is None else f"{endless.seconds:.1f} s ({endless.error})",
                None if endless is None else endless.seconds <= ENDLESS_CPU_CEILING,
            )
        )
        out.append(
            Target(
                f"{what}: peak above baseline",
                "<= 1.5 GB",
                "n/a" if endless is None else _mb(endless.above_baseline),
                None if endless is None else endless.above_baseline <= ENDLESS_PEAK_CEILING,
            )
        )
    tool = results.get(TOOL_DELTAS, ROWS, build)
    out.append(
        Target.ratio(
            f"memory: one tool call in {TOOL_DELTA_COUNT:,} deltas: peak above baseline / SSE body",
            None if tool is None or not tool.body_bytes else tool.above_baseline / tool.body_bytes,
            at_most=TOOL_DELTA_CEILING,
        )
    )
    return out


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
        "build",
        "document",
        "what",
        "JSON",
        "baseline RSS",
        "peak above baseline",
        "x output",
        "x final alone",
        "time",
        "snapshots",
    ]
    body = []
    for p in results.peaks:
        if p.kind in (ENDLESS, TOOL_DELTAS) or p.document in SHAPES:
            continue  # (their own table)
        reference = results.get(REFERENCE, p.document, p.build)
        alone = reference.above_baseline if reference is not None else 0
        body.append(
            [
                p.build,
                DOCUMENT_LABELS[p.document],
                LABELS[p.kind],
                _mb(p.json_bytes),
                _mb(p.baseline_kib * 1024),
                _mb(p.above_baseline),
                f"{p.ratio:.2f}x",
                f"{p.above_baseline / alone:.2f}x" if alone > 0 else "-",
                f"{p.seconds:.1f} s",
                f"{p.snapshots:,}" if p.kind == STREAMSTRUCT else "-",
            ]
        )
    lines += grid(header, body, left=3)
    lines += [
        "",
        *(f"The {build} build skipped: {why}." for build, why in results.skipped_builds.items()),
        "Each build's figures from fresh children on that build's copy of streamstruct"
        " (benchmarks.builds).",
        f"baseline: VmRSS after imports, the JSON read from the suite's file and a warm-up; peak:"
        f" VmHWM after the run. Streamed in {meta['piece_chars']}-char",
        f"content deltas, read {meta['read_bytes'] // 1024} KiB at a time, rendered on the fly (the"
        " SSE body is never held whole).",
        "x final alone: the peak over model_validate_json's of the same text (making the final"
        " validated object alone).",
    ]
    return "\n".join(lines + _format_shapes(results))


def _depth_target(results: MemoryResults, build: str) -> Target:
    """Nested over flat, peak per byte, beside the same ratio of ``json.loads`` alone on the same
    two texts: a list of one member costs more than an empty one (its array of members), so the
    parsed values alone differ by about 2x per byte whatever the parser."""
    nested, flat = results.get(STREAMSTRUCT, NESTED, build), results.get(STREAMSTRUCT, FLAT, build)
    ratio = None if nested is None or flat is None else nested.ratio / flat.ratio
    target = Target.ratio(
        f"memory: {SHAPE_DEPTH:,} nested arrays (max_depth={SHAPE_MAX_DEPTH:,}) / flat,"
        " peak above baseline per byte",
        ratio,
        at_most=DEPTH_CEILING,
    )
    nested, flat = results.get(REFERENCE, NESTED, build), results.get(REFERENCE, FLAT, build)
    if ratio is not None and nested is not None and flat is not None:
        target.measured += f" (json.loads alone: {nested.ratio / flat.ratio:.2f}x)"
    return target


def _format_shapes(results: MemoryResults) -> list[str]:
    shapes = [p for p in results.peaks if p.document in SHAPES]
    endless = [p for p in results.peaks if p.kind == ENDLESS]
    lines: list[str] = []
    if shapes:
        body = [
            [
                p.build,
                DOCUMENT_LABELS_SHAPES[p.document]
                + ("" if p.kind == STREAMSTRUCT else ": json.loads alone"),
                _mb(p.json_bytes),
                _mb(p.above_baseline),
                f"{p.ratio:.1f}x",
                f"{p.seconds:.1f} s",
            ]
            for p in shapes
        ]
        lines += ["", f"Depth: Partial[Holder] (data: Any), max_depth={SHAPE_MAX_DEPTH:,}"]
        header = ["build", "document", "JSON", "peak above baseline", "x output", "time"]
        lines += grid(header, body, left=2)
    if endless:
        body = [
            [
                p.build,
                f"{p.document}-char deltas",
                p.error,
                f"{p.json_bytes:,} chars",
                f"{p.seconds:.1f} s",
                _mb(p.above_baseline),
            ]
            for p in endless
        ]
        lines += ["", "An endless string, the client's defaults (time: CPU until cut off)"]
        header = ["build", "server sends", "cut off by", "text then", "CPU", "peak"]
        lines += grid(header, body, left=3)
    tools = [p for p in results.peaks if p.kind == TOOL_DELTAS and p.document == ROWS]
    if tools:
        body = [
            [
                tool.build,
                f"{tool.events:,} events",
                _mb(tool.body_bytes),
                _mb(tool.json_bytes),
                _mb(tool.above_baseline),
                f"{tool.above_baseline / tool.body_bytes:.2f}x",
                f"{tool.seconds:.1f} s",
            ]
            for tool in tools
        ]
        lines += ["", "One tool call (a Report) in 4-character deltas, Mode.TOOLS, smallest chunks"]
        header = ["build", "SSE", "body", "arguments", "peak above baseline", "x body", "time"]
        lines += grid(header, body, left=2)
    return lines


def _which_build() -> dict[str, Any]:
    """The build this child imported and the file of each core module (``builds.check_build``)."""
    import streamstruct  # (imported by the figures already)

    info = streamstruct.build_info()
    modules = (*info.compiled_modules, *info.pure_modules)
    files = {name: getattr(sys.modules.get(name), "__file__", "?") for name in modules}
    return {"build": info.build, "files": files}


def _child_figures(args: argparse.Namespace) -> dict[str, Any]:
    if args.child == ENDLESS:
        return _endless_child(args.piece_chars)
    if args.child == TOOL_DELTAS:
        return _tool_deltas_child(args.piece_chars, args.read_bytes)
    return _child(args.child, args.document, args.json_file, args.piece_chars, args.read_bytes)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.memory")
    parser.add_argument("--child", choices=(*KINDS, ENDLESS, TOOL_DELTAS), help=argparse.SUPPRESS)
    parser.add_argument(
        "--document", choices=(*DOCUMENTS, *SHAPES), default=ROWS, help=argparse.SUPPRESS
    )
    parser.add_argument("--json-file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, default=DEFAULT_SIZE, help="bytes of JSON")
    parser.add_argument("--piece-chars", type=int, default=PIECE_CHARS)
    parser.add_argument("--read-bytes", type=int, default=READ_BYTES)
    args = parser.parse_args(argv)
    if args.child and args.child not in (ENDLESS, TOOL_DELTAS) and args.json_file is None:
        parser.error("--child needs --json-file")
    if args.child:
        print(json.dumps({**_child_figures(args), **_which_build()}))
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
