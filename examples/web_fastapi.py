"""Web: a FastAPI app that streams a partial object and a list of objects to the browser.

``web.sse(stream)`` turns a stream into server-sent events that say only what changed (text
appended, a value complete); ``web.CLIENT_JS`` is the browser side, whose ``readObject(response)``
rebuilds the object as it arrives. streamstruct depends on neither FastAPI nor Starlette.

Serve it: ``pip install fastapi uvicorn``, ``uvicorn web_fastapi:app`` from ``examples/``, and open
http://127.0.0.1:8000/. Run it as a script (``python examples/web_fastapi.py``) and it calls its
two routes in process and prints the events they send (offline: see ``_client.py``).
"""

from __future__ import annotations

import asyncio

import httpx
from _client import MODEL, async_client, where
from fastapi import FastAPI
from fastapi.responses import FileResponse, HTMLResponse, StreamingResponse
from pydantic import BaseModel

from streamstruct import web
from streamstruct.testing import Reply, Simulator


class User(BaseModel):
    name: str
    age: int
    bio: str


ALICE = {"name": "Alice", "age": 28, "bio": "Marine biologist, maps coral reefs off Portugal."}
PEOPLE = [
    {"name": "Bob", "age": 35, "bio": "Writes Rust by day and jazz by night."},
    {"name": "Carol", "age": 42, "bio": "Ceramicist and rock climber."},
]
# Offline, each route has its own simulator, answering every request the same.
profile_client = async_client(Simulator(responses=Reply(ALICE)))
users_client = async_client(Simulator(responses=Reply({"items": PEOPLE}, tool_calls="per_item")))

app = FastAPI()


@app.post("/profile")
async def profile() -> StreamingResponse:
    """One object, field by field: a ``Partial[User]`` as operations on it."""
    stream = profile_client.chat.completions.create_partial(
        model=MODEL,
        response_model=User,
        messages=[{"role": "user", "content": "A fictional user named Alice, 28."}],
    )
    return StreamingResponse(web.sse(stream), headers=web.SSE_HEADERS)


@app.post("/users")
async def users() -> StreamingResponse:
    """A list, each user sent whole the moment it is complete."""
    stream = users_client.chat.completions.create_iterable(
        model=MODEL,
        response_model=User,
        messages=[{"role": "user", "content": "Two fictional users."}],
    )
    return StreamingResponse(web.sse(stream), headers=web.SSE_HEADERS)


@app.get("/client.js")
async def client_js() -> FileResponse:
    return FileResponse(web.CLIENT_JS, media_type="text/javascript")


PAGE = """<!doctype html><meta charset="utf-8"><title>streamstruct + FastAPI</title>
<pre id="profile"></pre><ul id="users"></ul>
<script type="module">
import { readObject } from "/client.js";
for await (const state of readObject(await fetch("/profile", { method: "POST" }))) {
  document.getElementById("profile").textContent = JSON.stringify(state.value, null, 2);
}
for await (const state of readObject(await fetch("/users", { method: "POST" }))) {
  document.getElementById("users").innerHTML = state.value.map((u) => `<li>${u.name}</li>`).join("");
}
</script>"""


@app.get("/")
async def page() -> HTMLResponse:
    return HTMLResponse(PAGE)


async def main() -> None:
    print(f"FastAPI routes streaming answers from {where()}")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as http:
        for route in ("/profile", "/users"):
            response = await http.post(route)
            print(f"POST {route} -> {response.headers['content-type']}")
            for line in response.text.splitlines():
                if line.startswith("data: "):
                    print("   ", line[len("data: ") :][:100])


if __name__ == "__main__":
    asyncio.run(main())
