"""The JSON text inside a Markdown fenced block, extracted while the block is still arriving.

Sans-I/O: :class:`FencedJSONExtractor` is fed the reply's content text in pieces of any size and
returns, for each piece, the part of the JSON text that piece completed. Every character is looked
at once; the only things carried between feeds are a few flags, a backtick count and an info string
of at most :data:`_MAX_INFO` characters, so a fence marker split anywhere across feeds is handled
without buffering the text.

The rules (``MD_JSON`` mode asks for a ```` ```json ```` block, but models vary):

- Prose before the block is skipped. The block is the first fenced block whose info string is empty
  or ``json`` in any case (```` ``` ````, ```` ```json ````, ```` ```JSON ````); a block in another
  language (```` ```python ````) is skipped whole, up to its closing fence. A fence that starts a
  line (after indentation) is one; in the middle of a line a run of backticks opens a block only
  when it says ``json`` (models put ```` ```json ```` mid-line too), and is otherwise prose, as in
  "use ``` fences" or "run ```ls```".
- Inside the block the text is passed on verbatim, up to the closing fence (a run of at least as
  many backticks as opened it); whatever follows the closing fence is ignored. The JSON string
  state (quotes and backslash escapes) is tracked, so backticks inside a JSON string, even three
  of them, do not close the block. A backtick outside a string is never valid JSON, so the run of
  backticks that closes the block is never passed on, even if the reply ends in the middle of it.
- If the content starts (after whitespace) with ``{`` or ``[`` and no fence came before, the model
  forgot the fence: the content is taken as bare JSON, passed on up to the bracket that closes the
  first value; text after it is ignored. (So prose that happens to open with a bracket, like
  ``[1] First...``, is taken for JSON and fails downstream; models rarely write that.)
- Not handled, by design: JSON after prose without a fence (``Here it is: {...}``), ``~~~`` fences.
  Nothing is extracted from those, and :attr:`FencedJSONExtractor.found` stays ``False`` so the
  caller can say that no JSON came.

If the JSON inside a block is itself broken (an unterminated string), the closing fence cannot be
recognised and the rest of the reply is passed on; the JSON parser downstream reports where.
"""

from __future__ import annotations

import re
from typing import Final, Literal, final

__all__ = ["FencedJSONExtractor"]

# The longest info string looked at (```` ```json ```` needs 4). A longer one is not a JSON fence,
# and the cap keeps the per-extractor buffer bounded whatever the model writes.
_MAX_INFO: Final = 32

# Characters that may continue an info string; anything else ends it (``` ```json{"a": 1}``` ```
# has no newline before the JSON).
_INFO_CHARS: Final = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-+. \t"
)

# The next character that matters, by where we are: jumps over the rest with one regex search,
# so the Python loop runs per interesting character, not per character.
_IN_STRING: Final = re.compile(r'["\\]')
_BLOCK_OUTSIDE_STRING: Final = re.compile(r'["`]')
_BARE_OUTSIDE_STRING: Final = re.compile(r'["{}\[\]]')

_Phase = Literal["search", "info", "block", "skip", "bare", "done"]


@final
class FencedJSONExtractor:
    """Extracts the JSON text of the first ```` ```json ```` block (or bare JSON) from streamed text.

    ``feed(text)`` returns the newly available JSON text (often ``""``); concatenating the returns
    gives the block's content whatever the split of the input. ``found`` tells whether a JSON block
    (or bare JSON) started, ``done`` whether it ended (closing fence, or the bare value closed).
    """

    __slots__ = (
        "_depth",
        "_escape",
        "_fence_len",
        "_fence_midline",
        "_in_string",
        "_info",
        "_line_blank",
        "_phase",
        "_run_at_line_start",
        "_seen_text",
        "_ticks",
    )

    def __init__(self) -> None:
        self._phase: _Phase = "search"
        self._seen_text = False  # a non-whitespace character came (bare JSON must come first)
        self._ticks = 0  # length of the backtick run being read
        self._fence_len = 0  # backticks in the opening fence of the current block
        self._info = ""
        self._in_string = False
        self._escape = False
        self._depth = 0  # bracket depth of bare JSON
        # Whether only whitespace came since the last newline, whether the backtick run being read
        # started so, and whether the fence being opened did not: a fence in the middle of a line
        # ("use ``` fences", "```sh```") opens a block only when it says json, else it is prose.
        self._line_blank = True
        self._run_at_line_start = True
        self._fence_midline = False

    @property
    def found(self) -> bool:
        """Whether a JSON block (or bare JSON) has started."""
        return self._phase in ("block", "bare", "done")

    @property
    def done(self) -> bool:
        """Whether the JSON block has ended; later input is ignored."""
        return self._phase == "done"

    def feed(self, text: str) -> str:
        """Consume the next piece of content; return the JSON text it made available."""
        out: list[str] = []
        i = 0
        n = len(text)
        while i < n and self._phase != "done":
            phase = self._phase
            if phase == "search":
                i = self._search(text, i)
            elif phase == "info":
                i = self._read_info(text, i)
            elif phase == "skip":
                i = self._skip(text, i)
            elif phase == "block":
                i = self._block(text, i, out)
            else:
                i = self._bare(text, i, out)
        return "".join(out)

    # Each phase consumes from ``i`` until the text ends or the phase changes, and returns where it
    # stopped; a character that ends a phase without belonging to it is left for the next phase.

    def _search(self, text: str, i: int) -> int:
        n = len(text)
        while i < n:
            char = text[i]
            if not self._seen_text:
                if char.isspace() or char == "\ufeff":
                    i += 1
                    continue
                self._seen_text = True
                if char in "{[":
                    self._phase = "bare"
                    return i
            if char == "`":
                if not self._ticks:
                    self._run_at_line_start = self._line_blank
                self._ticks += 1
                i += 1
                continue
            if self._ticks >= 3:
                self._fence_len = self._ticks
                self._fence_midline = not self._run_at_line_start
                self._ticks = 0
                self._info = ""
                self._phase = "info"
                return i
            if self._ticks:
                self._line_blank = False  # an inline `code` run is text
            self._ticks = 0
            next_tick = text.find("`", i + 1)
            end = n if next_tick < 0 else next_tick
            segment = text[i:end]
            newline = segment.rfind("\n")
            if newline >= 0:
                self._line_blank = not segment[newline + 1 :].strip()
            elif segment.strip():
                self._line_blank = False
            i = end
        return n

    def _read_info(self, text: str, i: int) -> int:
        n = len(text)
        while i < n:
            char = text[i]
            if char in "\r\n":
                self._open(self._info, at_line_start=True)
                return i + 1
            if char not in _INFO_CHARS:
                self._open(self._info, at_line_start=False)
                return i
            if len(self._info) >= _MAX_INFO:
                self._open(None, at_line_start=False)
                return i
            self._info += char
            i += 1
        return n

    def _open(self, info: str | None, *, at_line_start: bool) -> None:
        language = None if info is None else info.strip().lower()
        if language == "json" or (language == "" and not self._fence_midline):
            self._phase = "block"
        elif self._fence_midline:
            self._phase = "search"  # backticks in a sentence, not a block: keep looking
            self._line_blank = at_line_start
        else:
            self._phase = "skip"
        self._info = ""

    def _skip(self, text: str, i: int) -> int:
        # A block in another language: no JSON string state to track, just its closing fence.
        n = len(text)
        while i < n:
            if text[i] == "`":
                self._ticks += 1
                i += 1
                continue
            if self._ticks >= self._fence_len:
                self._ticks = 0
                self._phase = "search"
                self._line_blank = False  # just after the closing fence
                return i
            self._ticks = 0
            next_tick = text.find("`", i + 1)
            i = n if next_tick < 0 else next_tick
        return n

    def _block(self, text: str, i: int, out: list[str]) -> int:
        n = len(text)
        start = i  # start of the text not yet passed on; backticks being counted are held back
        while i < n:
            if self._ticks:
                if text[i] == "`":
                    self._ticks += 1
                    i += 1
                    if self._ticks >= self._fence_len:
                        self._phase = "done"
                        return n
                    continue
                # Too few backticks for a fence: they are content (invalid JSON, which the
                # parser downstream will report).
                out.append("`" * self._ticks)
                self._ticks = 0
                start = i
            if self._in_string:  # an escape is only ever pending inside a string
                i = self._through_string(text, i)
            else:
                match = _BLOCK_OUTSIDE_STRING.search(text, i)
                if match is None:
                    i = n
                    break
                i = match.end()
                if match.group() == '"':
                    self._in_string = True
                else:
                    out.append(text[start : i - 1])
                    self._ticks = 1
        if not self._ticks:
            out.append(text[start:n])
        return n

    def _through_string(self, text: str, i: int) -> int:
        """Step through string content from ``i``: past a pending escape's character, else up to and
        past the next backslash or closing quote (the end of ``text`` when there is neither)."""
        if self._escape:
            self._escape = False
            return i + 1
        match = _IN_STRING.search(text, i)
        if match is None:
            return len(text)
        if match.group() == "\\":
            self._escape = True
        else:
            self._in_string = False
        return match.end()

    def _bare(self, text: str, i: int, out: list[str]) -> int:
        n = len(text)
        start = i
        while i < n:
            if self._in_string:
                i = self._through_string(text, i)
            else:
                match = _BARE_OUTSIDE_STRING.search(text, i)
                if match is None:
                    break
                i = match.end()
                char = match.group()
                if char == '"':
                    self._in_string = True
                elif char in "{[":
                    self._depth += 1
                else:
                    self._depth -= 1
                    if self._depth == 0:
                        out.append(text[start:i])
                        self._phase = "done"
                        return n
        out.append(text[start:n])
        return n
