"""TextProgress: the string value being written, and how much of it ``TextAppended`` events sent.

Model layer, per event (compiled with the assembler: hatch_build.py). The assembler reports the
text of a string value as it grows; a long string is shown again in a snapshot only once it has
grown by a fraction of its length, so what was sent is counted here against what the parser
received (``growing_tail``), not against what the snapshots show. Each character is sent once,
whether the events are on or not: events turned on later continue where the stream is.
"""

from __future__ import annotations

from typing import final

from .._core._json import JSONParser, Path
from ._partial import PartialEvent, TextAppended

__all__ = ["TextProgress"]


@final
class TextProgress:
    """Which string value is being written (``at``, its JSON path; ``names``, its user path) and
    how many of its characters were sent (``sent``); ``start``, the parser's offset of its opening
    quote (-1: not the parser's open string), tells whether the parser is still in that string.

    The methods that take ``events`` append a :class:`TextAppended` to it when ``send`` (the
    assembler's ``field_events``) and count what they would have sent either way; their paths
    leave out the first ``offset`` keys (the assembler's ``event_path_offset``).
    """

    __slots__ = ("at", "names", "offset", "sent", "start")

    def __init__(self, offset: int = 0) -> None:
        self.offset = offset
        self.at: Path | None = None
        self.names: Path = ()
        self.sent = 0
        self.start = -1

    def completed(self, path: Path) -> int:
        """How much of the string value at ``path``, which just completed, was sent (0 if it was
        not the one being written); it is no longer the one being written."""
        if self.at != path:
            return 0
        sent, self.at = self.sent, None
        return sent

    def grew(
        self,
        parser: JSONParser,
        path: Path,
        names: Path,
        shown: str,
        events: list[PartialEvent],
        send: bool,
    ) -> None:
        """A TextAppended for the string at ``path`` with what came since the last one: all the
        parser received (``shown``, what the snapshot shows of it, may lag behind a long one)."""
        sent = self.sent if self.at == path else 0
        current = parser.growing_string()
        tail = parser.growing_tail(sent) if current is not None and current[1] is shown else None
        self.start = -1 if current is None or tail is None else current[0]
        if tail is None:
            tail = shown[sent:]  # (not the parser's open string: what is shown is all there is)
        if tail and send:
            events.append(TextAppended(names[self.offset :], tail))
        self.at = path
        self.names = names
        self.sent = sent + len(tail)

    def unseen(self, parser: JSONParser, events: list[PartialEvent], send: bool) -> None:
        """A TextAppended for what came of the string being written while the snapshot shows no
        more of it (a long string between two showings), when no snapshot is made."""
        if self.at is None:
            return
        current = parser.growing_string()
        if current is None or current[0] != self.start:
            return
        self.append(parser, self.names, events, send)

    def append(
        self, parser: JSONParser, names: Path, events: list[PartialEvent], send: bool
    ) -> None:
        """A TextAppended (for ``names``) for what the parser received of its open string, the
        one being written, since the last one."""
        tail = parser.growing_tail(self.sent)
        if tail:  # else nothing came: half an escape, held back
            if send:
                events.append(TextAppended(names[self.offset :], tail))
            self.sent += len(tail)
