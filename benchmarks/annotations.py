"""What the streaming annotations cost per event: ``Atomic`` and ``NotNull`` against a plain model.

``python -m benchmarks.annotations`` (``--rows``, ``--piece``, ``--repeat``). The Report of
``benchmarks.e2e`` (rows of id, name, email, score, tags), fed in ``--piece``-character pieces to a
parser and an assembler, sans-I/O, as the reader feeds them: once for the plain ``Report``, once
for ``AnnotatedReport``, the same JSON whose rows wait for their ``name`` (``NotNull``) and whose
``email`` and tags are ``Atomic``. The two alternate, ``--repeat`` times; the figure is the median
time per piece (per ``advance()``, an event of the stream) of each, and their ratio, measured in
the same run. Issue 16 asks for at most 1.05. Run it on the compiled build too
(``python hatch_build.py --inplace``; the module says which it ran).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated

from pydantic import BaseModel

from benchmarks import e2e
from streamstruct import Atomic, JSONParser, NotNull, PartialAssembler, build_info

__all__ = ["AnnotatedReport", "AnnotationCost", "feed", "main", "measure"]


class AnnotatedRow(BaseModel):
    id: int
    name: Annotated[str, NotNull]
    email: Annotated[str, Atomic]
    score: float
    tags: list[Annotated[str, Atomic]]


class AnnotatedReport(BaseModel):
    rows: list[AnnotatedRow]


@dataclass(frozen=True)
class AnnotationCost:
    rows: int
    pieces: int
    plain_us: float  # median microseconds per piece
    annotated_us: float
    build: str  # build_info().build: "compiled", "pure" or "mixed"

    @property
    def ratio(self) -> float:
        return self.annotated_us / self.plain_us


def feed(model: type[BaseModel], pieces: Sequence[str]) -> tuple[float, int]:
    """Seconds to feed ``pieces`` to a parser and an assembler of ``model``, and the snapshots."""
    assembler = PartialAssembler(model)
    parser = JSONParser(completion_depth=assembler.completion_depth)
    snapshots = 0
    start = time.perf_counter()
    for piece in pieces:
        parser.feed(piece)
        snapshots += len(assembler.advance(parser))
    assembler.finish(parser.close())
    return time.perf_counter() - start, snapshots


def measure(rows: int = 300, piece: int = 8, repeat: int = 7) -> AnnotationCost:
    text = e2e._dump(e2e.build_report(rows))
    pieces = [text[i : i + piece] for i in range(0, len(text), piece)]
    plain: list[float] = []
    annotated: list[float] = []
    feed(e2e.Report, pieces)  # warm up: partial classes, validators, caches
    feed(AnnotatedReport, pieces)
    for _ in range(repeat):
        plain.append(feed(e2e.Report, pieces)[0])
        annotated.append(feed(AnnotatedReport, pieces)[0])
    per_piece = 1e6 / len(pieces)
    return AnnotationCost(
        rows=rows,
        pieces=len(pieces),
        plain_us=statistics.median(plain) * per_piece,
        annotated_us=statistics.median(annotated) * per_piece,
        build=build_info().build,
    )


def main(argv: Sequence[str] | None = None) -> int:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--rows", type=int, default=300)
    options.add_argument("--piece", type=int, default=8)
    options.add_argument("--repeat", type=int, default=7)
    args = options.parse_args(argv)
    cost = measure(args.rows, args.piece, args.repeat)
    print(f"annotations, {cost.build} build: {cost.rows} rows in {cost.pieces} pieces of {args.piece} chars")
    print(f"  plain Report      {cost.plain_us:8.2f} us per piece (median of {args.repeat})")
    print(f"  AnnotatedReport   {cost.annotated_us:8.2f} us per piece")
    print(f"  ratio             {cost.ratio:8.3f}  (target: at most 1.05)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
