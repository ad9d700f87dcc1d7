"""The demo: ``python -m streamstruct demo``, as a subprocess and in process, plain and live."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import time
from typing import Any

import pytest

from streamstruct.__main__ import main
from streamstruct._demo.scenario import ALICE, USERS
from streamstruct.testing import ErrorStatus, Reply, Simulator

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@pytest.fixture(autouse=True)
def _no_endpoint_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)


def _flat(text: str) -> str:
    """The output with line breaks and indentation folded, to search a wrapped bio."""
    return " ".join(text.split())


def assert_the_whole_story(out: str, *, cut_to_width: bool = False) -> None:
    flat = _flat(out)
    assert "Alice" in out
    assert "28" in out
    assert ALICE["bio"] in flat
    assert "100%" in out
    for user in USERS:
        assert f"{user['name']}, {user['age']}" in out
        # A terminal's one line per user cuts a long bio to the width.
        assert str(user["bio"])[: 10 if cut_to_width else None] in flat
    assert re.search(r"usage\s+2 requests, \d+ prompt \+ \d+ completion = \d+ tokens", out)
    assert "total" in out


def test_python_m_streamstruct_demo_runs_end_to_end_in_a_subprocess() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    done = subprocess.run(
        [sys.executable, "-m", "streamstruct", "demo", "--fast"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert_the_whole_story(done.stdout)
    assert "\x1b" not in done.stdout  # not a terminal: plain lines
    assert "in-process simulator" in done.stdout
    # One line per field as it completes, in order, with the progress each brought; 100% once
    # the object is (the closing brace, after the last field: issue 16).
    percents = re.findall(r"^\s+(\d+)%\s+(\w+)", done.stdout, flags=re.MULTILINE)
    assert percents == [("33", "name"), ("66", "age"), ("99", "bio"), ("100", "validated")]


def test_a_reader_that_leaves_early_gets_no_traceback() -> None:
    """``python -m streamstruct demo | head -1``: a closed pipe ends the demo quietly."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    with subprocess.Popen(
        [sys.executable, "-m", "streamstruct", "demo", "--delay", "0.05"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    ) as demo:
        assert demo.stdout is not None
        assert demo.stderr is not None
        assert "streamstruct" in demo.stdout.readline()
        demo.stdout.close()
        assert demo.wait(timeout=30) == 1
        assert demo.stderr.read() == ""


def test_main_in_process_prints_plain_lines(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--fast"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert_the_whole_story(out)
    assert "grew over" in out  # the bio arrived in many snapshots, not at once


class _Terminal(io.StringIO):
    """What the demo sees of a UTF-8 terminal."""

    @property
    def encoding(self) -> str:
        return "utf-8"

    def isatty(self) -> bool:
        return True


def test_a_terminal_without_unicode_gets_ascii_glyphs(monkeypatch: pytest.MonkeyPatch) -> None:
    class Ascii(_Terminal):
        @property
        def encoding(self) -> str:
            return "ascii"

    terminal = Ascii()
    monkeypatch.setattr(sys, "stdout", terminal)
    assert main(["demo", "--fast"]) == 0
    out = terminal.getvalue()
    out.encode("ascii")  # nothing the terminal could not show
    assert "+ bio" in ANSI.sub("", out)


def test_on_a_terminal_the_state_is_redrawn_in_place(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    monkeypatch.setenv("COLUMNS", "60")
    monkeypatch.setenv("LINES", "30")
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert main(["demo", "--delay", "0"]) == 0
    out = terminal.getvalue()
    assert out.startswith("\x1b[?25l")  # the cursor hidden while redrawing...
    assert out.endswith("\x1b[?25h")  # ...and shown again
    assert re.search(r"\r\x1b\[\d+A\x1b\[J", out)  # up to the live region, cleared, redrawn
    assert "\x1b[32m" in out  # colours
    plain = ANSI.sub("", out)
    assert_the_whole_story(plain, cut_to_width=True)
    assert "▸ bio" in plain  # the bio seen while streaming...
    assert "✓ bio" in plain  # ...and complete
    # No line may be wider than the terminal: a wrapped line would break the redraw.
    assert max(len(line) for line in plain.replace("\r", "\n").split("\n")) < 60


def test_no_color_keeps_the_redraw_and_drops_the_colours(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    monkeypatch.setenv("NO_COLOR", "1")
    assert main(["demo", "--fast"]) == 0
    out = terminal.getvalue()
    assert "\x1b[J" in out
    assert "\x1b[32m" not in out
    assert_the_whole_story(ANSI.sub("", out), cut_to_width=True)


def test_plain_forces_lines_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    assert main(["demo", "--fast", "--plain"]) == 0
    assert "\x1b" not in terminal.getvalue()


class TestARealEndpoint:
    """``--base-url`` (or the environment) sends real HTTP: here to a served simulator."""

    @pytest.fixture
    def simulator(self) -> Simulator:
        return Simulator(
            responses=[Reply(ALICE), Reply({"items": USERS}, tool_calls="per_item")] * 2
        )

    def test_base_url_and_options(
        self, simulator: Simulator, simulator_url: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        argv = ["demo", "--base-url", simulator_url, "--api-key", "sk-mine", "--model", "m-1"]
        assert main([*argv, "--mode", "json_schema"]) == 0
        out = capsys.readouterr().out
        assert_the_whole_story(out)
        assert simulator_url in out
        assert [request["model"] for request in simulator.requests] == ["m-1", "m-1"]
        assert all("response_format" in request for request in simulator.requests)
        assert simulator.request_headers[0]["authorization"] == "Bearer sk-mine"

    def test_the_environment_names_the_endpoint(
        self,
        simulator: Simulator,
        simulator_url: str,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        monkeypatch.setenv("OPENAI_BASE_URL", simulator_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
        assert main(["demo"]) == 0
        assert simulator_url in capsys.readouterr().out
        assert simulator.request_headers[0]["authorization"] == "Bearer sk-from-env"
        assert simulator.requests[0]["model"] == "gpt-4o-mini"

    def test_simulator_flag_stays_offline(
        self,
        simulator: Simulator,
        simulator_url: str,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        monkeypatch.setenv("OPENAI_BASE_URL", simulator_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
        assert main(["demo", "--fast", "--simulator"]) == 0
        assert "in-process simulator" in capsys.readouterr().out
        assert simulator.requests == []

    def test_a_key_alone_does_not_leave_the_process(
        self, simulator: Simulator, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
        assert main(["demo", "--fast", "--plain"]) == 0
        assert simulator.requests == []


class TestErrors:
    @pytest.fixture
    def simulator(self) -> Simulator:
        return Simulator(faults=ErrorStatus(401))

    def test_a_401_is_one_clear_line_and_exit_code_1(
        self, simulator_url: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert main(["demo", "--base-url", simulator_url, "--api-key", "sk-wrong"]) == 1
        out, err = capsys.readouterr()
        assert err.startswith("error: AuthenticationError: HTTP 401: Incorrect API key provided")
        assert "hint: check --api-key or OPENAI_API_KEY" in err
        assert "Traceback" not in err
        assert "usage" not in out  # stopped at the error

    def test_the_terminal_gets_its_cursor_back_after_an_error(
        self, simulator_url: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        terminal = _Terminal()
        monkeypatch.setattr(sys, "stdout", terminal)
        assert main(["demo", "--base-url", simulator_url]) == 1
        assert terminal.getvalue().endswith("\x1b[?25h")


class TestAnAnswerThatDoesNotFit:
    @pytest.fixture
    def simulator(self) -> Simulator:
        # In tools mode each item is one tool call; one call holding the whole list is no User.
        return Simulator(responses=[Reply(ALICE), Reply({"items": USERS}, tool_calls="single")])

    def test_the_error_is_reported_while_the_terminal_is_live(
        self,
        simulator_url: str,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        terminal = _Terminal()
        monkeypatch.setattr(sys, "stdout", terminal)
        assert main(["demo", "--base-url", simulator_url]) == 1
        err = capsys.readouterr().err
        assert err.startswith("error: ResponseValidationError: item 0 is invalid")
        assert err.count("\n") == 1  # one line, no traceback
        assert terminal.getvalue().endswith("\x1b[?25h")


def test_help_and_bad_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["demo", "--help"])
    assert exited.value.code == 0
    help_text = capsys.readouterr().out
    for option in ("--fast", "--delay", "--base-url", "--api-key", "--model", "--mode"):
        assert option in help_text
    with pytest.raises(SystemExit) as exited:
        main(["demo", "--delay", "-1"])
    assert exited.value.code == 2
    with pytest.raises(SystemExit) as exited:
        main([])
    assert exited.value.code == 2
    assert "demo" in capsys.readouterr().err


def _free_port() -> int:
    import socket

    with socket.socket() as probe:  # a free port, as the OS sees it now
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _web_demo(*options: str) -> tuple[subprocess.Popen[str], str]:
    """``demo --web`` in a subprocess, and its base URL once it says it listens."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    server = subprocess.Popen(
        [sys.executable, "-m", "streamstruct", "demo", "--web", "--port", str(port), *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert server.stdout is not None
    assert f"http://127.0.0.1:{port}/" in server.stdout.readline()
    return server, f"http://127.0.0.1:{port}"


def _get_when_listening(http: Any, path: str) -> Any:
    import httpx

    for _ in range(100):  # the line is printed just before uvicorn listens
        try:
            return http.get(path)
        except httpx.ConnectError:
            time.sleep(0.05)
    raise AssertionError("the web demo never listened")


def test_demo_web_asks_a_real_endpoint_given_base_url() -> None:
    import httpx

    from streamstruct.testing import serve

    simulator = Simulator(responses=[Reply(ALICE)])
    with serve(simulator) as upstream:
        server, base = _web_demo(
            "--base-url", upstream, "--api-key", "sk-web-demo", "--model", "m1"
        )
        try:
            with httpx.Client(base_url=base, timeout=10) as http:
                assert _get_when_listening(http, "/").status_code == 200
                profile = http.post("/api/profile").text
        finally:
            server.terminate()
            server.communicate(timeout=10)
    assert f'"bio":"{ALICE["bio"]}"' in profile.split("event: end")[1]
    assert simulator.requests[0]["model"] == "m1"
    assert simulator.request_headers[0]["authorization"] == "Bearer sk-web-demo"


def test_demo_web_serves_the_page_the_client_and_the_two_streams() -> None:
    import httpx

    server, base = _web_demo("--fast")
    try:
        with httpx.Client(base_url=base, timeout=10) as http:
            page = _get_when_listening(http, "/")
            assert page.status_code == 200
            assert 'import { readObject } from "/client.js";' in page.text
            client = http.get("/client.js")
            assert client.headers["content-type"].startswith("text/javascript")
            assert "export async function* readObject" in client.text
            profile = http.post("/api/profile")
            assert profile.headers["content-type"].startswith("text/event-stream")
            assert profile.text.startswith('event: start\ndata: {"version":1,"kind":"object"}')
            assert '"append",["bio"]' in profile.text
            assert f'"bio":"{ALICE["bio"]}"' in profile.text.split("event: end")[1]
            users = http.post("/api/users")
            assert users.text.count('["done",[') == len(USERS)
            assert http.get("/nowhere").status_code == 404
            assert http.post("/api/profile").status_code == 200  # it answers again
    finally:
        server.terminate()
        server.communicate(timeout=10)
