"""The streamstruct demo: ``python -m streamstruct demo`` (or the ``streamstruct demo`` script).

It runs the "Streaming Basics" scenario end to end and shows it as it happens:

1. one object, field by field — ``create_partial(response_model=User)`` for a fictional user named
   Alice who is 28 years old: the fields appear, the bio grows, and the progress percentage comes
   from :func:`streamstruct.progress`;
2. a list, one complete object at a time — ``create_iterable(response_model=User)``: each user is
   printed the moment it closes, validated;
3. the token usage and the timings.

By default the answers come from the in-process simulator (:mod:`streamstruct.testing`): no
network, no API key, a scripted Alice streamed a few characters every ``--delay`` seconds so that
it looks as a model writes. Given ``--base-url`` (or ``OPENAI_BASE_URL`` together with an API
key) it asks that endpoint instead, with ``--model`` and ``--mode``.

On a terminal the current state is redrawn in place with ANSI escape codes (no dependency
needed; ``NO_COLOR`` turns the colours off); when the output is not a terminal (a pipe, a file, a
CI log) it prints plain lines: one per field as it completes, then one per user. The exit code
is 0 on success and 1 on an error, which is printed in one line (``AuthenticationError (HTTP
401): ...``).

The demo's code is written to be read: :func:`_stream_one_object` and :func:`_stream_a_list` are
what an application does, everything else is presentation.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import sys
import textwrap
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal, TextIO

import anyio
from pydantic import BaseModel, Field

from . import (
    AsyncClient,
    AsyncIterableStream,
    AuthenticationError,
    Mode,
    StreamStructError,
    Usage,
    __version__,
    build_info,
    progress,
)

__all__ = ["main"]


class User(BaseModel):
    """The seed's model: a fictional user."""

    name: str
    age: int
    bio: str = Field(description="Two or three sentences about them.")


PROFILE_PROMPT: Final = "Generate a profile for a fictional user named Alice who is 28 years old."
LIST_PROMPT: Final = (
    "Generate four fictional users: Bob (35), Carol (42), Dave (31) and Erin (26), "
    "each with a one-sentence bio."
)

# What the simulator answers: what a good model would write for the two prompts above.
ALICE: Final = {
    "name": "Alice",
    "age": 28,
    "bio": (
        "Alice is a marine biologist who maps coral reefs off the coast of Portugal. "
        "On weekends she restores vintage bicycles and bakes far too much sourdough. "
        "She is learning Japanese to read her favourite novels in the original."
    ),
}
USERS: Final = [
    {
        "name": "Bob",
        "age": 35,
        "bio": "Backend developer who writes Rust by day and jazz by night.",
    },
    {"name": "Carol", "age": 42, "bio": "Ceramicist and rock climber with a soft spot for maps."},
    {"name": "Dave", "age": 31, "bio": "Data journalist who turns city budgets into stories."},
    {"name": "Erin", "age": 26, "bio": "Paramedic, amateur astronomer and relentless optimist."},
]
# Irregular delta sizes, as a tokenizer cuts text: 1 to 6 characters.
CHUNK_SIZES: Final = (3, 5, 2, 4, 6, 1, 4, 3)
DEFAULT_DELAY: Final = 0.02
DEFAULT_MODEL: Final = "gpt-4o-mini"


# -- the demo itself --------------------------------------------------------------------------


@dataclass
class _Report:
    """What the run measured, for the closing summary."""

    usages: list[Usage | None] = field(default_factory=list)
    timings: list[str] = field(default_factory=list)


async def _stream_one_object(client: AsyncClient, model: str, view: _View, report: _Report) -> None:
    """Part 1: ``create_partial`` — one ``User``, its fields filling in."""
    view.heading(1, "One object, field by field", "create_partial(response_model=User)")
    view.prompt(PROFILE_PROMPT)
    started = time.perf_counter()
    first: float | None = None
    async with client.chat.completions.create_partial(
        model=model,
        response_model=User,
        messages=[{"role": "user", "content": PROFILE_PROMPT}],
    ) as stream:
        async for partial in stream:  # a Partial[User] each time something visible changed
            if first is None:
                first = time.perf_counter() - started
            view.snapshot(partial, progress(partial).percent, stream.text)
        user = await stream.get_final()  # the validated User
    elapsed = time.perf_counter() - started
    view.object_done(user, elapsed)
    report.usages.append(stream.usage)
    first_text = f"first snapshot after {first:.2f} s, " if first is not None else ""
    report.timings.append(f"User: {first_text}complete in {elapsed:.2f} s")


async def _stream_a_list(client: AsyncClient, model: str, view: _View, report: _Report) -> None:
    """Part 2: ``create_iterable`` — users, each one whole and validated as soon as it closes."""
    view.heading(2, "A list, one complete object at a time", "create_iterable(response_model=User)")
    view.prompt(LIST_PROMPT)
    started = time.perf_counter()
    count = 0
    # The annotation works around a typing gap: mypy does not infer User from response_model here.
    stream: AsyncIterableStream[User] = client.chat.completions.create_iterable(
        model=model,
        response_model=User,
        messages=[{"role": "user", "content": LIST_PROMPT}],
    )

    async def receive() -> None:
        nonlocal count
        async for user in stream:  # a validated User, the moment its closing brace arrives
            count += 1
            view.item(count, user, time.perf_counter() - started)

    async with stream:
        # Just `await receive()`, while a terminal also shows the raw JSON arriving meanwhile.
        await view.follow(lambda: stream.text, receive)
    elapsed = time.perf_counter() - started
    view.list_done()
    report.usages.append(stream.usage)
    report.timings.append(f"list: {count} user{'' if count == 1 else 's'} in {elapsed:.2f} s")


async def _run(args: argparse.Namespace, view: _View) -> None:
    report = _Report()
    started = time.perf_counter()
    if args.base_url is not None:
        client = AsyncClient(
            base_url=args.base_url, api_key=args.api_key, mode=args.mode, timeout=args.timeout
        )
        where = f"{args.base_url}, model {args.model}, {Mode(args.mode).value} mode"
    else:
        from .testing import Reply, Simulator, simulated_client

        simulator = Simulator(
            responses=[Reply(ALICE), Reply({"items": USERS}, tool_calls="per_item")],
            chunk_size=CHUNK_SIZES,
            delay=args.delay,
            # Without JSON mode a model wraps its JSON in a Markdown fence, with prose around it.
            style="md_json" if args.mode == Mode.MD_JSON.value else "json",
        )
        client = simulated_client(simulator, mode=args.mode)
        where = "in-process simulator: no network, no API key"
    view.title(f"streamstruct {__version__} demo", where)
    async with client:
        await _stream_one_object(client, args.model, view, report)
        await _stream_a_list(client, args.model, view, report)
    report.timings.append(f"total {time.perf_counter() - started:.2f} s")
    view.summary(_usage_line(report.usages), report.timings)


def _clients(args: argparse.Namespace) -> tuple[AsyncClient, AsyncClient]:
    """The clients for the profile and the list: one for a real endpoint, else two simulators,
    each answering every request with its part of the seed (so the page can run again)."""
    if args.base_url is not None:
        client = AsyncClient(
            base_url=args.base_url, api_key=args.api_key, mode=args.mode, timeout=args.timeout
        )
        return client, client
    from .testing import Reply, Simulator, simulated_client

    style: Literal["json", "md_json"] = "md_json" if args.mode == Mode.MD_JSON.value else "json"
    answers = Reply(ALICE), Reply({"items": USERS}, tool_calls="per_item")
    profile, users = (
        simulated_client(
            Simulator(responses=answer, chunk_size=CHUNK_SIZES, delay=args.delay, style=style),
            mode=args.mode,
        )
        for answer in answers
    )
    return profile, users


def _serve_web(args: argparse.Namespace) -> None:
    """``demo --web``: the same scenario, played in a browser (``streamstruct.web``)."""
    from .web._demo import DemoApp, serve_demo

    profile, users = _clients(args)
    serve_demo(DemoApp(profile, users, args.model), host=args.host, port=args.port)


def _usage_line(usages: Sequence[Usage | None]) -> str:
    known = [usage for usage in usages if usage is not None]
    if not known:
        return "not reported by the server"
    prompt = sum(usage.prompt_tokens for usage in known)
    completion = sum(usage.completion_tokens for usage in known)
    total = sum(usage.total_tokens for usage in known)
    requests = f"{len(usages)} request{'s' if len(usages) != 1 else ''}"
    return f"{requests}, {prompt} prompt + {completion} completion = {total} tokens"


# -- presentation ---------------------------------------------------------------------------


class _View:
    """How the run is shown. This base class prints plain lines: for pipes, files and CI logs."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self._complete: set[str] = set()
        self._grew: dict[str, int] = {}
        self._last: dict[str, object] = {}

    def write(self, line: str = "") -> None:
        self.out.write(line + "\n")
        self.out.flush()

    def title(self, text: str, note: str) -> None:
        self.write(f"{text} ({note})")

    def heading(self, number: int, title: str, call: str) -> None:
        self.write()
        self.write(f"[{number}/2] {title}: {call}")

    def prompt(self, text: str) -> None:
        for number, line in enumerate(textwrap.wrap(text, 80) or [""]):
            self.write(f"      {'prompt:' if number == 0 else '':<7} {line}")

    def snapshot(self, partial: Any, percent: int, text: str) -> None:
        """One line per field, when it completes; a growing string says how often it grew."""
        state = progress(partial)
        for name in type(partial).model_fields:
            value = getattr(partial, name)
            if value is not None and value != self._last.get(name):
                self._grew[name] = self._grew.get(name, 0) + 1
                self._last[name] = value
            if name in self._complete or not state.is_complete((name,)):
                continue
            self._complete.add(name)
            grew = self._grew.get(name, 0)
            note = f"  (grew over {grew} snapshots)" if grew > 1 else ""
            lines = textwrap.wrap(repr(value), 80) or [""]
            if note and len(lines[-1]) + len(note) > 80:
                lines.append(note.strip())
            else:
                lines[-1] += note
            self.write(f"  {percent:>3}%  {name:<5} {lines[0]}")
            for line in lines[1:]:
                self.write(f"{'':13}{line}")

    def object_done(self, user: BaseModel, elapsed: float) -> None:
        self.write(f"  validated {type(user).__name__} in {elapsed:.2f} s")

    async def follow(self, text: Callable[[], str], work: Callable[[], Awaitable[None]]) -> None:
        """Run ``work``; a terminal also shows ``text()`` as it grows, meanwhile."""
        await work()

    def item(self, number: int, user: Any, elapsed: float) -> None:
        self.write(f"  #{number} at {elapsed:5.2f} s  {user.name}, {user.age}: {user.bio}")

    def list_done(self) -> None:
        pass

    def summary(self, usage: str, timings: Sequence[str]) -> None:
        self.write()
        self.write(f"usage   {usage}")
        for label, timing in zip(["timing", *[""] * len(timings)], timings, strict=False):
            self.write(f"{label:<6}  {timing}")

    def close(self) -> None:
        pass


_ANSI: Final = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _clip(line: str, width: int) -> str:
    """``line`` cut to ``width`` visible characters, its escape codes kept (none is counted).

    A line longer than the terminal would wrap onto a second row, and the live region would then
    be one row taller than counted: redrawing would leave its first row behind.
    """
    out: list[str] = []
    visible = 0
    position = 0
    for match in _ANSI.finditer(line):
        text = line[position : match.start()]
        out.append(text[: max(0, width - visible)])
        visible += len(text)
        out.append(match.group())
        position = match.end()
    out.append(line[position:][: max(0, width - visible)])
    return "".join(out)


@dataclass(frozen=True)
class _Glyphs:
    done: str
    streaming: str
    missing: str
    cursor: str
    bar_full: str
    bar_empty: str
    ellipsis: str


_UNICODE: Final = _Glyphs("✓", "▸", "·", "▌", "━", "─", "…")
_ASCII: Final = _Glyphs("+", ">", ".", "_", "#", "-", "...")


class _LiveView(_View):
    """A terminal: the object being written is redrawn in place, at every snapshot.

    The live region is the last ``self._height`` lines on screen; redrawing moves the cursor up to
    its first line, clears to the end of the screen and writes the new frame, in one write. Every
    line is cut to the terminal's width, so that no line wraps and the count stays right.
    """

    def __init__(self, out: TextIO, *, color: bool, unicode: bool) -> None:
        super().__init__(out)
        self._color = color
        self._glyphs = _UNICODE if unicode else _ASCII
        self._height = 0
        self._frame: list[str] = []
        self.out.write("\x1b[?25l")  # hide the cursor while redrawing

    # styling
    def _style(self, code: str, text: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self._color and text else text

    def _bold(self, text: str) -> str:
        return self._style("1", text)

    def _dim(self, text: str) -> str:
        return self._style("2", text)

    def _green(self, text: str) -> str:
        return self._style("32", text)

    def _yellow(self, text: str) -> str:
        return self._style("33", text)

    def _cyan(self, text: str) -> str:
        return self._style("36", text)

    @property
    def _width(self) -> int:
        return max(40, shutil.get_terminal_size((80, 24)).columns - 1)

    def _cut(self, text: str, width: int) -> str:
        if len(text) <= width:
            return text
        ellipsis = self._glyphs.ellipsis
        return text[: max(0, width - len(ellipsis))] + ellipsis

    # the live region
    def _draw(self, frame: list[str]) -> None:
        parts = [f"\r\x1b[{self._height}A" if self._height else "\r", "\x1b[J"]
        width = self._width
        parts.extend(_clip(line, width) + "\n" for line in frame)
        self.out.write("".join(parts))
        self.out.flush()
        self._frame, self._height = frame, len(frame)

    def write(self, line: str = "") -> None:
        """A permanent line, above the live region (which is drawn again below it)."""
        frame, self._frame = self._frame, []
        self._draw([])
        self.out.write(_clip(line, self._width) + "\n")
        self._height = 0
        self._draw(frame)

    def _settle(self) -> None:
        """Leave the current frame on screen as permanent output."""
        self._frame, self._height = [], 0

    # the parts
    def title(self, text: str, note: str) -> None:
        self.write(f"{self._bold(text)}  {self._dim(note)}")

    def heading(self, number: int, title: str, call: str) -> None:
        self.write()
        self.write(f"{self._bold(f'{number}. {title}')}  {self._cyan(call)}")

    def prompt(self, text: str) -> None:
        lines = textwrap.wrap(text, self._width - 11) or [""]
        for number, line in enumerate(lines):
            self.write(self._dim(f"   {'prompt:' if number == 0 else '':<7} {line}"))

    def snapshot(self, partial: Any, percent: int, text: str) -> None:
        glyphs, width = self._glyphs, self._width
        state = progress(partial)
        names = list(type(partial).model_fields)
        label = max(len(name) for name in names)
        indent = 5 + label + 2
        room = max(10, width - indent)
        rows = max(3, shutil.get_terminal_size((80, 24)).lines - 8 - len(names))
        frame: list[str] = [""]
        for name in names:
            value = getattr(partial, name)
            path = (name,)
            if state.is_complete(path):
                mark, paint = self._green(glyphs.done), self._green
            elif path in state.streaming:
                mark, paint = self._yellow(glyphs.streaming), self._yellow
            else:
                mark, paint = self._dim(glyphs.missing), self._dim
            if value is None:
                shown = glyphs.ellipsis
            else:
                shown = value if isinstance(value, str) else repr(value)
            lines = textwrap.wrap(shown, room) or [""]
            if len(lines) > rows:  # a small terminal: show the end, where the text grows
                lines = [glyphs.ellipsis, *lines[-(rows - 1) :]]
            if path in state.streaming and isinstance(value, str):
                if len(lines[-1]) < room:
                    lines[-1] += glyphs.cursor
                else:
                    lines.append(glyphs.cursor)
            head = f"   {mark} {self._bold(name.ljust(label))}  "
            frame.append(head + paint(lines[0]))
            frame.extend(" " * indent + paint(line) for line in lines[1:])
        frame.append("")
        bar = max(10, min(40, width - 30))
        filled = bar * percent // 100
        frame.append(
            "   "
            + self._green(glyphs.bar_full * filled)
            + self._dim(glyphs.bar_empty * (bar - filled))
            + self._bold(f" {percent:>3}%")
            + self._dim("  progress(partial).percent")
        )
        raw = text.replace("\n", " ")
        room = width - len("   raw JSON ") - len(glyphs.ellipsis)
        shown = raw if len(raw) <= room else glyphs.ellipsis + raw[-room:]
        frame.append(self._dim(f"   raw JSON {shown}"))
        self._draw(frame)

    def object_done(self, user: BaseModel, elapsed: float) -> None:
        self._settle()
        self.write(
            self._green(f"   {self._glyphs.done} ")
            + f"validated {type(user).__name__} in {elapsed:.2f} s  "
            + self._dim("await stream.get_final()")
        )

    async def follow(self, text: Callable[[], str], work: Callable[[], Awaitable[None]]) -> None:
        failure: Exception | None = None
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(self._follow_text, text)
            try:
                await work()
            except Exception as error:  # re-raised below as it is, not in an ExceptionGroup
                failure = error
            finally:
                tasks.cancel_scope.cancel()
        if failure is not None:
            raise failure

    async def _follow_text(self, text: Callable[[], str]) -> None:
        """Redraw the JSON of the item being written, until cancelled."""
        glyphs = self._glyphs
        while True:
            raw = text()
            current = raw.rsplit("\n", 1)[-1] if "\n" in raw else raw
            # In content modes the whole list is one document: show from the last item's start.
            start = current.rfind('{"', 0, max(0, len(current) - 1))
            if start > 0 and not current.endswith("}"):
                current = current[start:]
            if not current:
                which = "next" if raw else "first"
                line = f"   {glyphs.streaming} waiting for the {which} item{glyphs.cursor}"
            else:
                head = f"   {glyphs.streaming} writing "
                room = self._width - len(head) - len(glyphs.cursor) - len(glyphs.ellipsis)
                shown = current if len(current) <= room else glyphs.ellipsis + current[-room:]
                line = f"{head}{shown}{glyphs.cursor}"
            self._draw([self._dim(line)])
            await anyio.sleep(0.05)

    def item(self, number: int, user: Any, elapsed: float) -> None:
        mark = f"   {self._glyphs.done} #{number}"
        at = f" {elapsed:5.2f} s  "
        who = f"{user.name}, {user.age}".ljust(12)
        room = self._width - len(mark) - len(at) - len(who) - 2
        bio = self._cut(user.bio, max(10, room))
        self.write(f"{self._green(mark)}{self._dim(at)}{self._bold(who)}  {bio}")

    def list_done(self) -> None:
        self._draw([])

    def summary(self, usage: str, timings: Sequence[str]) -> None:
        self.write()
        self.write(f"{self._bold('usage ')}  {usage}")
        for label, timing in zip(["timing", *[""] * len(timings)], timings, strict=False):
            self.write(f"{self._bold(label.ljust(6))}  {timing}")

    def close(self) -> None:
        with contextlib.suppress(OSError):  # a terminal that went away needs no cursor
            self.out.write("\x1b[?25h")  # the cursor again
            self.out.flush()


def _view(out: TextIO, *, plain: bool) -> _View:
    if plain or not out.isatty():
        return _View(out)
    color = "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"
    encoding = (getattr(out, "encoding", None) or "").lower().replace("-", "")
    return _LiveView(out, color=color, unicode=encoding.startswith("utf"))


# -- command line ---------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m streamstruct",
        description="streamstruct: stream structured output (pydantic models) from "
        "OpenAI-compatible chat-completion endpoints.",
    )
    # the version and the build (compiled or pure Python: which one a user got is worth knowing)
    parser.add_argument("--version", action="version", version=str(build_info()))
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    demo = commands.add_parser(
        "demo",
        help="stream a User field by field, then a list of users (no API key needed)",
        description="Stream the profile of a fictional user, Alice, field by field, then a list "
        "of users one complete object at a time, and print the usage and timings. Without "
        "--base-url the answers come from the in-process simulator: no network, no API key.",
        epilog="With OPENAI_BASE_URL and OPENAI_API_KEY both set, the demo asks that endpoint "
        "(as with --base-url); --simulator keeps it offline. NO_COLOR turns colours off.",
    )
    speed = demo.add_mutually_exclusive_group()
    speed.add_argument(
        "--delay",
        type=_seconds,
        default=DEFAULT_DELAY,
        metavar="SECONDS",
        help=f"simulator: pause between two deltas (default {DEFAULT_DELAY})",
    )
    speed.add_argument(
        "--fast", action="store_const", const=0.0, dest="delay", help="simulator: no pauses"
    )
    web = demo.add_argument_group("in a browser")
    web.add_argument(
        "--web",
        action="store_true",
        help="serve the demo as a web page (streamstruct.web) instead of printing it; needs "
        "uvicorn (the streamstruct[sim] extra)",
    )
    web.add_argument(
        "--port", type=int, default=8000, help="--web: the port to listen on (default 8000)"
    )
    web.add_argument(
        "--host", default="127.0.0.1", help="--web: the address to listen on (default 127.0.0.1)"
    )
    demo.add_argument(
        "--plain",
        action="store_true",
        help="print plain lines even on a terminal (the default when output is not a terminal)",
    )
    endpoint = demo.add_argument_group("a real endpoint")
    endpoint.add_argument(
        "--base-url",
        metavar="URL",
        help="an OpenAI-compatible API, e.g. https://api.openai.com/v1 (default: $OPENAI_BASE_URL "
        "when an API key is set too, else the simulator)",
    )
    endpoint.add_argument(
        "--api-key",
        metavar="KEY",
        help="the API key (default: $OPENAI_API_KEY; local servers need none)",
    )
    endpoint.add_argument(
        "--model", default=DEFAULT_MODEL, help=f"the model to ask (default {DEFAULT_MODEL})"
    )
    endpoint.add_argument(
        "--mode",
        choices=[mode.value for mode in Mode],
        default=Mode.TOOLS.value,
        help="how structured output is requested (default tools)",
    )
    endpoint.add_argument(
        "--timeout",
        type=_seconds,
        default=60.0,
        metavar="SECONDS",
        help="read timeout (default 60)",
    )
    endpoint.add_argument(
        "--simulator",
        action="store_true",
        help="use the simulator even when OPENAI_BASE_URL and OPENAI_API_KEY are set",
    )
    return parser


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must not be negative")
    return value


def _resolve_endpoint(args: argparse.Namespace) -> None:
    """Fill in ``base_url`` and ``api_key``: a real endpoint, or ``None`` for the simulator."""
    if args.simulator:
        args.base_url = None
        return
    if args.api_key is None:
        args.api_key = os.environ.get("OPENAI_API_KEY") or None
    if args.base_url is None and args.api_key:
        args.base_url = os.environ.get("OPENAI_BASE_URL") or None


def _describe(error: StreamStructError) -> str:
    message = f"error: {type(error).__name__}: {error}"  # a status error says "HTTP 401: ..."
    if isinstance(error, AuthenticationError):
        message += "\nhint: check --api-key or OPENAI_API_KEY"
    return message


def main(argv: Sequence[str] | None = None) -> int:
    """The command line: ``python -m streamstruct demo [options]``; returns the exit code."""
    args = _parser().parse_args(argv)
    _resolve_endpoint(args)
    if args.web:
        _serve_web(args)
        return 0
    view = _view(sys.stdout, plain=args.plain)
    try:
        anyio.run(_run, args, view)
    except StreamStructError as error:
        print(_describe(error), file=sys.stderr)
        return 1
    except BrokenPipeError:  # `... | head`: the reader has seen enough
        with contextlib.suppress(OSError, ValueError):  # keep Python's exit flush quiet too
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        view.close()  # whatever happened, the terminal gets its cursor back
    return 0


if __name__ == "__main__":
    sys.exit(main())
