"""What the streaming annotations cost per event: ``Atomic`` and ``NotNull`` against a plain model.

``python -m benchmarks.annotations`` (``--rows``, ``--piece``, ``--repeat``, ``--shape``). A
document fed in ``--piece``-character pieces to a parser and an assembler, sans-I/O, as the reader
feeds them: once for a plain model, once for the same model with annotations; the two alternate,
``--repeat`` times, and the figure is the median CPU time (``time.process_time``, the garbage
collector off while timed) per piece (per ``advance()``, an event of the stream) of each, their
ratio, and the median of the ratios of each pair of runs, measured in the same run. Issue 16 asks
for at most 1.05.

Shapes: ``table``, the Report of ``benchmarks.e2e`` (rows of id, name, email, score, tags) whose
rows wait for their ``name`` (``NotNull``) and whose ``email`` and tags are ``Atomic``: the worst
case, something withheld or released every few pieces; ``chat``, a conversation with an
``Atomic`` id and messages that wait for their ``role``: mostly text growing. Run it on the
compiled build too (``python hatch_build.py --inplace``; it says which build it ran).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Final

from pydantic import BaseModel

from benchmarks import e2e
from benchmarks._common import gc_off
from streamstruct import Atomic, JSONParser, NotNull, build_info
from streamstruct._model._assembler import AssemblerCore

__all__ = [
    "SHAPES",
    "AnnotatedChat",
    "AnnotatedReport",
    "AnnotationCost",
    "feed",
    "main",
    "measure",
]


class AnnotatedRow(BaseModel):
    id: int
    name: Annotated[str, NotNull]
    email: Annotated[str, Atomic]
    score: float
    tags: list[Annotated[str, Atomic]]


class AnnotatedReport(BaseModel):
    rows: list[AnnotatedRow]


class Message(BaseModel):
    role: str
    text: str


class Chat(BaseModel):
    id: str
    messages: list[Message]


class AnnotatedMessage(BaseModel):
    role: Annotated[str, NotNull]
    text: str


class AnnotatedChat(BaseModel):
    id: Annotated[str, Atomic]
    messages: list[AnnotatedMessage]


def chat_json(messages: int) -> str:
    """A conversation: ``messages`` messages of a few hundred characters each."""
    words = ("the", "fjord", "train", "leaves", "at", "nine", "and", "arrives", "late", "again")
    return e2e._dump(
        {
            "id": "chat-0042-7f3a9c2e",
            "messages": [
                {
                    "role": ("user", "assistant")[index % 2],
                    "text": " ".join(words[(index + k) % len(words)] for k in range(60)),
                }
                for index in range(messages)
            ],
        }
    )


@dataclass(frozen=True)
class AnnotationCost:
    shape: str  # "table" (benchmarks.e2e's Report) or "chat"
    rows: int
    pieces: int
    plain_us: float  # median microseconds per piece
    annotated_us: float
    build: str  # build_info().build: "compiled", "pure" or "mixed"
    paired_ratio: float = 0.0  # the median of annotated / plain over the pairs of runs

    @property
    def ratio(self) -> float:
        return self.annotated_us / self.plain_us


def feed(model: type[BaseModel], pieces: Sequence[str]) -> tuple[float, int]:
    """CPU seconds to feed ``pieces`` to a parser and an assembler of ``model``, and the
    events."""
    # The compiled core, as a stream's reader calls it (PartialAssembler, its public generic
    # class, adds one interpreted call per piece to both sides, which would dilute the ratio).
    assembler = AssemblerCore(model)
    parser = JSONParser(completion_depth=assembler.completion_depth)
    snapshots = 0
    with gc_off():
        start = time.process_time()
        for piece in pieces:
            parser.feed(piece)
            snapshots += len(assembler.advance(parser))
        assembler.finish(parser.close())
        return time.process_time() - start, snapshots


SHAPES: Final = {
    # Every row waits for its name and withholds its email and each tag while written: the
    # worst case, something withheld or released every few pieces.
    "table": (e2e.Report, AnnotatedReport, lambda size: e2e._dump(e2e.build_report(size))),
    # An atomic id, then messages shown once their role is known: mostly text growing.
    "chat": (Chat, AnnotatedChat, chat_json),
}


def measure(
    rows: int = 300, piece: int = 8, repeat: int = 7, shape: str = "table"
) -> AnnotationCost:
    """``rows``: the table's rows, or the chat's messages."""
    model, annotated_model, document = SHAPES[shape]
    text = document(rows)
    pieces = [text[i : i + piece] for i in range(0, len(text), piece)]
    plain: list[float] = []
    annotated: list[float] = []
    feed(model, pieces)  # warm up: partial classes, validators, caches
    feed(annotated_model, pieces)
    for _ in range(repeat):
        plain.append(feed(model, pieces)[0])
        annotated.append(feed(annotated_model, pieces)[0])
    per_piece = 1e6 / len(pieces)
    return AnnotationCost(
        shape=shape,
        rows=rows,
        pieces=len(pieces),
        plain_us=statistics.median(plain) * per_piece,
        annotated_us=statistics.median(annotated) * per_piece,
        build=build_info().build,
        paired_ratio=statistics.median(a / p for p, a in zip(plain, annotated, strict=True)),
    )


def main(argv: Sequence[str] | None = None) -> int:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--rows", type=int, default=300)
    options.add_argument("--piece", type=int, default=8)
    options.add_argument("--repeat", type=int, default=7)
    options.add_argument("--shape", action="append", choices=sorted(SHAPES))
    args = options.parse_args(argv)
    for shape in args.shape or list(SHAPES):
        cost = measure(args.rows, args.piece, args.repeat, shape)
        print(
            f"annotations, {shape}, {cost.build} build: {cost.rows} rows in {cost.pieces} "
            f"pieces of {args.piece} chars; median of {args.repeat}, us per piece"
        )
        print(f"  plain       {cost.plain_us:8.2f}")
        print(f"  annotated   {cost.annotated_us:8.2f}")
        print(f"  ratio       {cost.ratio:8.3f}  (target: at most 1.05)")
        print(f"  paired      {cost.paired_ratio:8.3f}  (the median of each pair's ratio)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
