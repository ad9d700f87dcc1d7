"""The benchmark suite (``python -m benchmarks``) still runs: every section at a tiny size, in process.

Benchmarks are not tests; this keeps ``benchmarks/suite.py`` and its sections from rotting. It
needs none of the ``bench`` extra: the alternatives that are missing are skipped and said so, and
the ones that are there run too, at sizes small enough for the whole file to take seconds.
"""

from __future__ import annotations

import importlib.util
import io
import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # `benchmarks` is a package beside `streamstruct`, not installed
    sys.path.insert(0, str(ROOT))

from benchmarks import (  # noqa: E402
    _common,
    builds,
    concurrency,
    e2e,
    e2e_alternatives,
    loopback,
    memory,
    parser_alternatives,
    suite,
)

TINY = suite.Settings(
    parser_sizes=(300, 1_000),
    parser_repeat=1,
    parser_budget=0.02,
    parser_shape_seconds=0.0,
    # the pure build only (the compiled one would be compiled first: a minute), and the methods
    # that need no optional package: instructor and openai only make it slower
    e2e=loopback.Plan(
        sizes=(400, 1_000),
        live_sizes=(400,),
        rounds=2,
        pipeline_sizes=(1_000,),
        fit_sizes=(),
        methods=(loopback.FLOOR, loopback.SS_PURE, loopback.SS_COMPILED, loopback.PIPE_PURE),
    ),
    builds=(builds.PURE,),
    concurrency_ns=(1, 3),
    concurrency_rounds=1,
    concurrency_min_streams=3,
    concurrency_clients=(concurrency.SS_PURE,),
    memory_size=20_000,
)


def test_the_content_transcript_is_an_openai_json_schema_stream() -> None:
    rows = e2e_alternatives.rows_for(1_000)
    transcript = e2e_alternatives.build_content_transcript(rows)
    assert len(transcript.arguments.encode()) >= 1_000
    assert len(e2e._dump(e2e.build_report(rows - 1)).encode()) < 1_000  # the fewest rows
    payloads = [
        frame.decode().removeprefix("data: ").removesuffix("\n\n") for frame in transcript.frames
    ]
    assert payloads[-1] == "[DONE]"
    chunks = [json.loads(p) for p in payloads[:-1]]
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == transcript.arguments
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["usage"]["completion_tokens"] > 0


def test_the_memory_frames_are_the_answer() -> None:
    content = e2e._dump(e2e.build_report(4))
    frames = list(memory._frames(content, 7))
    assert frames[-1] == b"data: [DONE]\n\n"
    chunks = [json.loads(frame[len(b"data: ") :]) for frame in frames[:-1]]
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks) == content


def test_the_tool_delta_frames_are_the_arguments_in_the_smallest_chunks() -> None:
    arguments = e2e._dump(e2e.build_report(4))
    frames = list(memory._tool_frames(arguments, 4))
    assert frames[-1] == b"data: [DONE]\n\n"
    chunks = [json.loads(frame[len(b"data: ") :]) for frame in frames[:-1]]
    calls = [call for c in chunks for call in c["choices"][0]["delta"].get("tool_calls", [])]
    assert calls[0]["function"]["name"] == "Report"
    assert "".join(call["function"].get("arguments", "") for call in calls) == arguments
    assert len(frames) == -(-len(arguments) // 4) + 3
    assert max(len(frame) for frame in frames[1:-2]) < 110  # ~103 bytes each, as the issue's
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


def test_the_prose_document_is_an_article_of_the_size_asked() -> None:
    text, model = memory.document_json(memory.PROSE, 50_000)
    article = model.model_validate_json(text)
    assert isinstance(article, memory.Article)
    assert 50_000 <= len(text) < 55_000
    assert memory.document_json(memory.PROSE, 50_000)[0] == text  # the same every time
    paragraphs = [p for section in article.sections for p in section.paragraphs]
    assert all(300 < len(p) < 1_000 for p in paragraphs)


def test_the_progress_bar_writes_plain_lines_when_not_a_terminal() -> None:
    out = io.StringIO()
    progress = _common.Progress(2, stream=out)
    progress.step("one")
    progress.note("a note")
    progress.step("two")
    progress.finish()
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("[")
    assert lines[0].endswith("one")
    assert "  a note" in lines
    assert lines[-1].startswith("[" + "#" * 24 + "] 2/2")


def test_sections_are_chosen_by_name() -> None:
    assert suite._sections("parser, E2E") == ["parser", "e2e"]
    with pytest.raises(Exception, match="unknown sections"):
        suite._sections("parser,nope")


def test_the_whole_suite_runs_at_a_tiny_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # the pure copy's, made here
    sections = ["parser", "e2e", "concurrency", "memory"]
    out = io.StringIO()
    progress = _common.Progress(suite._steps(TINY, sections), stream=out)
    plot = tmp_path / "plot.png"
    results = suite.run(TINY, sections=sections, plot_path=plot, progress=progress)
    progress.finish()
    text = suite.format_suite(results)

    for heading in ("1. Parser", "2. End to end", "4. Memory", "Targets (the issue's):"):
        assert heading in text
    assert results.parser is not None
    assert results.e2e is not None
    assert [row.size for row in results.parser.rows] == [300, 1_000]
    assert results.e2e.builds[builds.PURE]["build"] == "pure"  # the worker said so
    modes = loopback.server.ALL_MODES  # chat's two, and the same in the Responses/Anthropic events
    expected = {(m, p, s) for m in modes for p, s in [("burst", 400)]}
    expected |= {(m, "burst", 1_000) for m in modes}
    expected |= {(m, "live", 400) for m in modes}
    assert {(c.mode, c.pace, c.size) for c in results.e2e.cases} == expected
    for case in results.e2e.cases:
        for method in (loopback.FLOOR, loopback.SS_PURE):
            assert len(case.cells[method].seconds) == 2  # both rounds
            assert case.per_event_us(method) is not None
        in_process = (case.pace, case.size) == ("burst", 1_000)  # the plan's pipeline_sizes
        assert (loopback.PIPE_PURE in case.cells) == in_process
        assert loopback.SS_COMPILED not in case.cells
    assert results.e2e.skipped[loopback.SS_COMPILED] == "the compiled build was not asked for"
    assert "streamstruct pure" in text
    assert results.concurrency is not None
    assert "3. Concurrency" in text
    ours = results.concurrency.get(concurrency.SS_PURE, 3)
    assert ours is not None
    assert ours.events == 3 * concurrency.events_per_stream()
    assert results.memory is not None
    if not results.memory.skipped:
        for document in memory.DOCUMENTS:
            peak = results.memory.get(memory.STREAMSTRUCT, document)
            assert peak is not None
            assert peak.json_bytes >= 20_000
            assert peak.peak_kib >= peak.baseline_kib
            assert results.memory.get(memory.REFERENCE, document) is not None
        tool = results.memory.get(memory.TOOL_DELTAS, memory.ROWS)
        assert tool is not None
        assert tool.events > memory.TOOL_DELTA_COUNT
        assert tool.body_bytes > tool.json_bytes
        assert "One tool call" in text
    verdicts = {target.verdict for target in results.targets()}
    assert verdicts <= {"PASS", "FAIL", "n/a"}
    assert json.loads(json.dumps(suite.to_json(results)))["settings"]["memory_size"] == 20_000
    if importlib.util.find_spec("matplotlib") is not None:
        assert plot.read_bytes().startswith(b"\x89PNG")
    else:
        assert "plot skipped: matplotlib not installed" in text
    assert parser_alternatives.SHORT[parser_alternatives.PARSER_STREAM] in text
    markdown = suite.format_markdown(results)
    assert re.search(r"\| burst \| tools +\| 400 B \|", markdown)  # padded to the longest mode
    assert re.search(r"\| burst \| anthropic_tools +\| 400 B \|", markdown)
    assert "| pure: burst tools 400 B: streamstruct / floor, CPU per event " in markdown


def test_a_markdown_grid_aligns_as_the_text_one() -> None:
    lines = _common.grid(["name", "value"], [["a", "1"], ["bb", "22"]], markdown=True)
    assert lines == ["| name | value |", "|------|------:|", "| a    |     1 |", "| bb   |    22 |"]


def test_a_ratio_target_says_its_limit_its_figure_and_its_verdict() -> None:
    target = _common.Target.ratio("x / y", 2.5, at_most=3)
    assert (target.limit, target.measured, target.verdict) == ("<= 3x", "2.50x", "PASS")
    target = _common.Target.ratio("x / y", 3.01, at_most=3)
    assert target.verdict == "FAIL"
    target = _common.Target.ratio("a / b", 99.94, at_least=100, shown="{:,.1f}x", mark="*")
    assert (target.limit, target.measured, target.verdict) == (">= 100x", "*99.9x", "FAIL")
    target = _common.Target.ratio("a / b", None, at_least=1)
    assert (target.measured, target.verdict) == ("n/a", "n/a")
    with pytest.raises(ValueError, match="exactly one"):
        _common.Target.ratio("a / b", 1.0)
