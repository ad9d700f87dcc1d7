"""FencedJSONExtractor: the same JSON text whatever the split of the input."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streamstruct._core._mdjson import FencedJSONExtractor

FENCE = "```"


def extract(pieces: list[str]) -> tuple[str, bool, bool]:
    extractor = FencedJSONExtractor()
    text = "".join(extractor.feed(piece) for piece in pieces)
    return text, extractor.found, extractor.done


def every_split(text: str) -> list[list[str]]:
    """Whole, one char at a time, every 2-split, and every 3-split with equal outer pieces."""
    splits = [[text], list(text)]
    splits += [[text[:i], text[i:]] for i in range(len(text) + 1)]
    splits += [[text[:i], text[i:-i], text[-i:]] for i in range(1, len(text) // 2)]
    return splits


# (content, extracted JSON text, found, done)
CASES: list[tuple[str, str, bool, bool]] = [
    (
        'Sure! Here is the JSON:\n```json\n{"name": "Ada", "age": 36}\n```\nAnything else?',
        '{"name": "Ada", "age": 36}\n',
        True,
        True,
    ),
    (f"{FENCE}\n[1, 2, 3]\n{FENCE}", "[1, 2, 3]\n", True, True),
    (f'Result:\n{FENCE}JSON\n{{"a": null}}\n{FENCE}', '{"a": null}\n', True, True),
    (f'{FENCE}Json\r\n{{"a": 1}}\r\n{FENCE}', '\n{"a": 1}\r\n', True, True),
    # backticks inside JSON strings never close the block
    (
        f'{FENCE}json\n{{"tip": "use `x` or ``y``", "code": "{FENCE}py\\nprint()\\n{FENCE}"}}\n{FENCE} bye',
        f'{{"tip": "use `x` or ``y``", "code": "{FENCE}py\\nprint()\\n{FENCE}"}}\n',
        True,
        True,
    ),
    # escaped quotes and backslashes keep the string state right
    (
        f'{FENCE}json\n{{"q": "say \\"{FENCE}\\" loud", "p": "C:\\\\", "r": "`"}}\n{FENCE}',
        f'{{"q": "say \\"{FENCE}\\" loud", "p": "C:\\\\", "r": "`"}}\n',
        True,
        True,
    ),
    # prose with inline code and a block in another language come first
    (
        f"Use `jq` on it. Example:\n{FENCE}python\nprint('{{}}')\n{FENCE}\n\n{FENCE}json\n{{\"ok\": true}}\n{FENCE}",
        '{"ok": true}\n',
        True,
        True,
    ),
    # a longer fence needs as long a closing fence
    ('````json\n{"a": "b"}\n````\n', '{"a": "b"}\n', True, True),
    # the info string on the JSON's own line
    (f'{FENCE}json {{"a": 1}}{FENCE}', '{"a": 1}', True, True),
    (f'{FENCE}{{"a": 1}}{FENCE}', '{"a": 1}', True, True),
    # only the first JSON block counts
    (
        f'{FENCE}json\n{{"a": 1}}\n{FENCE}\n{FENCE}json\n{{"b": 2}}\n{FENCE}',
        '{"a": 1}\n',
        True,
        True,
    ),
    # an unclosed block: everything up to the end, not done
    (f'Here:\n{FENCE}json\n{{"items": [1, 2', '{"items": [1, 2', True, False),
    # the closing fence cut short at the end of the reply is not content
    (f'{FENCE}json\n{{"a": 1}}\n``', '{"a": 1}\n', True, False),
    # two backticks outside a string are content (invalid JSON, for the parser to report)
    (f'{FENCE}json\n{{"a": ``1}}\n{FENCE}', '{"a": ``1}\n', True, True),
    # bare JSON: the model forgot the fence
    ('  \n{"a": {"b": [1, "}"]}} and some prose {"c": 2}', '{"a": {"b": [1, "}"]}}', True, True),
    ('[{"x": "]"}, 2]\n```', '[{"x": "]"}, 2]', True, True),
    ('\ufeff{"a": "\\"}"}', '{"a": "\\"}"}', True, True),
    ('{"unfinished": "va', '{"unfinished": "va', True, False),
    # nothing to extract
    ("I cannot help with that.", "", False, False),
    ('Here it is: {"a": 1}', "", False, False),
    (f"{FENCE}python\nx = {{}}\n{FENCE}\n", "", False, False),
    (f"{FENCE}{'j' * 40}\n{{}}\n{FENCE}", "", False, False),  # info string too long to be "json"
    ("", "", False, False),
    ("   \n\t", "", False, False),
]


@pytest.mark.parametrize(("content", "expected", "found", "done"), CASES)
def test_every_split_gives_the_same_text(
    content: str, expected: str, found: bool, done: bool
) -> None:
    for pieces in every_split(content):
        assert extract(pieces) == (expected, found, done), pieces


def test_extracted_json_parses() -> None:
    for _, expected, _, done in CASES:
        if done and expected.strip() and "``1" not in expected:
            json.loads(expected)


def test_feed_after_done_is_ignored_and_returns_nothing() -> None:
    extractor = FencedJSONExtractor()
    assert extractor.feed(f"{FENCE}json\n{{}}\n{FENCE}") == "{}\n"
    assert extractor.done
    assert extractor.feed('{"more": 1}') == ""
    assert extractor.feed(f"{FENCE}json\n[]\n{FENCE}") == ""


def test_partial_text_streams_while_the_block_is_open() -> None:
    extractor = FencedJSONExtractor()
    assert extractor.feed("Working on it...\n``") == ""
    assert not extractor.found
    assert extractor.feed("`js") == ""
    assert extractor.feed('on\n{"na') == '{"na'
    assert extractor.found
    assert extractor.feed('me": "A') == 'me": "A'
    assert extractor.feed('`"}\n`') == '`"}\n'  # the backtick in the string is content
    assert not extractor.done
    assert extractor.feed("``\nThanks!") == ""
    assert extractor.done


def test_long_input_is_linear() -> None:
    # A 1 MB block fed in small pieces: anything quadratic would take minutes here.
    body = json.dumps({"items": [{"text": '`a` "b" \\c ' * 3, "n": i} for i in range(8000)]})
    content = f"Here you go:\n{FENCE}json\n{body}\n{FENCE}\n"
    extractor = FencedJSONExtractor()
    pieces = [content[i : i + 7] for i in range(0, len(content), 7)]
    assert "".join(extractor.feed(p) for p in pieces) == body + "\n"
    assert extractor.done


# Text built from the pieces that matter to the extractor, so fences, strings and escapes collide.
_atoms = st.sampled_from(
    [
        "`",
        FENCE,
        "```json",
        "```JSON",
        "```python",
        "\n",
        " ",
        '"',
        "\\",
        "{",
        "}",
        "[",
        "]",
        "a",
        "json",
        "1",
    ]
)
_texts = st.lists(_atoms, max_size=40).map("".join)


@given(text=_texts, cuts=st.lists(st.integers(min_value=0, max_value=200), max_size=6))
def test_chunking_never_changes_the_answer(text: str, cuts: list[int]) -> None:
    positions = sorted({min(c, len(text)) for c in cuts})
    pieces = [text[a:b] for a, b in zip([0, *positions], [*positions, len(text)], strict=True)]
    assert extract(pieces) == extract([text])
    assert extract(list(text)) == extract([text])


@given(
    value=st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(alphabet='`"\\{}[]ab \n'),
        lambda children: (
            st.lists(children, max_size=3)
            | st.dictionaries(st.text(alphabet='`"ab', max_size=3), children, max_size=3)
        ),
        max_leaves=10,
    ),
    prose=st.text(alphabet="ab `\n.", max_size=20),
)
def test_any_json_value_in_a_block_comes_out_whole(value: object, prose: str) -> None:
    body = json.dumps(value)
    content = f"{prose.replace('`', '')}\n{FENCE}json\n{body}\n{FENCE}\n{prose}"
    text, found, done = extract(list(content))
    assert (text, found, done) == (body + "\n", True, True)
    assert json.loads(text) == value


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('Sure! Note: use ``` fences.\n```json\n{"a": 1}\n```', '{"a": 1}\n'),
        ('Say ```python``` or ```sh```, then:\n```json\n{"b": 2}\n```', '{"b": 2}\n'),
        ('inline ```json {"c": 3}``` ok', '{"c": 3}'),
    ],
)
def test_backticks_in_a_sentence_do_not_open_a_block(text: str, expected: str) -> None:
    for pieces in every_split(text):
        assert extract(pieces)[0] == expected, pieces
