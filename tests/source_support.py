"""The Python source of a module that may be installed compiled, for tests that look inside it.

A mypyc-compiled class cannot be monkeypatched (its methods call each other directly), so a test
that spies on or replaces a method of the assembler runs against the source, loaded as a module of
its own beside the compiled one. Every other test runs against whatever is installed: CI runs the
suite once against the sources and once against the compiled build.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType


def python_source(name: str) -> ModuleType:
    """``streamstruct.<name>`` (``"_core._json"``) as Python source: the module itself when it is
    not compiled."""
    module = importlib.import_module(f"streamstruct.{name}")
    if (module.__file__ or "").endswith(".py"):
        return module
    source_name = f"streamstruct.{name}_source"
    loaded = sys.modules.get(source_name)
    if loaded is not None:
        return loaded
    # From the package, not module.__file__: mypyc gives a module of a group imported by another
    # of the group a wrong one (the shared library's folder + the whole dotted name).
    package = Path(importlib.import_module("streamstruct").__file__ or "").parent
    source = package.joinpath(*name.split(".")).with_suffix(".py")
    spec = importlib.util.spec_from_file_location(source_name, source)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {source}")
    loaded = importlib.util.module_from_spec(spec)
    sys.modules[source_name] = loaded
    spec.loader.exec_module(loaded)
    return loaded
