"""The JSON parser's lexer: strings, escapes, numbers and literals, cut anywhere by a piece's end.

Core layer (standard library and ``_errors`` only). The parser (``_json.JSONParser``) keeps the
state stack and builds values; this module says what one token is. Every function takes the text of
the current piece and an index into it, and either gives the token's value and the index after it,
says that the end of the piece cut the token (``CUT``: the parser carries the rest over to the next
piece, a few characters), or raises ``LexError`` at the offending character. ``LexError`` holds an
offset into the piece only: the parser, which counts lines, turns it into a ``JSONParseError``.

The json module's C decoders do the heavy lifting where they can (``scanstring`` for string
content, ``SCAN_WHOLE`` for a whole container); the Python code here decides what they refuse.
"""

from __future__ import annotations

import json
import json.scanner
import re

# The json module's string decoder (written in C on CPython): exact for JSON strings, escapes
# and surrogates included, and far faster than stepping through escapes in Python.
from json.decoder import scanstring  # type: ignore[attr-defined]
from typing import Any, Final

from ._json_refusals import LexError, Refused

__all__ = [
    "CUT",
    "HEX_PREFIX",
    "HIGH_SURROGATES",
    "LITERALS",
    "MAX_NUMBER_LENGTH",
    "PLAIN_RUN",
    "SKIP_WHITESPACE",
    "WHITESPACE",
    "LexError",
    "decode_escape",
    "decode_whole",
    "describe",
    "lex_literal",
    "lex_number",
    "number_error",
    "scanstring",
]

WHITESPACE: Final = " \t\n\r"
SKIP_WHITESPACE: Final = re.compile(r"[ \t\n\r]*").match
# The characters a string may hold as they are: anything but '"', '\' and the C0 controls.
PLAIN_RUN: Final = re.compile(r'[^"\\\x00-\x1f]*').match
_NUMBER: Final = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?").match
# A valid beginning of a number that the end of a piece may have cut: '-', '1.', '1e', '1e+'.
_NUMBER_PREFIX: Final = re.compile(
    r"-|-?(?:0|[1-9][0-9]*)(?:\.|\.[0-9]+(?:[eE][-+]?[0-9]*)?|[eE][-+]?[0-9]*)?"
).fullmatch
_HEX4: Final = re.compile(r"[0-9a-fA-F]{4}").fullmatch
HEX_PREFIX: Final = re.compile(r"[0-9a-fA-F]{0,3}").fullmatch
_NUMBER_CHARS: Final = frozenset("0123456789+-.eE")
_SIMPLE_ESCAPES: Final = {
    '"': '"',
    "\\": "\\",
    "/": "/",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
}
LITERALS: Final = {"t": ("true", True), "f": ("false", False), "n": ("null", None)}

# A number is carried from one piece to the next while it may still grow. Re-examining it costs
# its length each time, so a hostile endless number would be quadratic: past this length it is
# refused. Python's own int() refuses more than 4,300 digits by default.
MAX_NUMBER_LENGTH: Final = 10_000

#: The end index a lexing function gives when the end of the piece cut its token.
CUT: Final = -1

# The range of high (leading) surrogates, built with chr(): the compiled build (mypyc) does not take
# surrogates in string literals.
HIGH_SURROGATES: Final = (chr(0xD800), chr(0xDBFF))


def describe(char: str) -> str:
    """A character as an error message names it."""
    if char.isprintable() and char != " ":
        return repr(char)
    return f"character U+{ord(char):04X}"


# -- strings -----------------------------------------------------------------------------------


def decode_escape(text: str, i: int, n: int) -> tuple[str | None, int]:
    """Decode the escape at ``text[i]`` (a backslash), the piece ending at ``n``.

    Returns the decoded text and the index after it, or ``(None, CUT)`` when the end of the piece
    cuts the escape (once checked to be a valid beginning, so that an error is still raised in the
    piece that brings it).
    """
    if i + 1 >= n:
        return None, CUT
    kind = text[i + 1]
    simple = _SIMPLE_ESCAPES.get(kind)
    if simple is not None:
        return simple, i + 2
    if kind != "u":
        raise LexError(
            f"invalid escape {describe(kind)}", i + 1, 'one of " \\ / b f n r t u after a backslash'
        )
    if i + 6 > n:
        if HEX_PREFIX(text, i + 2, n) is None:
            raise LexError("invalid \\u escape", _first_non_hex(text, i + 2, n), "a hex digit")
        return None, CUT
    if _HEX4(text, i + 2, i + 6) is None:
        raise LexError("invalid \\u escape", _first_non_hex(text, i + 2, i + 6), "a hex digit")
    code = int(text[i + 2 : i + 6], 16)
    if 0xD800 <= code <= 0xDBFF:
        # A high surrogate: a low one may follow as a second escape, making one character.
        # Hold it back until that is known, as a half pair is not a character to show.
        rest = text[i + 6 : i + 12]
        if len(rest) < 6 and "\\u".startswith(rest[:2]) and HEX_PREFIX(rest, 2) is not None:
            return None, CUT
        if rest[:2] == "\\u" and _HEX4(rest, 2) is not None:
            low = int(rest[2:], 16)
            if 0xDC00 <= low <= 0xDFFF:
                return chr(0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)), i + 12
    # Lone surrogates are kept as they are, as json.loads does.
    return chr(code), i + 6


def _first_non_hex(text: str, start: int, stop: int) -> int:
    for k in range(start, stop):
        if text[k] not in "0123456789abcdefABCDEF":
            return k
    return stop


# -- numbers and literals ------------------------------------------------------------------------


def lex_number(text: str, i: int, n: int) -> tuple[int | float | None, int]:
    """The number at ``text[i]`` (a '-' or a digit) and the index after it, or ``(None, CUT)``
    when it may go on in the next piece ('1.', '1e', '-', or digits up to the end)."""
    match = _NUMBER(text, i)
    end = match.end() if match is not None else i
    # Cut by the end of the piece: only a number character after the match can make it so (a
    # cheap test first).
    if end == n or (
        end + 2 >= n and text[end] in _NUMBER_CHARS and _NUMBER_PREFIX(text, i) is not None
    ):
        if n - i > MAX_NUMBER_LENGTH:
            raise _number_too_long(i)
        return None, CUT
    if match is None or text[end] in _NUMBER_CHARS:
        raise number_error(text, i, end)
    if end - i > MAX_NUMBER_LENGTH:  # the same verdict as when it is carried
        raise _number_too_long(i)
    if match.lastindex is not None:
        return float(text[i:end]), end
    try:
        return int(text[i:end]), end
    except ValueError:
        problem = LexError(f"integer too large ({end - i} digits)", i, "a smaller integer")
    raise problem  # (outside the except clause: no chained ValueError)


def _number_too_long(i: int) -> LexError:
    return LexError(f"number longer than {MAX_NUMBER_LENGTH} characters", i, "a shorter number")


def number_error(text: str, i: int, end: int) -> LexError:
    """Explain why the number at ``text[i]`` is invalid; ``end`` is where the valid part stops."""
    if end == i:  # a lone '-'
        return LexError("expected a digit after '-'", i + 1, "a digit")
    char = text[end]
    token = text[i:end]
    if char in "0123456789":
        return LexError("leading zeros are not allowed in a number", end, "',', ']' or '}'")
    if char == "." and "." not in token and "e" not in token.lower():
        return LexError("expected a digit after the decimal point", end + 1, "a digit")
    if char in "eE" and "e" not in token.lower():
        k = end + 1
        if k < len(text) and text[k] in "+-":
            k += 1
        return LexError("expected a digit in the exponent", k, "a digit")
    return LexError(f"unexpected {describe(char)} in a number", end, "',', ']' or '}'")


def lex_literal(text: str, i: int) -> tuple[bool | None, int]:
    """The literal (``true``, ``false``, ``null``) at ``text[i]`` and the index after it, or
    ``(None, CUT)`` when the piece ends with a beginning of it."""
    word, value = LITERALS[text[i]]
    size = len(word)
    if text.startswith(word, i):
        return value, i + size
    piece = text[i : i + size]
    for k, (got, want) in enumerate(zip(piece, word, strict=False)):
        if got != want:
            raise LexError(f"invalid literal (expected {word!r})", i + k, repr(want))
    return None, CUT


# -- whole containers --------------------------------------------------------------------------


def _refuse_constant(name: str) -> Any:
    raise Refused(name)  # NaN, Infinity, -Infinity


def _bounded_float(token: str) -> float:
    if len(token) > MAX_NUMBER_LENGTH:
        raise Refused(token[:20])
    return float(token)


def _bounded_int(token: str) -> int:
    if len(token) > MAX_NUMBER_LENGTH:
        raise Refused(token[:20])
    return int(token)


def _whole_value_scanner() -> Any:
    decoder = json.JSONDecoder(
        parse_float=_bounded_float, parse_int=_bounded_int, parse_constant=_refuse_constant
    )
    return json.scanner.make_scanner(decoder)  # type: ignore[arg-type]


# scan(text, index) -> (value, end): the json module's scanner (C on CPython), strict about
# control characters in strings, as JSON is.
_SCAN_WHOLE: Final = _whole_value_scanner()


def decode_whole(text: str, i: int) -> tuple[Any, int] | None:
    """The container at ``text[i]`` decoded by the json module's C decoder, if it is whole.

    The parser uses it only where nothing inside the container is to be reported on its own,
    once per piece at most (a failed try costs the rest of the piece, so the cost stays linear),
    and where the C decoder's own nesting limit (the recursion limit) is within its
    ``max_depth``. It gives exactly what the careful path gives: NaN and Infinity are refused, as
    are numbers longer than ``MAX_NUMBER_LENGTH`` and integers ``int()`` refuses. On any refusal
    (``None``) the careful path takes the container and says why.
    """
    try:
        return _SCAN_WHOLE(text, i)  # type: ignore[no-any-return]
    except (ValueError, StopIteration, RecursionError, Refused):
        return None
