"""What the JSON lexer raises for what it refuses: exceptions that stay interpreted.

Core layer (standard library and ``_errors`` only). The lexer (``_json_lexer``) and the parser
that catches these are compiled in a release wheel; these classes are not, on purpose. mypyc
compiles a subclass of a built-in exception with a weak-reference slot its deallocator never
clears (mypyc/mypyc#1102, mypy 2.4.1): a weak reference to one, made by anything that looks at
exceptions, would outlive it and crash the interpreter when read or dropped. They are raised
only when the text is refused, so being interpreted costs nothing per event.
"""

from __future__ import annotations

from .._errors import JSONParseError

__all__ = ["LexError", "Refused"]


class LexError(Exception):
    """What JSON refuses at ``offset`` in the piece being lexed, and what was expected there."""

    def __init__(
        self,
        reason: str,
        offset: int,
        expected: str,
        error_class: type[JSONParseError] = JSONParseError,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.offset = offset
        self.expected = expected
        self.error_class = error_class


class Refused(Exception):
    """Raised inside the C decoder's hooks for what strict JSON or this parser refuses."""
