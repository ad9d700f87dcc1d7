"""What the suite's sections share: a figure type, the progress line, tables, optional imports.

Nothing here measures anything; the sections (``parser_alternatives``, ``e2e_alternatives``,
``concurrency``, ``memory``) do, and ``suite`` runs them in order.
"""

from __future__ import annotations

import gc
import importlib
import importlib.metadata
import importlib.util
import math
import shutil
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Final, TextIO, cast

if TYPE_CHECKING:
    from streamstruct._core._json import JSONParser

__all__ = [
    "KB",
    "MB",
    "Figure",
    "MeasuredTarget",
    "Progress",
    "Target",
    "gc_off",
    "grid",
    "installed",
    "optional",
    "parser_build",
    "pure_python_parser",
    "seconds_label",
    "size_label",
    "targets_json",
    "targets_table",
    "version",
]

KB: Final = 1_000
MB: Final = 1_000_000


def optional(name: str) -> ModuleType | None:
    """The module, or None when it is not installed (the ``bench`` extra brings the heavy ones).

    Imported on first use, not with the section, so that a child process that does not need it
    (the memory figures, the concurrency server) does not pay for importing instructor.
    """
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def installed(name: str) -> bool:
    """Whether ``name`` can be imported, without importing it."""
    return importlib.util.find_spec(name) is not None


def version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def parser_build() -> str:
    """Which build of the per-event core (the SSE decoder, chunk decoding, the reader, the JSON
    parser and the ``Partial`` assembler) this interpreter imports: the mypyc build or the Python
    source. (They come together, as hatch_build.py builds them.)"""
    import streamstruct._model._assembler

    return (
        "pure Python"
        if (streamstruct._model._assembler.__file__ or "").endswith(".py")
        else ("compiled (mypyc)")
    )


def pure_python_parser() -> type[JSONParser]:
    """``JSONParser`` from the Python source, even where the compiled build is installed.

    The sources are loaded as modules of their own (in ``streamstruct._pure_core``), so the two can
    be measured side by side; its errors are the package's own classes.
    """
    import streamstruct._core._json

    if streamstruct._core._json.__file__.endswith(".py"):
        return streamstruct._core._json.JSONParser
    # The parser is several modules, and its JSONParser subclasses the builder of another (which
    # a compiled class refuses to an interpreted one): all of them are loaded from their source,
    # in a package of their own beside ``_core`` (``streamstruct._pure_core``), so that their
    # ``from .._errors import ...`` still finds the package's own errors.
    package = sys.modules.get(_PURE_PARSER_PACKAGE)
    if package is None:
        package = ModuleType(_PURE_PARSER_PACKAGE)
        package.__path__ = []
        sys.modules[_PURE_PARSER_PACKAGE] = package
        folder = Path(streamstruct._core._json.__file__).parent
        for name in _PARSER_MODULES:
            full_name = f"{_PURE_PARSER_PACKAGE}.{name}"
            spec = importlib.util.spec_from_file_location(full_name, folder / f"{name}.py")
            if spec is None or spec.loader is None:
                raise ImportError(f"cannot load {folder / name}.py")
            module = importlib.util.module_from_spec(spec)
            sys.modules[full_name] = module
            spec.loader.exec_module(module)
            setattr(package, name, module)
    parser_class: type[JSONParser] = package._json.JSONParser
    return parser_class


_PURE_PARSER_PACKAGE: Final = "streamstruct._pure_core"
# The parser's modules, each after those it imports.
_PARSER_MODULES: Final = (
    "_recycle",
    "_json_refusals",
    "_json_lexer",
    "_json_string",
    "_json_containers",
    "_json_options",
    "_json_builder",
    "_json",
)


@contextmanager
def gc_off() -> Iterator[None]:
    """The garbage collector off (after a collection) while timing; back as it was after."""
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@dataclass
class Figure:
    """One method on one input: ``seconds`` is the median total (None: not measured, see ``note``).

    ``extrapolated`` says how the figure was projected when it was not measured in full.
    """

    seconds: float | None
    runs: int = 0
    snapshots: int | None = None
    extrapolated: str | None = None
    note: str = ""


@dataclass
class Target:
    """One of the issue's targets, checked against this run's figures."""

    what: str
    limit: str
    measured: str
    passed: bool | None  # None: not measured in this run

    @property
    def verdict(self) -> str:
        return "n/a" if self.passed is None else ("PASS" if self.passed else "FAIL")

    @classmethod
    def ratio(
        cls,
        what: str,
        ratio: float | None,
        *,
        at_most: float | None = None,
        at_least: float | None = None,
        shown: str = "{:.2f}x",
        mark: str = "",
    ) -> Target:
        """A target on a ratio: ``ratio <= at_most`` or ``ratio >= at_least`` (None: not measured)."""
        if (at_most is None) == (at_least is None):
            raise ValueError("give exactly one of at_most and at_least")
        limit = f"<= {at_most:g}x" if at_most is not None else f">= {at_least:g}x"
        if ratio is None:
            return cls(what, limit, "n/a", None)
        passed = ratio <= at_most if at_most is not None else ratio >= cast(float, at_least)
        return cls(what, limit, mark + shown.format(ratio), passed)


@dataclass
class MeasuredTarget:
    """A target checked against one number (``benchmarks.parser``, ``benchmarks.e2e``)."""

    what: str
    limit: str
    measured: float | None
    passed: bool | None  # None: not measured in this run
    extrapolated: bool = False  # the number is a fit's projection, not a measurement

    @property
    def verdict(self) -> str:
        return "n/a" if self.passed is None else ("PASS" if self.passed else "FAIL")

    def label(self, unit: str = "") -> str:
        if self.measured is None:
            return "n/a"
        return f"{'*' if self.extrapolated else ''}{self.measured:,.1f}{unit}"


def targets_table(checks: Sequence[MeasuredTarget], unit: str = "") -> list[str]:
    """The targets as the table under a benchmark's output (``unit`` after each number)."""
    return grid(
        ["target", "limit", "measured", "verdict"],
        [[check.what, check.limit, check.label(unit), check.verdict] for check in checks],
        left=2,
    )


def targets_json(checks: Sequence[MeasuredTarget]) -> list[dict[str, Any]]:
    return [{**asdict(check), "verdict": check.verdict} for check in checks]


def size_label(size: int) -> str:
    if size >= MB and size % MB == 0:
        return f"{size // MB} MB"
    if size >= KB and size % KB == 0:
        return f"{size // KB} KB"
    return f"{size} B"


def seconds_label(seconds: float) -> str:
    if seconds >= 100:
        return f"{seconds:,.0f} s"
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds * 1e6:.0f} us"


def grid(
    header: Sequence[str], body: Sequence[Sequence[str]], left: int = 1, *, markdown: bool = False
) -> list[str]:
    """Columns padded to width: the first ``left`` left-aligned, the rest right-aligned.

    ``markdown``: a Markdown table (for the README and docs/benchmarks.md), aligned the same way.
    """
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]

    def render(line: Sequence[str]) -> str:
        cells = [
            cell.ljust(width) if i < left else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(line, widths, strict=True))
        ]
        return f"| {' | '.join(cells)} |" if markdown else " | ".join(cells).rstrip()

    if markdown:
        marks = ["-" * (w + 2) if i < left else "-" * (w + 1) + ":" for i, w in enumerate(widths)]
        rule = f"|{'|'.join(marks)}|"
    else:
        rule = "-+-".join("-" * width for width in widths)
    return [render(header), rule, *(render(line) for line in body)]


class Progress:
    """A progress bar on one stderr line, redrawn in place (``\\r``); plain lines when not a tty.

    ``total`` steps are planned up front; ``step(label)`` starts the next one, ``note(text)``
    prints a line above the bar (a skipped method, a projection) without breaking it.
    """

    def __init__(self, total: int, *, stream: TextIO | None = None, enabled: bool = True) -> None:
        self.total = max(1, total)
        self.done = 0
        self._stream = sys.stderr if stream is None else stream
        self._enabled = enabled
        self._tty = self._stream.isatty()
        self._start = time.perf_counter()
        self._label = ""

    def step(self, label: str) -> None:
        if self._label:
            self.done = min(self.total, self.done + 1)
        self._label = label
        self._draw()

    def note(self, text: str) -> None:
        if not self._enabled:
            return
        if self._tty:
            self._stream.write("\r\x1b[2K")
        self._stream.write(f"  {text}\n")
        self._draw()

    def finish(self) -> None:
        if self._label:
            self.done = min(self.total, self.done + 1)
        self._label = "done"
        self._draw()
        if self._enabled and self._tty:
            self._stream.write("\n")
            self._stream.flush()

    def _draw(self) -> None:
        if not self._enabled:
            return
        elapsed = time.perf_counter() - self._start
        minutes, secs = divmod(int(elapsed), 60)
        width = 24
        filled = math.floor(width * self.done / self.total)
        bar = "#" * filled + "-" * (width - filled)
        line = f"[{bar}] {self.done}/{self.total} {minutes}:{secs:02d} {self._label}"
        if self._tty:
            columns = shutil.get_terminal_size((100, 20)).columns
            self._stream.write("\r\x1b[2K" + line[: columns - 1])
        else:
            self._stream.write(line + "\n")
        self._stream.flush()
