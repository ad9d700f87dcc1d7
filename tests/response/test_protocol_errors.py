"""The protocol-error branch: what the server sent does not follow the protocol.

Each case is a :class:`streamstruct.ProtocolError` of its own class, and still the class it was
raised as before (``APIError``, ``StreamInterruptedError``), so existing ``except`` clauses work.
On the async and the sync client.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from pydantic import BaseModel

import streamstruct

MESSAGES = [{"role": "user", "content": "x"}]


class User(BaseModel):
    name: str


def _chunk(content: str) -> bytes:
    return (
        b"data: "
        + json.dumps({"choices": [{"index": 0, "delta": {"content": content}}]}).encode()
        + b"\n\n"
    )


SSE = {"content-type": "text/event-stream"}
CASES = {
    "not an event stream": (
        {"content-type": "text/html"},
        b"<html>login</html>",
        streamstruct.NotEventStreamError,
        streamstruct.APIError,
    ),
    "data is not JSON": (
        SSE,
        _chunk('{"name": "Zo') + b"data: {not json\n\n",
        streamstruct.EventDataError,
        streamstruct.APIError,
    ),
    "malformed chunk": (
        SSE,
        _chunk('{"name": "Zo') + b'data: {"choices": 5}\n\n',
        streamstruct.MalformedChunkError,
        streamstruct.APIError,
    ),
    "does not parse": (
        {"content-type": "application/json"},
        b'{"choices": [',
        streamstruct.BodyNotJSONError,
        streamstruct.StreamInterruptedError,
    ),
    "SSE": (
        SSE,
        b"data: " + b"x" * (8 * 1024 * 1024 + 1),  # one unfinished line past the 8 MiB cap
        streamstruct.SSELimitError,
        streamstruct.SSEError,
    ),
}


def _transport(headers: dict[str, str], body: bytes) -> httpx.MockTransport:
    return httpx.MockTransport(lambda request: httpx.Response(200, headers=headers, content=body))


def _check(error: BaseException, new: type[Exception], old: type[Exception]) -> None:
    assert isinstance(error, streamstruct.ProtocolError)
    assert isinstance(error, new)
    assert isinstance(error, old)
    assert isinstance(error, streamstruct.StreamStructError)


@pytest.mark.anyio
@pytest.mark.parametrize("case", list(CASES))
async def test_each_protocol_fault_is_a_protocol_error_and_its_old_class(
    case: str, anyio_backend: Any
) -> None:
    headers, body, new, old = CASES[case]
    async with streamstruct.AsyncClient(
        base_url="http://x/v1", transport=_transport(headers, body), max_retries=0
    ) as client:
        with pytest.raises(old) as caught:
            await client.chat.completions.create(model="m", response_model=User, messages=MESSAGES)
    _check(caught.value, new, old)


@pytest.mark.parametrize("case", list(CASES))
def test_the_sync_client_raises_the_same(case: str) -> None:
    headers, body, new, old = CASES[case]
    with (
        streamstruct.Client(
            base_url="http://x/v1", transport=_transport(headers, body), max_retries=0
        ) as client,
        pytest.raises(streamstruct.ProtocolError) as caught,
    ):
        client.chat.completions.create(model="m", response_model=User, messages=MESSAGES)
    _check(caught.value, new, old)


def test_the_partial_result_is_kept_on_a_mid_stream_protocol_error() -> None:
    headers, body, _, _ = CASES["malformed chunk"]
    with (
        streamstruct.Client(
            base_url="http://x/v1", transport=_transport(headers, body), max_retries=0
        ) as client,
        pytest.raises(streamstruct.ProtocolError) as caught,
    ):
        client.chat.completions.create(
            model="m", response_model=User, messages=MESSAGES, mode="json_schema"
        )
    assert caught.value.text == '{"name": "Zo'
    assert caught.value.partial.name == "Zo"


def test_the_branch_is_drawn_in_the_error_tree() -> None:
    from streamstruct import _errors

    for name in ("ProtocolError", "EventDataError", "MalformedChunkError", "NotEventStreamError"):
        assert name in (_errors.__doc__ or "")
    assert issubclass(streamstruct.SSEError, streamstruct.ProtocolError)
