"""Loading a benchmark script from its file, for the benchmark smoke tests.

Loaded from the file rather than imported, so that the tests work however pytest was started (the
project's root need not be on sys.path).
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@contextmanager
def loaded_harness(file: str, name: str) -> Iterator[ModuleType]:
    """``benchmarks/<file>`` as the module ``name``, registered while the block runs."""
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / file)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules[spec.name]
