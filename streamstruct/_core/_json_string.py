"""The string the JSON parser is inside: its lexer, its text so far, and how often a snapshot shows it.

Core layer (standard library and ``_errors`` only). ``StringLexer.take`` takes a string's content
from a piece up to its closing quote, escapes included, however the pieces cut it (a cut escape is
carried over to the next piece). A snapshot of an open string is a new ``str`` of its whole
length, so showing a string after every piece costs its length each time: quadratic in the
string. Up to LONG_STRING_CHARS every piece is shown; past it, the string is shown again once it
has grown by 1/LONG_STRING_GROWTH of its length, so the copies add up to about
LONG_STRING_GROWTH + 1 times the string (amortised linear). A 1 MB string is then shown about
every 32 KB; the text between is given by ``tail``, which a consumer that appends text reads as it
comes.

The parser appends to ``parts`` and adds to ``length`` itself on its hottest path (a piece of
plain prose inside a string), and empties them itself when the string closes, to save a call per
piece and per string. Whether the open string shows more than the last snapshot did is
``length >= show_at``, which the parser asks once per piece.
"""

from __future__ import annotations

import sys
from typing import Final, final

from ._json_lexer import (
    CUT,
    HEX_PREFIX,
    HIGH_SURROGATES,
    PLAIN_RUN,
    LexError,
    decode_escape,
    describe,
    scanstring,
)

__all__ = ["LONG_STRING_CHARS", "LONG_STRING_GROWTH", "StringLexer"]

LONG_STRING_CHARS: Final = 8192
LONG_STRING_GROWTH: Final = 32


@final
class StringLexer:
    """The open string (value or key): its content lexed from the pieces, its text so far and the
    prefix a snapshot shows of it."""

    __slots__ = ("carry", "failed_in", "length", "parts", "scan_ok", "show_at", "shown", "start")

    def __init__(self, scan_ok: bool = False) -> None:
        # An escape cut by the end of the piece that ``take`` was given (the parser carries it).
        self.carry = ""
        # Whether the json module's C string decoder may be tried (the parser's c_strings
        # shortcut), and the piece in which it last failed: a failed try costs the rest of the
        # piece, so it is not tried again in that piece, which keeps the cost linear (the same
        # ``str`` fed again only takes the careful way). The piece is recognised by identity: with
        # a flag set anew for every piece (and the parser's for whole containers), B and C of the
        # parser benchmark fed in 4-character pieces took 1.02x the time (100 KB, pure, medians
        # of paired CPU-time ratios).
        self.scan_ok = scan_ok
        self.failed_in: str | None = None
        self.start = 0  # the offset of its opening quote
        self.parts: list[str] = []
        self.length = 0
        self.shown = ""  # what a snapshot shows of it (a prefix)
        self.show_at = 0  # the length at which a snapshot shows it again

    def begin(self, offset: int, is_value: bool = True) -> None:
        """A string opens at ``offset``, its opening quote: a value's, or (``is_value`` false) a
        key's, which a snapshot never shows."""
        self.start = offset
        self.parts = []
        self.length = 0
        self.shown = ""
        # A value is shown at once (empty), then after every piece until it is long; a key never
        # (so ``length >= show_at`` alone says whether the open string shows more).
        self.show_at = 0 if is_value else sys.maxsize

    def take_escaped_run(self, text: str) -> int:
        """Take string content holding escapes, from ``text[0]`` (not inside an escape), decoded by
        the json module's C string decoder: where it stops (the end of the piece, or the start of
        an escape the end of the piece cuts, once checked to be a valid beginning).

        ``CUT``, having taken nothing, when the piece closes the string, holds something invalid
        or ends with a high surrogate (which waits for its low half): the parser's careful path
        decides those and says what is wrong.

        It takes the text itself and gives an int: as a function giving the text and the index
        (``tuple[str, int] | None``), compiled, a tuple was built and taken apart for every piece
        with an escape, and prose with escapes fed in 4-character pieces (A of the parser
        benchmark, 100 KB) took 1.04x the time (a string of escapes only, 1.08x), medians of
        paired CPU-time ratios.
        """
        n = len(text)
        end = n
        k = text.rfind("\\")
        if k + 6 > n:
            # The last backslash starts an escape unless it ends a run of an even length (\\).
            first = k
            while first > 0 and text[first - 1] == "\\":
                first -= 1
            if (k - first) % 2 == 0 and (k + 2 > n or text[k + 1] == "u"):
                if k + 2 <= n and HEX_PREFIX(text, k + 2, n) is None:
                    return CUT  # not a valid beginning of an escape: the careful path says why
                end = k
        run: str
        try:
            run, j = scanstring(text[:end] + '"', 0, True)
        except ValueError:
            return CUT
        if j <= end or (run and HIGH_SURROGATES[0] <= run[-1] <= HIGH_SURROGATES[1]):
            return CUT
        if run:
            self.parts.append(run)
            self.length += len(run)
        return end

    def take(self, text: str, i: int, is_value: bool) -> int:
        """Take the string's content from ``text[i]``: the index after its closing quote, or -1
        when the piece ends first (an escape it cuts is then in ``carry``, else ``carry`` is
        empty). ``is_value``: a value's string (else a key's), for error messages.

        Its runs are appended here, not through a method (a call per run: measured with the
        parser's question once per piece whether the string shows more, see ``JSONParser.feed``)."""
        n = len(text)
        self.carry = ""
        while True:
            # (Only for escapes: plain text is as cheap the careful way, with no call.)
            found = (
                self._decoded_run(text, i)
                if self.scan_ok and "\\" in text and text is not self.failed_in
                else None
            )
            if found is not None:
                run, j = found
                if run:
                    self.parts.append(run)
                    self.length += len(run)
                return j if j <= n else -1
            # Plain text up to the next quote, found with str methods (a regular expression call
            # costs several times more for a few characters); the regular expression only where
            # there is a backslash or a character that isprintable() rejects, to stop at the
            # right one.
            j = text.find('"', i)
            if j < 0:
                j = n
            if j > i and ("\\" in text[i:j] or not text[i:j].isprintable()):
                j = PLAIN_RUN(text, i).end()  # type: ignore[union-attr]
            if j > i:
                self.parts.append(text[i:j])  # (appended here, not in a method: see take)
                self.length += j - i
                i = j
                if i == n:
                    return -1
            char = text[i]
            if char == '"':
                return i + 1
            if char != "\\":
                what = "string" if is_value else "object key"
                raise LexError(
                    f"invalid control character {describe(char)} in {what}",
                    i,
                    "a string character (control characters must be escaped)",
                )
            decoded, j = decode_escape(text, i, n)
            if decoded is None:
                self.carry = text[i:]  # cut by the end of the piece
                return -1
            self.parts.append(decoded)
            self.length += len(decoded)
            if j == n:
                return -1
            i = j

    def _decoded_run(self, text: str, i: int) -> tuple[str, int] | None:
        """The rest of the string (escapes included) in one C call: its text and the index after
        its closing quote (past the end of the piece when the piece ends first).

        ``None`` (and no more tries in this piece) where the careful way is as cheap or must
        decide: no escape ahead (plain text costs no call the careful way), an escape the end of
        the piece may cut (a failed try raises, which costs more than the careful path), what the
        decoder refuses (a control character, a bad escape), and a high surrogate escape at the
        end of the piece that must wait for its low half.
        """
        n = len(text)
        k = text.rfind("\\", i)
        if k >= 0 and (k + 6 <= n or (k + 2 <= n and text[k + 1] != "u")):
            try:
                run, j = scanstring(text + '"', i, True)
            except ValueError:
                pass
            else:
                if j <= n or not run or not HIGH_SURROGATES[0] <= run[-1] <= HIGH_SURROGATES[1]:
                    return run, j
        self.failed_in = text
        return None

    def current(self) -> str:
        """The string as a snapshot shows it: all of it while it is short; once it is long, what
        there was when it last grew by 1/LONG_STRING_GROWTH."""
        length = self.length
        if length < self.show_at:
            return self.shown
        parts = self.parts
        string = parts[0] if len(parts) == 1 else "".join(parts)
        self.parts = [string]  # joined once; the next pieces are appended to it
        self.shown = string
        step = length // LONG_STRING_GROWTH if length >= LONG_STRING_CHARS else 1
        self.show_at = length + max(step, 1)
        return string

    def finish(self) -> tuple[str, int]:
        """The closed string, whole, and the length of what a snapshot last showed of it (-1 when
        none showed it: even an empty string shows once closed)."""
        string = "".join(self.parts)
        self.parts = []
        shown = len(self.shown) if self.show_at else -1
        self.shown = ""  # (a long string's last shown prefix: not kept beside it)
        return string, shown

    def tail(self, since: int) -> str:
        """The text from character ``since`` on: all of it received so far, shown or not. It
        costs the length of the text returned."""
        parts = self.parts
        need = self.length - max(since, 0)
        if need <= 0:
            return ""
        k = len(parts)
        got = 0
        while got < need:
            k -= 1
            got += len(parts[k])
        first = parts[k][got - need :] if got > need else parts[k]
        if k == len(parts) - 1:
            return first
        return "".join([first, *parts[k + 1 :]])
