"""Coverage-guided fuzzing of JSONParser (atheris; optional, not run by CI).

    .venv/bin/pip install atheris
    .venv/bin/python tests/fuzz/fuzz_json.py -max_total_time=600 -rss_limit_mb=2048 [corpus_dir]

For any text, fed whole and in pieces the fuzzer picks: the parser gives exactly what
``json.loads`` gives (NaN and Infinity refused, as RFC 8259 does), or raises ``JSONParseError``
where ``json.loads`` refuses the text - at the same offset whatever the pieces - and nothing else.
Snapshots are taken after every piece, so the partial path is fuzzed too.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import atheris

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: shared_support

with atheris.instrument_imports():
    from streamstruct._core._json import JSONParser
    from streamstruct._errors import JSONParseError

from _common import pieces
from shared_support import same


def _refuse(name: str) -> Any:
    raise ValueError(name)


def reference(text: str) -> tuple[bool, Any]:
    try:
        return True, json.loads(text, parse_constant=_refuse)
    except (ValueError, RecursionError):
        return False, None


def run(parts: list[str], max_depth: int) -> tuple[bool, Any]:
    parser = JSONParser(max_depth=max_depth)
    try:
        for part in parts:
            parser.feed(part)
            parser.snapshot()
        return True, parser.close()
    except JSONParseError as error:
        return False, error.offset


def test_one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    max_depth = fdp.ConsumeIntInRange(1, 64)
    text = fdp.ConsumeUnicodeNoSurrogates(fdp.remaining_bytes())
    whole = run([text], max_depth)
    split = run(pieces(atheris.FuzzedDataProvider(data[:64]), text), max_depth)
    assert whole[0] == split[0], (text, whole, split)
    assert same(whole[1], split[1]), (text, whole, split)
    accepted, expected = reference(text)
    if whole[0]:
        assert accepted, (text, whole)
        assert same(whole[1], expected), (text, whole, expected)
    elif accepted:
        # Refused although json.loads accepts it: only for nesting past max_depth.
        depth = _depth(text)
        assert depth > max_depth, (text, whole, expected)


def _depth(text: str) -> int:
    deepest = depth = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
