"""Checked by mypy (tests/model/test_partial.py::test_partial_type_checks_as_the_model), not run.

``Partial[User]`` is ``User`` to a type checker: its fields are known, and a field it does not
have is an error — which the ``type: ignore`` below expects (``--strict`` reports an unneeded one).
"""

from __future__ import annotations

from pydantic import BaseModel
from typing_extensions import assert_type

from streamstruct import PartialAssembler
from streamstruct._model._partial import Partial, SnapshotEvent, progress


class User(BaseModel):
    name: str
    age: int


def show(partial: Partial[User]) -> str:
    assert_type(partial.name, str)
    assert_type(progress(partial).percent, int)
    return f"{partial.name} {partial.age}"


def misuse(partial: Partial[User]) -> object:
    return partial.nonexistent  # type: ignore[attr-defined]


def events(assembler: PartialAssembler[User]) -> list[User]:
    snapshot = assembler.snapshot
    result = [] if snapshot is None else [snapshot]
    for event in [SnapshotEvent(User(name="a", age=1))]:
        result.append(event.partial)
    return result
