"""The demo over the other two wire dialects: ``python -m streamstruct demo --api responses`` and
``--api anthropic``, offline like the default, and against an endpoint of that API."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from test_demo import assert_the_whole_story

from streamstruct.__main__ import main
from streamstruct._demo.scenario import ALICE, USERS
from streamstruct.testing import Reply, Simulator

APIS = ["responses", "anthropic"]


@pytest.fixture(autouse=True)
def _no_endpoint_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("api", APIS)
def test_python_m_streamstruct_demo_api_runs_offline_in_a_subprocess(api: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "ANTHROPIC_"))}
    done = subprocess.run(
        [sys.executable, "-m", "streamstruct", "demo", "--fast", "--api", api],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert_the_whole_story(done.stdout)
    assert "in-process simulator" in done.stdout
    assert ("Anthropic Messages" if api == "anthropic" else "the Responses API") in done.stdout


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize("mode", ["tools", "json_schema", "md_json"])
def test_main_in_process_in_every_mode(
    api: str, mode: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--fast", "--api", api, "--mode", mode]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert_the_whole_story(out)


def test_an_unknown_api_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["demo", "--api", "gemini"])
    assert exited.value.code == 2
    assert "--api" in capsys.readouterr().err


class TestAnEndpointOfTheAPI:
    @pytest.fixture
    def simulator(self) -> Simulator:
        return Simulator(
            responses=[Reply(ALICE), Reply({"items": USERS}, tool_calls="per_item")] * 2
        )

    @pytest.mark.parametrize("streamstruct_api", ["anthropic"])
    def test_anthropic_from_the_environment(
        self,
        simulator: Simulator,
        simulator_url: str,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", simulator_url)
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-from-env")
        monkeypatch.setenv("OPENAI_API_KEY", "sk-not-this-one")
        assert main(["demo", "--api", "anthropic", "--plain"]) == 0
        assert_the_whole_story(capsys.readouterr().out)
        assert simulator.request_headers[0]["x-api-key"] == "sk-ant-from-env"
        assert "authorization" not in simulator.request_headers[0]
        assert simulator.requests[0]["model"] == "claude-sonnet-4-5"
        assert "max_tokens" in simulator.requests[0]

    @pytest.mark.parametrize("streamstruct_api", ["responses"])
    def test_responses_given_base_url(
        self, simulator: Simulator, simulator_url: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        argv = ["demo", "--api", "responses", "--base-url", simulator_url, "--api-key", "sk-mine"]
        assert main([*argv, "--mode", "json_schema"]) == 0
        assert_the_whole_story(capsys.readouterr().out)
        assert simulator.requests[0]["text"]["format"]["type"] == "json_schema"
        assert simulator.requests[0]["model"] == "gpt-4o-mini"
        assert simulator.request_headers[0]["authorization"] == "Bearer sk-mine"
