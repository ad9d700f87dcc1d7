"""JSONParser, rule by rule, in small explicit cases.

Every case is fed whole and one character at a time (and, for errors, cut at every point), since the
parser's answers must not depend on how the text arrives. The property tests (test_json_properties.py)
and the JSONTestSuite run (test_json_conformance.py) cover the same rules on generated and collected
inputs; these cases say what each rule is.
"""

from __future__ import annotations

import copy
import gc
import json
import math
import re
from collections.abc import Iterable
from typing import Any

import pytest
from shared_support import same

from streamstruct import JSONDepthError, JSONParseError, JSONStringTooLongError
from streamstruct._core._json import JSONParser


def parse(text: str, **options: Any) -> Any:
    parser = JSONParser(**options)
    parser.feed(text)
    return parser.close()


def parse_in(pieces: Iterable[str], **options: Any) -> Any:
    parser = JSONParser(**options)
    for piece in pieces:
        parser.feed(piece)
    return parser.close()


def snapshot_after(pieces: Iterable[str], **options: Any) -> Any:
    parser = JSONParser(**options)
    for piece in pieces:
        parser.feed(piece)
    return parser.snapshot()


def fail(pieces: Iterable[str], **options: Any) -> JSONParseError:
    """The error that feeding the pieces and closing raises."""
    with pytest.raises(JSONParseError) as caught:
        parse_in(pieces, **options)
    return caught.value


# -- values -----------------------------------------------------------------------------------

VALUES = [
    "null",
    "true",
    "false",
    "0",
    "-0",
    "-0.0",
    "7",
    "-12",
    "1.5",
    "-1.5e3",
    "1E+2",
    "2e-2",
    "1e05",
    "123456789012345678901234567890",
    "-98765432109876543210.5",
    '""',
    '"abc"',
    '"\\"\\\\\\/\\b\\f\\n\\r\\t"',
    '"\\u00e9\\u00E9"',
    '"\\ud83d\\ude00"',
    '"é中😀 raw"',
    '"\x7f del is not a control character"',
    "[]",
    "{}",
    '[1, "a", null, true, false, [], {}, 2.5]',
    '{"a": {"b": [1, {"c": null}]}, "": "empty key", "é": "\\u2028"}',
    " \t\n\r[ 1 ,\n 2 ]\r\n ",
    '{"a":1,"a":2,"b":3}',  # duplicate keys: the last value, at the first key's place
]


@pytest.mark.parametrize("text", VALUES)
def test_values_parse_to_what_json_loads_gives(text: str) -> None:
    expected = json.loads(text)
    assert same(parse(text), expected)
    assert same(parse_in(text), expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('"\\ud800"', "\ud800"),
        ('"\\udc00"', "\udc00"),
        ('"\\ud800x"', "\ud800x"),
        ('"\\ud800\\u0041"', "\ud800A"),
        ('"\\udc00\\ud800"', "\udc00\ud800"),
        ('"\\ud800\\ud800\\udc00"', "\ud800\U00010000"),
        ('"\\ud800\\n"', "\ud800\n"),
        ('{"\\udfaa": 0}', {"\udfaa": 0}),
    ],
)
def test_lone_surrogates_are_kept_as_json_loads_keeps_them(text: str, expected: Any) -> None:
    assert json.loads(text) == expected
    assert parse(text) == expected
    assert parse_in(text) == expected


def test_minus_zero_and_number_types() -> None:
    assert type(parse("-0")) is int
    assert math.copysign(1, parse("-0.0")) == -1
    assert type(parse("1e2")) is float
    assert parse("123456789012345678901234567890") == 123456789012345678901234567890


# -- errors -----------------------------------------------------------------------------------

# text, offset of the offending character, a piece of the message (reason or expected)
FEED_ERRORS = [
    ("[1,]", 3, "value"),
    ("[1 2]", 3, "','"),
    ("[,1]", 1, "value"),
    ("]", 0, "value"),
    ("[}", 1, "value"),
    ("{]", 1, "'\"'"),
    ('{"a" 1}', 5, "':'"),
    ('{"a":1,}', 7, "key"),
    ('{"a":1 "b":2}', 7, "','"),
    ('{"a":}', 5, "value"),
    ("{1:2}", 1, "key"),
    ("{,}", 1, "'\"'"),
    ("01", 1, "leading zero"),
    ("[01]", 2, "leading zero"),
    ("-01", 2, "leading zero"),
    ("[1.]", 3, "digit"),
    ("[1.e5]", 3, "digit"),
    ("[0.e1]", 3, "digit"),
    ("[-]", 2, "digit"),
    ("[- 1]", 2, "digit"),
    ("[1e]", 3, "digit"),
    ("[1e+]", 4, "digit"),
    ("[1.5.3]", 4, "'.'"),
    (".5", 0, "value"),
    ("+1", 0, "value"),
    ("NaN", 0, "value"),
    ("[Infinity]", 1, "value"),
    ("-Infinity", 1, "digit"),
    ("[tru]", 4, "true"),
    ("trux", 3, "true"),
    ("True", 0, "value"),
    ("[nulL]", 4, "null"),
    ('"\x01"', 1, "control"),
    ('"a\tb"', 2, "control"),
    ('{"a\nb": 1}', 3, "control"),
    ('"\\uZZZZ"', 3, "hex"),
    ('"\\u12Z4"', 5, "hex"),
    ('"\\x"', 2, "escape"),
    ('"\\ud800\\uZZZZ"', 9, "hex"),
    ("{} x", 3, "end of the input"),
    ("1 2", 2, "end of the input"),
    ("{}}", 2, "end of the input"),
    ('"a" "b"', 4, "end of the input"),
    ("\ufeff{}", 0, "value"),
    ("[\n  1,\n]", 7, "value"),
]


@pytest.mark.parametrize(("text", "offset", "needle"), FEED_ERRORS)
def test_an_offending_character_raises_in_the_feed_that_brings_it(
    text: str, offset: int, needle: str
) -> None:
    for cut in range(len(text) + 1):
        parser = JSONParser()
        head, tail = text[:cut], text[cut:]
        if offset < cut:
            with pytest.raises(JSONParseError) as caught:
                parser.feed(head)
        else:
            parser.feed(head)
            with pytest.raises(JSONParseError) as caught:
                parser.feed(tail)
        error = caught.value
        assert error.offset == offset, (cut, error)
        assert needle in str(error), error
        assert error.expected
        assert f"at offset {offset}" in str(error)
    assert fail(text).offset == offset  # and one character at a time


@pytest.mark.parametrize(
    ("text", "offset", "line", "column"),
    [
        ("[1,]", 3, 1, 4),
        ("[\n  1,\n]", 7, 3, 1),
        ('{\n  "a": tru\n}', 12, 2, 11),
        ('[1,\n\n  "x\x00"]', 9, 3, 5),
    ],
)
def test_errors_say_line_and_column(text: str, offset: int, line: int, column: int) -> None:
    for error in (fail([text]), fail(text)):
        assert (error.offset, error.line, error.column) == (offset, line, column)
        assert f"(line {line}, column {column})" in str(error)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('"abc', "unterminated string starting at offset 0"),
        ('["abc', "unterminated string starting at offset 1"),
        ('[1, "a\\', "unterminated string starting at offset 4"),
        ('"\\ud83d', "unterminated string starting at offset 0"),
        ('{"ab', "starting at offset 1"),
        ("[1, 2", "unterminated array starting at offset 0"),
        ('{"a": [1', "unterminated array starting at offset 6"),
        ('{"a": 1', "unterminated object starting at offset 0"),
        ('{"a"', "':'"),
        ("[1, 2,  ", "value"),
        ("tru", "true"),
        ("[nu", "null"),
        ("-", "digit"),
        ("1.", "digit"),
        ("1e", "digit"),
        ("1e+", "digit"),
        ("", "no JSON value"),
        (" \n\t ", "no JSON value"),
    ],
)
def test_what_is_missing_is_said_at_close(text: str, needle: str) -> None:
    parser = JSONParser()
    parser.feed(text)  # incomplete is not invalid: no error until the end of input
    assert not parser.done
    with pytest.raises(JSONParseError) as caught:
        parser.close()
    error = caught.value
    assert needle in str(error), error
    assert error.offset == len(text)  # the end of the input
    assert error.expected
    chars = fail(text)
    assert (chars.offset, chars.reason) == (error.offset, error.reason)


def test_no_value_reason_for_empty_input() -> None:
    assert re.search(r"no (JSON )?value", fail([""]).reason)


def test_a_spent_parser_keeps_raising_the_same_error() -> None:
    parser = JSONParser()
    with pytest.raises(JSONParseError) as first:
        parser.feed("[1,]")
    with pytest.raises(JSONParseError) as again:
        parser.feed("2]")
    assert again.value is first.value
    with pytest.raises(JSONParseError):
        parser.close()


@pytest.mark.parametrize(
    ("first", "cap"), [('{"ab', 5), ('{"a": "ab', 5), ('"' + "a" * 8500, 8503)]
)
def test_a_parser_spent_by_a_string_too_long_keeps_raising_it(first: str, cap: int) -> None:
    # The snapshot just before still shows all there is to show (a key never shows, a long string
    # only now and then): the snapshot after the error raises it all the same.
    parser = JSONParser(max_string_chars=cap)
    parser.feed(first)
    parser.snapshot()
    with pytest.raises(JSONStringTooLongError) as refused:
        parser.feed("cdefg")
    for call in (parser.snapshot, parser.pop_completed, parser.close, lambda: parser.feed("x")):
        with pytest.raises(JSONStringTooLongError) as again:
            call()
        assert again.value is refused.value


def test_parse_errors_are_value_errors() -> None:
    with pytest.raises(ValueError, match="offset 3"):
        parse("[1,]")


def test_a_long_number_gets_the_same_verdict_however_it_is_cut() -> None:
    text = "[1." + "0" * 12_000 + "]"
    whole = _verdict([text])
    assert _verdict([text[i : i + 100] for i in range(0, len(text), 100)]) == whole


def _verdict(pieces: list[str]) -> tuple[str, Any]:
    try:
        return "accepted", parse_in(pieces)
    except JSONParseError as error:
        return "rejected", error.offset


# -- snapshots --------------------------------------------------------------------------------

SNAPSHOTS: list[tuple[str, Any]] = [
    ("", None),
    ("  \n", None),
    ("2", None),
    ("28", None),
    ("-", None),
    ("tr", None),
    ("true", True),
    ('"', ""),
    ('"ab', "ab"),
    ("[", []),
    ("{", {}),
    ("[28", []),
    ("[28,", [28]),
    ("[28 ", [28]),
    ("[-", []),
    ("[1.", []),
    ("[1.5", []),
    ("[1e", []),
    ("[1e5", []),
    ("[1e5]", [100000.0]),
    ('{"age": 28', {}),
    ('{"age": 28,', {"age": 28}),
    ('{"age": 28}', {"age": 28}),
    ('{"na', {}),
    ('{"name"', {}),
    ('{"name": ', {}),
    ('{"name": "', {"name": ""}),
    ('{"name": "Al', {"name": "Al"}),
    ('{"a": [', {"a": []}),
    ('{"a": {', {"a": {}}),
    ('{"a": {"b', {"a": {}}),
    ('{"a": t', {}),
    ('{"a": tru', {}),
    ('{"a": true', {"a": True}),
    ('{"a": n', {}),
    ("[nul", []),
    ("[null", [None]),
    ("[false", [False]),
    ('"ab\\', "ab"),
    ('"ab\\n', "ab\n"),
    ('["ab\\"', ['ab"']),
    ('"\\u', ""),
    ('"\\u00', ""),
    ('"\\u00e', ""),
    ('"\\u00e9', "é"),
    ('"\\ud83d', ""),
    ('"\\ud83d\\', ""),
    ('"\\ud83d\\u', ""),
    ('"\\ud83d\\ude0', ""),
    ('"\\ud83d\\ude00', "😀"),
    ('"x\\ud83dy', "x\ud83dy"),
    ('"x\\ud83d\\n', "x\ud83d\n"),
    ("[1, [2, [3", [1, [2, []]]),
    ('[{"a": 1}, {"b": "x', [{"a": 1}, {"b": "x"}]),
    ('{"a": 1, "b": [true, {"c": "d', {"a": 1, "b": [True, {"c": "d"}]}),
]


@pytest.mark.parametrize(("text", "expected"), SNAPSHOTS)
def test_snapshot_shows_only_what_is_settled(text: str, expected: Any) -> None:
    assert same(snapshot_after([text]), expected)
    assert same(snapshot_after(text), expected)


def test_snapshot_is_the_same_object_while_nothing_visible_changes() -> None:
    parser = JSONParser()
    parser.feed('{"a": [1, ')
    first = parser.snapshot()
    assert first == {"a": [1]}
    assert parser.snapshot() is first
    for piece in ["", " \n", "2", "3"]:
        parser.feed(piece)
        assert parser.snapshot() is first, piece
    parser.feed(",")
    second = parser.snapshot()
    assert second == {"a": [1, 23]}
    parser.feed('"x\\')
    third = parser.snapshot()
    assert third == {"a": [1, 23, "x"]}
    for piece in ["u", "00", "e"]:
        parser.feed(piece)
        assert parser.snapshot() is third, piece
    parser.feed("9")
    assert parser.snapshot() == {"a": [1, 23, "xé"]}


def test_closing_a_container_changes_nothing_visible() -> None:
    parser = JSONParser()
    parser.feed('{"a": [1, {}')
    before = parser.snapshot()
    parser.feed("]")
    assert parser.snapshot() is before
    parser.feed("}")
    assert parser.snapshot() is before
    assert parser.done


def test_snapshots_are_never_mutated_by_later_feeds() -> None:
    parser = JSONParser()
    taken: list[tuple[Any, Any]] = []
    for piece in ['[1, {"a": [2', ", 3", '], "b": "xy', "z", '"}, [', "4]", ', "t', 'ail"]']:
        parser.feed(piece)
        snapshot = parser.snapshot()
        taken.append((snapshot, copy.deepcopy(snapshot)))
    assert parser.close() == [1, {"a": [2, 3], "b": "xyz"}, [4], "tail"]
    for snapshot, at_the_time in taken:
        assert same(snapshot, at_the_time)


def test_completed_members_are_shared_between_snapshots() -> None:
    parser = JSONParser()
    parser.feed('[{"a": 1}, [2, 3], "x", ')
    first = parser.snapshot()
    parser.feed('{"b": ')
    second = parser.snapshot()
    assert second is not first
    assert second[0] is first[0]
    assert second[1] is first[1]
    assert second == [{"a": 1}, [2, 3], "x", {}]
    parser = JSONParser()
    parser.feed('{"a": {"x": [1]}, "b": "')
    first = parser.snapshot()
    parser.feed("y")
    second = parser.snapshot()
    assert second["a"] is first["a"]
    assert second == {"a": {"x": [1]}, "b": "y"}


# -- done, end, trailing text -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "end"),
    [('{"a":1}', 7), ('  {"a":1}  ', 9), ("[]\n", 2), ('"s"', 3), ("28 ", 2), ("true", 4)],
)
def test_done_and_end(text: str, end: int) -> None:
    for pieces in ([text], list(text)):
        parser = JSONParser()
        for piece in pieces:
            parser.feed(piece)
        assert parser.done
        assert parser.end == end


def test_a_root_number_is_done_only_when_something_follows_it() -> None:
    parser = JSONParser()
    parser.feed("28")
    assert (parser.done, parser.end, parser.snapshot()) == (False, None, None)
    assert parser.close() == 28
    assert (parser.done, parser.end) == (True, 2)
    parser = JSONParser()
    parser.feed("[28")
    assert not parser.done
    assert parser.end is None


def test_whitespace_after_the_value_is_fine() -> None:
    parser = JSONParser()
    parser.feed("{}")
    assert parser.done
    parser.feed("  \n\t")
    parser.feed("\r\n")
    assert parser.close() == {}
    assert parser.end == 2


def test_trailing_text_is_an_error_by_default() -> None:
    error = fail(['{"a":1} and more prose'])
    assert error.offset == 8
    assert "end of the input" in str(error)


@pytest.mark.parametrize(
    ("text", "value", "end"),
    [
        ('{"a":1} and more prose', {"a": 1}, 7),
        ("28 and more", 28, 2),
        ('"s" tail', "s", 3),
        ("{} {}", {}, 2),
        ("[1]]]]", [1], 3),
        ('{"a":1}\n\n```\nprose with "quotes" and {braces', {"a": 1}, 7),
    ],
)
def test_allow_trailing_text_ignores_what_follows(text: str, value: Any, end: int) -> None:
    for pieces in ([text], list(text)):
        parser = JSONParser(allow_trailing_text=True)
        for piece in pieces:
            parser.feed(piece)
        assert parser.done
        assert parser.end == end
        assert parser.snapshot() == value
        assert parser.close() == value


def test_allow_trailing_text_still_needs_a_value() -> None:
    error = fail([" "], allow_trailing_text=True)
    assert error.offset == 1
    error = fail(["x"], allow_trailing_text=True)
    assert error.offset == 0


# -- depth ------------------------------------------------------------------------------------


def test_deep_nesting_is_refused_at_max_depth_fed_whole() -> None:
    with pytest.raises(JSONDepthError) as caught:
        JSONParser().feed("[" * 100_000)
    assert caught.value.offset == 1000
    assert isinstance(caught.value, JSONParseError)


def test_deep_nesting_is_refused_at_max_depth_fed_char_by_char() -> None:
    parser = JSONParser()
    for _ in range(1000):
        parser.feed("[")
    with pytest.raises(JSONDepthError) as caught:
        parser.feed("[")
    assert caught.value.offset == 1000


def test_deep_objects_are_refused_too() -> None:
    with pytest.raises(JSONDepthError) as caught:
        JSONParser().feed('{"a":' * 2000)
    assert caught.value.offset == 5 * 1000


def test_max_depth_itself_is_allowed() -> None:
    parser = JSONParser()
    parser.feed("[" * 1000)
    snapshot = parser.snapshot()  # built without recursion: no RecursionError
    parser.feed("]" * 1000)
    value = parser.close()
    for tree in (snapshot, value):
        depth = 0
        while tree != []:
            assert type(tree) is list
            assert len(tree) == 1
            tree = tree[0]
            depth += 1
        assert depth == 999
    assert len(parser.pop_completed()) == 1000


def _tracked_objects_kept(text: str, pieces: int) -> int:
    """How many objects the garbage collector tracks that a parser keeps once it has parsed
    ``text`` in ``pieces`` characters each, a snapshot after every piece, nothing popped."""
    gc.collect()
    before = len(gc.get_objects())
    parser = JSONParser(max_depth=len(text))
    for i in range(0, len(text), pieces):
        parser.feed(text[i : i + pieces])
        parser.snapshot()
    gc.collect()
    kept = len(gc.get_objects()) - before
    assert parser.close() is not None
    return kept


@pytest.mark.parametrize("pieces", [1, 4, 4096])
def test_a_closed_container_keeps_one_record_and_no_snapshot_copies(pieces: int) -> None:
    # Each closed array's record is its frame (the records of its members hold the frame
    # anyway), without the copies its snapshots were made of: per level its list, its frame,
    # and the last snapshot's copy of it (the parser returns that snapshot until the text
    # changes), where a tuple beside the frame and the frame's two copies were kept too before
    # (the collector goes through every one: deep nesting took 2.3-3.0x the time per byte of
    # flat text, compiled).
    levels = 2000
    kept = _tracked_objects_kept("[" * levels + "]" * levels, pieces)
    assert kept <= 3 * levels + 20
    # Side by side: per array its list, its frame as its record, and a record per number.
    kept = _tracked_objects_kept("[" + "[1, 2]," * levels + "[]]", pieces)
    assert kept <= 4 * levels + 20


def test_custom_max_depth() -> None:
    assert parse("[[[[[]]]]]", max_depth=5) == [[[[[]]]]]
    assert parse('{"a": [{"b": [1]}]}', max_depth=4) == {"a": [{"b": [1]}]}
    for pieces in (["[[[[[["], list("[[[[[[")):
        error = fail(pieces, max_depth=5)
        assert type(error) is JSONDepthError
        assert error.offset == 5
        assert "max_depth" in str(error)
    assert fail(['{"a": [{"b": [[['], max_depth=5).offset == 15


def test_options_are_checked() -> None:
    with pytest.raises(ValueError, match="max_depth"):
        JSONParser(max_depth=0)
    with pytest.raises(ValueError, match="completion_depth"):
        JSONParser(completion_depth=-1)


# -- completed values ---------------------------------------------------------------------------

DOCUMENT = '{"a": [1, "x"], "b": null}'


def _spans(parser: JSONParser) -> list[tuple[tuple[str | int, ...], Any, int, int]]:
    return [(done.path, done.value, done.start, done.end) for done in parser.pop_completed()]


def test_pop_completed_children_before_parents_with_spans() -> None:
    parser = JSONParser()
    parser.feed(DOCUMENT)
    assert _spans(parser) == [
        (("a", 0), 1, 7, 8),
        (("a", 1), "x", 10, 13),
        (("a",), [1, "x"], 6, 14),
        (("b",), None, 21, 25),
        ((), {"a": [1, "x"], "b": None}, 0, 26),
    ]
    assert parser.pop_completed() == []
    assert parser.close() == json.loads(DOCUMENT)
    assert parser.pop_completed() == []


def test_pop_completed_char_by_char_gives_the_same_values() -> None:
    parser = JSONParser()
    popped = []
    for char in DOCUMENT:
        parser.feed(char)
        popped += _spans(parser)
    assert [path for path, *_ in popped] == [("a", 0), ("a", 1), ("a",), ("b",), ()]
    for _, value, start, end in popped:
        assert json.loads(DOCUMENT[start:end]) == value


@pytest.mark.parametrize(
    ("depth", "paths"),
    [(0, [()]), (1, [("a",), ("b",), ()]), (2, [("a", 0), ("a", 1), ("a",), ("b",), ()])],
)
def test_completion_depth_limits_what_is_recorded(
    depth: int, paths: list[tuple[str | int, ...]]
) -> None:
    parser = JSONParser(completion_depth=depth)
    parser.feed(DOCUMENT)
    assert [path for path, *_ in _spans(parser)] == paths


def test_values_complete_as_the_text_arrives() -> None:
    parser = JSONParser()
    parser.feed("[1")
    assert parser.pop_completed() == []  # 1 may go on: 12, 1.5, ...
    parser.feed(",")
    assert _spans(parser) == [((0,), 1, 1, 2)]
    parser.feed(' "ab')
    assert parser.pop_completed() == []
    parser.feed('c"]')
    assert _spans(parser) == [((1,), "abc", 4, 9), ((), [1, "abc"], 0, 10)]


def test_a_root_number_completes_at_close() -> None:
    parser = JSONParser()
    parser.feed(" 28")
    assert parser.pop_completed() == []
    assert not parser.is_complete(())
    assert parser.close() == 28
    assert _spans(parser) == [((), 28, 1, 3)]
    assert parser.is_complete(())


def test_is_complete() -> None:
    parser = JSONParser()
    parser.feed('{"a": [1, "x"')
    assert parser.is_complete(("a", 0))
    assert parser.is_complete(("a", 1))
    assert not parser.is_complete(("a",))
    assert not parser.is_complete(())
    assert not parser.is_complete(("zz",))
    assert not parser.is_complete(("a", 5))
    assert not parser.is_complete(("a", "0"))
    parser.feed("], ")
    assert parser.is_complete(("a",))
    parser.feed('"b": nul')
    assert not parser.is_complete(("b",))
    parser.feed("l}")
    assert parser.is_complete(("b",))
    assert parser.is_complete(())


def test_is_complete_inside_open_containers() -> None:
    parser = JSONParser()
    parser.feed("[[1, 2], [3, ")
    assert parser.is_complete((0,))
    assert parser.is_complete((0, 1))
    assert parser.is_complete((1, 0))
    assert not parser.is_complete((1,))
    assert not parser.is_complete((1, 1))
    parser = JSONParser()
    parser.feed('{"a": {"b": 1, "c": "d')
    assert parser.is_complete(("a", "b"))
    assert not parser.is_complete(("a", "c"))
    assert not parser.is_complete(("a",))


def test_growing_string_says_which_string_value_is_open_and_its_text() -> None:
    parser = JSONParser()
    assert parser.growing_string() is None
    parser.feed('{"na')
    assert parser.growing_string() is None  # inside a key
    parser.feed('me": "Al')
    assert parser.growing_string() == (9, "Al")  # offset of the opening quote
    parser.feed("ice \\u00e")
    assert parser.growing_string() == (9, "Alice ")  # half an escape is held back
    parser.feed('9", "bio": "x')
    assert parser.growing_string() == (32, "x")  # another string: another offset
    parser.feed('y"}')
    assert parser.growing_string() is None
    assert parser.close() == {"name": "Alice é", "bio": "xy"}


def test_open_container_path_is_the_innermost_open_array_or_object() -> None:
    parser = JSONParser()
    assert parser.open_container_path() is None
    parser.feed('{"a": [{"b": "x')
    assert parser.open_container_path() == ("a", 0)
    parser.feed('y"}, [')
    assert parser.open_container_path() == ("a", 1)
    parser.feed("1]")
    assert parser.open_container_path() == ("a",)
    parser.feed("]}")
    assert parser.open_container_path() is None
    broken = JSONParser()
    broken.feed('{"a": [')
    with pytest.raises(JSONParseError):
        broken.feed("}")
    assert broken.open_container_path() is None


def test_growing_string_is_none_after_an_error() -> None:
    parser = JSONParser()
    parser.feed('["ab')
    with pytest.raises(JSONParseError):
        parser.feed("\x01")
    assert parser.growing_string() is None


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ('{"name": "Al', "ice and more"),  # inside a string: the plain fast path of feed()
        ('["a\\', "nb"),  # an escape cut by the end of the piece: the escaped-run path
        ("[1, 2", ", 3]"),
        ("", "{}"),
    ],
)
def test_a_parser_whose_close_failed_is_spent(before: str, after: str) -> None:
    parser = JSONParser()
    parser.feed(before)
    with pytest.raises(JSONParseError) as failed:
        parser.close()
    for call in (
        lambda: parser.feed(after),
        lambda: parser.feed(""),
        parser.close,
        parser.snapshot,
        parser.pop_completed,
        lambda: parser.is_complete(()),
    ):
        with pytest.raises(JSONParseError) as again:
            call()
        assert again.value is failed.value
    assert parser.growing_string() is None
    assert parser.open_container_path() is None
    assert not parser.done


def test_a_parser_whose_feed_failed_gives_no_snapshot_of_its_half_updated_state() -> None:
    parser = JSONParser(completion_depth=1)
    parser.feed('{"a": 1')
    assert parser.snapshot() == {}
    with pytest.raises(JSONParseError) as failed:
        parser.feed(', "b": [2], "c" 3}')  # "b" completed before the error, in the same piece
    for call in (parser.snapshot, parser.pop_completed, lambda: parser.is_complete(("b",))):
        with pytest.raises(JSONParseError) as again:
            call()
        assert again.value is failed.value
