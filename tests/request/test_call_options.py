"""One typed set of per-call options (``streamstruct._request._options.CallOptions``) on both clients.

mypy checks the async and the sync client's calls alike (``tests/typing/call_options.py``); at
run time a keyword outside the list is an ``InvalidArgumentTypeError`` (a ``TypeError``) naming
it, raised when the call is made; the typed OpenAI parameters and ``extra_body`` reach the request
body unchanged, ``extra_headers`` its headers. Each runtime test runs on the async client (asyncio
and trio) and on the sync client, against the simulator, which records what it was sent.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterable
from typing import Any

import anyio.to_thread
import pytest
import reliability_support
from pydantic import BaseModel

import streamstruct
from streamstruct.testing import Reply, Simulator, StreamingASGITransport

# The three flavours (the async client on asyncio and on trio, the sync client): pytest takes
# a fixture by the name it is bound to here.
anyio_backend = reliability_support.anyio_backend
flavour = reliability_support.flavour

pytestmark = pytest.mark.anyio

MESSAGES = [{"role": "user", "content": "hi"}]
ALICE = {"name": "Alice"}
_METHODS = ["create", "create_partial", "create_iterable"]


class User(BaseModel):
    name: str


def _client_options(simulator: Simulator) -> dict[str, Any]:
    return {
        "api_key": "sk-test",
        "base_url": "http://simulator/v1",
        "transport": StreamingASGITransport(simulator),
        "mode": "json_schema",
    }


async def _call(flavour: str, simulator: Simulator, method: str, **keywords: Any) -> Any:
    """Make the call and read it to its end (``create``'s answer, a stream's final value)."""
    model: Any = Iterable[User] if method == "create_iterable" else User
    request = {"model": "m", "response_model": model, "messages": MESSAGES, **keywords}
    if flavour == "sync":

        def run_sync() -> Any:
            with streamstruct.Client(**_client_options(simulator)) as client:
                made = getattr(client.chat.completions, method)(**request)
                return made if method == "create" else made.get_final()

        return await anyio.to_thread.run_sync(run_sync)
    async with streamstruct.AsyncClient(**_client_options(simulator)) as client:
        made = getattr(client.chat.completions, method)(**request)
        return await made if method == "create" else await made.get_final()


# -- typing ---------------------------------------------------------------------------------------


def test_mypy_checks_both_clients_alike(
    mypy_strict: Callable[[str], subprocess.CompletedProcess[str]],
) -> None:
    """Each bad call in the file must be an error, each good one none (see its docstring)."""
    result = mypy_strict("tests/typing/call_options.py")
    assert result.returncode == 0, result.stdout + result.stderr


# -- unknown keywords -------------------------------------------------------------------------------


@pytest.mark.parametrize("method", _METHODS)
@pytest.mark.parametrize(
    ("keyword", "said"),
    [
        ("deadlin", "did you mean 'deadline'?"),
        ("temprature", "did you mean 'temperature'?"),
        ("context", "validation_context="),
        ("n", "one call streams one answer"),
        ("tools", "the mode writes tools"),
        ("frobnicate", "extra_body="),
    ],
)
async def test_an_unknown_keyword_is_a_type_error_naming_it(
    flavour: str, method: str, keyword: str, said: str
) -> None:
    simulator = Simulator(responses=Reply(ALICE))
    with pytest.raises(streamstruct.InvalidArgumentTypeError) as caught:
        await _call(flavour, simulator, method, **{keyword: 1})
    error = caught.value
    assert isinstance(error, TypeError)
    assert error.argument == keyword
    assert f"{method}() got an unexpected keyword argument {keyword!r}" in str(error)
    assert said in str(error)
    assert simulator.requests == []  # refused when the call was made: nothing was sent


@pytest.mark.parametrize(
    ("keywords", "argument"),
    [
        ({"extra_body": ["not", "a", "mapping"]}, "extra_body"),
        ({"extra_headers": {"X-Trace": 1}}, "extra_headers"),
        ({"extra_headers": {"bad name": "v"}}, "extra_headers"),
    ],
)
async def test_a_bad_extra_body_or_extra_headers_is_refused(
    flavour: str, keywords: dict[str, Any], argument: str
) -> None:
    simulator = Simulator(responses=Reply(ALICE))
    with pytest.raises(streamstruct.InvalidArgumentError) as caught:
        await _call(flavour, simulator, "create", **keywords)
    assert caught.value.argument == argument
    assert argument in str(caught.value)
    assert simulator.requests == []


# -- what reaches the request ------------------------------------------------------------------------

_OPENAI_PARAMS: dict[str, Any] = {
    "temperature": 0.2,
    "top_p": 0.9,
    "max_tokens": 300,
    "max_completion_tokens": 300,
    "seed": 7,
    "stop": ["\n\n", "END"],
    "user": "user-1",
    "metadata": {"purpose": "test"},
    "reasoning_effort": "low",
    "service_tier": "flex",
    "parallel_tool_calls": False,
    "logprobs": True,
    "top_logprobs": 2,
    "frequency_penalty": 0.5,
    "presence_penalty": -0.5,
    "logit_bias": {"50256": -100},
    "prediction": {"type": "content", "content": "{}"},
    "store": False,
    "verbosity": "low",
    "prompt_cache_key": "k",
    "safety_identifier": "s",
}


@pytest.mark.parametrize("method", _METHODS)
async def test_typed_parameters_and_extra_body_reach_the_body_unchanged(
    flavour: str, method: str
) -> None:
    simulator = Simulator(responses=Reply([ALICE] if method == "create_iterable" else ALICE))
    extra_body = {"top_k": 40, "guided": {"nested": [1, None, "x"]}, "stream": False}
    await _call(flavour, simulator, method, **_OPENAI_PARAMS, extra_body=extra_body)
    (body,) = simulator.requests
    for key, value in _OPENAI_PARAMS.items():
        assert body[key] == value, key
    assert body["top_k"] == 40
    assert body["guided"] == {"nested": [1, None, "x"]}
    assert body["stream"] is True  # extra_body sits under streamstruct's own fields
    assert "extra_body" not in body
    assert "extra_headers" not in body


async def test_extra_headers_reach_the_request_but_not_over_the_api_key(flavour: str) -> None:
    simulator = Simulator(responses=Reply(ALICE))
    headers = {"X-Trace": "abc", "Authorization": "Bearer other"}
    assert await _call(flavour, simulator, "create", extra_headers=headers) == User(**ALICE)
    (sent,) = simulator.request_headers
    assert sent["x-trace"] == "abc"
    assert sent["authorization"] == "Bearer sk-test"
    assert "extra_headers" not in simulator.requests[0]
