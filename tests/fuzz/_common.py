"""Shared by the atheris harnesses: split points from the fuzzer's bytes (``same()`` is in
``tests/shared_support.py``).

Not collected by pytest: no file here has the ``test_`` prefix, so pytest, which does look in
``tests/fuzz``, imports none of them (they need atheris, which only a fuzzing run installs).
"""

from __future__ import annotations

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
