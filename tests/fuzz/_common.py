"""Shared by the atheris harnesses: split points from the fuzzer's bytes, a typed equality.

Not collected by pytest (no ``test_`` prefix; ``tests/fuzz`` is also in ``norecursedirs``).
"""

from __future__ import annotations

import math
from typing import Any

import atheris


def pieces(fdp: atheris.FuzzedDataProvider, data: Any, max_pieces: int = 16) -> list[Any]:
    """``data`` (bytes or str) cut at points the fuzzer picks."""
    cuts = sorted(
        {fdp.ConsumeIntInRange(0, len(data)) for _ in range(fdp.ConsumeIntInRange(0, max_pieces))}
    )
    out, start = [], 0
    for cut in cuts:
        out.append(data[start:cut])
        start = cut
    out.append(data[start:])
    return out


def same(a: Any, b: Any) -> bool:
    """Equality that also compares types (1, 1.0 and True differ; so do -0.0 and 0.0)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, float):
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    return bool(a == b)
