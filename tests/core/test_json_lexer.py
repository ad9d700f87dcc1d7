"""The JSON parser's lexer on its own: numbers, literals, escapes and string content, on every cut.

A token cut by the end of a piece is ``CUT`` (the parser carries it over), a whole one gives what
``json.loads`` gives, and what JSON refuses raises ``LexError`` at the offending character.
"""

from __future__ import annotations

import json

import pytest

from streamstruct._core._json_lexer import (
    CUT,
    LexError,
    decode_escape,
    lex_literal,
    lex_number,
)
from streamstruct._core._json_string import StringLexer

NUMBERS = ["0", "-0", "7", "-12", "3.25", "-0.5e-3", "1E+2", "6.02e23", "12345678901234567890"]
BAD_NUMBERS = [("01", 1), ("-", 1), ("1.", 2), ("1e", 2), ("1e+", 3), ("2.x", 2), ("--1", 1)]


@pytest.mark.parametrize("number", NUMBERS)
def test_a_number_is_cut_until_something_ends_it(number: str) -> None:
    for end in range(1, len(number) + 1):
        assert lex_number(number[:end], 0, end) == (None, CUT)
    for after in (",", "]", "}", " "):
        text = number + after
        value, end = lex_number(text, 0, len(text))
        assert (value, end) == (json.loads(number), len(number))
        assert type(value) is type(json.loads(number))


@pytest.mark.parametrize(("number", "offset"), BAD_NUMBERS)
def test_an_invalid_number_is_refused_at_its_offending_character(number: str, offset: int) -> None:
    with pytest.raises(LexError) as refused:
        lex_number(number + " ", 0, len(number) + 1)
    assert refused.value.offset == offset


@pytest.mark.parametrize(("word", "value"), [("true", True), ("false", False), ("null", None)])
def test_a_literal_is_cut_or_whole_or_refused(word: str, value: bool | None) -> None:
    for end in range(1, len(word)):
        assert lex_literal(word[:end], 0) == (None, CUT)
    assert lex_literal(word + ",", 0) == (value, len(word))
    with pytest.raises(LexError) as refused:
        lex_literal(word[:-1] + "x", 0)
    assert refused.value.offset == len(word) - 1


ESCAPES = ['\\"', "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t", "\\u00e9", "\\ud83d\\ude00"]


@pytest.mark.parametrize("escape", ESCAPES)
def test_an_escape_is_cut_until_it_is_whole(escape: str) -> None:
    expected = json.loads(f'"{escape}"')
    for end in range(1, len(escape)):
        # (A high surrogate waits too: a low half may still follow.)
        assert decode_escape(escape[:end], 0, end) == (None, CUT), end
    text = escape + "x"
    assert decode_escape(text, 0, len(text)) == (expected, len(escape))


@pytest.mark.parametrize(("escape", "offset"), [("\\x", 1), ("\\u12g4", 4), ("\\uZ", 2)])
def test_an_invalid_escape_is_refused_where_it_goes_wrong(escape: str, offset: int) -> None:
    with pytest.raises(LexError) as refused:
        decode_escape(escape, 0, len(escape))
    assert refused.value.offset == offset


CONTENTS = [
    "plain words",
    r"an escape \n and \"quotes\" and \\ and \u00e9 \ud83d\ude00 and \ud83d alone \ude00",
    "raw \u2028 and \U0001f600",
]


@pytest.mark.parametrize("content", CONTENTS)
@pytest.mark.parametrize("scan_ok", [True, False])
def test_string_content_taken_on_every_split_is_what_json_loads_gives(
    content: str, scan_ok: bool
) -> None:
    whole = content + '"'
    for cut in range(len(whole)):
        lexer = StringLexer()
        lexer.begin(0)
        pieces = [piece for piece in (whole[:cut], whole[cut:]) if piece]
        end = -1
        for piece in pieces:
            lexer.scan_ok = scan_ok
            text = lexer.carry + piece
            lexer.carry = ""
            end = lexer.take(text, 0, True)
        assert end == len(text)
        assert lexer.finish()[0] == json.loads(f'"{content}"'), cut


def test_string_content_with_a_control_character_is_refused_at_it() -> None:
    lexer = StringLexer()
    with pytest.raises(LexError) as refused:
        lexer.take('ab\x01c"', 0, False)
    assert (refused.value.offset, refused.value.reason) == (
        2,
        "invalid control character character U+0001 in object key",
    )


def _escaped_run(text: str) -> tuple[int, str]:
    lexer = StringLexer()
    lexer.begin(0)
    return lexer.take_escaped_run(text), "".join(lexer.parts)


def test_an_escaped_run_stops_before_a_cut_escape() -> None:
    assert _escaped_run(r"a\nb\u00") == (4, "a\nb")
    assert _escaped_run(r"a\nb\\") == (6, "a\nb\\")  # an escaped backslash is not cut
    assert _escaped_run("a\\nb\\\\\\") == (6, "a\nb\\")  # the third one starts an escape


def test_an_escaped_run_the_careful_path_must_decide_takes_nothing() -> None:
    assert _escaped_run(r'a\nb"') == (CUT, "")  # the string closes: the careful path takes it
    assert _escaped_run(r"a\ud83d") == (CUT, "")  # a high surrogate waits for its low half
    assert _escaped_run(r"a\nb\x") == (CUT, "")  # an invalid escape: the careful path says why
    assert _escaped_run(r"a\nb\u0g") == (CUT, "")  # not the beginning of a \u escape
