"""The JSON parser's state machine: text in (any pieces), values built, completed values recorded.

Core layer (standard library and ``_errors`` only). ``ValueBuilder`` is the part of
``_json.JSONParser`` that reads the text: an explicit stack of open containers (``Frame``, never
recursion, so a 100,000-deep input is refused with ``JSONDepthError`` at ``max_depth`` instead of a
``RecursionError``), a small state machine (``S_*``) for what may come next, the value each token
makes (the lexer, ``_json_lexer`` and ``_json_string``, says what a token is), and the record of
every value that completes. ``JSONParser`` adds the snapshots and the questions about completion.

*Incomplete* is kept apart from *invalid*: a number, literal or escape cut by the end of a piece is
carried over (``_carry``, a few characters) and re-examined with the next piece, but an offending
character raises ``JSONParseError`` in the feed that brings it, with its offset, line and column.

Every shortcut (a faster way to the careful path's answer) can be switched off through
``Shortcuts`` (``_json_options``), so that tests compare each one with the careful path.
"""

from __future__ import annotations

import sys
from typing import Any, Final, cast

from .._errors import JSONDepthError, JSONParseError, JSONStringTooLongError
from ._json_containers import ARRAY, CLOSERS, OBJECT, Frame, Record
from ._json_lexer import (
    CUT,
    LITERALS,
    SKIP_WHITESPACE,
    WHITESPACE,
    LexError,
    decode_whole,
    describe,
    lex_literal,
    lex_number,
    scanstring,
)
from ._json_options import Shortcuts
from ._json_string import StringLexer

__all__ = [
    "MISSING",
    "PLAIN_IN",
    "PLAIN_VALUE",
    "SHARED_STRING_CHARS",
    "S_DONE",
    "S_IN_KEY",
    "S_IN_STRING",
    "ValueBuilder",
]

# What the parser expects next.
S_VALUE: Final = 0  # a value (at the root, after ':' or after ',' in an array)
S_ARRAY_FIRST: Final = 1  # a value or ']' (just after '[')
S_OBJECT_FIRST: Final = 2  # a key or '}' (just after '{')
S_KEY: Final = 3  # a key (after ',' in an object)
S_COLON: Final = 4  # ':' after a key
S_AFTER_VALUE: Final = 5  # ',' or the closing bracket of the innermost container
S_IN_STRING: Final = 6  # inside a string value
S_IN_KEY: Final = 7  # inside an object key
S_DONE: Final = 8  # the root value is complete: only whitespace may follow
S_TRAILING: Final = 9  # the root value is complete and trailing text is being ignored

# ``_plain``: the parser is inside a string value or key, with nothing carried over.
PLAIN_VALUE: Final = 1
PLAIN_KEY: Final = 2

# The separator expected in S_COLON and S_AFTER_VALUE (indexed by state), and the state after it
# (by state, then container kind): one branch of _scan for both. Typed as variable-length tuples
# on purpose: as fixed-length ones, mypyc keeps them as C structs and builds them again as Python
# tuples (7 of them for _AFTER_SEPARATOR) at every ':' and ',' it indexes with a variable.
_SEPARATOR: Final[tuple[str, ...]] = ("", "", "", "", ":", ",")
_AFTER_SEPARATOR: Final[tuple[tuple[int, ...], ...]] = (
    (),
    (),
    (),
    (),
    (S_VALUE, S_VALUE),
    (S_VALUE, S_KEY),
)

# The first characters of a number or a literal.
_SCALAR_START: Final = frozenset("-0123456789tfn")

# The state inside a string opened in S_VALUE, S_ARRAY_FIRST (a value), S_OBJECT_FIRST, S_KEY (a key).
_IN_STRING: Final[tuple[int, ...]] = (S_IN_STRING, S_IN_STRING, S_IN_KEY, S_IN_KEY)

# The value of _plain in each state (see JSONParser.feed).
PLAIN_IN: Final[tuple[int, ...]] = (0, 0, 0, 0, 0, 0, PLAIN_VALUE, PLAIN_KEY, 0, 0)

#: The key recorded for the root value, which has none.
MISSING: Final[Any] = object()

#: The shortest string value recorded for ``JSONParser.share_strings``: a string kept by reference
#: costs a text log 16 bytes (a list slot and an offset) instead of its text, packed.
SHARED_STRING_CHARS: Final = 64


class ValueBuilder:
    """The state machine of ``JSONParser`` (see there for the options): it reads the pieces that
    ``JSONParser.feed`` hands it (``_scan``; ``feed`` itself is the parser's, for speed: see
    there) and builds the value, recording every value that completes. It holds no snapshot: only
    ``_dirty``, set when something a snapshot shows has changed (for the growth of the open string
    by ``JSONParser.feed``, once per piece)."""

    __slots__ = (
        "_allow_trailing",
        "_base",
        "_bulk_allowed",
        "_bulk_tried_in",
        "_carry",
        "_completed",
        "_completion_depth",
        "_dirty",
        "_end",
        "_error",
        "_escaped_runs",
        "_last_newline",
        "_line",
        "_max_decoded",
        "_max_depth",
        "_max_string",
        "_plain",
        "_plain_pieces",
        "_root",
        "_shared",
        "_sized_lists",
        "_stack",
        "_state",
        "_string",
    )

    def __init__(
        self,
        *,
        max_depth: int,
        allow_trailing_text: bool,
        completion_depth: int | None,
        max_string_chars: int | None,
        shortcuts: Shortcuts,
    ) -> None:
        if max_depth < 1:
            raise ValueError(f"max_depth must be at least 1, not {max_depth}")
        if completion_depth is not None and completion_depth < 0:
            raise ValueError(f"completion_depth must be None or >= 0, not {completion_depth}")
        if max_string_chars is not None and max_string_chars < 1:
            raise ValueError(f"max_string_chars must be None or >= 1, not {max_string_chars}")
        self._max_depth = max_depth
        self._allow_trailing = allow_trailing_text
        # Compared with a path length; a huge number stands for "every level".
        self._completion_depth = max_depth + 1 if completion_depth is None else completion_depth
        self._state: int = S_VALUE
        self._stack: list[Frame] = []
        self._carry = ""  # unconsumed text: a number, literal or escape cut by the end of a piece
        self._base = 0  # offset of the first character of the text being parsed
        self._line = 1  # line number at ``_base``
        self._last_newline = -1  # offset of the last newline before ``_base``
        self._string = StringLexer(shortcuts.c_strings)
        # Compared with a length; a huge number stands for "no cap".
        self._max_string = sys.maxsize if max_string_chars is None else max_string_chars
        self._root: Any = None
        self._end: int | None = None
        self._completed: list[Record | Frame] = []
        self._dirty = False  # something a snapshot shows changed since the last one
        self._error: JSONParseError | None = None
        self._plain_pieces = shortcuts.plain_pieces
        self._escaped_runs = shortcuts.escaped_runs
        # A string the json module's decoder gives (_scan) is taken only up to this length (-1:
        # never, with the c_strings shortcut off: a condition less in _scan than testing the flag).
        self._max_decoded = self._max_string if shortcuts.c_strings else -1
        # The C decoder nests as deep as the recursion limit allows: only where that cannot pass
        # max_depth may it decode a container whole.
        self._bulk_allowed = shortcuts.whole_containers and sys.getrecursionlimit() <= max_depth
        # The piece in which it was last tried (see _value_at): once per piece at most.
        self._bulk_tried_in: str | None = None
        # Inside a string (PLAIN_*), nothing carried, no error: see JSONParser.feed.
        self._plain = 0
        # The string values recorded for JSONParser.share_strings (None: not asked for).
        self._shared: list[tuple[int, str]] | None = None
        self._sized_lists = shortcuts.sized_lists

    def _count_lines(self, text: str, consumed: int) -> None:
        """Count the newlines in the consumed text, for error messages (the text is not kept)."""
        newlines = text.count("\n", 0, consumed)
        if newlines:
            self._line += newlines
            self._last_newline = self._base + text.rindex("\n", 0, consumed)

    def _take_escaped_run(self, text: str, plain: int) -> bool:
        """Take a piece of string content holding escapes (see ``StringLexer.take_escaped_run``);
        False, having changed nothing, when the careful path must decide (the piece closes the
        string, holds something invalid, or ends with a high surrogate that waits for its low
        half).

        Prose with escapes (A in the parser benchmark) fed in 4-character pieces: a fifth of the
        pieces hold or continue an escape; here they cost about a third of the general path.
        """
        if not self._escaped_runs:
            return False
        string = self._string
        end = string.take_escaped_run(text)
        if end == CUT:
            return False
        # (Something was taken when end > 0.) A growing value shows, a long one only now and then
        # (a key never: see StringLexer.begin).
        if end and string.length >= string.show_at:
            self._dirty = True
        self._base += end
        if end < len(text):
            self._carry = text[end:]
            self._plain = 0
        else:
            self._plain = plain
        if string.length > self._max_string:
            raise self._string_too_long()
        return True

    def _die(self, error: JSONParseError) -> None:
        """Spend the parser: what it holds may be half-updated by the piece that failed, so no
        later call may use it (the shortcuts of ``JSONParser.feed`` test ``_plain``, ``snapshot``
        tests ``_dirty`` before the error)."""
        self._error = error
        self._plain = 0
        self._dirty = True

    # -- parsing ------------------------------------------------------------------------------

    def _parse(self, text: str) -> int:
        """``_scan`` for the end of input (see ``_finish_carry``): what the lexer refuses becomes
        a ``JSONParseError`` with its line and column (as ``JSONParser.feed`` does itself)."""
        try:
            return self._scan(text)
        except LexError as refused:
            problem = refused
        # Raised outside the except clause, so that the LexError is not its context.
        raise self._refuse(text, problem)

    def _scan(self, text: str) -> int:
        """The state machine over one piece: a dispatch on what is expected next.

        This is the hot loop: state, stack and offsets live in locals, written back at the end.
        Every branch either ``continue``s or completes a value (``value``, ``start``, the index
        ``i`` after it) and falls through to the end of the loop, which stores it in its container:
        a method call per value was a tenth of the time of B (see below) fed in 4-character pieces.
        """
        state, stack, base = self._state, self._stack, self._base
        completion_depth = self._completion_depth
        n, i = len(text), 0
        value: Any
        # How deep the value completing here is recorded: completion_depth, but -1 for a container
        # (its frame recorded itself as it closed: see Record and _close).
        record_depth = completion_depth
        while i < n:
            if state >= S_IN_STRING:  # (never S_DONE here: see _parse)
                i = self._string.take(text, i, state == S_IN_STRING)
                if i < 0:  # the piece ended inside the string (perhaps in an escape, carried)
                    self._carry = self._string.carry
                    break
                value = self._close_string(text, i, state)
                if value is None:
                    state = S_COLON  # it was a key
                    continue
                start = self._string.start
            else:
                char = text[i]
                if char in WHITESPACE:  # usually one (", ", ": "): a turn of the loop per space
                    i += 1
                    continue
                if state >= S_COLON and char == _SEPARATOR[state]:  # ':' or ','
                    state = _AFTER_SEPARATOR[state][stack[-1].kind]
                    i += 1
                    continue
                if char == '"' and state <= S_KEY:  # a string value, or a key
                    # Decoded here whole by the json module's decoder when its closing quote may
                    # be in the piece (else, or if it is invalid or too long, the string states
                    # above take it and say what is wrong). Measured below, in _value_at.
                    j = -1
                    if text.find('"', i + 1) != -1:
                        try:
                            value, j = scanstring(text, i + 1, True)
                        except ValueError:
                            j = -1  # invalid or unterminated: the careful path says which
                    if j < 0 or len(value) > self._max_decoded:  # taken by the string states above
                        self._string.begin(base + i, state <= S_ARRAY_FIRST)
                        state, i = _IN_STRING[state], i + 1
                        continue
                    if state >= S_OBJECT_FIRST:
                        stack[-1].key = value
                        state, i = S_COLON, j
                        continue
                    self._dirty = True
                    # (j - i - 2 characters between its quotes: as many as it has, no escape.)
                    if j - i - 2 == len(value) >= SHARED_STRING_CHARS:
                        self._share(base + i + 1, value)
                    start, i = base + i, j
                elif state > S_ARRAY_FIRST or char == "]":  # a closing bracket, or out of place
                    frame = self._close(char, i, state)
                    value, start, i = frame.items, frame.start, i + 1
                    record_depth = -1
                elif char in _SCALAR_START:  # a number or a literal, lexed here (see _value_at)
                    value, j = (
                        lex_number(text, i, n) if char not in LITERALS else lex_literal(text, i)
                    )
                    if j == CUT:
                        self._carry = text[i:]  # it may go on in the next piece
                        break
                    self._dirty = True
                    start, i = base + i, j
                else:  # a container, or something out of place
                    value, j = self._value_at(text, i, state)
                    if j < 0:  # a container opened, or the piece cut a literal
                        state, i = value, -j
                        continue
                    start, i = base + i, j

            # A value completed: store it in its container (or as the root), record it.
            if stack:
                frame = stack[-1]
                items = frame.items
                if frame.kind == ARRAY:
                    slot: Any = len(items)
                    items.append(value)
                else:
                    slot = frame.key
                    items[slot] = value
                    frame.key = None
                if len(stack) <= record_depth:
                    self._completed.append((frame, slot, value, start, base + i))
                record_depth = completion_depth
                state = S_AFTER_VALUE
            else:
                state = self._root_completed(value, start, text, i, record_depth >= 0)
                break
        self._state = state
        return n - len(self._carry)

    def _root_completed(self, value: Any, start: int, text: str, i: int, record: bool) -> int:
        """The root value completed at ``text[i]``: kept, recorded unless it is a container (see
        Record), and the state after it (see _after_root)."""
        self._root, self._end = value, self._base + i
        if record:
            self._completed.append((None, MISSING, value, start, self._base + i))
        return self._after_root(text, i, S_DONE)

    def _after_root_piece(self, text: str) -> int:
        """A piece after the complete root value: all of it consumed (see _after_root)."""
        self._state = self._after_root(text, 0, self._state)
        return len(text)

    def _after_root(self, text: str, i: int, state: int) -> int:
        """The text after the complete root value: the state after it (only whitespace, or
        trailing text when the caller asked for it to be ignored)."""
        i = SKIP_WHITESPACE(text, i).end()  # type: ignore[union-attr]
        if i == len(text):
            return state
        if not self._allow_trailing:
            raise LexError(
                f"unexpected {describe(text[i])} after the JSON value", i, "the end of the input"
            )
        return S_TRAILING

    def _value_at(self, text: str, i: int, state: int) -> tuple[Any, int]:
        """The container at ``text[i]`` (other values: see ``_scan``), decoded whole (the value,
        the index after it) when nothing inside it is reported and it is whole in the piece, else
        opened: ``(state, -k)``, go on in ``state`` at ``text[k]``, the next character.

        With a method per token (string, key, number, literal; two calls per container) and
        feed's careful path in a method, B and C of the parser benchmark (100 KB) took 1.16-1.26x
        main's time, pure (median of paired CPU-time ratios; 4-character pieces and one-shot).
        With strings, numbers and literals lexed in ``_scan`` and containers here (one call
        each): 1.03-1.08x. Compiled (mypyc), B and C were 1.22-1.25x main's time (feed, one-shot)
        until the tables of _scan (``_SEPARATOR``, ``_AFTER_SEPARATOR``) were typed as
        variable-length tuples: mypyc rebuilt them as Python tuples at every ':' and ','; after,
        0.97-1.02x."""
        if text[i] != "{" and text[i] != "[":
            expected = "a value or ']'" if state == S_ARRAY_FIRST else "a value"
            raise LexError(f"unexpected {describe(text[i])}", i, expected)
        stack = self._stack
        if len(stack) >= self._max_depth:
            raise LexError(
                f"nesting deeper than max_depth={self._max_depth}",
                i,
                "a shallower value",
                JSONDepthError,
            )
        self._dirty = True
        # Nothing inside this container is to be reported one by one, so if it is whole in this
        # piece the json module's C decoder may take it at once.
        # Tried once per piece at most (see decode_whole), the piece recognised by identity (as
        # the StringLexer's C decoder is: see there).
        if (
            self._bulk_allowed
            and text is not self._bulk_tried_in
            and len(stack) >= self._completion_depth
        ):
            self._bulk_tried_in = text
            whole = decode_whole(text, i)
            # The C decoder knows no max_string_chars: none of the container's strings can pass
            # it when its text is no longer (else the careful path takes it, and refuses one).
            if whole is not None and whole[1] - i <= self._max_string:
                return whole
        parent = stack[-1] if stack else None
        slot: str | int = 0
        if parent is not None:
            slot = len(parent.items) if parent.kind == ARRAY else cast(str, parent.key)
        if text[i] == "{":
            stack.append(Frame(OBJECT, {}, parent, slot, self._base + i))
            return S_OBJECT_FIRST, -(i + 1)
        stack.append(Frame(ARRAY, [], parent, slot, self._base + i))
        return S_ARRAY_FIRST, -(i + 1)

    def _close(self, char: str, i: int, state: int) -> Frame:
        """``char`` at ``text[i]`` where no value, key or separator begins: the frame of the
        container it closes (after a value, or empty), popped, without its snapshot copies, and
        recorded (the frame is its own record: see Record) when within completion_depth; or the
        error saying what belongs there. Closing adds nothing visible: the last snapshot shows every
        member."""
        stack = self._stack
        if state == S_AFTER_VALUE:
            closer = CLOSERS[stack[-1].kind]
            if char != closer:
                raise LexError(
                    f"unexpected {describe(char)} after a value", i, f"',' or '{closer}'"
                )
            frame = stack.pop()
            if frame.path is not None and stack and stack[-1].path is None:
                # Its path was asked for (a member of it completed): its parent's is that,
                # shorter (see path_of). At C speed, rather than a walk up.
                stack[-1].path = frame.path[:-1]
            if frame.kind == ARRAY and self._sized_lists:
                items: list[Any] = frame.items
                if len(items) == 1:
                    # CPython gives a list room for 4 members on its first append (32 bytes beside
                    # the list), [member] room for one (8, 16 with the allocator's rounding). Each
                    # array of a deep nesting holds one: peak memory per byte of 16,000-deep arrays
                    # over the same arrays side by side went from 2.08x (json.loads's own ratio) to
                    # 1.77x, pure (issue 14's depth target: 2x). Nothing else holds the list yet:
                    # snapshots hold copies of an open array.
                    frame.items = [items[0]]
        elif (char == "]" and state == S_ARRAY_FIRST) or (char == "}" and state == S_OBJECT_FIRST):
            frame = stack.pop()
        else:
            raise self._misplaced_closer(char, i, state)
        if frame.given is not None:  # its snapshot copies: the frame lives on as its record
            frame.given = frame.spare = None
        if len(stack) <= self._completion_depth:  # recorded: its frame is its record (see Record)
            frame.end = self._base + i + 1
            self._completed.append(frame)
        return frame

    @staticmethod
    def _misplaced_closer(char: str, i: int, state: int) -> LexError:
        """The error for a closing bracket where ``state`` wants something else."""
        if state == S_COLON:
            return LexError(f"unexpected {describe(char)} after an object key", i, "':'")
        if state == S_VALUE:  # a ']' where a value belongs
            return LexError(f"unexpected {describe(char)}", i, "a value")
        expected = "'\"' or '}'" if state == S_OBJECT_FIRST else "'\"' (a key)"
        return LexError(f"unexpected {describe(char)} where a key belongs", i, expected)

    def _close_string(self, text: str, i: int, state: int) -> str | None:
        """The open string closed with the quote at ``text[i - 1]``: its text for a value; for a
        key (``None``) it is the key of the member to come."""
        # StringLexer.finish written out: a call less per string (with it, B and C of the parser
        # benchmark fed in 4-character pieces took 1.014x and 1.017x the time; 100 KB, pure,
        # medians of paired CPU-time ratios).
        lexer = self._string
        string = "".join(lexer.parts)
        lexer.parts = []
        shown = len(lexer.shown) if lexer.show_at else -1
        lexer.shown = ""
        if len(string) > self._max_string:
            self._state = state  # (the parser is spent: for the message only)
            raise self._string_too_long(text, i - 1)
        if state == S_IN_KEY:
            self._stack[-1].key = string
            return None
        # A short string was visible while it grew: closing it shows nothing new. A long one's
        # last snapshot may show only a prefix (see LONG_STRING_CHARS).
        if len(string) > shown:
            self._dirty = True
        # Its text between the quotes is as long as it is only when it has no escape.
        if len(string) >= SHARED_STRING_CHARS and self._base + i - 2 - lexer.start == len(string):
            self._share(lexer.start + 1, string)
        return string

    def _share(self, offset: int, string: str) -> None:
        """Record a string value whose text at ``offset`` is the string itself (no escape in it),
        when asked to (``JSONParser.share_strings``)."""
        shared = self._shared
        if shared is not None:
            shared.append((offset, string))

    def _string_too_long(self, text: str = "", local_offset: int = 0) -> JSONParseError:
        """The error for a string past ``max_string_chars``, at ``text[local_offset]`` (by default
        where the parser stopped); the parser is spent."""
        what = "string" if self._state != S_IN_KEY else "object key"
        error = self._fail(
            f"{what} starting at offset {self._string.start} is longer than "
            f"max_string_chars={self._max_string}",
            text,
            local_offset,
            "a shorter string",
            error_class=JSONStringTooLongError,
        )
        self._die(error)  # (dirty too: a snapshot raises it, even if nothing it shows grew)
        return error

    # -- the end of input ---------------------------------------------------------------------

    def _truncation_error(self) -> JSONParseError:
        """Say what is missing at the end of the input (a cut escape may still be carried)."""
        text = self._carry
        end = len(text)
        state = self._state
        if state in (S_IN_STRING, S_IN_KEY):
            what = "string" if state == S_IN_STRING else "object key"
            return self._fail(
                f"unterminated {what} starting at offset {self._string.start}", text, end, "'\"'"
            )
        if not self._stack:
            return self._fail("no JSON value in the input", text, end, "a value")
        frame = self._stack[-1]
        kind = "array" if frame.kind == ARRAY else "object"
        expected = {
            S_VALUE: "a value",
            S_ARRAY_FIRST: "a value or ']'",
            S_OBJECT_FIRST: "'\"' or '}'",
            S_KEY: "'\"' (a key)",
            S_COLON: "':'",
            S_AFTER_VALUE: f"',' or '{CLOSERS[frame.kind]}'",
        }[state]
        return self._fail(
            f"unterminated {kind} starting at offset {frame.start}", text, end, expected
        )

    # -- errors -------------------------------------------------------------------------------

    def _refuse(self, text: str, problem: LexError) -> JSONParseError:
        """The error for what the lexer refused in ``text`` (which starts at ``_base``)."""
        return self._fail(
            problem.reason, text, problem.offset, problem.expected, error_class=problem.error_class
        )

    def _fail(
        self,
        reason: str,
        text: str,
        local_offset: int,
        expected: str,
        *,
        error_class: type[JSONParseError] = JSONParseError,
    ) -> JSONParseError:
        """Build the error for the character at ``text[local_offset]``; ``text`` starts at ``_base``.

        Line and column come from the newlines counted before ``_base`` plus those in ``text`` up
        to the offset: the document itself is not kept.
        """
        offset = self._base + local_offset
        line = self._line
        last_newline = self._last_newline
        head = text[:local_offset]
        newlines = head.count("\n")
        if newlines:
            line += newlines
            last_newline = self._base + head.rindex("\n")
        return error_class(
            reason,
            offset=offset,
            line=line,
            column=offset - last_newline,
            expected=expected,
        )
