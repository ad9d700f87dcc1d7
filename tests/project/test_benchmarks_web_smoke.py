"""benchmarks/web.py still runs, at a tiny size: the figures and a verdict for each target.

Benchmarks are not tests: whether a target passes depends on the machine, so only the report's
shape is checked here, and that the streamed document arrives whole.
"""

from __future__ import annotations

import json

import anyio
import pytest
from benchmark_support import loaded_harness


def test_the_web_benchmark_runs_at_a_tiny_size(capsys: pytest.CaptureFixture[str]) -> None:
    with loaded_harness("web.py", "_streamstruct_web_benchmark") as harness:
        document = harness.build_document(3_000)
        assert len(json.dumps(document)) >= 3_000
        body = b"".join(
            anyio.run(harness._sse, harness._client(harness.transcript(document)), None)
        )
        assert body.startswith(b"event: start\n")
        end = body[body.rindex(b"event: end\ndata: ") :].split(b"\n")[1]
        assert json.loads(end[len(b"data: ") :])["value"] == document
        harness.main(["--size", "2000", "--browser-sizes", "1000", "4000", "--repeat", "1"])
    out = capsys.readouterr().out
    assert "iterating stream.events()" in out
    assert "us CPU per event" in out
    assert "bytes sent:" in out
    assert out.count("PASS") + out.count("FAIL") == (2 if "node v" in out else 1)
