"""``streamstruct.build_info()`` and ``python -m streamstruct --version`` say which build runs.

The suite runs against both builds (CI runs it again on the compiled modules), so each test
checks the answer against the files actually imported, never against a fixed build.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

import streamstruct
from streamstruct import _build

ROOT = Path(__file__).resolve().parents[2]


def _imported_compiled(name: str) -> bool:
    path = importlib.import_module(name).__file__ or ""
    return path.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES))


def test_the_core_modules_are_the_ones_the_build_hook_compiles() -> None:
    spec = importlib.util.spec_from_file_location("_hook_for_build_info", ROOT / "hatch_build.py")
    assert spec is not None
    assert spec.loader is not None
    hook = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hook)
    compiled = tuple(".".join(Path(path).with_suffix("").parts) for path in hook.COMPILED_MODULES)
    assert compiled == _build.CORE_MODULES


def test_build_info_says_what_was_imported() -> None:
    info = streamstruct.build_info()
    assert info.version == streamstruct.__version__
    assert set(info.compiled_modules) | set(info.pure_modules) == set(_build.CORE_MODULES)
    assert not set(info.compiled_modules) & set(info.pure_modules)
    for name in _build.CORE_MODULES:
        assert (name in info.compiled_modules) == _imported_compiled(name)
    assert info.build == (
        "compiled" if not info.pure_modules else "pure" if not info.compiled_modules else "mixed"
    )
    assert info.python.startswith(("CPython ", "PyPy "))


@pytest.mark.parametrize(
    ("compiled", "build", "words"),
    [
        (set(), "pure", "pure Python"),
        (set(_build.CORE_MODULES), "compiled", "compiled: 20 of 20 modules mypyc"),
        ({"streamstruct._core._json"}, "mixed", "mixed: 1 of 20 modules mypyc"),
    ],
)
def test_each_build_is_named(
    monkeypatch: pytest.MonkeyPatch, compiled: set[str], build: str, words: str
) -> None:
    monkeypatch.setattr(_build, "_is_compiled", lambda name: name in compiled)
    info = streamstruct.build_info()
    assert info.build == build
    assert info.compiled_modules == tuple(n for n in _build.CORE_MODULES if n in compiled)
    assert str(info) == f"streamstruct {streamstruct.__version__} ({words}; {info.python})"


def test_the_command_line_says_the_version_and_the_build() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "streamstruct", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == str(streamstruct.build_info())
    assert streamstruct.__version__ in done.stdout
