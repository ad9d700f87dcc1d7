"""The web demo: ``python -m streamstruct demo --web``, the seed scenario played in a browser.

A hand-written ASGI app (no web framework: the library depends on none), served by uvicorn (the
``streamstruct[sim]`` extra, imported only when the server starts):

* ``GET /`` the page (``streamstruct/web/demo.html``), ``GET /client.js`` the browser client;
* ``POST /api/profile`` Alice's profile, ``create_partial(response_model=User)`` through
  :func:`streamstruct.web.sse`; ``POST /api/users`` the list, ``create_iterable(response_model=User)``.

It is also what an application does without a framework: read the request, send the headers,
relay ``web.sse``'s bytes, and stop (closing the stream, so the upstream request) the moment the
browser goes away.
"""

from __future__ import annotations

import pathlib
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from typing import Any, Final

import anyio

from .. import AsyncClient
from ..testing._simulator import _lifespan  # the demo plays simulators: loaded anyway
from ..web._server import CLIENT_JS, SSE_HEADERS, sse

__all__ = ["DemoApp", "serve_demo"]

PAGE: Final = pathlib.Path(__file__).parent.parent / "web" / "demo.html"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class DemoApp:
    """The demo's ASGI app: the page, the client, and the two streaming routes.

    ``profile_client`` answers the profile and ``users_client`` the list (the same client, for a
    real endpoint; two simulators, offline), asked for ``model``.
    """

    def __init__(self, profile_client: AsyncClient, users_client: AsyncClient, model: str) -> None:
        self._profile_client = profile_client
        self._users_client = users_client
        self._model = model
        # Read once: the two files are small, and an async handler must not block on a disk.
        self._files = {
            "/": (PAGE.read_bytes(), "text/html; charset=utf-8"),
            "/client.js": (CLIENT_JS.read_bytes(), "text/javascript; charset=utf-8"),
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        path, method = scope.get("path", "/"), scope.get("method", "GET")
        if method == "GET" and path in self._files:
            await _send(send, 200, *self._files[path])
        elif method == "POST" and path == "/api/profile":
            await _stream(receive, send, self._profile())
        elif method == "POST" and path == "/api/users":
            await _stream(receive, send, self._users())
        else:
            await _send(send, 404, b"not found", "text/plain")

    def _profile(self) -> AsyncIterator[bytes]:
        from .scenario import PROFILE_PROMPT, User

        stream = self._profile_client.chat.completions.create_partial(
            model=self._model,
            response_model=User,
            messages=[{"role": "user", "content": PROFILE_PROMPT}],
        )
        return sse(stream)

    def _users(self) -> AsyncIterator[bytes]:
        from .scenario import LIST_PROMPT, User

        stream = self._users_client.chat.completions.create_iterable(
            model=self._model,
            response_model=User,
            messages=[{"role": "user", "content": LIST_PROMPT}],
        )
        return sse(stream)


async def _stream(receive: Receive, send: Send, body: AsyncIterator[bytes]) -> None:
    """Send ``body`` as the response, and stop at once when the browser goes away.

    Some servers make ``send`` a no-op after a disconnect rather than raise: listening for
    ``http.disconnect`` is the only sure way to know, and then the body is closed, which closes
    the upstream response.
    """
    headers = [(k.encode(), v.encode()) for k, v in SSE_HEADERS.items()]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    try:
        async with anyio.create_task_group() as group:

            async def watch() -> None:
                while (await receive())["type"] != "http.disconnect":
                    pass
                group.cancel_scope.cancel()

            group.start_soon(watch)
            async for data in body:
                await send({"type": "http.response.body", "body": data, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            group.cancel_scope.cancel()
    finally:
        with anyio.CancelScope(shield=True):
            await body.aclose()  # type: ignore[attr-defined]


async def _send(send: Send, status: int, body: bytes, content_type: str) -> None:
    headers = [(b"content-type", content_type.encode()), (b"cache-control", b"no-cache")]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


def serve_demo(app: DemoApp, *, host: str, port: int) -> None:
    """Serve the demo until interrupted (uvicorn: the ``streamstruct[sim]`` extra)."""
    try:
        import uvicorn
    except ImportError:
        raise SystemExit(
            "the web demo is served by uvicorn: pip install 'streamstruct[sim]'"
        ) from None
    print(f"streamstruct web demo on http://{host}:{port}/ (Ctrl+C to stop)", flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", lifespan="on")
