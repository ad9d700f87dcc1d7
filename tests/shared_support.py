"""Helpers that many test files share: the `User` models, text cut into pieces, typed equality.

Imported by name from every test folder (``pythonpath = ["tests"]``). Every model here is named
``User`` for pydantic and for the client (its JSON schema title, the forced tool's name,
``Partial[User]``'s name), whatever name the tests import it under.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from itertools import pairwise
from typing import Any, TypeVar

from pydantic import BaseModel, Field

Text = TypeVar("Text", str, bytes)

# -- the models ---------------------------------------------------------------------------------


class User(BaseModel):
    name: str
    age: int


class _WithBio:
    # A namespace, so that the model below is called ``User`` too.
    class User(BaseModel):
        name: str
        age: int
        bio: str


class _WithCheckedAge:
    class User(BaseModel):
        name: str
        age: int = Field(ge=0)
        bio: str


UserWithBio = _WithBio.User
"""``User`` with a ``bio``: the long string field that the streaming tests watch grow."""

CheckedUser = _WithCheckedAge.User
"""``UserWithBio`` whose ``age`` must be >= 0: a value that can fail validation mid-stream."""


# -- text in pieces -----------------------------------------------------------------------------


def pieces(data: Text, size: int) -> list[Text]:
    """``data`` cut every ``size`` characters (or bytes); no piece for empty data."""
    return [data[i : i + size] for i in range(0, len(data), size)]


def chunks(text: str, split: int | str) -> list[str]:
    """``text`` cut every ``split`` characters, or at random points 1..10 apart (``"random-N"``)."""
    if isinstance(split, int):
        return pieces(text, split)
    rng = random.Random(split)
    out, at = [], 0
    while at < len(text):
        size = rng.randint(1, 10)
        out.append(text[at : at + size])
        at += size
    return out


def split_at(data: Text, points: Iterable[int]) -> list[Text]:
    """``data`` cut at the given points (in any order); a point given twice makes an empty piece."""
    bounds = [0, *sorted(points), len(data)]
    return [data[a:b] for a, b in pairwise(bounds)]


# -- values -------------------------------------------------------------------------------------


def same(a: Any, b: Any) -> bool:
    """Equality that also compares types: ``1``, ``1.0`` and ``True`` differ, so do -0.0 and 0.0,
    and NaN is the same as NaN; dicts must list their keys in the same order.

    Iterative, not recursive: the JSON test suite nests 500 deep.
    """
    stack = [(a, b)]
    while stack:
        x, y = stack.pop()
        if type(x) is not type(y):
            return False
        if isinstance(x, (list, tuple)):
            if len(x) != len(y):
                return False
            stack.extend(zip(x, y, strict=True))
        elif isinstance(x, dict):
            if list(x) != list(y):
                return False
            stack.extend((x[key], y[key]) for key in x)
        elif isinstance(x, float):
            if not _same_float(x, y):
                return False
        elif not bool(x == y):
            return False
    return True


def _same_float(x: float, y: float) -> bool:
    if math.isnan(x) or math.isnan(y):
        return math.isnan(x) and math.isnan(y)
    return x == y and math.copysign(1, x) == math.copysign(1, y)
