"""The JSON parser's options that are more than a number: the cap on strings, and its shortcuts.

Core layer (standard library only).
"""

from __future__ import annotations

from typing import Final, NamedTuple

__all__ = ["DEFAULT_MAX_STRING_CHARS", "Shortcuts"]

DEFAULT_MAX_STRING_CHARS: Final = 8 * 1024 * 1024
"""The default cap on one string (value or key): past it, ``JSONStringTooLongError``. Far above
any real field (a 100,000-token answer is ~400,000 characters), it stops a server that streams one
string forever before it costs much time or memory."""


class Shortcuts(NamedTuple):
    """The parser's shortcuts: each gives exactly what the careful path gives, only faster.

    All are on by default. Switching one off (``JSONParser(shortcuts=Shortcuts(c_strings=False))``)
    is for tests, which compare each shortcut with the careful path, and for benchmarks.
    """

    #: ``feed``: a piece inside a string holding no quote, backslash or control character is
    #: appended as it is, without entering the state machine.
    plain_pieces: bool = True
    #: ``feed``: a piece inside a string holding escapes but no closing quote is decoded by the
    #: json module's C string decoder, without entering the state machine.
    escaped_runs: bool = True
    #: A string whose closing quote is in the piece (or the rest of an open string with escapes)
    #: is decoded by the json module's C string decoder in one call.
    c_strings: bool = True
    #: A container none of whose members is reported (below ``completion_depth``) and that is
    #: whole in the piece is decoded by the json module's C decoder in one call.
    whole_containers: bool = True
    #: A snapshot's list that nothing else holds any more (its reference count says so) is
    #: brought up to date for the next snapshot instead of copied (see ``_array_copy``).
    recycled_lists: bool = True
    #: An array of one member is remade at its size when it closes (see ``ValueBuilder._close``):
    #: memory, not speed.
    sized_lists: bool = True
