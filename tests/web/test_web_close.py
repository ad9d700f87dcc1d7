"""When the browser goes away, the upstream request closes at once: no tokens paid for after.

Over real sockets: an upstream simulator served by uvicorn (recording what it sent and when its
client left), a web app served by uvicorn that streams ``web.sse(stream)`` from it - a Starlette
``StreamingResponse`` as users write it, and the demo's own ASGI app -, and a real HTTP client
that reads a few events and disconnects.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from streamstruct import AsyncClient, web
from streamstruct._demo.scenario import ALICE, User
from streamstruct._demo.web import DemoApp
from streamstruct.testing import Reply, Simulator, serve

LONG_ALICE = dict(ALICE, bio="Alice maps coral reefs off the coast of Portugal. " * 40)
MESSAGES = [{"role": "user", "content": "Alice's profile."}]


class Recorder:
    """Wraps an ASGI app: counts the body messages it sends and notes when its client left."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.sent = 0
        self.left = threading.Event()  # the app saw http.disconnect
        self.finished = threading.Event()  # the app returned

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def counting_send(message: Any) -> None:
            if message["type"] == "http.response.body":
                self.sent += 1
            await send(message)

        async def noting_receive() -> Any:
            message = await receive()
            if message["type"] == "http.disconnect":
                self.left.set()
            return message

        try:
            await self.app(scope, noting_receive, counting_send)
        finally:
            self.finished.set()


def starlette_app(upstream: str) -> Any:
    from starlette.applications import Starlette
    from starlette.responses import StreamingResponse
    from starlette.routing import Route

    async def profile(request: Any) -> StreamingResponse:
        client = AsyncClient(base_url=upstream, api_key="sk-test", max_retries=0)
        stream = client.chat.completions.create_partial(
            model="m", response_model=User, messages=MESSAGES
        )
        return StreamingResponse(web.sse(stream), headers=web.SSE_HEADERS)

    return Starlette(routes=[Route("/api/profile", profile, methods=["POST"])])


def demo_app(upstream: str) -> Any:
    client = AsyncClient(base_url=upstream, api_key="sk-test", max_retries=0)
    return DemoApp(client, client, "m")


@pytest.mark.parametrize("make_app", [starlette_app, demo_app], ids=["starlette", "demo"])
def test_a_client_that_leaves_closes_the_upstream_request_at_once(
    make_app: Callable[[str], Any],
) -> None:
    # ~700 deltas, 20 ms apart: 14 s if nobody stopped it.
    deltas = len(str(LONG_ALICE)) // 3
    upstream = Recorder(Simulator(responses=Reply(LONG_ALICE, chunk_size=3, delay=0.02)))
    with serve(upstream) as upstream_url, serve(make_app(upstream_url)) as app_url:
        base = app_url.removesuffix("/v1")
        with (
            httpx.Client(timeout=10) as browser,
            browser.stream("POST", f"{base}/api/profile") as response,
        ):
            assert response.headers["content-type"].startswith("text/event-stream")
            for line in response.iter_lines():
                if line.startswith("data:") and '"append",["bio"]' in line:
                    break  # the bio began: the reader leaves
        left_at = time.monotonic()
        assert upstream.finished.wait(5), "the upstream request was never closed"
        closed_after = time.monotonic() - left_at
        sent_at_close = upstream.sent
        time.sleep(0.3)
        assert upstream.sent == sent_at_close  # nothing more was sent, nor read
    assert upstream.left.is_set()
    assert closed_after < 2.0
    assert sent_at_close < deltas / 2  # most of the answer was never generated
