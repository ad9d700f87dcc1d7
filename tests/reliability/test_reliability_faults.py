"""The fault matrix, through httpx over real loopback sockets, on asyncio, trio and the sync client.

Every fault is played by the simulator served by uvicorn on 127.0.0.1 (``serve``), or, where the
simulator has no such fault (a connect timeout, a trickle, junk), by a small server written here.
For each one the test asserts the exact error class (or the successful retry), what the error
carries (the partial object and the raw text received so far, the attempts), that no connection
is left checked out of the pool, and that no task, thread or file descriptor is left behind.
"""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import anyio
import anyio.to_thread
import httpx
import pytest
import reliability_support
from reliability_support import (
    KEY,
    MESSAGES,
    Leaks,
    Writer,
    checked_out,
    content_chunk,
    frame,
    own_threads,
    pool_of,
    raw_server,
)
from shared_support import UserWithBio as User

import streamstruct
from streamstruct._core._sse import SSEDecoder
from streamstruct.testing import (
    Disconnect,
    ErrorEvent,
    ErrorStatus,
    MissingDone,
    Refusal,
    Reply,
    Simulator,
    Stall,
    Truncate,
    serve,
)

# The three flavours (the async client on asyncio and on trio, the sync client): pytest takes
# a fixture by the name it is bound to here.
anyio_backend = reliability_support.anyio_backend
flavour = reliability_support.flavour

pytestmark = pytest.mark.anyio

ZOE = {"name": "Zoë 🦊 Müller", "age": 41, "bio": "naïve café — «quoted» 日本語 {and} [more]"}
ZOE_JSON = json.dumps(ZOE, ensure_ascii=False, separators=(",", ":"))


# -- one served simulator per module, its app swapped per test -------------------------------------


class Switch:
    """An ASGI app that hands every request to the simulator of the moment."""

    def __init__(self) -> None:
        self.simulator = Simulator()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.simulator(scope, receive, send)


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[Switch, str]]:
    switch = Switch()
    with serve(switch) as url:
        yield switch, url


@pytest.fixture
def sim(served: tuple[Switch, str]) -> Callable[..., tuple[Simulator, str]]:
    def use(**options: Any) -> tuple[Simulator, str]:
        switch, url = served
        switch.simulator = Simulator(**options)
        return switch.simulator, url

    return use


@pytest.fixture
def kind(flavour: str) -> str:
    return "sync" if flavour == "sync" else "async"


# -- running one call, async or sync, and checking what it left behind -----------------------------


@dataclass
class Outcome:
    value: Any = None
    error: BaseException | None = None
    snapshots: list[Any] = field(default_factory=list)
    busy: int = -1  # connections checked out once the call was over, before the client closed
    seconds: float = 0.0

    def raised(self, cls: type[BaseException]) -> Any:
        assert type(self.error) is cls, f"expected {cls.__name__}, got {self.error!r}"
        return self.error


def _client_options(url: str, options: dict[str, Any]) -> dict[str, Any]:
    return {
        "api_key": KEY,
        "base_url": url,
        "mode": "json_schema",
        "backoff": 0.0,
        "max_retries": 0,
        **options,
    }


async def run(kind: str, url: str, *, whole: bool = False, **options: Any) -> Outcome:
    """One ``create_partial`` (or ``create`` with ``whole``) iterated to the end; the outcome."""
    call = {k: options.pop(k) for k in ("deadline",) if k in options}
    request = {"model": "m", "response_model": User, "messages": MESSAGES, **call}
    outcome = Outcome()
    if kind == "sync":

        def run_sync() -> None:
            before = own_threads()
            fds = Leaks.now().fds
            started = time.monotonic()
            with streamstruct.Client(**_client_options(url, options)) as client:
                try:
                    if whole:
                        outcome.value = client.chat.completions.create(**request)
                    else:
                        stream = client.chat.completions.create_partial(**request)
                        for snapshot in stream:
                            outcome.snapshots.append(snapshot)
                        outcome.value = stream.get_final()
                except streamstruct.StreamStructError as error:
                    outcome.error = error
                outcome.seconds = time.monotonic() - started
                outcome.busy = checked_out(pool_of(client))
            # The client's event loop thread is gone, and so is every socket it opened.
            for _ in range(100):
                if own_threads() <= before and Leaks.now().fds <= fds:
                    break
                time.sleep(0.01)
            assert own_threads() <= before
            assert Leaks.now().fds <= fds

        await anyio.to_thread.run_sync(run_sync)
    else:
        leaks = Leaks.now()
        started = anyio.current_time()
        async with streamstruct.AsyncClient(**_client_options(url, options)) as client:
            try:
                if whole:
                    outcome.value = await client.chat.completions.create(**request)
                else:
                    stream = client.chat.completions.create_partial(**request)
                    async for snapshot in stream:
                        outcome.snapshots.append(snapshot)
                    outcome.value = await stream.get_final()
            except streamstruct.StreamStructError as error:
                outcome.error = error
            outcome.seconds = anyio.current_time() - started
            outcome.busy = checked_out(pool_of(client))
        await leaks.check()
    assert outcome.busy == 0, "a connection was left checked out of the pool"
    return outcome


def carries_a_prefix_of_zoe(error: Any) -> None:
    """The error holds the text received so far (a proper prefix) and the snapshot built from it."""
    assert error.text
    assert ZOE_JSON.startswith(error.text)
    assert error.text != ZOE_JSON
    assert error.partial is not None
    assert ZOE["name"].startswith(error.partial.name)


# -- HTTP error statuses ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "cls", "error_type"),
    [
        (400, streamstruct.BadRequestError, "invalid_request_error"),
        (401, streamstruct.AuthenticationError, "invalid_request_error"),
        (403, streamstruct.PermissionDeniedError, "invalid_request_error"),
        (404, streamstruct.NotFoundError, "invalid_request_error"),
    ],
)
async def test_a_client_error_status_is_typed_and_never_retried(
    sim: Any, kind: str, status: int, cls: type[Exception], error_type: str
) -> None:
    simulator, url = sim(
        faults=ErrorStatus(status, message=f"nope {status}", type=error_type, code="some_code")
    )
    outcome = await run(kind, url, max_retries=3)
    error = outcome.raised(cls)
    assert error.status_code == status
    assert error.body == {
        "message": f"nope {status}",
        "type": error_type,
        "param": None,
        "code": "some_code",
    }
    assert f"nope {status}" in str(error)
    assert error.attempts == 1
    assert error.partial is None
    assert error.text == ""
    assert error.request_id
    assert len(simulator.requests) == 1  # never retried


async def test_429_with_retry_after_is_waited_for_then_succeeds(sim: Any, kind: str) -> None:
    simulator, url = sim(
        responses=[Reply(ZOE, faults=ErrorStatus(429, retry_after=0.3)), Reply(ZOE)]
    )
    outcome = await run(kind, url, max_retries=2)
    assert outcome.error is None
    assert outcome.value == User(**ZOE)
    assert outcome.seconds >= 0.3  # backoff is 0: only Retry-After made it wait
    assert len(simulator.requests) == 2


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_a_server_error_is_retried_then_succeeds(sim: Any, kind: str, status: int) -> None:
    simulator, url = sim(responses=[*[Reply(ZOE, faults=ErrorStatus(status))] * 2, Reply(ZOE)])
    outcome = await run(kind, url, max_retries=2)
    assert outcome.error is None
    assert outcome.value == User(**ZOE)
    assert len(simulator.requests) == 3


async def test_503_until_the_retries_run_out_says_how_many_attempts(sim: Any, kind: str) -> None:
    simulator, url = sim(faults=ErrorStatus(503))
    outcome = await run(kind, url, max_retries=3)
    error = outcome.raised(streamstruct.InternalServerError)
    assert error.status_code == 503
    assert error.attempts == 4
    assert "gave up after 4 attempts" in str(error)
    assert len(simulator.requests) == 4


# -- no connection ---------------------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_connection_refused(kind: str) -> None:
    port = _closed_port()
    outcome = await run(kind, f"http://127.0.0.1:{port}/v1", max_retries=2)
    error = outcome.raised(streamstruct.APIConnectionError)
    assert error.attempts == 3
    assert f"127.0.0.1:{port}" in str(error)
    assert isinstance(error.__cause__, httpx.ConnectError)
    assert error.partial is None
    assert error.text == ""


async def test_a_name_that_does_not_resolve(kind: str) -> None:
    outcome = await run(kind, "http://streamstruct-no-such-host.invalid/v1", max_retries=1)
    error = outcome.raised(streamstruct.APIConnectionError)
    assert error.attempts == 2
    assert "streamstruct-no-such-host.invalid" in str(error)
    assert isinstance(error.__cause__, httpx.ConnectError)


async def test_a_connect_timeout(kind: str) -> None:
    # A listener that never accepts, its backlog already full: the next SYN is dropped, so the
    # connection attempt hangs until the connect timeout.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(4):
        filler = socket.socket()
        filler.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            filler.connect(("127.0.0.1", port))
        fillers.append(filler)
    try:
        outcome = await run(
            kind,
            f"http://127.0.0.1:{port}/v1",
            max_retries=1,
            timeout=httpx.Timeout(5.0, connect=0.15),
        )
    finally:
        for s in (*fillers, listener):
            s.close()
    error = outcome.raised(streamstruct.APITimeoutError)
    assert error.attempts == 2
    assert "timed out connecting" in str(error)
    assert isinstance(error.__cause__, httpx.ConnectTimeout)
    assert 0.25 < outcome.seconds < 3


# -- the body breaks off ---------------------------------------------------------------------------


def _expected_text(body: bytes) -> str:
    """The answer text that the events complete in ``body`` carry (what a client has read)."""
    decoder = SSEDecoder()
    text = []
    for event in decoder.feed(body):
        if event.data.startswith("[DONE]"):
            break
        for choice in json.loads(event.data).get("choices", []):
            text.append(choice["delta"].get("content") or "")
    return "".join(text)


def _cut_points(body: bytes) -> list[int]:
    """Cuts spread over the body, and the awkward ones: inside a multi-byte character, inside an
    SSE line, between an event's two newlines, right before and after ``[DONE]``."""
    cuts = set(range(0, len(body), max(1, len(body) // 12)))
    inside_char = [i for i in range(1, len(body)) if body[i] & 0xC0 == 0x80]
    cuts.update(inside_char[:: max(1, len(inside_char) // 4)])
    between = [i + 1 for i in range(len(body) - 1) if body[i : i + 2] == b"\n\n"]
    cuts.update(between[:: max(1, len(between) // 4)])
    done = body.index(b"data: [DONE]")
    cuts.update({done, done + 5, done + len(b"data: [DONE]\n"), done + len(b"data: [DONE]\n\n")})
    return sorted(cuts)


async def _simulated_body(url: str) -> bytes:
    """The exact body the simulator streams for ZOE (JSON-schema mode)."""
    async with httpx.AsyncClient() as http:
        response = await http.post(
            url + "/chat/completions",
            json={
                "model": "m",
                "messages": MESSAGES,
                "stream": True,
                "response_format": {
                    "type": "json_schema",
                    "json_schema": {"name": "User", "schema": User.model_json_schema()},
                },
            },
        )
        return response.content


async def test_the_server_closing_the_socket_after_n_bytes(sim: Any, kind: str) -> None:
    # The simulator's body, replayed by a server that writes exactly its first n bytes and then
    # closes the socket cleanly: the client must have seen exactly the events those bytes hold.
    _simulator, url = sim(responses=ZOE, chunk_size=5)
    body = await _simulated_body(url)
    done_end = body.index(b"data: [DONE]\n\n") + len(b"data: [DONE]\n\n")
    cuts = _cut_points(body)
    if kind == "sync":
        cuts = [*cuts[::3], done_end]  # a loop thread per run: fewer, same spread
    assert any(body[n] & 0xC0 == 0x80 for n in cuts if n < len(body))
    assert any(b"\n" not in body[n - 1 : n + 1] for n in cuts if 0 < n < len(body))
    assert any(n >= done_end for n in cuts)
    cutting = [0]

    async def cut(writer: Writer, headers: dict[str, str]) -> None:
        n = cutting[0]
        await writer.start_chunked()
        for start in range(0, n, 700):  # several writes, as a server flushes
            await writer.chunk(body[start : min(n, start + 700)])

    async with raw_server(cut) as (url, log):
        for n in cuts:
            cutting[0] = n
            outcome = await run(kind, url, max_retries=2)
            check_cut(outcome, body, n, done_end)
        assert len(log.connections) == len(cuts), "a stream whose body had begun was retried"


def check_cut(outcome: Outcome, body: bytes, n: int, done_end: int) -> None:
    if n >= done_end:  # [DONE] arrived whole: the answer is complete
        assert outcome.value == User(**ZOE), n
        return
    error = outcome.raised(streamstruct.StreamInterruptedError)
    assert error.text == _expected_text(body[:n]), n
    assert isinstance(error.__cause__, httpx.RemoteProtocolError)
    if error.partial is not None and error.partial.name is not None:
        assert ZOE["name"].startswith(error.partial.name)


async def test_the_simulator_dropping_the_connection(sim: Any, kind: str) -> None:
    # The same through uvicorn, at a few cuts. Here the client may read less than the server
    # wrote before it dropped the connection (a reset can discard what was not yet read), so
    # the text is checked to be a prefix of what was written.
    _simulator, url = sim(responses=ZOE, chunk_size=5)
    body = await _simulated_body(url)
    for n in (0, 1, len(body) // 3, len(body) // 2, len(body) - 40):
        simulator, url = sim(responses=Reply(ZOE, faults=Disconnect(after_bytes=n)), chunk_size=5)
        outcome = await run(kind, url, max_retries=2)
        error = outcome.raised(streamstruct.StreamInterruptedError)
        assert _expected_text(body[:n]).startswith(error.text), n
        assert len(simulator.requests) == 1


async def test_a_stall_longer_than_the_read_timeout(sim: Any, kind: str) -> None:
    simulator, url = sim(responses=Reply(ZOE, faults=Stall(after=4, seconds=10)))
    outcome = await run(kind, url, timeout=httpx.Timeout(0.3, connect=2.0), max_retries=2)
    error = outcome.raised(streamstruct.APITimeoutError)
    carries_a_prefix_of_zoe(error)
    assert "stalled" in str(error)
    assert 0.25 < outcome.seconds < 3
    assert len(simulator.requests) == 1


async def _trickle(writer: Writer, headers: dict[str, str]) -> None:
    """A body that never ends, one byte at a time, each well within the read timeout."""
    await writer.start_chunked()
    await writer.chunk(frame(content_chunk('{"name": "Zo')))
    for byte in b"data: " + b"x" * 10_000_000:
        await writer.chunk(bytes([byte]))
        await anyio.sleep(0.01)


async def test_a_trickle_is_stopped_by_the_deadline(kind: str) -> None:
    async with raw_server(_trickle) as (url, log):
        outcome = await run(kind, url, timeout=httpx.Timeout(1.0), deadline=0.6)
        error = outcome.raised(streamstruct.APITimeoutError)
        assert "deadline of 0.6 s" in str(error)
        assert 0.55 < outcome.seconds < 2.5
        assert error.text == '{"name": "Zo'
        assert error.partial.name == "Zo"
        await log.last.wait_gone(within=2)


async def test_the_deadline_covers_a_whole_create_too(kind: str) -> None:
    async with raw_server(_trickle) as (url, _log):
        outcome = await run(kind, url, whole=True, timeout=httpx.Timeout(1.0), deadline=0.4)
    error = outcome.raised(streamstruct.APITimeoutError)
    assert "deadline" in str(error)
    assert error.text == '{"name": "Zo'
    assert 0.35 < outcome.seconds < 2.5


async def test_a_client_deadline_is_not_hit_by_a_prompt_answer(sim: Any, kind: str) -> None:
    _simulator, url = sim(responses=ZOE)
    outcome = await run(kind, url, deadline=5.0)
    assert outcome.value == User(**ZOE)


# -- the answer is not what was asked for ----------------------------------------------------------


async def test_an_error_event_inside_a_200_stream(sim: Any, kind: str) -> None:
    simulator, url = sim(responses=Reply(ZOE, faults=ErrorEvent(after=3, message="overloaded")))
    outcome = await run(kind, url, max_retries=2)
    error = outcome.raised(streamstruct.APIStatusError)
    assert error.status_code == 200
    assert "overloaded" in str(error)
    assert error.body["type"] == "server_error"
    carries_a_prefix_of_zoe(error)
    assert len(simulator.requests) == 1  # the stream had begun: never retried


async def test_finish_reason_length_mid_object(sim: Any, kind: str) -> None:
    _simulator, url = sim(responses=Reply(ZOE, faults=Truncate(after_chars=25)))
    outcome = await run(kind, url)
    error = outcome.raised(streamstruct.IncompleteOutputError)
    assert error.finish_reason == "length"
    assert error.text == ZOE_JSON[:25]
    carries_a_prefix_of_zoe(error)


async def test_a_refusal(sim: Any, kind: str) -> None:
    _simulator, url = sim(responses=Reply(ZOE, faults=Refusal("I can't help with that.")))
    outcome = await run(kind, url)
    error = outcome.raised(streamstruct.RefusalError)
    assert error.refusal == "I can't help with that."
    assert error.text == ""
    assert error.partial is None


async def test_a_missing_done_after_a_finish_reason_is_complete(sim: Any, kind: str) -> None:
    _simulator, url = sim(responses=Reply(ZOE, faults=MissingDone()))
    outcome = await run(kind, url)
    assert outcome.value == User(**ZOE)


def _answer(*frames: bytes, content_type: str = "text/event-stream") -> Any:
    """Each frame in its own chunk, with a pause after it (so each is a read of its own)."""

    async def respond(writer: Writer, headers: dict[str, str]) -> None:
        await writer.start_chunked(content_type)
        for piece in frames:
            await writer.chunk(piece)
            await anyio.sleep(0.02)
        await writer.end_chunked()

    return respond


@pytest.mark.parametrize("content_type", ["text/event-stream", "text/html"])
async def test_junk_that_is_not_sse(kind: str, content_type: str) -> None:
    junk = b"<html><body>502 Bad Gateway</body></html>\n\x00\xff\xfe garbage\r\n\r\n"
    async with raw_server(_answer(junk, content_type=content_type)) as (url, _log):
        outcome = await run(kind, url)
    if content_type == "text/html":
        # Said at once, with what came instead of an event stream.
        error = outcome.raised(streamstruct.NotEventStreamError)
        assert "'text/html', not an event stream" in str(error)
        assert "502 Bad Gateway" in str(error)
        return
    error = outcome.raised(streamstruct.StreamInterruptedError)
    assert "no finish_reason and no [DONE]" in str(error)
    assert error.text == ""


async def test_sse_data_that_is_not_json(kind: str) -> None:
    body = (frame(content_chunk('{"name": "Zo')), b"data: {not json at all\n\n")
    async with raw_server(_answer(*body)) as (url, _log):
        outcome = await run(kind, url)
    error = outcome.raised(streamstruct.EventDataError)
    assert "not JSON" in str(error)
    assert "{not json at all" in str(error)
    assert error.text == '{"name": "Zo'
    assert error.partial.name == "Zo"


@pytest.mark.parametrize(
    "chunk",
    [
        {"choices": 5},
        {"choices": [{"index": 0, "delta": {"content": 7}}]},
        {"choices": [{"index": 0, "delta": "text"}]},
        [1, 2, 3],
    ],
)
async def test_a_chunk_of_the_wrong_shape(kind: str, chunk: object) -> None:
    body = (frame(content_chunk('{"name": "Zo')), frame(chunk), frame(content_chunk('e"}')))
    async with raw_server(_answer(*body)) as (url, _log):
        outcome = await run(kind, url)
    error = outcome.raised(streamstruct.MalformedChunkError)
    assert str(error).startswith("malformed chunk: ")
    assert error.text == '{"name": "Zo'
    assert error.partial.name == "Zo"


async def test_a_deadline_must_be_a_positive_number_of_seconds() -> None:
    for bad in (0, -1.0):
        with pytest.raises(ValueError, match="deadline"):
            streamstruct.AsyncClient(api_key=KEY, deadline=bad)
    async with streamstruct.AsyncClient(api_key=KEY, base_url="http://127.0.0.1:9/v1") as client:
        with pytest.raises(ValueError, match="deadline"):
            client.chat.completions.create_partial(
                model="m", response_model=User, messages=MESSAGES, deadline=0
            )


async def test_the_deadline_bounds_opening_with_async_with_too() -> None:
    async def silent(writer: Writer, headers: dict[str, str]) -> None:
        await anyio.sleep(10)  # no status line, within the read timeout

    async with (
        raw_server(silent) as (url, log),
        streamstruct.AsyncClient(api_key=KEY, base_url=url, deadline=0.2) as client,
    ):
        stream = client.chat.completions.create_partial(
            model="m", response_model=User, messages=MESSAGES
        )
        started = anyio.current_time()
        with pytest.raises(streamstruct.APITimeoutError, match=r"deadline of 0\.2 s"):
            async with stream:
                pass
        assert anyio.current_time() - started < 2
        assert checked_out(client._http) == 0
        await log.last.wait_gone(within=1.0)
