"""JSONTestSuite's parsing cases, fed to JSONParser whole, one character at a time and split at random.

- ``y_`` files must parse to what ``json.loads`` gives for the same text;
- ``n_`` files must be rejected with ``JSONParseError`` (in a feed or at close), never another error;
- ``i_`` files may go either way, never with another error; ``docs/json-conformance.md`` records
  which way each goes, and a test here keeps that table honest.

Every file gets the same verdict, the same error class and the same error offset under every chunking.

The parser takes ``str``: turning bytes into text is the caller's job. The files are bytes, decoded
here as strict UTF-8, so a file that is not UTF-8 is rejected before the parser sees it
(``UnicodeDecodeError``); for ``n_`` and ``i_`` files that counts as a rejection. Those files are also
decoded with ``surrogateescape`` (undecodable bytes become lone surrogates) and fed to the parser, to
show it never fails in another way on such text: every ``n_`` one is still rejected, as each has a
second fault besides its bytes.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from shared_support import same

from streamstruct import JSONDepthError, JSONParseError
from streamstruct._core._json import JSONParser

SUITE = Path(__file__).resolve().parents[3] / "shared" / "conformance" / "jsontestsuite"
DOC = Path(__file__).resolve().parents[2] / "docs" / "json-conformance.md"

if not SUITE.is_dir():
    pytest.skip(
        f"the JSONTestSuite folder {SUITE} is absent (CI keeps it at ../shared/conformance/)",
        allow_module_level=True,
    )


def _names(prefix: str) -> list[str]:
    return sorted(path.name for path in SUITE.glob(f"{prefix}*.json"))


Y_FILES = _names("y_")
N_FILES = _names("n_")
I_FILES = _names("i_")
RANDOM_LAYOUTS = 3


@dataclass(frozen=True)
class Verdict:
    """What the parser made of one text under one chunking."""

    accepted: bool
    value: Any = None
    error: type[JSONParseError] | None = None
    offset: int | None = None
    at_close: bool = False  # rejected by close() (something missing), not by a feed


def chunkings(name: str, text: str) -> Iterator[tuple[str, list[str]]]:
    """Whole, one character at a time, and ``RANDOM_LAYOUTS`` random layouts seeded by the name."""
    yield "whole", [text]
    yield "chars", list(text)
    for layout in range(RANDOM_LAYOUTS):
        rng = random.Random(f"{name}/{layout}")
        if len(text) < 2:
            yield f"random{layout}", [text]
            continue
        cuts = sorted(rng.sample(range(1, len(text)), min(len(text) - 1, rng.randint(1, 16))))
        bounds = [0, *cuts, len(text)]
        yield f"random{layout}", [text[a:b] for a, b in pairwise(bounds)]


def run(text: str, pieces: Sequence[str]) -> Verdict:
    """Feed the pieces and close; check the error (if any) points where the rule says it must.

    An offending character raises in the feed that brings it, so the error's offset lies in that
    piece; something missing raises at close, at the end of the input. Line and column agree with
    the offset.
    """
    parser = JSONParser()
    fed = 0
    for piece in pieces:
        error = _feed(parser, piece)
        if error is not None:
            assert fed <= error.offset < fed + len(piece), (error, fed, piece)
            _check_position(text, error)
            return Verdict(False, error=type(error), offset=error.offset)
        fed += len(piece)
    value, error = _close(parser)
    if error is not None:
        assert error.offset == len(text), error
        _check_position(text, error)
        return Verdict(False, error=type(error), offset=error.offset, at_close=True)
    assert parser.done
    return Verdict(True, value=value)


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


def _check_position(text: str, error: JSONParseError) -> None:
    head = text[: error.offset]
    if "\r" in head:
        return  # whether a lone CR starts a line is the parser's choice
    assert error.line == head.count("\n") + 1, error
    assert error.column == error.offset - head.rfind("\n"), error


def verdict_everywhere(name: str, text: str) -> Verdict:
    """The verdict under every chunking, checked to be one and the same."""
    verdicts = {label: run(text, pieces) for label, pieces in chunkings(name, text)}
    first = verdicts["whole"]
    for label, verdict in verdicts.items():
        assert _same_verdict(verdict, first), (label, verdict, first)
    return first


def _same_verdict(a: Verdict, b: Verdict) -> bool:
    return (a.accepted, a.error, a.offset, a.at_close) == (
        b.accepted,
        b.error,
        b.offset,
        b.at_close,
    ) and same(a.value, b.value)


def read(name: str) -> bytes:
    return (SUITE / name).read_bytes()


def decode(data: bytes) -> str | None:
    """The text of a file, or None when it is not UTF-8 (a rejection before the parser)."""
    try:
        return data.decode("utf-8", errors="strict")
    except UnicodeDecodeError:
        return None


def test_the_suite_is_all_there() -> None:
    assert (len(Y_FILES), len(N_FILES), len(I_FILES)) == (95, 188, 35)


@pytest.mark.parametrize("name", Y_FILES)
def test_y_files_parse_to_what_json_loads_gives(name: str) -> None:
    text = read(name).decode("utf-8", errors="strict")
    verdict = verdict_everywhere(name, text)
    assert verdict.accepted, verdict
    assert same(verdict.value, json.loads(text))


@pytest.mark.parametrize("name", N_FILES)
def test_n_files_are_rejected(name: str) -> None:
    data = read(name)
    text = decode(data)
    if text is None:
        text = data.decode("utf-8", errors="surrogateescape")
    verdict = verdict_everywhere(name, text)
    assert not verdict.accepted, verdict


def test_deep_nesting_is_refused_at_max_depth() -> None:
    text = read("n_structure_100000_opening_arrays.json").decode()
    verdict = verdict_everywhere("deep", text)
    assert (verdict.error, verdict.offset) == (JSONDepthError, 1000)


def observed_i_verdict(name: str) -> str:
    """``accepted``, ``rejected`` or ``rejected (not UTF-8)``, the same under every chunking.

    An accepted file must give ``json.loads``'s value whenever ``json.loads`` accepts it too.
    """
    data = read(name)
    text = decode(data)
    if text is None:
        verdict_everywhere(name, data.decode("utf-8", errors="surrogateescape"))
        return "rejected (not UTF-8)"
    verdict = verdict_everywhere(name, text)
    if not verdict.accepted:
        return "rejected"
    try:
        expected = json.loads(text)
    except ValueError:
        return "accepted"
    assert same(verdict.value, expected)
    return "accepted"


def documented_verdicts() -> dict[str, str]:
    """The i_ table of docs/json-conformance.md: ``| `i_name.json` | verdict | why |`` rows."""
    rows = re.findall(r"^\| `(i_[^`]+)` \| ([^|]+?) \|", DOC.read_text(encoding="utf-8"), re.M)
    return dict(rows)


@pytest.mark.parametrize("name", I_FILES)
def test_i_files_get_their_documented_verdict(name: str) -> None:
    documented = documented_verdicts()
    assert observed_i_verdict(name) == documented.get(name), f"update {DOC.name} for {name}"


def test_the_documented_table_lists_exactly_the_i_files() -> None:
    assert sorted(documented_verdicts()) == I_FILES
