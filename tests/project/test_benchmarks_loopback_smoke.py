"""The end-to-end harness's parts still do what the section says: the server sends one HTTP chunk
per SSE event on a kept-alive connection, a worker runs the build it was started as (and is refused
otherwise), and its methods stream the expected Report.

Benchmarks are not tests: nothing here is timed. Only the pure build is made (a copy of the
sources, in a temporary cache): compiling the other would take a minute.
"""

from __future__ import annotations

import http.client
import json
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # `benchmarks` is a package beside `streamstruct`, not installed
    sys.path.insert(0, str(ROOT))

from benchmarks import builds, loopback, server  # noqa: E402
from streamstruct import _build  # noqa: E402

ROWS = 4


@pytest.fixture(scope="module")
def served() -> Iterator[server.ServerProcess]:
    with server.ServerProcess([(server.TOOLS, ROWS), (server.CONTENT, ROWS)]) as process:
        yield process


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
        yield


@pytest.fixture(scope="module")
def pure(cache: None) -> Iterator[builds.Worker]:
    worker = builds.Worker(builds.PURE, builds.prepare(builds.PURE))
    yield worker
    worker.close()


def _read_chunked(sock: socket.socket) -> list[bytes]:
    """The chunks of one chunked response, read off the socket as they are framed."""
    buffer = b""
    while b"\r\n\r\n" not in buffer:
        buffer += sock.recv(65_536)
    head, buffer = buffer.split(b"\r\n\r\n", 1)
    assert b"transfer-encoding: chunked" in head.lower()
    chunks = []
    while True:
        while b"\r\n" not in buffer:
            buffer += sock.recv(65_536)
        size_line, buffer = buffer.split(b"\r\n", 1)
        size = int(size_line, 16)
        while len(buffer) < size + 2:
            buffer += sock.recv(65_536)
        chunk, buffer = buffer[:size], buffer[size + 2 :]
        if size == 0:
            assert buffer == b""
            return chunks
        chunks.append(chunk)


@pytest.mark.parametrize("mode", server.MODES)
def test_the_server_sends_one_chunk_per_event_kept_alive(
    served: server.ServerProcess, mode: str
) -> None:
    path = served.url(mode, ROWS, server.BURST).removeprefix(served.origin) + "/chat/completions"
    host, port = served.origin.removeprefix("http://").split(":")
    request = f"POST {path} HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n\r\n{{}}".encode()
    with socket.create_connection((host, int(port))) as sock:
        first = (sock.sendall(request), _read_chunked(sock))[1]
        again = (sock.sendall(request), _read_chunked(sock))[1]  # the same connection
    assert first == again == list(server.frames_for(mode, ROWS))
    assert first[-1] == b"data: [DONE]\n\n"


def test_the_server_says_what_it_does_not_have(served: server.ServerProcess) -> None:
    connection = http.client.HTTPConnection(served.origin.removeprefix("http://"))
    connection.request("POST", "/tools/999/burst/v1/chat/completions", body=b"{}")
    response = connection.getresponse()
    assert (response.status, response.read()) == (
        404,
        b"no transcript at /tools/999/burst/v1/chat/completions",
    )
    connection.close()
    assert served.connections() >= 1


@pytest.mark.parametrize("mode", server.MODES)
def test_the_case_shape_counts_the_events_the_server_sends(mode: str) -> None:
    case = loopback._case(mode, server.BURST, 1_000)
    assert case.events == len(server.frames_for(mode, case.rows))
    assert case.json_bytes >= 1_000


def test_a_worker_says_which_build_it_imported(pure: builds.Worker) -> None:
    assert pure.hello["build"] == "pure"
    files = pure.hello["files"]
    assert set(files) == set(_build.CORE_MODULES)  # every module a compiled build compiles
    assert all(path.endswith(".py") and str(builds.cache_root()) in path for path in files.values())


def test_a_worker_started_as_another_build_is_refused(pure: builds.Worker) -> None:
    with pytest.raises(builds.MislabelledBuildError, match="the compiled worker imported a pure"):
        builds.Worker(builds.COMPILED, builds.prepare(builds.PURE))


def test_a_build_imported_from_elsewhere_is_refused(tmp_path: Path) -> None:
    files = {"streamstruct._core._json": str(tmp_path / "copy" / "streamstruct" / "_json.py")}
    hello = {"build": "pure", "files": files}
    builds.check_build(builds.PURE, hello, tmp_path / "copy")
    with pytest.raises(builds.MislabelledBuildError, match="the pure worker imported a pure"):
        builds.check_build(builds.PURE, hello, tmp_path / "checkout")


@pytest.mark.parametrize("mode", server.MODES)
@pytest.mark.parametrize("method", ["floor", "streamstruct", "pipeline"])
def test_the_worker_streams_the_report(
    served: server.ServerProcess, pure: builds.Worker, mode: str, method: str
) -> None:
    # the worker raises (and ask() re-raises) unless streamstruct's final object is the Report
    answer = pure.ask(op="e2e", method=method, url=served.url(mode, ROWS), mode=mode, rows=ROWS)
    assert answer["cpu"] > 0
    events = len(server.frames_for(mode, ROWS))
    if method == "floor":
        assert answer["snapshots"] == 0
    else:
        assert ROWS * 5 < answer["snapshots"] <= events  # a snapshot per visible change


def test_a_worker_error_is_raised_in_the_parent(
    served: server.ServerProcess, pure: builds.Worker
) -> None:
    url = served.url(server.TOOLS, 999)  # the server has no such transcript: 404
    with pytest.raises(RuntimeError, match="the pure worker: e2e"):
        pure.ask(op="e2e", method="streamstruct", url=url, mode=server.TOOLS, rows=999)
    assert json.loads(json.dumps(pure.hello))["build"] == "pure"  # still answering
    answer = pure.ask(
        op="e2e", method="floor", url=served.url(server.TOOLS, ROWS), mode="tools", rows=ROWS
    )
    assert answer["snapshots"] == 0


def test_a_build_that_cannot_be_made_is_skipped_and_said(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(builds, "compiled_unavailable", lambda: "no compiler here")
    with builds.Workers((builds.COMPILED,)) as workers:
        assert workers.workers == {}
        assert workers.skipped == {builds.COMPILED: "no compiler here"}
