"""The end-to-end section's Responses and Anthropic streams: the transcripts, served on each API's
endpoint, streamed by the worker's methods (streamstruct with ``api=``, the official SDKs' helpers),
and the "vs chat" figures and targets the section reports.

Benchmarks are not tests: nothing here is timed. Only the pure build is made.
"""

from __future__ import annotations

import http.client
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # `benchmarks` is a package beside `streamstruct`, not installed
    sys.path.insert(0, str(ROOT))

from benchmarks import builds, e2e, e2e_dialects, loopback, server  # noqa: E402
from benchmarks.builds import COMPILED, PURE  # noqa: E402

ROWS = 4
ENDPOINT = {
    "responses": "/v1/responses",
    "anthropic": "/v1/messages",
}


@pytest.fixture(scope="module")
def served() -> Iterator[server.ServerProcess]:
    modes = (*server.DIALECT_MODES, server.TOOLS, server.CONTENT)
    with server.ServerProcess([(mode, ROWS) for mode in modes]) as process:
        yield process


@pytest.fixture(scope="module")
def pure(tmp_path_factory: pytest.TempPathFactory) -> Iterator[builds.Worker]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
        worker = builds.Worker(builds.PURE, builds.prepare(builds.PURE))
        yield worker
        worker.close()


@pytest.mark.parametrize("mode", server.DIALECT_MODES)
def test_the_transcripts_carry_the_report_in_the_same_pieces_as_chat(mode: str) -> None:
    transcript = e2e_dialects.build_dialect_transcript(mode, ROWS)
    chat = e2e.build_transcript(ROWS)
    assert transcript.arguments == chat.arguments
    body = transcript.body.decode()
    assert "[DONE]" not in body  # neither API has it
    pieces = -(-len(chat.arguments) // e2e.PIECE_CHARS)
    assert pieces < transcript.events < pieces + 12  # one event per piece, and the framing


@pytest.mark.parametrize("mode", server.DIALECT_MODES)
def test_the_server_serves_each_dialect_on_its_endpoint(
    served: server.ServerProcess, mode: str
) -> None:
    base = served.url(mode, ROWS).removeprefix(served.origin).removesuffix("/v1")
    connection = http.client.HTTPConnection(served.origin.removeprefix("http://"))
    connection.request("POST", base + ENDPOINT[e2e_dialects.API_OF[mode]], body=b"{}")
    response = connection.getresponse()
    assert response.status == 200
    assert response.read() == b"".join(server.frames_for(mode, ROWS))
    connection.close()


@pytest.mark.parametrize("mode", server.DIALECT_MODES)
def test_the_case_shape_counts_the_events_the_server_sends(mode: str) -> None:
    case = loopback._case(mode, server.BURST, 1_000)
    assert case.events == len(server.frames_for(mode, case.rows))


@pytest.mark.parametrize("mode", server.DIALECT_MODES)
@pytest.mark.parametrize("method", ["floor", "streamstruct", "pipeline"])
def test_the_worker_streams_the_report_in_each_dialect(
    served: server.ServerProcess, pure: builds.Worker, mode: str, method: str
) -> None:
    # the worker raises (and ask() re-raises) unless the final object is the Report
    answer = pure.ask(op="e2e", method=method, url=served.url(mode, ROWS), mode=mode, rows=ROWS)
    assert answer["cpu"] > 0
    if method != "floor":
        assert ROWS * 5 < answer["snapshots"] <= len(server.frames_for(mode, ROWS))


@pytest.mark.parametrize(
    ("method", "mode"),
    [("openai_responses_helper", "responses_content"), ("anthropic_helper", "anthropic_tools")],
)
def test_the_official_sdk_helpers_read_the_report(
    served: server.ServerProcess, pure: builds.Worker, method: str, mode: str
) -> None:
    answer = pure.ask(op="e2e", method=method, url=served.url(mode, ROWS), mode=mode, rows=ROWS)
    assert answer["snapshots"] > ROWS * 5  # a delta event each, every one iterated


def _case(mode: str, seconds: dict[str, float]) -> loopback.Case:
    case = loopback._case(mode, server.BURST, 1_000)
    for method, cpu in seconds.items():
        case.cells[method] = loopback.Cell([cpu * case.events])
    return case


def test_vs_chat_is_per_event_cost_over_chats_of_the_same_kind() -> None:
    chat = _case(server.TOOLS, {loopback.FLOOR: 1.0, loopback.SS_PURE: 2.0})
    anthropic = _case("anthropic_tools", {loopback.FLOOR: 1.5, loopback.SS_PURE: 2.2})
    results = loopback.LoopbackResults(cases=[chat, anthropic])
    assert loopback.vs_chat(results, anthropic, PURE) == pytest.approx(1.1)
    assert loopback.vs_chat(results, anthropic, COMPILED) is None  # not measured
    targets = {t.what: t for t in loopback.targets(results)}
    dialect = targets["pure: burst anthropic_tools 1 KB: streamstruct, CPU per event, over chat's"]
    assert dialect.passed is True
    table = "\n".join(loopback.table(results))
    assert "vs chat (compiled / pure)" in table
    assert "- / 1.10x" in table
