"""The end-to-end benchmark still runs: its transcript is what the OpenAI API sends, and streamstruct
streams it to the expected Report at a tiny size.

Benchmarks are not tests; this only keeps ``benchmarks/e2e.py`` from rotting, and never needs
instructor. It is loaded from its file, so that it works however pytest was started.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from benchmark_support import loaded_harness

ROWS = 7


@pytest.fixture(scope="module")
def harness() -> Iterator[ModuleType]:
    with loaded_harness("e2e.py", "_streamstruct_e2e_benchmark") as module:
        yield module


def _payloads(frames: tuple[bytes, ...]) -> list[str]:
    out = []
    for frame in frames:
        text = frame.decode()
        assert text.startswith("data: ")
        assert text.endswith("\n\n")
        out.append(text[len("data: ") : -2])
    return out


def test_the_transcript_is_an_openai_tool_call_stream(harness: ModuleType) -> None:
    transcript = harness.build_transcript(ROWS)
    assert harness.build_transcript(ROWS) == transcript  # deterministic
    assert json.loads(transcript.arguments) == harness.build_report(ROWS)
    assert len(json.loads(transcript.arguments)["rows"]) == ROWS

    *chunks, done = _payloads(transcript.frames)
    assert done == "[DONE]"
    first, *deltas, finish, usage = map(json.loads, chunks)
    assert all(chunk["object"] == "chat.completion.chunk" for chunk in (first, *deltas, finish))
    opening = first["choices"][0]["delta"]
    assert opening["role"] == "assistant"
    (call,) = opening["tool_calls"]
    assert call["id"].startswith("call_")
    assert call["function"] == {"name": "Report", "arguments": ""}

    pieces = [
        chunk["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"] for chunk in deltas
    ]
    assert "".join(pieces) == transcript.arguments
    assert {len(piece) for piece in pieces[:-1]} == {harness.PIECE_CHARS}
    assert len(deltas) == math.ceil(len(transcript.arguments) / harness.PIECE_CHARS)

    assert finish["choices"][0]["finish_reason"] == "stop"
    assert usage["choices"] == []
    assert usage["usage"]["completion_tokens"] == len(deltas)
    assert transcript.events == len(deltas) + 4


def test_the_transport_pieces_are_the_body(harness: ModuleType) -> None:
    transcript = harness.build_transcript(ROWS)
    pieces = transcript.pieces(100)
    assert b"".join(pieces) == transcript.body
    assert {len(piece) for piece in pieces[:-1]} == {100}
    assert transcript.pieces(None) == list(transcript.frames)


@pytest.mark.parametrize("read_bytes", [None, 1024, 16 * 1024])
def test_streamstruct_streams_the_expected_report(
    harness: ModuleType, read_bytes: int | None
) -> None:
    transcript = harness.build_transcript(ROWS)
    # measure_streamstruct raises unless the final object equals the expected Report
    figure = harness.measure_streamstruct(transcript, read_bytes=read_bytes, repeat=1)
    assert figure.runs == 1
    assert figure.cpu > 0
    reads = len(transcript.pieces(read_bytes))
    # one snapshot per read at most; with one event per read, one per visible change
    assert 1 <= figure.snapshots <= reads
    if read_bytes is None:
        assert figure.snapshots > ROWS * 5  # each row's fields appear one after another


def test_the_instructor_fit(harness: ModuleType) -> None:
    points = [(n, 0.01 * n + 2e-4 * n * n) for n in (50, 100, 200)]
    fit = harness.Fit.of(points)
    for n, cpu in points:
        assert fit(n) == pytest.approx(cpu)
    assert fit(20_000) == pytest.approx(0.01 * 20_000 + 2e-4 * 20_000**2)
    assert 1.5 < fit.exponent(100, 200) < 2


def test_a_run_prints_one_table_and_writes_json(
    harness: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out.json"
    argv = ["--rows", "3,6", "--repeat", "1", "--skip-instructor", "--json", str(out)]
    assert harness.main(argv) == 0
    captured = capsys.readouterr()
    assert "[e2e]" in captured.err  # progress on stderr
    printed = captured.out
    assert "Targets:" in printed
    assert "instructor columns skipped" in printed
    data = json.loads(out.read_text(encoding="utf-8"))
    assert [size["rows"] for size in data["sizes"]] == [3, 6]
    for size in data["sizes"]:
        assert size["figures"]["streamstruct"]["cpu"] > 0
        assert "instructor" not in size["figures"]
    assert {target["verdict"] for target in data["targets"]} == {"n/a"}
