"""The demo's presentation: plain lines for a pipe or a log, a live redrawn frame on a terminal."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import textwrap
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, TextIO

import anyio
from pydantic import BaseModel

from .. import (
    progress,
)

__all__ = ["LiveView", "View", "make_view"]


# -- presentation ---------------------------------------------------------------------------


class View:
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
        # 100% only now: the last field's line came before the closing brace (99%).
        self.write(f"  100%  validated {type(user).__name__} in {elapsed:.2f} s")

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


class LiveView(View):
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


def make_view(out: TextIO, *, plain: bool) -> View:
    if plain or not out.isatty():
        return View(out)
    color = "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"
    encoding = (getattr(out, "encoding", None) or "").lower().replace("-", "")
    return LiveView(out, color=color, unicode=encoding.startswith("utf"))
