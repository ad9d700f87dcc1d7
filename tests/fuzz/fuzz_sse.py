"""Coverage-guided fuzzing of SSEDecoder (atheris; optional, not run by CI).

    .venv/bin/python tests/fuzz/fuzz_sse.py -max_total_time=600 -rss_limit_mb=2048 [corpus_dir]

For any bytes, fed whole and in pieces the fuzzer picks, with small caps: the same events come
out (chunking never changes the answer), and the only exception is the decoder's own
``SSEError`` (``SSELimitError`` past a cap), raised at the same point either way.
"""

from __future__ import annotations

import sys
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).parent))

with atheris.instrument_imports():
    from streamstruct._core._sse import SSEDecoder
    from streamstruct._errors import SSEError

from _common import pieces


def run(parts: list[bytes], line: int, event: int) -> tuple[list[object], str | None]:
    decoder = SSEDecoder(max_line_bytes=line, max_event_bytes=event)
    events: list[object] = []
    try:
        for part in parts:
            events.extend(decoder.feed(part))
        events.extend(decoder.close())
    except SSEError as error:
        return events, type(error).__name__
    return events, None


def test_one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    line = fdp.ConsumeIntInRange(1, 128)
    event = fdp.ConsumeIntInRange(1, 256)
    body = fdp.ConsumeBytes(fdp.remaining_bytes())
    whole = run([body], line, event)
    split = run(pieces(atheris.FuzzedDataProvider(data[:64]), body), line, event)
    one_by_one = run([body[i : i + 1] for i in range(len(body))], line, event)
    assert whole == split == one_by_one, (body, whole, split, one_by_one)


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
