"""Properties of JSONParser on generated documents, cut at generated points.

A generated JSON value is written out in one of several styles (indented or not, compact or spaced
separators, ASCII-only escapes or raw Unicode, whitespace around it) and fed in generated pieces:

- ``close()`` gives what ``json.loads`` gives for the same text, whatever the pieces;
- every snapshot is a prefix of the final value (``is_prefix``), is never mutated afterwards, and is
  the very same object as the previous one when nothing visible changed;
- ``pop_completed()`` hands out every value of the document exactly once, children before parents,
  each with its final value and the span of its own text; ``is_complete`` agrees with it at every step.

And on garbage (arbitrary text, and valid documents with one character deleted, inserted or replaced):
the parser either gives ``json.loads``'s answer or, where ``json.loads`` refuses the text, raises
``JSONParseError``, never anything else, at one offset whatever the pieces.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shared_support import same, split_at

from streamstruct import JSONParseError
from streamstruct._core._json import CompletedValue, JSONParser

JSONPath = tuple[str | int, ...]

SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# -- the documents ----------------------------------------------------------------------------

# Characters worth meeting often: escapes, controls, the line separators, non-ASCII, astral
# characters, and lone surrogates (json.dumps writes them raw with ensure_ascii=False and as
# \uXXXX escapes otherwise, which json.loads may pair up).
SPECIAL_CHARS = '"\\/\b\f\n\r\t\x00\x1f\x7f\u2028\u2029é中😀\U0010ffff\ud800\udbff\udc00\udfff'
characters = st.characters() | st.sampled_from(SPECIAL_CHARS)
texts = st.text(characters, max_size=12)

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(10**60), max_value=10**60)
    | st.floats(allow_nan=False, allow_infinity=False)
    | texts
)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(texts, children, max_size=5),
    max_leaves=25,
)


@dataclass(frozen=True)
class Style:
    indent: int | None
    separators: tuple[str, str] | None
    ensure_ascii: bool
    before: str
    after: str

    def dumps(self, value: Any) -> str:
        body = json.dumps(
            value,
            indent=self.indent,
            separators=self.separators,
            ensure_ascii=self.ensure_ascii,
        )
        return self.before + body + self.after


whitespace = st.sampled_from(["", " ", "\n", "\r\n", " \t\n \r"])
styles = st.builds(
    Style,
    indent=st.sampled_from([None, 2]),
    separators=st.sampled_from([None, (",", ":"), (", ", ": ")]),
    ensure_ascii=st.booleans(),
    before=whitespace,
    after=whitespace,
)


@st.composite
def documents(draw: st.DrawFn) -> tuple[str, Any]:
    """A JSON text, and json.loads's value for it (floats and surrogate pairs go round trip)."""
    text = draw(styles).dumps(draw(json_values))
    return text, json.loads(text)


@st.composite
def cuts(draw: st.DrawFn, text: str) -> list[str]:
    """The text in pieces, cut at drawn points; equal points make empty pieces, which are fed too."""
    points = draw(st.lists(st.integers(0, len(text)), max_size=max(1, len(text) // 2)))
    return split_at(text, points)


# -- the helpers ------------------------------------------------------------------------------


def is_prefix(snapshot: Any, final: Any) -> bool:
    """Whether ``snapshot`` can be a snapshot of a document whose final value is ``final``.

    ``None`` (nothing visible yet) is a prefix of anything; scalars are equal; a string is a prefix
    of the final string; a list has the final list's first items, all equal but the last, which is a
    prefix; a dict has the final dict's first keys in the same order (the documents here have no
    duplicate keys), all values equal but the last key's, which is a prefix.
    """
    if snapshot is None:
        return True
    if type(snapshot) is not type(final):
        return False
    if isinstance(final, str):
        return final.startswith(snapshot)
    if isinstance(final, list):
        if len(snapshot) > len(final):
            return False
        if not snapshot:
            return True
        *settled, last = snapshot
        return all(same(a, b) for a, b in zip(settled, final, strict=False)) and _is_part(
            last, final[len(snapshot) - 1]
        )
    if isinstance(final, dict):
        keys = list(snapshot)
        if keys != list(final)[: len(keys)]:
            return False
        if not keys:
            return True
        *settled, last = keys
        return all(same(snapshot[key], final[key]) for key in settled) and _is_part(
            snapshot[last], final[last]
        )
    return same(snapshot, final)


def _is_part(member: Any, final: Any) -> bool:
    """A container's last member in a snapshot: a prefix, never a placeholder."""
    if member is None:
        return final is None
    return is_prefix(member, final)


def paths(value: Any, path: JSONPath = ()) -> Iterator[tuple[JSONPath, Any]]:
    """Every (path, value) of a document, the root included."""
    yield path, value
    if isinstance(value, list):
        for index, item in enumerate(value):
            yield from paths(item, (*path, index))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from paths(item, (*path, key))


@dataclass
class Trace:
    """What one parse went through: the answer, the snapshots, the completed values."""

    value: Any = None
    error: JSONParseError | None = None
    error_piece: int | None = None  # index of the piece whose feed raised; len(pieces): close()
    snapshots: list[tuple[Any, Any]] = field(default_factory=list)  # (snapshot, deep copy)
    completed: list[CompletedValue] = field(default_factory=list)

    @property
    def answer(self) -> tuple[str, Any]:
        if self.error is not None:
            return "rejected", (type(self.error), self.error.offset)
        return "accepted", self.value


def feed(
    pieces: Sequence[str],
    *,
    final: Any = None,
    completion_depth: int | None = None,
    watch: bool = True,
) -> Trace:
    """Feed the pieces and close, checking the step-by-step rules when ``watch`` is set.

    After every piece: the snapshot is the previous one (``is``) whenever it equals it, feeding ""
    changes nothing, and ``is_complete`` is true exactly for the paths popped so far (checked on the
    paths of ``final``).
    """
    trace = Trace()
    parser = JSONParser(completion_depth=completion_depth)
    previous: Any = parser.snapshot()
    fed = 0
    all_paths = [path for path, _ in paths(final)] if watch else []
    for index, piece in enumerate(pieces):
        error = _feed(parser, piece)
        if error is not None:
            assert fed <= error.offset < fed + len(piece), (error, fed, piece)
            trace.error, trace.error_piece = error, index
            return trace
        fed += len(piece)
        if not watch:
            continue
        snapshot = parser.snapshot()
        if same(snapshot, previous):
            assert snapshot is previous, (pieces[: index + 1], snapshot)
        parser.feed("")
        assert parser.snapshot() is snapshot
        trace.snapshots.append((snapshot, copy.deepcopy(snapshot)))
        previous = snapshot
        trace.completed += parser.pop_completed()
        assert all(done.end <= fed for done in trace.completed)
        popped = {done.path for done in trace.completed}
        for path in all_paths:
            if completion_depth is None or len(path) <= completion_depth:
                assert parser.is_complete(path) == (path in popped), (pieces[: index + 1], path)
    value, error = _close(parser)
    if error is not None:
        assert error.offset == fed, error
        trace.error, trace.error_piece = error, len(pieces)
        return trace
    trace.value = value
    trace.completed += parser.pop_completed()
    assert parser.done
    return trace


def _feed(parser: JSONParser, piece: str) -> JSONParseError | None:
    """Feed one piece; the JSONParseError it raises, or None (any other exception propagates)."""
    try:
        parser.feed(piece)
    except JSONParseError as error:
        return error
    return None


def _close(parser: JSONParser) -> tuple[Any, JSONParseError | None]:
    """Close: the value and None, or None and the JSONParseError raised."""
    try:
        return parser.close(), None
    except JSONParseError as error:
        return None, error


# -- properties of valid documents --------------------------------------------------------------


@SETTINGS
@given(document=documents(), data=st.data())
def test_close_gives_json_loads_value_and_snapshots_are_prefixes(
    document: tuple[str, Any], data: st.DataObject
) -> None:
    text, expected = document
    pieces = data.draw(cuts(text))
    trace = feed(pieces, final=expected)
    assert trace.error is None, trace.error
    assert same(trace.value, expected)
    for snapshot, at_the_time in trace.snapshots:
        assert is_prefix(snapshot, expected), (snapshot, expected)
        assert same(snapshot, at_the_time), "a snapshot was mutated by a later feed"
    assert same(trace.snapshots[-1][0], expected) or _ends_with_root_number(text, expected)


def _ends_with_root_number(text: str, value: Any) -> bool:
    """A root number with nothing after it is only complete at close()."""
    return type(value) in (int, float) and not text[-1].isspace()


@SETTINGS
@given(document=documents(), data=st.data())
def test_chunking_never_changes_the_answer(document: tuple[str, Any], data: st.DataObject) -> None:
    text, expected = document
    whole = feed([text], watch=False)
    chars = feed(list(text), watch=False)
    pieces = feed(data.draw(cuts(text)), watch=False)
    for trace in (whole, chars, pieces):
        assert trace.error is None, trace.error
        assert same(trace.value, expected)


@SETTINGS
@given(
    document=documents(),
    data=st.data(),
    completion_depth=st.sampled_from([None, 0, 1, 2]),
)
def test_completed_values_cover_the_document(
    document: tuple[str, Any], data: st.DataObject, completion_depth: int | None
) -> None:
    text, expected = document
    trace = feed(data.draw(cuts(text)), final=expected, completion_depth=completion_depth)
    assert trace.error is None, trace.error
    wanted = {
        path: value
        for path, value in paths(expected)
        if completion_depth is None or len(path) <= completion_depth
    }
    order = {done.path: index for index, done in enumerate(trace.completed)}
    assert len(order) == len(trace.completed), "a value completed twice"
    assert set(order) == set(wanted)
    for done in trace.completed:
        assert same(done.value, wanted[done.path]), done
        assert same(json.loads(text[done.start : done.end]), done.value), done
        for other, index in order.items():
            if other[: len(done.path)] == done.path and other != done.path:
                assert index < order[done.path], f"{other} completed after its parent {done}"


# -- garbage --------------------------------------------------------------------------------------

JSON_ALPHABET = st.sampled_from(list('{}[]":,.-+eE0123456789 \n\t\\/ubfnrtalsx\x00é😀\ud800'))


@st.composite
def mutations(draw: st.DrawFn) -> str:
    """A valid document with one character deleted, inserted or replaced."""
    text, _ = draw(documents())
    at = draw(st.integers(0, len(text)))
    change = draw(st.sampled_from(["delete", "insert", "replace"]))
    char = draw(JSON_ALPHABET)
    if change == "delete":
        return text[:at] + text[at + 1 :]
    if change == "insert":
        return text[:at] + char + text[at:]
    return text[:at] + char + text[at + 1 :]


garbage = st.text() | st.text(JSON_ALPHABET, max_size=30) | mutations()


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def reference(text: str) -> tuple[str, Any]:
    """json.loads, made as strict as RFC 8259: NaN and Infinity refused."""
    try:
        return "accepted", json.loads(text, parse_constant=_refuse_constant)
    except ValueError:
        return "rejected", None


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(text=garbage, data=st.data())
def test_garbage_parses_like_json_loads_or_raises_at_one_offset(
    text: str, data: st.DataObject
) -> None:
    verdict, expected = reference(text)
    whole = feed([text], watch=False)
    if verdict == "accepted":
        assert whole.error is None, (whole.error, expected)
        assert same(whole.value, expected)
    else:
        assert whole.error is not None, whole.value
    chars = feed(list(text), watch=False)
    pieces = feed(data.draw(cuts(text)), watch=False)
    assert same(chars.answer, whole.answer)
    assert same(pieces.answer, whole.answer)
