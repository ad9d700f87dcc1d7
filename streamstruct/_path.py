"""``Path``: where a value sits in the JSON, as the public API reports it.

A module of its own because every layer speaks of paths (the parser's completed values, the
assembler's field events, the validation errors) and :mod:`._errors`, the lowest layer, needs it.
"""

from __future__ import annotations

from typing import TypeAlias

__all__ = ["Path"]

# A plain alias, standard library only: this module sits beside _errors, below the sans-I/O core.
Path: TypeAlias = tuple[str | int, ...]
"""Where a value sits in the JSON: the keys and indexes from the root, ``("rows", 3, "name")``.
What ``ResponseValidationError.path``, ``CompletedValue.path`` and the field events give."""
