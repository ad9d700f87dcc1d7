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
    simulator: Simulator, streamstruct_client: streamstruct.AsyncClient
) -> None:
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
    simulator: Simulator, streamstruct_sync_client: streamstruct.Client
) -> None:
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
    """A test module (or conftest) that overrides ``simulator`` changes what the clients get."""

    @pytest.fixture
    def simulator(self) -> Simulator:
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
        async def test_async(simulator, streamstruct_client):
            simulator.script(Reply({"name": "Ann"}))
            ASYNC_CLIENTS.append(streamstruct_client)
            user = await streamstruct_client.chat.completions.create(
                model="m", response_model=User, messages=MESSAGES
            )
            assert user.name == "Ann"

        def test_sync(simulator, streamstruct_sync_client):
            simulator.script(Reply({"name": "Ben"}))
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
