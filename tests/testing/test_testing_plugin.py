"""The pytest plugin's client fixtures and the ``simulated_client`` helpers behind them."""

from __future__ import annotations

import pytest
from shared_support import UserWithBio as User

import streamstruct
from streamstruct.testing import (
    ErrorStatus,
    Reply,
    Simulator,
    Truncate,
    simulated_client,
    simulated_sync_client,
)

pytest_plugins = ["pytester"]

MESSAGES = [{"role": "user", "content": "Generate a profile for Alice, 28."}]
ALICE = {"name": "Alice", "age": 28, "bio": "Alice maps coral reefs."}


@pytest.mark.anyio
async def test_streamstruct_client_is_answered_by_the_simulator_fixture(
    streamstruct_simulator: Simulator, streamstruct_client: streamstruct.AsyncClient
) -> None:
    simulator = streamstruct_simulator
    simulator.script(Reply(ALICE, chunk_size=2))
    stream = streamstruct_client.chat.completions.create_partial(
        model="m", response_model=User, messages=MESSAGES
    )
    snapshots = [partial async for partial in stream]
    assert len(snapshots) > 3  # streamed delta by delta, not buffered
    assert snapshots[-1].model_dump() == ALICE
    assert simulator.requests[0]["model"] == "m"
    # A placeholder key: the developer's own never reaches a test's recorded headers.
    assert simulator.request_headers[0]["authorization"] == "Bearer sk-simulated"


def test_streamstruct_sync_client_is_answered_by_the_simulator_fixture(
    streamstruct_simulator: Simulator, streamstruct_sync_client: streamstruct.Client
) -> None:
    simulator = streamstruct_simulator
    people = [{**ALICE, "name": name} for name in ("Ann", "Ben")]
    simulator.script(Reply(ALICE), {"items": people})
    completions = streamstruct_sync_client.chat.completions
    assert completions.create(model="m", response_model=User, messages=MESSAGES) == User(**ALICE)
    users = list(
        completions.create_iterable(
            model="m", response_model=User, messages=MESSAGES, mode=streamstruct.Mode.JSON_SCHEMA
        )
    )
    assert [user.name for user in users] == ["Ann", "Ben"]


class TestOverridingTheSimulatorFixture:
    """A test module (or conftest) that overrides ``streamstruct_simulator`` changes what the
    clients get."""

    @pytest.fixture
    def streamstruct_simulator(self) -> Simulator:
        return Simulator(faults=ErrorStatus(401))

    @pytest.mark.anyio
    async def test_async(self, streamstruct_client: streamstruct.AsyncClient) -> None:
        with pytest.raises(streamstruct.AuthenticationError) as caught:
            await streamstruct_client.chat.completions.create(
                model="m", response_model=User, messages=MESSAGES
            )
        assert caught.value.status_code == 401

    def test_sync(self, streamstruct_sync_client: streamstruct.Client) -> None:
        with pytest.raises(streamstruct.AuthenticationError):
            streamstruct_sync_client.chat.completions.create(
                model="m", response_model=User, messages=MESSAGES
            )


@pytest.mark.anyio
async def test_simulated_client_takes_options_and_ignores_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-real-secret")
    monkeypatch.setenv("OPENAI_BASE_URL", "https://api.example.invalid/v1")
    simulator = Simulator(responses=Reply(ALICE))
    async with simulated_client(simulator, mode="json_schema", max_retries=0) as client:
        assert await client.chat.completions.create(
            model="m", response_model=User, messages=MESSAGES
        ) == User(**ALICE)
    assert "response_format" in simulator.requests[0]
    assert "sk-real-secret" not in repr(simulator.request_headers)
    assert client._http.is_closed  # closing the client closed the transport it was built on


def test_simulated_sync_client_takes_options(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-real-secret")
    simulator = Simulator(responses=Reply(ALICE, faults=Truncate(20)))
    with (
        simulated_sync_client(simulator, backend="trio", api_key="sk-mine") as client,
        pytest.raises(streamstruct.IncompleteOutputError) as caught,
    ):
        client.chat.completions.create_partial(
            model="m", response_model=User, messages=MESSAGES
        ).get_final()
    assert caught.value.text == '{"name":"Alice","age'  # the first 20 characters
    assert caught.value.partial.name == "Alice"
    assert simulator.request_headers[0]["authorization"] == "Bearer sk-mine"


def test_the_helpers_refuse_to_be_given_their_own_plumbing() -> None:
    with pytest.raises(TypeError, match="http_client"):
        simulated_client(Simulator(), http_client=None)
    with pytest.raises(TypeError, match="transport"):
        simulated_sync_client(Simulator(), transport=None)


def test_a_users_test_file_gets_the_fixtures_and_they_are_closed_after(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeconftest('pytest_plugins = ["streamstruct.testing.pytest_plugin"]')
    pytester.makepyfile(
        """
        import pytest
        from pydantic import BaseModel
        from streamstruct.testing import Reply

        ASYNC_CLIENTS, SYNC_CLIENTS = [], []
        MESSAGES = [{"role": "user", "content": "hi"}]

        class User(BaseModel):
            name: str

        @pytest.mark.anyio
        async def test_async(streamstruct_simulator, streamstruct_client):
            streamstruct_simulator.script(Reply({"name": "Ann"}))
            ASYNC_CLIENTS.append(streamstruct_client)
            user = await streamstruct_client.chat.completions.create(
                model="m", response_model=User, messages=MESSAGES
            )
            assert user.name == "Ann"

        def test_sync(streamstruct_simulator, streamstruct_sync_client):
            streamstruct_simulator.script(Reply({"name": "Ben"}))
            SYNC_CLIENTS.append(streamstruct_sync_client)
            user = streamstruct_sync_client.chat.completions.create(
                model="m", response_model=User, messages=MESSAGES
            )
            assert user.name == "Ben"

        def test_each_was_closed_after_its_test():
            assert ASYNC_CLIENTS and SYNC_CLIENTS
            assert all(client._http.is_closed for client in ASYNC_CLIENTS)
            assert not any(client._finalizer.alive for client in SYNC_CLIENTS)  # loops stopped
        """
    )
    result = pytester.runpytest("-W", "error", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=result.parseoutcomes()["passed"])
    assert result.ret == 0


def test_a_plain_pytest_run_loads_nothing_of_streamstruct(pytester: pytest.Pytester) -> None:
    # A fresh process, as any project's pytest run on a machine where streamstruct is installed.
    # The test extra's other auto-loaded plugins import anyio (anyio's) and httpx (respx's):
    # turned off, so that anything imported is streamstruct's doing.
    pytester.makepyfile(
        """
        import sys

        def test_nothing_imported():
            loaded = {"streamstruct", "httpx", "anyio", "pydantic"} & set(sys.modules)
            assert not loaded

        def test_no_fixture_registered(simulator):
            pass

        def test_no_prefixed_fixture_registered(streamstruct_simulator):
            pass
        """
    )
    result = pytester.runpytest_subprocess(
        "-p", "no:anyio", "-p", "no:respx", "-p", "no:cacheprovider"
    )
    result.assert_outcomes(passed=1, errors=2)
    result.stdout.fnmatch_lines(["*fixture 'simulator' not found*"])
    result.stdout.fnmatch_lines(["*fixture 'streamstruct_simulator' not found*"])


@pytest.mark.parametrize("how", ["-p", "pytest_plugins"])
def test_asking_for_the_plugin_gives_the_prefixed_fixtures(
    pytester: pytest.Pytester, how: str
) -> None:
    if how == "pytest_plugins":
        pytester.makeconftest('pytest_plugins = ["streamstruct.testing.pytest_plugin"]')
    pytester.makepyfile(
        """
        from pydantic import BaseModel
        from streamstruct.testing import Reply, Simulator

        class A(BaseModel):
            a: int

        def test_it(streamstruct_simulator, streamstruct_sync_client):
            assert isinstance(streamstruct_simulator, Simulator)
            streamstruct_simulator.script(Reply({"a": 1}))
            assert streamstruct_sync_client.chat.completions.create(
                model="m", response_model=A, messages=[{"role": "user", "content": "hi"}]
            ) == A(a=1)
        """
    )
    args = ["-p", "streamstruct.testing.pytest_plugin"] if how == "-p" else []
    result = pytester.runpytest(*args, "-W", "error", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_the_old_fixture_names_still_work_with_a_deprecation_warning(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeconftest('pytest_plugins = ["streamstruct.testing.pytest_plugin"]')
    pytester.makepyfile(
        """
        from pydantic import BaseModel
        from streamstruct.testing import Reply

        class A(BaseModel):
            a: int

        def test_old_name(simulator, streamstruct_sync_client):
            simulator.script(Reply({"a": 1}))
            assert streamstruct_sync_client.chat.completions.create(
                model="m", response_model=A, messages=[{"role": "user", "content": "hi"}]
            ) == A(a=1)
        """
    )
    result = pytester.runpytest("-W", "always::DeprecationWarning", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, warnings=1)
    result.stdout.fnmatch_lines(["*'simulator' fixture*deprecated: use 'streamstruct_simulator'*"])


def test_an_override_of_the_old_name_that_the_clients_would_not_follow_is_an_error(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeconftest('pytest_plugins = ["streamstruct.testing.pytest_plugin"]')
    pytester.makepyfile(
        """
        import pytest
        from streamstruct.testing import ErrorStatus, Simulator

        @pytest.fixture
        def simulator():
            return Simulator(faults=ErrorStatus(401))

        def test_scripts_one_simulator_and_talks_to_another(simulator, streamstruct_sync_client):
            pass
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*override 'streamstruct_simulator' instead*"])
