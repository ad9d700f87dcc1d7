"""A loopback HTTP/1.1 server in its own process, answering with pre-rendered SSE transcripts.

What the end-to-end and concurrency sections stream from. A raw asyncio server, not a framework,
so that what it sends is exactly what it is asked to: a ``Transfer-Encoding: chunked`` response
with **one HTTP chunk per SSE event** (as uvicorn/starlette and the providers send), on a
kept-alive connection (``TCP_NODELAY`` set), the transcript rendered and framed before the first
request so that the server does little more than write.

The base URL says what to send: ``http://127.0.0.1:<port>/<mode>/<rows>/<pace>/v1``, and a client
posts to ``<base>/chat/completions`` as it would to the API (the request body is read and ignored):

- ``mode``: ``tools`` (the Report's JSON in tool-call argument deltas, ``benchmarks.e2e``) or
  ``content`` (in ``content`` deltas, a JSON-schema structured output,
  ``benchmarks.e2e_alternatives``), 4 characters a delta; or one of ``DIALECT_MODES``, the same
  in the Responses API's or Anthropic's events (``benchmarks.e2e_dialects``), which a client
  posts to ``<base>/responses`` or (base URL without ``/v1``) ``<base>/v1/messages``;
- ``rows``: the Report's rows (one of the transcripts named when the server was started);
- ``pace``: ``burst`` (every chunk written as fast as the socket takes it) or ``live`` (the server
  sleeps ``LIVE_PACE`` before each event, as a model writing a few thousand tokens a second does).
  The live pace blocks the server's event loop while it sleeps (an asyncio timer could not wait
  less than a millisecond): it is for one stream at a time, as the end-to-end section uses it.

``GET /_bench/connections`` answers how many connections the server has accepted.

Run: ``python -m benchmarks.server --transcripts tools:100,content:100`` prints its base URL
(``http://127.0.0.1:<port>``) once it listens, and stops when its stdin closes.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import os
import resource
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Final

if __package__ in (None, ""):  # run as `python benchmarks/server.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

__all__ = [
    "ALL_MODES",
    "CONNECTIONS_PATH",
    "DIALECT_MODES",
    "LIVE_PACE",
    "MODES",
    "PACES",
    "ServerProcess",
    "frames_for",
    "main",
    "raise_fd_limit",
]

TOOLS: Final = "tools"
CONTENT: Final = "content"
MODES: Final = (TOOLS, CONTENT)
#: the same Report in the Responses API's and Anthropic's events (``benchmarks.e2e_dialects``)
DIALECT_MODES: Final = (
    "responses_tools",
    "responses_content",
    "anthropic_tools",
    "anthropic_content",
)
ALL_MODES: Final = (*MODES, *DIALECT_MODES)
#: what a client posts to under the base URL, per API (Anthropic's base URL has no /v1: its
#: client adds it)
_ENDPOINTS: Final = (["v1", "chat", "completions"], ["v1", "responses"], ["v1", "messages"])
BURST: Final = "burst"
LIVE: Final = "live"
PACES: Final = (BURST, LIVE)
#: the server's sleep before each event at the live pace (a model's ~2,500 tokens/s)
LIVE_PACE: Final = 400e-6
CONNECTIONS_PATH: Final = "/_bench/connections"
FD_NEEDED: Final = 8_192
#: write-buffer size above which the server waits for the socket to drain
_HIGH_WATER: Final = 256 * 1024
_ROOT: Final = Path(__file__).resolve().parents[1]
_CLOCK_TICKS: Final = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_HEAD: Final = (
    b"HTTP/1.1 200 OK\r\n"
    b"content-type: text/event-stream; charset=utf-8\r\n"
    b"cache-control: no-cache\r\n"
    b"transfer-encoding: chunked\r\n"
    b"x-request-id: req_loopback\r\n"
    b"\r\n"
)


def raise_fd_limit(needed: int = FD_NEEDED) -> int:
    """Raise the soft open-files limit towards ``needed`` (up to the hard limit); the new soft."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    if soft != resource.RLIM_INFINITY and soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
        return want
    return soft


def frames_for(mode: str, rows: int) -> tuple[bytes, ...]:
    """The SSE events of the transcript ``mode`` for a Report of ``rows`` rows."""
    from benchmarks import e2e, e2e_alternatives, e2e_dialects

    if mode == TOOLS:
        return e2e.build_transcript(rows).frames
    if mode == CONTENT:
        return e2e_alternatives.build_content_transcript(rows).frames
    if mode in e2e_dialects.DIALECT_MODES:
        return e2e_dialects.build_dialect_transcript(mode, rows).frames
    raise ValueError(f"unknown mode {mode!r}: choose from {', '.join(ALL_MODES)}")


def _chunked(frames: Sequence[bytes]) -> tuple[bytes, ...]:
    """Each SSE event as one HTTP/1.1 chunk."""
    return tuple(b"%x\r\n%b\r\n" % (len(frame), frame) for frame in frames)


class _Server:
    def __init__(self, transcripts: dict[tuple[str, int], tuple[bytes, ...]]) -> None:
        self._chunks = {key: _chunked(frames) for key, frames in transcripts.items()}
        self.accepted = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            while await self._one_request(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client went away: its business
        except asyncio.CancelledError:
            pass  # the server is stopping: no traceback for a connection still open
        finally:
            writer.close()

    async def _one_request(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        """Answer one request; False once the connection is to be closed."""
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            return False
        request_line, *lines = head.decode("latin-1").split("\r\n")
        headers = {
            name.strip().lower(): value.strip()
            for name, _, value in (line.partition(":") for line in lines if line)
        }
        length = int(headers.get("content-length", "0"))
        if length:
            await reader.readexactly(length)
        path = request_line.split(" ")[1].split("?")[0]
        if path == CONNECTIONS_PATH:
            body = str(self.accepted).encode()
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%b" % (len(body), body))
        else:
            await self._stream(path, writer)
        await writer.drain()
        return headers.get("connection", "").lower() != "close"

    async def _stream(self, path: str, writer: asyncio.StreamWriter) -> None:
        parts = path.strip("/").split("/")
        key = (parts[0], int(parts[1])) if len(parts) >= 5 and parts[1].isdigit() else None
        chunks = self._chunks.get(key) if key is not None else None
        if chunks is None or parts[2] not in PACES or parts[3:] not in _ENDPOINTS:
            message = f"no transcript at {path}".encode()
            writer.write(
                b"HTTP/1.1 404 Not Found\r\ncontent-length: %d\r\n\r\n%b" % (len(message), message)
            )
            return
        live = parts[2] == LIVE
        transport = writer.transport
        writer.write(_HEAD)
        for chunk in chunks:
            if live:
                time.sleep(LIVE_PACE)  # noqa: ASYNC251 (blocks the loop on purpose: see the docstring)
            writer.write(chunk)
            if transport.get_write_buffer_size() > _HIGH_WATER:
                await writer.drain()
        writer.write(b"0\r\n\r\n")


async def _serve(transcripts: dict[tuple[str, int], tuple[bytes, ...]]) -> None:
    server = _Server(transcripts)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    listening = await asyncio.start_server(server.handle, sock=sock, backlog=4_096)
    print(f"http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)  # until the parent closes our stdin
    listening.close()


def _transcripts(text: str) -> list[tuple[str, int]]:
    out = []
    for item in text.split(","):
        mode, _, rows = item.strip().partition(":")
        if mode not in ALL_MODES or not rows.isdigit():
            raise argparse.ArgumentTypeError(
                f"expected MODE:ROWS (MODE in {ALL_MODES}), not {item!r}"
            )
        out.append((mode, int(rows)))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.server")
    parser.add_argument(
        "--transcripts", type=_transcripts, required=True, help="e.g. tools:100,content:100"
    )
    args = parser.parse_args(argv)
    raise_fd_limit()
    transcripts = {key: frames_for(*key) for key in args.transcripts}
    asyncio.run(_serve(transcripts))
    return 0


class ServerProcess:
    """The server in a child process; a context manager, ``url(mode, rows, pace)`` its base URLs."""

    def __init__(self, transcripts: Sequence[tuple[str, int]]) -> None:
        self._transcripts = sorted(set(transcripts))
        self._process: subprocess.Popen[str] | None = None
        self._asking: http.client.HTTPConnection | None = None
        self.origin = ""

    def url(self, mode: str, rows: int, pace: str = BURST) -> str:
        return f"{self.origin}/{mode}/{rows}/{pace}/v1"

    def __enter__(self) -> ServerProcess:
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(_ROOT), os.environ.get("PYTHONPATH", "")]),
        }
        listed = ",".join(f"{mode}:{rows}" for mode, rows in self._transcripts)
        self._process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.server", "--transcripts", listed],
            cwd=_ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._process.stdout is not None
        self.origin = self._process.stdout.readline().strip()
        if not self.origin.startswith("http://"):
            self.__exit__()
            raise RuntimeError("the benchmark server process did not start")
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._asking is not None:
            self._asking.close()
            self._asking = None
        process, self._process = self._process, None
        if process is None:
            return
        assert process.stdin is not None
        process.stdin.close()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()

    def connections(self) -> int:
        """Connections the server has accepted so far (asked on one kept-alive connection of its
        own, counted once: differences between two calls count the clients' only)."""
        if self._asking is None:
            self._asking = http.client.HTTPConnection(self.origin.split("/")[2], timeout=60)
        self._asking.request("GET", CONNECTIONS_PATH)
        return int(self._asking.getresponse().read())

    def cpu_seconds(self) -> float | None:
        """The server process's CPU so far (user + system), or None where /proc is missing."""
        if self._process is None:
            return None
        try:
            fields = Path(f"/proc/{self._process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


if __name__ == "__main__":
    raise SystemExit(main())
