"""Helpers for the web tests: the JS client under node, a tap on a stream's snapshots, collecting
``web.sse``'s bytes, and random pydantic models for the property tests."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import strategies as st
from pydantic import BaseModel, create_model

from streamstruct import SnapshotEvent, web

RUN_CLIENT = Path(__file__).resolve().parent / "js" / "run_client.mjs"


def missing(tool: str, why: str) -> None:
    """A tool the test needs is not installed: fail under CI (CI=true), skip with why otherwise."""
    message = f"{tool} is not installed: {why}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message + " (CI must have it: see .ci/run)")
    pytest.skip(message)


class NodeClient:
    """client.js running under node, answering one body at a time (one process for many)."""

    def __init__(self, node: str) -> None:
        self._process = subprocess.Popen(
            [node, str(RUN_CLIENT), str(web.CLIENT_JS)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def run(self, chunks: list[bytes], paths: list[list[Any]] | None = None) -> dict[str, Any]:
        """What the client made of a body cut into ``chunks``: its states, error and events."""
        assert self._process.stdin is not None
        assert self._process.stdout is not None
        request = {"chunks": [base64.b64encode(c).decode() for c in chunks], "paths": paths or []}
        self._process.stdin.write(json.dumps(request) + "\n")
        self._process.stdin.flush()
        line = self._process.stdout.readline()
        assert line, "node exited"
        answer: dict[str, Any] = json.loads(line)
        return answer

    def close(self) -> None:
        assert self._process.stdin is not None
        assert self._process.stdout is not None
        self._process.stdin.close()
        self._process.wait(timeout=10)
        self._process.stdout.close()


def node_client() -> Iterator[NodeClient]:
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        missing("node", "the JS client is tested under it (apt-get install -y nodejs)")
    assert node is not None
    client = NodeClient(node)
    yield client
    client.close()


def snapshot_json(value: Any) -> Any:
    """The oracle: a snapshot as JSON, with only the fields begun (written here, apart from the
    encoder's own, so that the test does not check the encoder against itself)."""
    if isinstance(value, BaseModel):
        if type(value).__name__.startswith("Partial"):
            return {
                name: snapshot_json(getattr(value, name))
                for name in type(value).model_fields
                if name in value.model_fields_set
            }
        return value.model_dump(mode="json")
    if isinstance(value, (list, tuple)):
        return [snapshot_json(item) for item in value]
    if isinstance(value, dict):
        return {key: snapshot_json(item) for key, item in value.items()}
    return value


def tap_snapshots(stream: Any) -> list[Any]:
    """Record, as JSON, each snapshot ``stream.events()`` yields (what web.sse reads)."""
    seen: list[Any] = []
    events = stream.events

    async def tapped() -> AsyncIterator[Any]:
        async for event in events():
            if isinstance(event, SnapshotEvent):
                seen.append(snapshot_json(event.partial))
            yield event

    stream.events = tapped
    return seen


async def collect(body: AsyncIterator[bytes]) -> list[bytes]:
    out = [data async for data in body]
    await body.aclose()  # type: ignore[attr-defined]
    return out


def cut(data: bytes, sizes: Sequence[int]) -> list[bytes]:
    """``data`` in pieces of the given sizes, cycled (UTF-8 characters may be cut: on purpose)."""
    pieces = []
    at = 0
    index = 0
    while at < len(data):
        size = sizes[index % len(sizes)]
        pieces.append(data[at : at + size])
        at += size
        index += 1
    return pieces


# -- random models ------------------------------------------------------------------------------

_LEAVES: list[Any] = [str, int, float, bool, str | None, list[str], list[int], dict[str, int]]


@st.composite
def models(draw: st.DrawFn, depth: int = 0) -> type[BaseModel]:
    """A random pydantic model: leaves, lists, nested models and lists of them, 1 to 5 fields."""
    count = draw(st.integers(1, 5))
    fields: dict[str, Any] = {}
    for number in range(count):
        kind = draw(st.integers(0, len(_LEAVES) + (1 if depth < 2 else -1)))
        if kind < len(_LEAVES):
            annotation = _LEAVES[kind]
        else:
            nested = draw(models(depth + 1))
            annotation = nested if kind == len(_LEAVES) else list[nested]  # type: ignore[valid-type]
        name = draw(st.sampled_from(["name", "bio", "city", "title", "note", "tags", "score"]))
        fields[f"{name}_{number}"] = (annotation, ...)
    return create_model(f"Model{depth}_{count}", **fields)
