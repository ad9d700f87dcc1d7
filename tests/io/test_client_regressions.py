"""Regressions found in review: each test names what used to go wrong.

Border: bugs found in review, kept together as found: some reach into the reader directly, some go
through a client call, a served simulator or the pool.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterable

import httpx
import pytest
from pydantic import BaseModel
from shared_support import User

import streamstruct
from streamstruct._request._modes import plan_request
from streamstruct._response._partial_reader import PartialReader
from streamstruct._response._reader import IterableReader
from streamstruct.testing import Reply, Simulator, serve, simulated_client

MESSAGES = [{"role": "user", "content": "x"}]


class WithDefaults(BaseModel):
    name: str
    tags: list[str] = []
    nick: str | None = None
    score: float = 1.5


def _event(payload: object) -> bytes:
    return b"data: " + json.dumps(payload).encode() + b"\n\n"


def _arguments(text: str) -> bytes:
    call = {"index": 0, "id": "c", "function": {"name": "User", "arguments": text}}
    return _event({"choices": [{"index": 0, "delta": {"tool_calls": [call]}}]})


def _content(text: str) -> bytes:
    return _event({"choices": [{"index": 0, "delta": {"content": text}}]})


@pytest.mark.anyio
async def test_an_error_event_in_the_same_read_as_json_carries_the_partial() -> None:
    # It used to carry partial=None: the text of that read was not reported before raising.
    body = _arguments('{"name":"Al') + _event({"error": {"message": "boom", "code": 500}})

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)

    async with streamstruct.AsyncClient(
        base_url="http://x/v1", transport=httpx.MockTransport(handler), max_retries=0
    ) as client:
        stream = client.chat.completions.create_partial(
            model="m", response_model=User, messages=MESSAGES
        )
        with pytest.raises(streamstruct.InternalServerError) as caught:
            await stream.get_final()
    assert caught.value.partial is not None
    assert caught.value.partial.name == "Al"
    assert caught.value.text == '{"name":"Al'


def test_any_error_later_in_a_read_sees_the_text_before_it() -> None:
    reader = PartialReader(plan_request(User, MESSAGES, mode="json_schema"))
    with pytest.raises(streamstruct.APIError) as caught:
        reader.feed(_content('{"name": "Zo') + b"data: {oops\n\n")
    assert caught.value.partial is not None
    assert caught.value.partial.name == "Zo"


def test_a_hostile_nesting_in_a_chunk_is_a_streamstruct_error() -> None:
    # json.loads recurses: it used to escape as RecursionError.
    reader = PartialReader(plan_request(User, MESSAGES, mode="json_schema"))
    with pytest.raises(streamstruct.APIError, match="not JSON"):
        reader.feed(b"data: " + b"[" * 100_000 + b"\n\n")


def test_a_reader_error_does_not_chain_what_it_replaces() -> None:
    # Raised "from None": the traceback shows the APIError, not the JSONDecodeError behind it as
    # "during handling of the above exception" (the compiled reader must say so itself).
    reader = PartialReader(plan_request(User, MESSAGES, mode="json_schema"))
    with pytest.raises(streamstruct.APIError) as caught:
        reader.feed(b"data: {oops\n\n")
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


def test_a_reader_error_keeps_the_context_it_is_raised_in() -> None:
    # Only what is raised "from None" drops its context: an error raised while the caller is
    # handling another one still shows it ("during handling of the above exception").
    reader = PartialReader(plan_request(User, MESSAGES, mode="json_schema"))
    reader.feed(_content('{"name": "Al'))

    def finish_while_handling_another() -> None:
        try:
            raise KeyError("the caller's own")
        except KeyError:
            reader.finish()

    with pytest.raises(streamstruct.StreamInterruptedError) as caught:
        finish_while_handling_another()
    assert isinstance(caught.value.__context__, KeyError)
    assert not caught.value.__suppress_context__


def test_a_cut_tool_call_is_incomplete_output_caused_by_the_parse_error() -> None:
    reader = IterableReader(plan_request(Iterable[User], MESSAGES, mode="tools"))
    reader.feed(_arguments('{"name": "Al'))
    reader.feed(_event({"choices": [{"index": 0, "delta": {}, "finish_reason": "length"}]}))
    with pytest.raises(streamstruct.IncompleteOutputError) as caught:
        reader.finish()
    assert isinstance(caught.value.__cause__, streamstruct.JSONParseError)
    assert caught.value.text == '{"name": "Al'


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["tools", "json_schema"])
async def test_the_last_snapshot_agrees_with_get_final(mode: str) -> None:
    # Defaults (and, in strict JSON_SCHEMA, the nulls injected for absent fields) used to show
    # as None in the last snapshot while get_final() had the defaults.
    async with simulated_client(Simulator(responses=Reply({"name": "Al"}))) as client:
        stream = client.chat.completions.create_partial(
            model="m", response_model=WithDefaults, messages=MESSAGES, mode=mode
        )
        snapshots = [partial async for partial in stream]
        final = await stream.get_final()
    assert snapshots[-1].model_dump() == final.model_dump()
    assert streamstruct.progress(snapshots[-1]).percent == 100


def test_a_key_read_from_a_file_works_and_a_bad_one_is_refused_without_quoting_it() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["authorization"])
        return httpx.Response(401, json={"error": {"message": "no"}})

    transport = httpx.MockTransport(handler)
    with (
        streamstruct.Client(
            api_key="sk-secret-1\n", base_url="http://x/v1", transport=transport
        ) as client,
        pytest.raises(streamstruct.AuthenticationError),
    ):
        client.chat.completions.create(model="m", response_model=User, messages=MESSAGES)
    assert seen == ["Bearer sk-secret-1"]
    for bad in ("sk-secr\u00e9t", "sk-se\ncret"):
        with pytest.raises(ValueError, match="API key") as caught:
            streamstruct.AsyncClient(api_key=bad)
        assert bad not in str(caught.value)


def test_a_closed_sync_client_says_so() -> None:
    client = streamstruct.Client(base_url="http://x/v1")
    client.close()
    with pytest.raises(RuntimeError, match="closed"):
        client.chat.completions.create(model="m", response_model=User, messages=MESSAGES)


@pytest.mark.anyio
async def test_an_html_page_with_status_200_is_an_api_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "text/html"}, content=b"<html>login")

    async with streamstruct.AsyncClient(
        base_url="http://x/v1", transport=httpx.MockTransport(handler)
    ) as client:
        with pytest.raises(streamstruct.APIError, match="not an event stream"):
            await client.chat.completions.create(model="m", response_model=User, messages=MESSAGES)


def test_the_served_simulator_answers_kept_alive_requests_without_nagle_delays() -> None:
    # asyncio sets TCP_NODELAY on accepted connections only when the listening socket says
    # IPPROTO_TCP; without it each request on a reused connection waited ~40 ms.
    served = serve(Simulator())
    with served:
        assert served._socket is not None
        assert served._socket.proto == socket.IPPROTO_TCP


def test_the_default_pool_does_not_queue_concurrent_streams() -> None:
    # A stream holds its connection for the whole answer: httpx's default of 100 connections
    # queued the 101st concurrent stream.
    client = streamstruct.AsyncClient(base_url="http://x/v1")
    pool = client._http._transport._pool  # type: ignore[attr-defined]
    assert pool._max_connections >= 1000
