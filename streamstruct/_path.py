"""``Path``: where a value sits in the JSON, as the public API reports it.

A module of its own because every layer speaks of paths (the parser's completed values, the
assembler's field events, the validation errors) and :mod:`._errors`, the lowest layer, needs it.
"""

from __future__ import annotations

from typing_extensions import TypeAliasType

__all__ = ["Path"]

# A TypeAliasType, so that the public name belongs to streamstruct and reads as Path in
# documentation (a plain alias of tuple[...] reports the module "builtins").
Path = TypeAliasType("Path", tuple[str | int, ...])
"""Where a value sits in the JSON: the keys and indexes from the root, ``("rows", 3, "name")``.
What ``ResponseValidationError.path``, ``CompletedValue.path`` and the field events give."""
