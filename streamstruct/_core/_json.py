"""A resumable, partial-aware JSON parser: text in (any pieces), snapshots and completed values out.

Sans-I/O: it knows nothing of HTTP, event loops or pydantic. It is fed text in arbitrary pieces (an
LLM sends a few characters at a time) and keeps its state between feeds, so every character is
examined once, whatever the chunking: feeding a document costs time linear in its length.

The parser is five modules, all in the core layer (standard library and ``_errors`` only), each
importing only those above it in this list:

* ``_json_lexer``: what one token is (escapes, numbers, literals, a whole container for the json
  module's C decoder), and ``LexError`` for what JSON refuses there.
* ``_json_string``: the open string: its lexer, its text, and how often a snapshot shows it again.
* ``_json_containers``: the stack's frames, paths, completed values and ``is_complete``.
* ``_json_options``: ``Shortcuts``, the switch for each of the parser's shortcuts, and the default
  cap on strings.
* ``_json_builder``: ``ValueBuilder``, the state machine that feeds on the text, builds the values
  and records those that complete.
* this module: ``JSONParser``, the builder with its snapshots and questions about completion, and
  the reference-count reuse of the snapshots' lists.

Snapshots follow jiter's ``'trailing-strings'`` partial mode. Completed values are final Python
objects that are never mutated again, so snapshots share them; only the containers on the open path
(the "spine") are copied, and only when something visible changed since the last snapshot.
Completion is observable below the root: every value that closes is recorded with its path and its
character span (``pop_completed``), and ``is_complete(path)`` is answered from the spine.
"""

from __future__ import annotations

from sys import getrefcount
from typing import Any, Final, final

from .._errors import JSONParseError
from ._json_builder import (
    MISSING,
    PLAIN_IN,
    S_DONE,
    S_IN_KEY,
    S_IN_STRING,
    SHARED_STRING_CHARS,
    ValueBuilder,
)
from ._json_containers import ARRAY as _ARRAY
from ._json_containers import (
    CompletedValue,
    Path,
    exists,
    is_complete_in,
    path_of,
)
from ._json_containers import Frame as _Frame
from ._json_lexer import LITERALS, LexError
from ._json_options import DEFAULT_MAX_STRING_CHARS, Shortcuts
from ._json_string import LONG_STRING_CHARS, LONG_STRING_GROWTH
from ._recycle import RECYCLE as _RECYCLE
from ._recycle import calibrate
from ._recycle import unchanged as _unchanged

__all__ = [
    "DEEP_SNAPSHOT_LEVELS",
    "DEEP_SNAPSHOT_SPACING",
    "DEFAULT_MAX_STRING_CHARS",
    "LONG_STRING_CHARS",
    "LONG_STRING_GROWTH",
    "SHARED_STRING_CHARS",
    "CompletedValue",
    "JSONParser",
    "Path",
    "Shortcuts",
]

# A snapshot copies every open container, so with many open a snapshot after every piece costs the
# depth each time: 990 nested arrays cost ~50 times what flat text does per byte. With more than
# DEEP_SNAPSHOT_LEVELS open, a snapshot is made again only once the text has grown by
# DEEP_SNAPSHOT_SPACING times as many characters as were open at the last one (or a value recorded
# by pop_completed completed), which keeps its copies to a fraction of one per character.
DEEP_SNAPSHOT_LEVELS: Final = 32
# Twice the depth at first: the copies were then 2.3 lists per level of a deep nesting, and what the
# garbage collector was given to go through decided its time (a full collection more than flat text
# of the same arrays: 990-deep arrays, 4-character pieces, a snapshot after each, compiled, 2.3-3.0x
# flat text's time per byte). At 8 times: 1.4 per level (one of them the snapshot a completed value
# asks for), 3 full collections where 4 were, and 1.4-1.6x flat's time per byte compiled.
DEEP_SNAPSHOT_SPACING: Final = 8


@final
class JSONParser(ValueBuilder):
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
    * ``max_string_chars``: the longest string (value or key); longer raises
      ``JSONStringTooLongError``. ``None``: no cap.
    * ``shortcuts``: which shortcuts to the careful path's answers to take (all, by default; see
      ``Shortcuts``).
    """

    __slots__ = ("_last_snapshot", "_popped", "_recorded_shown", "_recycle", "_show_deep_at")

    def __init__(
        self,
        *,
        max_depth: int = 1000,
        allow_trailing_text: bool = False,
        completion_depth: int | None = None,
        max_string_chars: int | None = DEFAULT_MAX_STRING_CHARS,
        shortcuts: Shortcuts = Shortcuts(),  # noqa: B008 (an immutable named tuple)
    ) -> None:
        super().__init__(
            max_depth=max_depth,
            allow_trailing_text=allow_trailing_text,
            completion_depth=completion_depth,
            max_string_chars=max_string_chars,
            shortcuts=shortcuts,
        )
        self._last_snapshot: Any = None
        # For deep snapshots (DEEP_SNAPSHOT_LEVELS): the offset from which the next one is made
        # (the last one's, plus its depth), and how many values had been recorded complete then
        # (``_popped``: those handed out).
        self._show_deep_at = 0
        self._popped = 0
        self._recorded_shown = 0
        self._recycle = _RECYCLE and shortcuts.recycled_lists

    def feed(self, text: str) -> None:
        """Consume the next piece of the document.

        Raises ``JSONParseError`` at the first offending character. After an error (here or in
        :meth:`close`) the parser is spent: ``feed``, ``close``, ``snapshot``, ``pop_completed``
        and ``is_complete`` raise that same error, ``growing_string`` and
        ``open_container_path`` give ``None``; ``done``, ``end`` and ``offset`` stay as they were.
        """
        # Here, not in ValueBuilder (which it drives): compiled, a method of the builder called
        # on a JSONParser checks the subclass at every call, and its calls to the builder's own
        # methods go through the vtable. As a method of ValueBuilder, feeding prose in 4-character
        # pieces took 1.02x the time it takes here (A of the parser benchmark, 100 KB; a plain
        # prose string 1.03x), medians of paired CPU-time ratios, both builds loaded alternately.
        #
        # The common case while an LLM writes prose into a string: the piece holds no quote,
        # backslash or control character (``isprintable`` is false for every one; the few other
        # characters it rejects, such as U+2028, take the general path), so it is all content.
        # ``_plain`` is true only inside a string with nothing carried over and no error. The
        # string's appending is written out here: a call per piece is measurable on this path.
        plain = self._plain
        if (
            plain  # (an empty piece appends an empty part: harmless)
            and '"' not in text
            and "\\" not in text
            and self._plain_pieces
            and text.isprintable()
        ):
            string = self._string
            string.parts.append(text)
            size = len(text)
            self._base += size
            length = string.length + size
            string.length = length
            # A growing value shows (a long one only now and then; a key never: see begin).
            if length >= string.show_at:
                self._dirty = True
            if length > self._max_string:
                raise self._string_too_long()
            return
        if plain and "\\" in text and self._take_escaped_run(text, plain):
            return
        # The careful path, through the state machine: written out here, not in a method (a call
        # more per piece; with the calls per token in _scan, B fed in 4-character pieces took
        # 1.26x main's time, pure; 1.08x without them: see _scan).
        if self._error is not None:
            raise self._error
        # What the last piece left unconsumed goes first: written out here, not in a method (as a
        # method, C of the parser benchmark fed in 4-character pieces took 1.016x the time; 100
        # KB, pure, median of paired CPU-time ratios).
        if self._carry:
            text = self._carry + text
            self._carry = ""
            plain = PLAIN_IN[self._state]  # (inside a string, the carry is a cut escape)
            if plain and self._take_escaped_run(text, plain):
                return  # the cut escape and what follows it taken as an escaped run
        refused: LexError | None = None
        try:
            consumed = self._scan(text) if self._state < S_DONE else self._after_root_piece(text)
        except LexError as problem:
            refused = problem
        except JSONParseError as error:
            self._die(error)
            raise
        if refused is not None:
            # Raised outside the except clause, so that the LexError is not its context.
            failure = self._refuse(text, refused)
            self._die(failure)
            raise failure
        # Inside a string with nothing carried, the next pieces may take the shortcuts above.
        self._plain = 0 if self._carry else PLAIN_IN[self._state]
        if "\n" in text:
            self._count_lines(text, consumed)
        self._base += consumed
        # The open string value shows more (a long one only now and then) once it has grown to
        # ``show_at``: asked once per piece here, not after every run of it in _scan. Flagged by a
        # method around StringLexer.take, with a call more to open a string and one per run
        # appended, B of the parser benchmark fed in 4-character pieces took 1.09-1.11x 823c300's
        # time (C 1.10x); 1.00x without (C 1.07x). 100 KB, pure, medians of paired CPU-time ratios.
        if self._state == S_IN_STRING and self._string.length >= self._string.show_at:
            self._dirty = True
        if self._string.length > self._max_string and self._state in (S_IN_STRING, S_IN_KEY):
            raise self._string_too_long()

    @property
    def done(self) -> bool:
        """Whether the root value is complete."""
        return self._state >= S_DONE

    @property
    def end(self) -> int | None:
        """The offset just past the root value once it is complete, else ``None``."""
        return self._end

    @property
    def offset(self) -> int:
        """How many characters have been fed and consumed (a carried-over tail excluded)."""
        return self._base

    def close(self) -> Any:
        """End the input: return the complete value, or raise ``JSONParseError`` saying what is missing."""
        if self._error is not None:
            raise self._error
        try:
            if self._carry:
                self._finish_carry()
            if self._state < S_DONE:
                raise self._truncation_error()
        except JSONParseError as error:
            self._die(error)
            raise
        return self._root

    def _finish_carry(self) -> None:
        """At the end of input, finish a number or literal cut by the end of the last piece."""
        carry = self._carry
        if self._state in (S_IN_STRING, S_IN_KEY):
            return  # a cut escape: the string is unterminated, reported by _truncation_error
        if carry[0] in LITERALS:
            word = LITERALS[carry[0]][0]
            raise self._fail(
                f"truncated literal {carry!r} (expected {word!r})",
                carry,
                len(carry),
                repr(word[len(carry) :]),
            )
        # A number is complete at the end of input: parse it as if a space followed (the lexer
        # says what is wrong with it, if anything).
        text = carry + " "
        self._carry = ""
        self._parse(text)
        self._base += len(carry)

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
        grown by ``DEEP_SNAPSHOT_SPACING`` (8) times as many characters as were open at the last
        one (or a value recorded by ``pop_completed`` completed), as each snapshot copies every
        open container.

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
        self._show_deep_at = self._base + DEEP_SNAPSHOT_SPACING * depth
        self._recorded_shown = recorded
        leaf: Any = self._string.current() if self._state == S_IN_STRING else MISSING
        value = self._spine_copy(leaf) if stack else self._root if leaf is MISSING else leaf
        self._last_snapshot = value
        self._dirty = False  # only now: a copy that failed (MemoryError) is made again next time
        return value

    def _spine_copy(self, child: Any) -> Any:
        """A copy of every open container, from the innermost out, each holding the one inside
        it (or ``child``, the open string, unless MISSING) as its member in progress."""
        stack = self._stack
        recycle = self._recycle
        if recycle and len(stack) > 1:
            _release_open_members(stack)
        for frame in reversed(stack):
            if frame.kind == _ARRAY:
                copy: Any = _array_copy(frame) if recycle else frame.items.copy()
                if child is not MISSING:
                    copy.append(child)
            else:
                copy = frame.items.copy()
                if child is not MISSING:
                    copy[frame.key] = child
            child = copy
        return child

    def growing_string(self) -> tuple[int, str] | None:
        """The string value being received, if the parser is inside one: the offset of its opening
        quote and its text so far, as a snapshot shows it. ``None`` anywhere else (between values,
        inside an object key, once done).

        While the same string stays open nothing else in the document can have changed (JSON is
        written in order), so a caller that has shown the rest can show the new text alone, without
        a snapshot.
        """
        if self._state != S_IN_STRING or self._error is not None:
            return None
        return self._string.start, self._string.current()

    def growing_tail(self, since: int) -> str | None:
        """The text of the string value being received from its character ``since`` on: all of
        it received so far, whether a snapshot shows it yet or not (see ``snapshot``). ``None``
        where ``growing_string`` is. It costs the length of the text returned, so a caller that
        asks for what came since it last asked pays for each character once.
        """
        if self._state != S_IN_STRING or self._error is not None:
            return None
        return self._string.tail(since)

    def share_strings(self) -> None:
        """Record from now on each string value that closes with no escape in it and at least
        ``SHARED_STRING_CHARS`` characters, for :meth:`take_shared_strings`: its text is then the
        string itself, which a text log of the same input keeps instead (``_text.TextLog.watch``).
        """
        if self._shared is None:
            self._shared = []

    def take_shared_strings(self) -> tuple[list[tuple[int, str]], int]:
        """The strings recorded since the last call (see :meth:`share_strings`), in order, each
        with the offset of its first character; and the offset from which the text may still turn
        out to be one: the open string value's first character, or what is not consumed yet."""
        shared = self._shared
        if shared is None:
            return [], 0
        self._shared = []
        hold = self._base
        if self._state == S_IN_STRING:
            hold = min(hold, self._string.start + 1)
        return shared, hold

    def open_container_path(self) -> Path | None:
        """The path of the innermost open array or object, or None when none is open."""
        stack = self._stack
        return path_of(stack[-1]) if stack and self._error is None else None

    def pop_completed(self) -> list[CompletedValue]:
        """The values that completed since the last call, children before their parents."""
        if self._error is not None:
            raise self._error
        completed = self._completed
        self._completed = []
        self._popped += len(completed)
        # The records as CompletedValues, built here: through a function of _json_containers, a
        # call more per event (issue 13's last rows: one of five folds that took the pure pipeline
        # from 1.09x to 1.07x 823c300's CPU per event, tools 10 KB: about the measure's noise).
        out = []
        key: Any  # an index or a key; MISSING for the root (compiled: no narrower type holds it)
        for record in completed:
            if isinstance(record, _Frame):  # a container (see Record)
                parent, key, value = record.parent, record.slot, record.items
                start, end = record.start, record.end
            else:
                parent, key, value, start, end = record
            path = () if parent is None else (*path_of(parent), key)
            out.append(CompletedValue(path, value, start, end))
        return out

    def is_complete(self, path: Path) -> bool:
        """Whether the value at ``path`` exists and is complete."""
        if self._error is not None:
            raise self._error
        if self._state >= S_DONE:
            return exists(self._root, path)
        leaf_in_progress = self._state == S_IN_STRING or bool(self._carry)
        return is_complete_in(self._stack, path, leaf_in_progress)


# -- the reference-count reuse of the snapshots' lists ----------------------------------------


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
    # _recycle.references written out: through it (a call more per open array and snapshot), C
    # of the parser benchmark fed in 4-character pieces with a snapshot after each took 1.055x
    # the time (100 KB, pure, median of paired CPU-time ratios).
    return spare, (getrefcount(spare) if _RECYCLE and spare is not None else 0)


def _alone() -> int:
    """What _detach_spare counts for a list nothing else holds, measured by the same code:
    interpreted and compiled code hold their locals and arguments differently."""
    frame = _Frame(_ARRAY, [], None, 0, 0)
    frame.spare = []
    return _detach_spare(frame)[1]


#: What _detach_spare counts for an array copy nothing else holds (see _recycle.calibrate).
_ALONE: Final = calibrate(_alone)
