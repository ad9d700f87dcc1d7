"""Which build of streamstruct this is: the per-event core compiled with mypyc, or pure Python.

The same sources run either way (hatch_build.py compiles them into a release's wheel); the
compiled build costs about a third less CPU per event end to end (docs/benchmarks.md). A user
who installed from source, or on a platform without a compiled wheel, runs pure Python, and
:func:`build_info` (or ``python -m streamstruct --version``) says so.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import platform
from dataclasses import dataclass
from typing import Literal, final

__all__ = ["CORE_MODULES", "BuildInfo", "build_info"]

#: the modules a compiled build compiles: ``hatch_build.COMPILED_MODULES`` (a test checks they agree)
CORE_MODULES = (
    "streamstruct._core._json",
    "streamstruct._core._json_builder",
    "streamstruct._core._json_lexer",
    "streamstruct._core._json_string",
    "streamstruct._core._json_containers",
    "streamstruct._model._assembler",
    "streamstruct._model._memo",
    "streamstruct._model._fields",
    "streamstruct._model._nodes",
    "streamstruct._model._schema_facts",
    "streamstruct._model._level_builder",
    "streamstruct._model._text_progress",
    "streamstruct._model._withheld",
    "streamstruct._model._withholding",
    "streamstruct._core._recycle",
    "streamstruct._core._sse",
    "streamstruct._core._wire",
    "streamstruct._core._wire_responses",
    "streamstruct._core._wire_anthropic",
    "streamstruct._core._envelope",
    "streamstruct._core._updates",
    "streamstruct._core._text",
    "streamstruct._response._reader",
    "streamstruct._response._partial_reader",
    "streamstruct._core._decoding",
)


@final
@dataclass(frozen=True, slots=True)
class BuildInfo:
    """What :func:`build_info` says about the running streamstruct.

    ``build`` is ``"compiled"`` when every module of the per-event core is a compiled extension,
    ``"pure"`` when none is, and ``"mixed"`` otherwise (a checkout with some stale extensions: not
    a build anyone ships).
    """

    version: str
    build: Literal["compiled", "pure", "mixed"]
    compiled_modules: tuple[str, ...]
    pure_modules: tuple[str, ...]
    python: str

    def __str__(self) -> str:
        if self.build == "pure":
            how = "pure Python"
        else:
            how = f"{self.build}: {len(self.compiled_modules)} of {len(CORE_MODULES)} modules mypyc"
        return f"streamstruct {self.version} ({how}; {self.python})"


def _is_compiled(name: str) -> bool:
    path = getattr(importlib.import_module(name), "__file__", None) or ""
    return path.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES))


def build_info() -> BuildInfo:
    """Which build runs: compiled or pure Python, and which modules of the core are compiled."""
    from . import __version__

    compiled = tuple(name for name in CORE_MODULES if _is_compiled(name))
    pure = tuple(name for name in CORE_MODULES if name not in compiled)
    build: Literal["compiled", "pure", "mixed"] = (
        "compiled" if not pure else "pure" if not compiled else "mixed"
    )
    python = f"{platform.python_implementation()} {platform.python_version()}"
    return BuildInfo(__version__, build, compiled, pure, python)
