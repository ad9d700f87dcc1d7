"""A resumable, partial-aware JSON parser: text in (any pieces), snapshots and completed values out.

Sans-I/O: it knows nothing of HTTP, event loops or pydantic. It is fed text in arbitrary pieces (an
LLM sends a few characters at a time) and keeps its state between feeds, so every character is
examined once, whatever the chunking: feeding a document costs time linear in its length.

Design, in the order the code follows it:

* An explicit stack of open containers (``_Frame``), never recursion, so a 100,000-deep input is
  refused with ``JSONDepthError`` at ``max_depth`` instead of a ``RecursionError``.
* A small state machine (``_S_*``) for what may come next. Runs of plain string characters and
  whitespace are consumed by compiled regular expressions (C speed); only tokens cost Python steps.
* *Incomplete* is kept apart from *invalid*: a number, literal or escape cut by the end of a piece
  is carried over (``_carry``, a few characters) and re-examined with the next piece, but an
  offending character raises ``JSONParseError`` in the feed that brings it.
* Snapshots follow jiter's ``'trailing-strings'`` partial mode. Completed values are final Python
  objects that are never mutated again, so snapshots share them; only the containers on the open
  path (the "spine") are copied, and only when something visible changed since the last snapshot.
* Completion is observable below the root: every value that closes is recorded with its path and
  its character span (``pop_completed``), and ``is_complete(path)`` is answered from the spine.
"""

from __future__ import annotations

import json
import json.scanner
import re
import sys

# The json module's string decoder (written in C on CPython): exact for JSON strings, escapes
# and surrogates included, and far faster than stepping through escapes in Python.
from json.decoder import scanstring as _scanstring  # type: ignore[attr-defined]
from typing import Any, Final, NamedTuple, cast, final

from ._errors import JSONDepthError, JSONParseError, JSONStringTooLongError
from ._recycle import RECYCLE as _RECYCLE
from ._recycle import calibrate, references
from ._recycle import unchanged as _unchanged

__all__ = [
    "DEEP_SNAPSHOT_LEVELS",
    "DEFAULT_MAX_STRING_CHARS",
    "LONG_STRING_CHARS",
    "LONG_STRING_GROWTH",
    "CompletedValue",
    "JSONParser",
    "Path",
]

Path = tuple[str | int, ...]
"""Where a value sits in the document: object keys and array indexes from the root down."""


class CompletedValue(NamedTuple):
    """A value that has just completed: where it is, what it is, and its span in the text.

    ``start`` and ``end`` are character offsets in the whole text fed to the parser, so that
    ``text[start:end]`` is the value's own JSON.
    """

    path: Path
    value: Any
    start: int
    end: int


# What the parser expects next.
_S_VALUE: Final = 0  # a value (at the root, after ':' or after ',' in an array)
_S_ARRAY_FIRST: Final = 1  # a value or ']' (just after '[')
_S_OBJECT_FIRST: Final = 2  # a key or '}' (just after '{')
_S_KEY: Final = 3  # a key (after ',' in an object)
_S_COLON: Final = 4  # ':' after a key
_S_AFTER_VALUE: Final = 5  # ',' or the closing bracket of the innermost container
_S_IN_STRING: Final = 6  # inside a string value
_S_IN_KEY: Final = 7  # inside an object key
_S_DONE: Final = 8  # the root value is complete: only whitespace may follow
_S_TRAILING: Final = 9  # the root value is complete and trailing text is being ignored

# ``_plain``: the parser is inside a string value or key, with nothing carried over.
_PLAIN_VALUE: Final = 1
_PLAIN_KEY: Final = 2

_ARRAY: Final = 0
_OBJECT: Final = 1

_WHITESPACE: Final = " \t\n\r"
_SKIP_WHITESPACE: Final = re.compile(r"[ \t\n\r]*").match
# The characters a string may hold as they are: anything but '"', '\' and the C0 controls.
_PLAIN_RUN: Final = re.compile(r'[^"\\\x00-\x1f]*').match
_NUMBER: Final = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?").match
# A valid beginning of a number that the end of a piece may have cut: '-', '1.', '1e', '1e+'.
_NUMBER_PREFIX: Final = re.compile(
    r"-|-?(?:0|[1-9][0-9]*)(?:\.|\.[0-9]+(?:[eE][-+]?[0-9]*)?|[eE][-+]?[0-9]*)?"
).fullmatch
_HEX4: Final = re.compile(r"[0-9a-fA-F]{4}").fullmatch
_HEX_PREFIX: Final = re.compile(r"[0-9a-fA-F]{0,3}").fullmatch
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
_CLOSERS: Final = ("]", "}")  # indexed by container kind
_LITERALS: Final = {"t": ("true", True), "f": ("false", False), "n": ("null", None)}

# A number is carried from one piece to the next while it may still grow. Re-examining it costs
# its length each time, so a hostile endless number would be quadratic: past this length it is
# refused. Python's own int() refuses more than 4,300 digits by default.
MAX_NUMBER_LENGTH: Final = 10_000

# A snapshot of an open string is a new ``str`` of its whole length, so showing a string after
# every piece costs its length each time: quadratic in the string. Up to LONG_STRING_CHARS every
# piece is shown; past it, the string is shown again once it has grown by 1/LONG_STRING_GROWTH of
# its length, so the copies add up to about LONG_STRING_GROWTH + 1 times the string (amortised
# linear). A 1 MB string is then shown about every 32 KB; the text between is in the snapshots'
# field events (see growing_tail), which a consumer that appends text reads as it comes.
LONG_STRING_CHARS: Final = 8192
LONG_STRING_GROWTH: Final = 32

# A snapshot copies every open container, so with many open a snapshot after every piece costs the
# depth each time: 990 nested arrays cost ~50 times what flat text does per byte. With more than
# DEEP_SNAPSHOT_LEVELS open, a snapshot is made again only once the text has grown by twice as
# many characters as were open at the last one (or a value recorded by pop_completed completed),
# which keeps its copies to about one per character.
DEEP_SNAPSHOT_LEVELS: Final = 32

DEFAULT_MAX_STRING_CHARS: Final = 8 * 1024 * 1024
"""The default cap on one string (value or key): past it, ``JSONStringTooLongError``. Far above
any real field (a 100,000-token answer is ~400,000 characters), it stops a server that streams one
string forever before it costs much time or memory."""

_MISSING: Final[Any] = object()
# The range of high (leading) surrogates, built with chr(): the compiled build (mypyc) does not take
# surrogates in string literals.
_HIGH_SURROGATES: Final = (chr(0xD800), chr(0xDBFF))


class _Refused(Exception):
    """Raised inside the C decoder's hooks for what strict JSON or this parser refuses."""


def _refuse_constant(name: str) -> Any:
    raise _Refused(name)  # NaN, Infinity, -Infinity


def _bounded_float(token: str) -> float:
    if len(token) > MAX_NUMBER_LENGTH:
        raise _Refused(token[:20])
    return float(token)


def _bounded_int(token: str) -> int:
    if len(token) > MAX_NUMBER_LENGTH:
        raise _Refused(token[:20])
    return int(token)


def _whole_value_scanner() -> Any:
    decoder = json.JSONDecoder(
        parse_float=_bounded_float, parse_int=_bounded_int, parse_constant=_refuse_constant
    )
    return json.scanner.make_scanner(decoder)  # type: ignore[arg-type]


# scan(text, index) -> (value, end): the json module's scanner (C on CPython), strict about
# control characters in strings, as JSON is.
_SCAN_WHOLE: Final = _whole_value_scanner()


@final
class _Frame:
    """An open container: its completed members and where the next one goes.

    Its path is not stored but derived when asked (``_path_of``) from its parent and its slot
    there: a path held by every open container cost the square of the depth (16,000 nested
    arrays: ~1 GB of tuples) and the time to make them.
    """

    __slots__ = (
        "given",
        "given_size",
        "items",
        "key",
        "kind",
        "parent",
        "path",
        "slot",
        "spare",
        "spare_size",
        "start",
    )

    def __init__(
        self, kind: int, items: Any, parent: _Frame | None, slot: str | int, start: int
    ) -> None:
        self.kind = kind
        self.items = items  # list for an array, dict for an object: completed members only
        self.key: str | None = None  # object: the key whose value comes (or is coming) next
        self.parent = parent  # the container it is a member of (None: the root)
        self.slot = slot  # its key or index there
        self.path: Path | None = None if parent is not None else ()  # see _path_of
        self.start = start
        # An array: the copies of ``items`` in the last two snapshots (the first ``*_size``
        # members, then the member in progress), the older to be made again (see _array_copy).
        self.given: list[Any] | None = None
        self.given_size = 0
        self.spare: list[Any] | None = None
        self.spare_size = 0


@final
class JSONParser:
    """Parse one JSON value fed in pieces, with snapshots of the value so far.

    >>> parser = JSONParser()
    >>> parser.feed('{"name": "Al')
    >>> parser.snapshot()
    {'name': 'Al'}
    >>> parser.feed('ice", "age": 2')
    >>> parser.snapshot()  # a number is shown only once it is complete
    {'name': 'Alice'}
    >>> parser.feed("8}")
    >>> parser.close()
    {'name': 'Alice', 'age': 28}

    Options (keyword-only):

    * ``max_depth``: how deeply arrays and objects may nest; deeper input raises ``JSONDepthError``.
      The default is what ``json.loads`` manages under the default recursion limit.
    * ``allow_trailing_text``: by default anything but whitespace after the root value is an error;
      when true, the text after it is ignored and ``end`` tells where the value ended (an LLM may add
      prose after its JSON).
    * ``completion_depth``: record completed values (``pop_completed``) down to this many levels
      below the root; ``None`` records every value, ``0`` only the root.
    """

    __slots__ = (
        "_allow_trailing",
        "_base",
        "_bulk_allowed",
        "_carry",
        "_completed",
        "_completion_depth",
        "_dirty",
        "_end",
        "_error",
        "_last_newline",
        "_last_snapshot",
        "_line",
        "_max_depth",
        "_max_string",
        "_plain",
        "_popped",
        "_recorded_shown",
        "_root",
        "_show_at",
        "_show_deep_at",
        "_shown",
        "_stack",
        "_state",
        "_string_len",
        "_string_parts",
        "_string_start",
    )

    def __init__(
        self,
        *,
        max_depth: int = 1000,
        allow_trailing_text: bool = False,
        completion_depth: int | None = None,
        max_string_chars: int | None = DEFAULT_MAX_STRING_CHARS,
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
        self._state: int = _S_VALUE
        self._stack: list[_Frame] = []
        self._carry = ""  # unconsumed text: a number, literal or escape cut by the end of a piece
        self._base = 0  # offset of the first character of the text being parsed
        self._line = 1  # line number at ``_base``
        self._last_newline = -1  # offset of the last newline before ``_base``
        self._string_parts: list[str] = []
        self._string_start = 0
        # The open string: its length so far, the text a snapshot shows of it (a prefix) and the
        # length at which a snapshot shows it again (see LONG_STRING_CHARS).
        self._string_len = 0
        self._shown = ""
        self._show_at = 0
        # Compared with a length; a huge number stands for "no cap".
        self._max_string = sys.maxsize if max_string_chars is None else max_string_chars
        self._root: Any = None
        self._end: int | None = None
        # (parent path, key or _MISSING for the root, value, start, end): a CompletedValue is
        # built only when asked for (pop_completed), not for every value of a document.
        self._completed: list[tuple[_Frame | None, Any, Any, int, int]] = []
        self._dirty = False
        self._last_snapshot: Any = None
        # For deep snapshots (DEEP_SNAPSHOT_LEVELS): the offset from which the next one is made
        # (the last one's, plus its depth), and how many values had been recorded complete then
        # (``_popped``: those handed out).
        self._show_deep_at = 0
        self._popped = 0
        self._recorded_shown = 0
        self._error: JSONParseError | None = None
        # The C decoder nests as deep as the recursion limit allows: only where that cannot pass
        # max_depth may it decode a container whole.
        self._bulk_allowed = sys.getrecursionlimit() <= max_depth
        self._plain = 0  # inside a string (_PLAIN_*), nothing carried, no error: see feed()

    # -- public API ---------------------------------------------------------------------------

    @property
    def done(self) -> bool:
        """Whether the root value is complete."""
        return self._state >= _S_DONE

    @property
    def end(self) -> int | None:
        """The offset just past the root value once it is complete, else ``None``."""
        return self._end

    @property
    def offset(self) -> int:
        """How many characters have been fed and consumed (a carried-over tail excluded)."""
        return self._base

    def feed(self, text: str) -> None:
        """Consume the next piece of the document.

        Raises ``JSONParseError`` at the first offending character. After an error (here or in
        :meth:`close`) the parser is spent: ``feed``, ``close``, ``snapshot``, ``pop_completed``
        and ``is_complete`` raise that same error, ``growing_string`` and
        ``open_container_path`` give ``None``; ``done``, ``end`` and ``offset`` stay as they were.
        """
        # The common case while an LLM writes prose into a string: the piece holds no quote,
        # backslash or control character, so it is all content. Most feeds of a long text field
        # take this path; ``_plain`` is true only inside a string with nothing carried over and
        # no error, and str methods are several times cheaper than a regular expression here.
        # (``isprintable`` is false for every control character; the few other characters it
        # rejects, such as U+2028, just take the general path.)
        plain = self._plain
        if plain and text and '"' not in text and "\\" not in text and text.isprintable():
            self._string_parts.append(text)
            size = len(text)
            self._base += size
            length = self._string_len + size
            self._string_len = length
            # A growing value shows (a long one only now and then); a growing key does not.
            if plain == _PLAIN_VALUE and length >= self._show_at:
                self._dirty = True
            if length > self._max_string:
                raise self._string_too_long()
            return
        if plain and "\\" in text and self._take_escaped_run(text, plain):
            if self._string_len > self._max_string:
                raise self._string_too_long()
            return
        if self._error is not None:
            raise self._error
        if not text:
            return
        if self._carry:
            text = self._carry + text
            self._carry = ""
            state = self._state
            if state in (_S_IN_STRING, _S_IN_KEY):
                # An escape was cut by the end of the last piece.
                kind = _PLAIN_VALUE if state == _S_IN_STRING else _PLAIN_KEY
                if self._take_escaped_run(text, kind):
                    return
        try:
            consumed = self._parse(text)  # it sets _plain for the next piece
        except JSONParseError as error:
            self._die(error)
            raise
        # Line numbers are kept for error messages, as the text itself is not kept.
        if "\n" in text:
            newlines = text.count("\n", 0, consumed)
            if newlines:
                self._line += newlines
                self._last_newline = self._base + text.rindex("\n", 0, consumed)
        self._base += consumed
        if self._string_len > self._max_string and self._state in (_S_IN_STRING, _S_IN_KEY):
            raise self._string_too_long()

    def _take_escaped_run(self, text: str, plain: int) -> bool:
        """Take a piece of string content holding escapes, decoded by the json module's C string
        decoder. ``text`` starts inside the string, not inside an escape (a carried escape is
        prepended to it). An escape cut by the end of the piece is carried over, once checked to
        be a valid beginning. Returns False, having changed nothing, when the piece closes the
        string, holds something invalid or ends with a high surrogate (which waits for its low
        half): the general path decides those and says what is wrong.

        Prose with escapes (A in the parser benchmark) fed in 4-character pieces: a fifth of the
        pieces hold or continue an escape; here they cost about a third of the general path.
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
                if k + 2 <= n and _HEX_PREFIX(text, k + 2, n) is None:
                    return False  # not a valid beginning of an escape: the general path says why
                end = k
        try:
            run, j = _scanstring(text[:end] + '"', 0, True)
        except ValueError:
            return False
        if j <= end or (run and _HIGH_SURROGATES[0] <= run[-1] <= _HIGH_SURROGATES[1]):
            return False
        if run:
            self._add_to_string(run, plain == _PLAIN_VALUE)
        self._base += end
        if end < n:
            self._carry = text[end:]
            self._plain = 0
        else:
            self._plain = plain
        return True

    def close(self) -> Any:
        """End the input: return the complete value, or raise ``JSONParseError`` saying what is missing."""
        if self._error is not None:
            raise self._error
        try:
            if self._carry:
                self._finish_carry()
            if self._state < _S_DONE:
                raise self._truncation_error()
        except JSONParseError as error:
            self._die(error)
            raise
        return self._root

    def snapshot(self) -> Any:
        """The value parsed so far, as plain Python values; ``None`` before anything is visible.

        Strings being received show the prefix received so far (a string longer than
        ``LONG_STRING_CHARS`` shows what there was when it last grew by 1/``LONG_STRING_GROWTH``
        of its length, so that a snapshot after every piece costs time linear in the string, not
        quadratic; ``growing_tail`` gives the text received since any point); numbers, ``true``,
        ``false`` and ``null`` appear once complete; a key appears only with its value. A snapshot
        is never changed by later feeds, and when nothing visible changed the previous one is
        returned. A complete string is always shown whole. With more than
        ``DEEP_SNAPSHOT_LEVELS`` containers open, the snapshot is made again only once the text has
        grown by twice as many characters as were open at the last one (or a value recorded by
        ``pop_completed`` completed), as each snapshot copies every open container.

        Snapshots are read-only: they share their complete values with each other, and the lists
        of an old snapshot nobody holds any more are reused for new ones. Copy what you want to
        change (``copy.deepcopy``, or ``list(...)`` of a list).
        """
        if not self._dirty:
            return self._last_snapshot
        if self._error is not None:  # a spent parser is always dirty (see _die)
            raise self._error
        stack = self._stack
        depth = len(stack)
        recorded = self._popped + len(self._completed)
        if (
            depth > DEEP_SNAPSHOT_LEVELS
            and self._base < self._show_deep_at
            and recorded == self._recorded_shown
        ):
            return self._last_snapshot  # not yet: see DEEP_SNAPSHOT_LEVELS
        self._show_deep_at = self._base + 2 * depth
        self._recorded_shown = recorded
        if not stack:
            value = self._current_string() if self._state == _S_IN_STRING else self._root
            self._last_snapshot = value
            self._dirty = False
            return value
        child: Any = self._current_string() if self._state == _S_IN_STRING else _MISSING
        if _RECYCLE and depth > 1:
            _release_open_members(stack)
        for frame in reversed(stack):
            if frame.kind == _ARRAY:
                copy: Any = _array_copy(frame)
                if child is not _MISSING:
                    copy.append(child)
            else:
                copy = frame.items.copy()
                if child is not _MISSING:
                    copy[frame.key] = child
            child = copy
        self._last_snapshot = child
        self._dirty = False  # only now: a copy that failed (MemoryError) is made again next time
        return child

    def growing_string(self) -> tuple[int, str] | None:
        """The string value being received, if the parser is inside one: the offset of its opening
        quote and its text so far, as a snapshot shows it. ``None`` anywhere else (between values,
        inside an object key, once done).

        While the same string stays open nothing else in the document can have changed (JSON is
        written in order), so a caller that has shown the rest can show the new text alone, without
        a snapshot.
        """
        if self._state != _S_IN_STRING or self._error is not None:
            return None
        return self._string_start, self._current_string()

    def growing_tail(self, since: int) -> str | None:
        """The text of the string value being received from its character ``since`` on: all of
        it received so far, whether a snapshot shows it yet or not (see ``snapshot``). ``None``
        where ``growing_string`` is. It costs the length of the text returned, so a caller that
        asks for what came since it last asked pays for each character once.
        """
        if self._state != _S_IN_STRING or self._error is not None:
            return None
        parts = self._string_parts
        need = self._string_len - max(since, 0)
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

    def open_container_path(self) -> Path | None:
        """The path of the innermost open array or object, or None when none is open."""
        stack = self._stack
        return _path_of(stack[-1]) if stack and self._error is None else None

    def pop_completed(self) -> list[CompletedValue]:
        """The values that completed since the last call, children before their parents."""
        if self._error is not None:
            raise self._error
        completed = self._completed
        self._completed = []
        self._popped += len(completed)
        return [
            CompletedValue(() if parent is None else (*_path_of(parent), key), value, start, end)
            for parent, key, value, start, end in completed
        ]

    def is_complete(self, path: Path) -> bool:
        """Whether the value at ``path`` exists and is complete."""
        if self._error is not None:
            raise self._error
        if self._state >= _S_DONE:
            return _exists(self._root, path)
        stack = self._stack
        depth = len(stack)
        for level, key in enumerate(path):
            if level >= depth:
                return False  # inside a string or number being written: nothing is complete
            frame = stack[level]
            items = frame.items
            # Whether the member at ``key`` is the open container one level down, to descend into.
            descend = level + 1 < depth and level + 1 < len(path)
            if frame.kind == _ARRAY:
                if not isinstance(key, int) or isinstance(key, bool):
                    return False
                if 0 <= key < len(items):
                    return _exists(items[key], path[level + 1 :])
                if key == len(items) and descend:
                    continue
                return False  # not begun, or the member in progress itself
            if not isinstance(key, str):
                return False
            if key == frame.key and self._member_in_progress(level):
                if descend:
                    continue
                return False
            if key in items:
                return _exists(items[key], path[level + 1 :])
            return False
        return False  # the root itself is open

    def _die(self, error: JSONParseError) -> None:
        """Spend the parser: what it holds may be half-updated by the piece that failed, so no
        later call may use it (the fast paths of ``feed`` test ``_plain``, ``snapshot`` tests
        ``_dirty`` before the error)."""
        self._error = error
        self._plain = 0
        self._dirty = True

    # -- parsing ------------------------------------------------------------------------------

    def _parse(self, text: str) -> int:
        """Parse as much of ``text`` as can be decided; return how many characters were consumed.

        This is the hot loop: state, stack and offsets live in locals, written back at the end.
        Every branch either ``continue``s or completes a value (``value``, ``start``, ``end``) and
        falls through to the end of the loop, which stores it in its container: a method call per
        value was a tenth of the time of a document of small records fed in 4-character pieces.
        """
        state = self._state
        stack = self._stack
        base = self._base
        completion_depth = self._completion_depth
        n = len(text)
        i = 0
        value: Any
        # The json module's string decoder may take a string's text once per call (a failed try
        # costs the rest of the piece, so that keeps the cost linear); so may its container
        # decoder take a container (see _decode_whole).
        scan_ok = True
        bulk_ok = self._bulk_allowed
        while i < n:
            if state >= _S_IN_STRING:
                if state >= _S_DONE:
                    i = _SKIP_WHITESPACE(text, i).end()  # type: ignore[union-attr]
                    if i == n:
                        break
                    if not self._allow_trailing:
                        raise self._fail(
                            f"unexpected {_describe(text[i])} after the JSON value",
                            text,
                            i,
                            "the end of the input",
                        )
                    state = _S_TRAILING  # the caller asked for the rest to be ignored
                    i = n
                    break
                # The rest of the string (escapes included) in one C call: up to its closing
                # quote, or to the end of the piece when a quote is put there. What it refuses (a
                # control character, a bad escape, an escape cut by the end of the piece), and a
                # high surrogate escape at the end of the piece that must wait for its low half,
                # go the careful way below, which says what is wrong or carries the escape over.
                run: str | None = None
                if scan_ok:
                    # Only for escapes: plain text is as cheap the careful way (no call). And not
                    # when an escape may be cut by the end of the piece: a failed try raises,
                    # which costs more than the careful path.
                    k = text.rfind("\\", i)
                    scan_ok = k >= 0 and (k + 6 <= n or (k + 2 <= n and text[k + 1] != "u"))
                if scan_ok:
                    try:
                        run, j = _scanstring(text + '"', i, True)
                    except ValueError:
                        pass
                    else:
                        if j > n and run and _HIGH_SURROGATES[0] <= run[-1] <= _HIGH_SURROGATES[1]:
                            run = None
                    scan_ok = run is not None
                if run is not None:
                    if run:
                        self._add_to_string(run, state == _S_IN_STRING)
                    if j > n:
                        i = n
                        break
                    i = j
                else:
                    # Plain text up to the next quote, found with str methods (a regular
                    # expression call costs several times more for a few characters); the
                    # regular expression only where there is a backslash or a character that
                    # isprintable() rejects, to stop at the right one.
                    j = text.find('"', i)
                    if j < 0:
                        j = n
                    if j > i and ("\\" in text[i:j] or not text[i:j].isprintable()):
                        j = _PLAIN_RUN(text, i).end()  # type: ignore[union-attr]
                    if j > i:
                        self._add_to_string(text[i:j], state == _S_IN_STRING)
                        i = j
                        if i == n:
                            break
                    char = text[i]
                    if char == "\\":
                        decoded, i = self._escape(text, i, n)
                        if decoded is None:
                            break  # carried over: the escape is cut by the end of the piece
                        self._add_to_string(decoded, state == _S_IN_STRING)
                        continue
                    if char != '"':
                        what = "string" if state == _S_IN_STRING else "object key"
                        raise self._fail(
                            f"invalid control character {_describe(char)} in {what}",
                            text,
                            i,
                            "a string character (control characters must be escaped)",
                        )
                    i += 1
                # The closing quote was text[i - 1].
                string = "".join(self._string_parts)
                self._string_parts = []
                shown = len(self._shown)
                self._shown = ""  # (a long string's last shown prefix: not kept beside it)
                if len(string) > self._max_string:
                    self._state = state  # (the parser is spent: for the message only)
                    raise self._string_too_long(text, i - 1)
                if state == _S_IN_KEY:
                    stack[-1].key = string
                    state = _S_COLON
                    continue
                # A short string was visible while it grew: closing it shows nothing new. A long
                # one's last snapshot may show only a prefix (see LONG_STRING_CHARS).
                if len(string) > shown:
                    self._dirty = True
                value, start, end = string, self._string_start, base + i
            else:
                char = text[i]
                if char in _WHITESPACE:
                    # Usually one space (", " and ": "): the regular expression only for a run.
                    i += 1
                    if i < n and text[i] in _WHITESPACE:
                        i = _SKIP_WHITESPACE(text, i).end()  # type: ignore[union-attr]
                    if i == n:
                        break
                    char = text[i]

                if state == _S_AFTER_VALUE:
                    kind = stack[-1].kind
                    if char == ",":
                        state = _S_VALUE if kind == _ARRAY else _S_KEY
                        i += 1
                        continue
                    if char != _CLOSERS[kind]:
                        raise self._fail(
                            f"unexpected {_describe(char)} after a value",
                            text,
                            i,
                            f"',' or '{_CLOSERS[kind]}'",
                        )
                    # Closing adds nothing visible: the last snapshot shows every member.
                    i += 1
                    frame = stack.pop()
                    if frame.path is not None and stack and stack[-1].path is None:
                        # Its path was asked for (a member of it completed): its parent's is
                        # that, shorter (see _path_of). At C speed, rather than a walk up.
                        stack[-1].path = frame.path[:-1]
                    value, start, end = frame.items, frame.start, base + i
                elif state <= _S_ARRAY_FIRST:  # _S_VALUE or _S_ARRAY_FIRST
                    if char == '"':
                        # A string whose closing quote may be in this piece is decoded whole by
                        # the json module's decoder; if it is not (or is invalid), the string
                        # state above takes it and says what is wrong.
                        j = -1
                        if text.find('"', i + 1) != -1:
                            try:
                                value, j = _scanstring(text, i + 1, True)
                            except ValueError:
                                j = -1  # invalid or unterminated: the careful path says which
                            if j >= 0 and len(value) > self._max_string:
                                j = -1  # too long: the careful path says where
                        if j < 0:
                            self._begin_string(base + i)
                            self._dirty = True
                            state = _S_IN_STRING
                            i += 1
                            continue
                        self._dirty = True
                        start, end = base + i, base + j
                        i = j
                    elif char == "{" or char == "[":
                        if len(stack) >= self._max_depth:
                            raise self._fail(
                                f"nesting deeper than max_depth={self._max_depth}",
                                text,
                                i,
                                "a shallower value",
                                error_class=JSONDepthError,
                            )
                        # Nothing inside this container is to be reported one by one, so if it
                        # is whole in this piece the json module's C decoder may take it at once.
                        whole = None
                        if bulk_ok and len(stack) >= completion_depth:
                            bulk_ok = False  # tried once per piece at most: see _decode_whole
                            whole = self._decode_whole(text, i)
                        if whole is None:
                            parent = stack[-1] if stack else None
                            slot: str | int = 0
                            if parent is not None:
                                slot = (
                                    len(parent.items)
                                    if parent.kind == _ARRAY
                                    else cast(str, parent.key)
                                )
                            if char == "{":
                                stack.append(_Frame(_OBJECT, {}, parent, slot, base + i))
                                state = _S_OBJECT_FIRST
                            else:
                                stack.append(_Frame(_ARRAY, [], parent, slot, base + i))
                                state = _S_ARRAY_FIRST
                            self._dirty = True
                            i += 1
                            continue
                        self._dirty = True
                        value, j = whole
                        start, end = base + i, base + j
                        i = j
                    elif char == "-" or "0" <= char <= "9":
                        match = _NUMBER(text, i)
                        end = match.end() if match is not None else i
                        # Cut by the end of the piece ('1.', '1e', '-'): it may go on. Only a
                        # number character after the match can make it so (a cheap test first).
                        if end == n or (
                            end + 2 >= n
                            and text[end] in _NUMBER_CHARS
                            and _NUMBER_PREFIX(text, i) is not None
                        ):
                            if n - i > MAX_NUMBER_LENGTH:
                                raise self._fail(
                                    f"number longer than {MAX_NUMBER_LENGTH} characters",
                                    text,
                                    i,
                                    "a shorter number",
                                )
                            self._carry = text[i:]  # it may go on in the next piece
                            i = n
                            break
                        if match is None or text[end] in _NUMBER_CHARS:
                            raise self._number_error(text, i, end)
                        if end - i > MAX_NUMBER_LENGTH:  # the same verdict as when it is carried
                            raise self._fail(
                                f"number longer than {MAX_NUMBER_LENGTH} characters",
                                text,
                                i,
                                "a shorter number",
                            )
                        if match.lastindex is None:
                            try:
                                value = int(text[i:end])
                            except ValueError:
                                raise self._fail(
                                    f"integer too large ({end - i} digits)",
                                    text,
                                    i,
                                    "a smaller integer",
                                ) from None
                        else:
                            value = float(text[i:end])
                        self._dirty = True
                        start = base + i
                        i = end
                        end += base
                    elif char in _LITERALS:
                        word, value = _LITERALS[char]
                        size = len(word)
                        if not text.startswith(word, i):
                            piece = text[i : i + size]
                            for k, (got, want) in enumerate(zip(piece, word, strict=False)):
                                if got != want:
                                    raise self._fail(
                                        f"invalid literal (expected {word!r})",
                                        text,
                                        i + k,
                                        repr(want),
                                    )
                            self._carry = piece  # a prefix of the word, cut by the end of the piece
                            i = n
                            break
                        self._dirty = True
                        start = base + i
                        i += size
                        end = base + i
                    elif char == "]" and state == _S_ARRAY_FIRST:
                        i += 1
                        frame = stack.pop()
                        value, start, end = frame.items, frame.start, base + i
                    else:
                        expected = "a value or ']'" if state == _S_ARRAY_FIRST else "a value"
                        raise self._fail(f"unexpected {_describe(char)}", text, i, expected)
                elif state == _S_COLON:
                    if char != ":":
                        raise self._fail(
                            f"unexpected {_describe(char)} after an object key", text, i, "':'"
                        )
                    state = _S_VALUE
                    i += 1
                    continue
                elif char == '"':  # _S_KEY or _S_OBJECT_FIRST
                    if text.find('"', i + 1) != -1:
                        try:
                            string, end = _scanstring(text, i + 1, True)
                        except ValueError:
                            pass
                        else:
                            if len(string) <= self._max_string:  # else the careful path says where
                                stack[-1].key = string
                                state = _S_COLON
                                i = end
                                continue
                    self._begin_string(base + i)
                    state = _S_IN_KEY
                    i += 1
                    continue
                elif char == "}" and state == _S_OBJECT_FIRST:
                    i += 1
                    frame = stack.pop()
                    value, start, end = frame.items, frame.start, base + i
                else:
                    expected = "'\"' or '}'" if state == _S_OBJECT_FIRST else "'\"' (a key)"
                    raise self._fail(
                        f"unexpected {_describe(char)} where a key belongs", text, i, expected
                    )

            # A value completed: store it in its container (or as the root), record it.
            if stack:
                frame = stack[-1]
                if frame.kind == _ARRAY:
                    if len(stack) <= completion_depth:
                        self._completed.append((frame, len(frame.items), value, start, end))
                    frame.items.append(value)
                else:
                    if len(stack) <= completion_depth:
                        self._completed.append((frame, frame.key, value, start, end))
                    frame.items[frame.key] = value
                    frame.key = None
                state = _S_AFTER_VALUE
            else:
                self._root = value
                self._end = end
                self._completed.append((None, _MISSING, value, start, end))
                state = _S_DONE
        self._state = state
        carry = self._carry
        # Inside a string with nothing carried, the next pieces may take feed()'s fast paths.
        if carry or state < _S_IN_STRING or state > _S_IN_KEY:
            self._plain = 0
        else:
            self._plain = _PLAIN_VALUE if state == _S_IN_STRING else _PLAIN_KEY
        return n - len(carry)

    def _decode_whole(self, text: str, i: int) -> tuple[Any, int] | None:
        """The container at ``text[i]`` decoded by the json module's C decoder, if it is whole.

        Used only where nothing inside the container is to be reported on its own (see
        ``completion_depth``), once per piece at most (a failed try costs the rest of the piece,
        so the cost stays linear), and where the C decoder's own nesting limit (the recursion
        limit) is within ``max_depth``. It gives exactly what the careful path gives: NaN and
        Infinity are refused, as are numbers longer than ``MAX_NUMBER_LENGTH`` and integers
        ``int()`` refuses. On any refusal the careful path takes the container and says why.
        """
        try:
            return _SCAN_WHOLE(text, i)  # type: ignore[no-any-return]
        except (ValueError, StopIteration, RecursionError, _Refused):
            return None

    def _member_in_progress(self, level: int) -> bool:
        """Whether the container at ``level`` has a member being received (not just its key)."""
        if level + 1 < len(self._stack):
            return True  # an inner container is open
        return self._state == _S_IN_STRING or bool(self._carry)

    def _begin_string(self, offset: int) -> None:
        """A string (value or key) opens at ``offset``, its opening quote."""
        self._string_start = offset
        self._string_parts = []
        self._string_len = 0
        self._shown = ""
        self._show_at = 0  # shown at once (empty), then after every piece until it is long

    def _add_to_string(self, run: str, value: bool) -> None:
        """Append ``run`` to the open string, a value's when ``value``: the next snapshot shows
        it when the string is short, or has grown enough since it was last shown."""
        self._string_parts.append(run)
        length = self._string_len + len(run)
        self._string_len = length
        if value and length >= self._show_at:
            self._dirty = True

    def _current_string(self) -> str:
        """The open string as a snapshot shows it: all of it while it is short; once it is long,
        what there was when it last grew by 1/LONG_STRING_GROWTH (see LONG_STRING_CHARS)."""
        length = self._string_len
        if length < self._show_at:
            return self._shown
        parts = self._string_parts
        string = parts[0] if len(parts) == 1 else "".join(parts)
        self._string_parts = [string]  # joined once; the next pieces are appended to it
        self._shown = string
        step = length // LONG_STRING_GROWTH if length >= LONG_STRING_CHARS else 1
        self._show_at = length + max(step, 1)
        return string

    def _string_too_long(self, text: str = "", local_offset: int = 0) -> JSONParseError:
        """The error for a string past ``max_string_chars``, at ``text[local_offset]`` (by default
        where the parser stopped); the parser is spent."""
        what = "string" if self._state != _S_IN_KEY else "object key"
        error = self._fail(
            f"{what} starting at offset {self._string_start} is longer than "
            f"max_string_chars={self._max_string}",
            text,
            local_offset,
            "a shorter string",
            error_class=JSONStringTooLongError,
        )
        self._error = error
        self._plain = 0
        return error

    def _escape(self, text: str, i: int, n: int) -> tuple[str | None, int]:
        """Decode the escape at ``text[i]`` (a backslash).

        Returns the decoded text and the offset after it, or ``(None, n)`` when the escape is cut
        by the end of the piece (then it is carried over, after checking that what is there is a
        valid beginning, so that an error is still raised in the feed that brings it).
        """
        if i + 1 >= n:
            self._carry = text[i:]
            return None, n
        kind = text[i + 1]
        simple = _SIMPLE_ESCAPES.get(kind)
        if simple is not None:
            return simple, i + 2
        if kind != "u":
            raise self._fail(
                f"invalid escape {_describe(kind)}",
                text,
                i + 1,
                'one of " \\ / b f n r t u after a backslash',
            )
        if i + 6 > n:
            if _HEX_PREFIX(text, i + 2, n) is None:
                raise self._fail(
                    "invalid \\u escape", text, self._first_non_hex(text, i + 2, n), "a hex digit"
                )
            self._carry = text[i:]
            return None, n
        if _HEX4(text, i + 2, i + 6) is None:
            raise self._fail(
                "invalid \\u escape", text, self._first_non_hex(text, i + 2, i + 6), "a hex digit"
            )
        code = int(text[i + 2 : i + 6], 16)
        if 0xD800 <= code <= 0xDBFF:
            # A high surrogate: a low one may follow as a second escape, making one character.
            # Hold it back until that is known, as a half pair is not a character to show.
            rest = text[i + 6 : i + 12]
            if len(rest) < 6 and "\\u".startswith(rest[:2]) and _HEX_PREFIX(rest, 2) is not None:
                self._carry = text[i:]
                return None, n
            if rest[:2] == "\\u" and _HEX4(rest, 2) is not None:
                low = int(rest[2:], 16)
                if 0xDC00 <= low <= 0xDFFF:
                    return chr(0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)), i + 12
        # Lone surrogates are kept as they are, as json.loads does.
        return chr(code), i + 6

    def _first_non_hex(self, text: str, start: int, stop: int) -> int:
        for k in range(start, stop):
            if text[k] not in "0123456789abcdefABCDEF":
                return k
        return stop

    def _number_error(self, text: str, i: int, end: int) -> JSONParseError:
        """Explain why the number at ``text[i]`` is invalid; ``end`` is where the valid part stops."""
        if end == i:  # a lone '-'
            return self._fail("expected a digit after '-'", text, i + 1, "a digit")
        char = text[end]
        token = text[i:end]
        if char in "0123456789":
            return self._fail(
                "leading zeros are not allowed in a number", text, end, "',', ']' or '}'"
            )
        if char == "." and "." not in token and "e" not in token.lower():
            return self._fail("expected a digit after the decimal point", text, end + 1, "a digit")
        if char in "eE" and "e" not in token.lower():
            k = end + 1
            if k < len(text) and text[k] in "+-":
                k += 1
            return self._fail("expected a digit in the exponent", text, k, "a digit")
        return self._fail(f"unexpected {_describe(char)} in a number", text, end, "',', ']' or '}'")

    def _finish_carry(self) -> None:
        """At the end of input, finish a number or literal cut by the end of the last piece."""
        carry = self._carry
        if self._state in (_S_IN_STRING, _S_IN_KEY):
            return  # a cut escape: the string is unterminated, reported by _truncation_error
        if carry[0] in _LITERALS:
            word = _LITERALS[carry[0]][0]
            raise self._fail(
                f"truncated literal {carry!r} (expected {word!r})",
                carry,
                len(carry),
                repr(word[len(carry) :]),
            )
        # A number is complete at the end of input: parse it as if a space followed.
        text = carry + " "
        match = _NUMBER(text)
        if match is None or match.end() != len(carry):
            raise self._number_error(text, 0, match.end() if match is not None else 0)
        self._carry = ""
        self._parse(text)
        self._base += len(carry)

    def _truncation_error(self) -> JSONParseError:
        """Say what is missing at the end of the input (a cut escape may still be carried)."""
        text = self._carry
        end = len(text)
        state = self._state
        if state in (_S_IN_STRING, _S_IN_KEY):
            what = "string" if state == _S_IN_STRING else "object key"
            return self._fail(
                f"unterminated {what} starting at offset {self._string_start}", text, end, "'\"'"
            )
        if not self._stack:
            return self._fail("no JSON value in the input", text, end, "a value")
        frame = self._stack[-1]
        kind = "array" if frame.kind == _ARRAY else "object"
        expected = {
            _S_VALUE: "a value",
            _S_ARRAY_FIRST: "a value or ']'",
            _S_OBJECT_FIRST: "'\"' or '}'",
            _S_KEY: "'\"' (a key)",
            _S_COLON: "':'",
            _S_AFTER_VALUE: f"',' or '{_CLOSERS[frame.kind]}'",
        }[state]
        return self._fail(
            f"unterminated {kind} starting at offset {frame.start}", text, end, expected
        )

    # -- errors -------------------------------------------------------------------------------

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


def _array_copy(frame: _Frame) -> list[Any]:
    """A copy of an open array's complete members for a snapshot: new, or the one made two
    snapshots ago brought up to date when nothing but the parser holds it any more.

    A snapshot never changes, so each one has its own copy of every open container, and copying
    a long array costs every member: for a table being written that made each snapshot cost the
    table so far (one copy of 20,000 rows: ~70 us; benchmarks.e2e, 16 KiB reads: a ninth of the
    CPU at 20,000 rows). The copy two snapshots old is usually garbage by now (its caller moved
    on): when the reference count says the parser alone holds it - CPython's count is exact, and
    any other holder, a snapshot kept or the copy itself, adds to it - its member in progress is
    dropped and the members completed since are appended: a snapshot costs what was added.
    """
    items: list[Any] = frame.items
    if not items:  # nothing to copy (a deep nesting: every level but the last)
        frame.spare, frame.spare_size = frame.given, frame.given_size
        frame.given, frame.given_size = [], 0
        return frame.given
    spare_size = frame.spare_size
    spare, references = _detach_spare(frame)
    if spare is not None and references == _ALONE and _unchanged(spare, spare_size, items):
        del spare[spare_size:]
        spare += items[spare_size:]
        copy = spare
    else:
        copy = items.copy()
    # Rotated once the new copy exists: an exception above (MemoryError) leaves them as they were.
    frame.spare, frame.spare_size = frame.given, frame.given_size
    frame.given, frame.given_size = copy, len(items)
    return copy


def _release_open_members(stack: list[_Frame]) -> None:
    """Drop the member in progress from the spare copy of each open array nothing else holds,
    from the root down, before _array_copy remakes them.

    An array's spare holds the spare of the array open inside it (its member in progress then),
    so the inner one never looked free and was copied whole each time: a long list inside a list
    cost its length per snapshot. Dropping that member first (as remaking the spare does anyway)
    leaves the inner spare to the parser alone, and it is remade too.
    """
    # Only the arrays above the innermost one with members to remake need to let it go.
    below = len(stack) - 1
    while below > 0 and not (stack[below].kind == _ARRAY and stack[below].items):
        below -= 1
    for frame in stack[:below]:
        if frame.kind != _ARRAY or frame.spare is None:
            continue
        size = frame.spare_size
        spare, references = _detach_spare(frame)
        if spare is not None and references == _ALONE and len(spare) == size + 1:
            del spare[size:]
        frame.spare = spare


def _detach_spare(frame: _Frame) -> tuple[list[Any] | None, int]:
    """``frame.spare``, taken off the frame, and its reference count then (0 where counts are not
    trusted): equal to ``_ALONE`` when nothing else holds it."""
    spare = frame.spare
    frame.spare = None
    return spare, references(spare)


def _alone() -> int:
    """What _detach_spare counts for a list nothing else holds, measured by the same code:
    interpreted and compiled code hold their locals and arguments differently."""
    frame = _Frame(_ARRAY, [], None, 0, 0)
    frame.spare = []
    return _detach_spare(frame)[1]


#: What _detach_spare counts for an array copy nothing else holds (see _recycle.calibrate).
_ALONE: Final = calibrate(_alone)


def _path_of(frame: _Frame) -> Path:
    """The path of an open (or just closed) container, made once when first asked: from the
    nearest container above it whose path is known, so a deep one costs its depth once, and
    only the containers whose path is asked for keep one."""
    slots: list[str | int] = []
    above: _Frame | None = frame
    while above is not None and above.path is None:
        slots.append(above.slot)
        above = above.parent
    slots.reverse()
    path: Path = tuple(slots) if above is None else (*cast(Path, above.path), *slots)
    frame.path = path
    return path


def _describe(char: str) -> str:
    if char.isprintable() and char != " ":
        return repr(char)
    return f"character U+{ord(char):04X}"


def _exists(value: Any, path: Path) -> bool:
    """Whether ``path`` leads somewhere inside the completed ``value``."""
    for key in path:
        if isinstance(value, list):
            if not isinstance(key, int) or isinstance(key, bool) or not 0 <= key < len(value):
                return False
            value = value[key]
        elif isinstance(value, dict):
            if not isinstance(key, str) or key not in value:
                return False
            value = value[key]
        else:
            return False
    return True
