"""A tiny regex sampler for the value generator: a string that a (simple) pattern matches.

It walks the pattern as :mod:`re`'s own parser reads it; look-arounds and back-references are
out of its reach (the generator then raises :class:`_Unsatisfiable` for that branch).
"""

from __future__ import annotations

import random
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

__all__ = ["_RegexSampler", "_Unsatisfiable"]


class _Unsatisfiable(ValueError):
    """A sub-schema this generator cannot satisfy; the caller may try another branch."""


if sys.version_info >= (3, 11):
    import re._constants as _sre_constants
    import re._parser as _sre_parse
else:  # pragma: no cover - Python 3.10
    import sre_constants as _sre_constants
    import sre_parse as _sre_parse

_ALPHABET: Final = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -_.@"
_CATEGORY_CHARS: Final[Mapping[str, str]] = {
    "CATEGORY_DIGIT": "0123456789",
    "CATEGORY_NOT_DIGIT": "abcdefghij",
    "CATEGORY_WORD": "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_",
    "CATEGORY_NOT_WORD": " -.@",
    "CATEGORY_SPACE": " ",
    "CATEGORY_NOT_SPACE": "abcdefghij0123456789",
}


class _RegexSampler:
    """Walk Python's own parse of a pattern and emit one matching string.

    Literals, classes, categories, repeats, groups, alternation and group references are
    supported; look-arounds are not (the caller verifies the result with ``re.search``).
    """

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._groups: dict[int, str] = {}

    def sample(self, pattern: str) -> str:
        return self._emit(_sre_parse.parse(pattern))

    def _emit(self, parsed: Any) -> str:
        return "".join(self._node(op, arg) for op, arg in parsed)

    def _node(self, op: Any, arg: Any) -> str:
        name = op.name
        handler: Callable[[Any], str] | None = getattr(self, f"_op_{name.lower()}", None)
        if handler is None:
            raise _Unsatisfiable(f"unsupported regex construct {name}")
        return handler(arg)

    def _op_literal(self, arg: int) -> str:
        return chr(arg)

    def _op_not_literal(self, arg: int) -> str:
        return next(c for c in _ALPHABET if ord(c) != arg)

    def _op_any(self, _arg: object) -> str:
        return self._rng.choice("abcdefghij")

    def _op_at(self, _arg: object) -> str:
        return ""  # anchors constrain position, not content

    def _op_category(self, arg: Any) -> str:
        return self._rng.choice(_CATEGORY_CHARS.get(arg.name, "a"))

    def _op_in(self, arg: Sequence[tuple[Any, Any]]) -> str:
        allowed: list[str] = []
        negate = False
        for op, value in arg:
            kind = op.name
            if kind == "NEGATE":
                negate = True
            elif kind == "LITERAL":
                allowed.append(chr(value))
            elif kind == "RANGE":
                low, high = value
                allowed.extend(chr(c) for c in range(low, min(high, low + 200) + 1))
            elif kind == "CATEGORY":
                allowed.extend(_CATEGORY_CHARS.get(value.name, ""))
            else:
                raise _Unsatisfiable(f"unsupported character-class item {kind}")
        if negate:
            allowed = [c for c in _ALPHABET if c not in allowed]
        if not allowed:
            raise _Unsatisfiable("empty character class")
        return self._rng.choice(allowed)

    def _op_max_repeat(self, arg: tuple[int, int, Any]) -> str:
        low, high, sub = arg
        high = low + 3 if high == _sre_constants.MAXREPEAT else min(high, low + 3)
        return "".join(self._emit(sub) for _ in range(self._rng.randint(low, high)))

    _op_min_repeat = _op_max_repeat
    _op_possessive_repeat = _op_max_repeat

    def _op_subpattern(self, arg: tuple[Any, ...]) -> str:
        group, sub = arg[0], arg[-1]
        text = self._emit(sub)
        if group is not None:
            self._groups[group] = text
        return text

    def _op_atomic_group(self, arg: Any) -> str:
        return self._emit(arg)

    def _op_branch(self, arg: tuple[Any, Sequence[Any]]) -> str:
        return self._emit(self._rng.choice(list(arg[1])))

    def _op_groupref(self, arg: int) -> str:
        return self._groups.get(arg, "")
