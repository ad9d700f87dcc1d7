"""The Python source of a module that may be installed compiled, for tests that look inside it.

A mypyc-compiled class cannot be monkeypatched (its methods call each other directly), so a test
that spies on or replaces a method of the assembler runs against the source, loaded as a module of
its own beside the compiled one. Every other test runs against whatever is installed: CI runs the
suite once against the sources and once against the compiled build.

:func:`imported_modules` reads what a module imports from its source (the sans-I/O tests).
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import streamstruct


def python_source(name: str) -> ModuleType:
    """``streamstruct.<name>`` as Python source: the module itself when it is not compiled."""
    module = importlib.import_module(f"streamstruct.{name}")
    if (module.__file__ or "").endswith(".py"):
        return module
    source_name = f"streamstruct.{name}_source"
    loaded = sys.modules.get(source_name)
    if loaded is not None:
        return loaded
    source = Path(module.__file__ or "").with_name(f"{name}.py")
    spec = importlib.util.spec_from_file_location(source_name, source)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {source}")
    loaded = importlib.util.module_from_spec(spec)
    sys.modules[source_name] = loaded
    spec.loader.exec_module(loaded)
    return loaded


def imported_modules(name: str) -> set[str]:
    """The modules ``streamstruct/<name>.py`` imports, as written (``_wire`` for ``from ._wire``).

    Read from the source beside the package, so the answer is the same when the module is compiled.
    """
    source = Path(streamstruct.__file__ or "").with_name(f"{name}.py")
    tree = ast.parse(source.read_text(encoding="utf-8"))
    return {
        (node.module or "") if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
    }
