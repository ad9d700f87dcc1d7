"""The redaction rules, sans-I/O (the paths that use them are tested over sockets in
``test_reliability_secrets``)."""

from __future__ import annotations

import json
import traceback

import pytest

import streamstruct
from streamstruct._core._redact import MASK, MIN_SECRET_LENGTH, Redactor

KEY = "sk-a/b-SECRET-7f3c9e21d4"


def test_only_a_key_long_enough_to_be_a_secret_is_redacted() -> None:
    assert MIN_SECRET_LENGTH == 8
    assert Redactor.for_key(None) is None
    assert Redactor.for_key("k") is None
    assert Redactor.for_key("1234567") is None
    assert Redactor.for_key("12345678") is not None
    with pytest.raises(ValueError, match="at least 8"):
        Redactor("short")


@pytest.mark.parametrize(
    "text",
    [
        f"Incorrect API key provided: {KEY}.",
        '{"message": "' + KEY.replace("/", "\\/") + '"}',
        '{"message": "' + "".join(f"\\u{ord(c):04x}" for c in KEY) + ' refused"}',
        "{'message': " + repr(KEY) + "}",
        # Quoted at most so many characters: what is left of the key is its beginning.
        f"shown ({KEY[:15]}...), expected a list",
        f"the message: {KEY[:12]}\u2026",
        f'data: "{KEY[:10]}',
        '{"message": "\\u0073k-a\\/b-SECRET',
    ],
)
def test_the_key_is_redacted_however_it_is_written(text: str) -> None:
    redacted = Redactor(KEY).text(text)
    assert MASK in redacted
    assert "SECRET" not in redacted
    assert KEY[:10] not in redacted


def test_json_stays_json_and_other_text_is_untouched() -> None:
    text = '{"message": "a \\u0073k-a\\/b-SECRET-7f3c9e21d4 b", "n": "x\\ny", "code": 401}'
    redacted = Redactor(KEY).text(text)
    assert json.loads(redacted) == {"message": f"a {MASK} b", "n": "x\ny", "code": 401}
    assert Redactor(KEY).text("sk-a/b is a prefix only") == "sk-a/b is a prefix only"


def test_decoded_values_are_redacted_keys_and_values() -> None:
    value = {KEY: [f"key {KEY}", 1, None, {"nested": KEY}], "n": 2}
    assert Redactor(KEY).value(value) == {MASK: [f"key {MASK}", 1, None, {"nested": MASK}], "n": 2}


def test_an_error_and_its_chain_are_redacted_in_place() -> None:
    error = streamstruct.APIStatusError(
        f"HTTP 401: bad key {KEY}", status_code=401, body={"message": KEY}
    )
    try:
        try:
            raise OSError(f"sent {KEY}")
        except OSError as cause:
            raise error from cause
    except streamstruct.APIStatusError:
        pass
    Redactor(KEY).error(error)
    shown = "".join(traceback.format_exception(error))
    assert KEY not in shown
    assert str(error) == f"HTTP 401: bad key {MASK}"
    assert error.args == (f"HTTP 401: bad key {MASK}",)
    assert error.body == {"message": MASK}
    assert isinstance(error.__cause__, OSError)  # kept, redacted


def test_a_chained_exception_that_keeps_showing_the_key_is_cut_off() -> None:
    class Stubborn(Exception):
        def __str__(self) -> str:
            return f"always {KEY}"

    error = streamstruct.APIError("failed")
    error.__cause__ = Stubborn()
    Redactor(KEY).error(error)
    assert error.__cause__ is None
    assert error.__suppress_context__
    assert KEY not in "".join(traceback.format_exception(error))


@pytest.mark.parametrize("start", [0, 150, 190, 199, 200, 260])
@pytest.mark.parametrize("how", ["plain", "unicode"])
def test_a_quoted_head_is_redacted_before_it_is_cut(start: int, how: str) -> None:
    spelled = KEY if how == "plain" else "".join(f"\\u{ord(c):04x}" for c in KEY)
    text = "x" * start + f'"{spelled}" ' + "y" * 100_000
    redactor = Redactor(KEY)
    head = redactor.head(text, 200)
    assert head == redactor.text(text)[:200]  # the same as redacting it all, then cutting
    assert "SECRET" not in head
    assert KEY[:8] not in head


def test_a_value_nested_deeper_than_the_recursion_limit_is_redacted() -> None:
    # A hostile error body: json.loads takes some hundreds of levels, which value() recursed on
    # twice per level (a list comprehension is a frame) and ended in a RecursionError.
    redactor = Redactor(KEY)
    deep: object = {"message": KEY, "z": 1, "a": 2}
    for _ in range(100_000):
        deep = [deep, "x"]
    redacted = redactor.value(deep)
    for _ in range(100_000):
        assert redacted[1] == "x"
        redacted = redacted[0]
    assert redacted == {"message": MASK, "z": 1, "a": 2}
    assert list(redacted) == ["message", "z", "a"]  # keys in their order


def test_a_value_is_copied_not_changed() -> None:
    given = {KEY: [KEY, {"k": (1, 2)}, None, 1.5, True], "n": {}}
    before = json.dumps(given)
    redacted = Redactor(KEY).value(given)
    assert json.dumps(given) == before
    assert redacted == {MASK: [MASK, {"k": (1, 2)}, None, 1.5, True], "n": {}}
