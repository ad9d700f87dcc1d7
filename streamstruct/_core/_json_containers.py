"""The JSON parser's open containers and what has completed: paths, completed values, ``is_complete``.

Core layer (standard library only). The parser keeps a stack of ``Frame`` (an explicit stack, never
recursion); this module says where each one sits (``path_of``), defines the ``CompletedValue``
records ``pop_completed`` hands out, and answers whether a path is complete from the stack.
"""

from __future__ import annotations

from typing import Any, Final, NamedTuple, cast, final

from .._path import Path

__all__ = [
    "ARRAY",
    "CLOSERS",
    "OBJECT",
    "CompletedValue",
    "Frame",
    "Path",
    "Record",
    "exists",
    "is_complete_in",
    "path_of",
]


ARRAY: Final = 0
OBJECT: Final = 1
CLOSERS: Final[tuple[str, ...]] = ("]", "}")  # indexed by kind (not a C struct: see _SEPARATOR)


class CompletedValue(NamedTuple):
    """A value that has just completed: where it is, what it is, and its span in the text.

    ``start`` and ``end`` are character offsets in the whole text fed to the parser, so that
    ``text[start:end]`` is the value's own JSON.
    """

    path: Path
    value: Any
    start: int
    end: int


@final
class Frame:
    """An open container: its completed members and where the next one goes.

    Its path is not stored but derived when asked (``path_of``) from its parent and its slot
    there: a path held by every open container cost the square of the depth (16,000 nested
    arrays: ~1 GB of tuples) and the time to make them.
    """

    __slots__ = (
        "end",
        "given",
        "given_size",
        "items",
        "key",
        "kind",
        "parent",
        "path",
        "slot",
        "spare",
        "spare_size",
        "start",
    )

    def __init__(
        self, kind: int, items: Any, parent: Frame | None, slot: str | int, start: int
    ) -> None:
        self.kind = kind
        self.items = items  # list for an array, dict for an object: completed members only
        self.key: str | None = None  # object: the key whose value comes (or is coming) next
        self.parent = parent  # the container it is a member of (None: the root)
        self.slot = slot  # its key or index there
        self.path: Path | None = None if parent is not None else ()  # see path_of
        self.start = start
        self.end = -1  # once closed: the offset after its closing bracket (see Record)
        # An array: the copies of ``items`` in the last two snapshots (the first ``*_size``
        # members, then the member in progress), the older to be made again (see _array_copy).
        self.given: list[Any] | None = None
        self.given_size = 0
        self.spare: list[Any] | None = None
        self.spare_size = 0


# A completed value as the parser records it: (parent container or None for the root, key or
# index there, value, start, end). A CompletedValue is built only when asked for (pop_completed),
# not for every value of a document: a named tuple per value cost measurably in the hot loop.
# A closed container is recorded as its own Frame (``parent``, ``slot``, ``items``, ``start``,
# ``end``), not as a tuple beside it: the records of its members hold the frame anyway (their
# paths go through it), so in a deep nesting each level kept a frame and a tuple; one object
# less per level is a third fewer for the garbage collector to go through (issue 14's depth time).
Record = tuple[Frame | None, Any, Any, int, int]


def path_of(frame: Frame) -> Path:
    """The path of an open (or just closed) container, made once when first asked: from the
    nearest container above it whose path is known, so a deep one costs its depth once, and
    only the containers whose path is asked for keep one."""
    slots: list[str | int] = []
    above: Frame | None = frame
    while above is not None and above.path is None:
        slots.append(above.slot)
        above = above.parent
    slots.reverse()
    path: Path = tuple(slots) if above is None else (*cast(Path, above.path), *slots)
    frame.path = path
    return path


def exists(value: Any, path: Path) -> bool:
    """Whether ``path`` leads somewhere inside the completed ``value``."""
    for key in path:
        if isinstance(value, list):
            if not isinstance(key, int) or isinstance(key, bool) or not 0 <= key < len(value):
                return False
            value = value[key]
        elif isinstance(value, dict):
            if not isinstance(key, str) or key not in value:
                return False
            value = value[key]
        else:
            return False
    return True


def is_complete_in(stack: list[Frame], path: Path, leaf_in_progress: bool) -> bool:
    """Whether the value at ``path`` exists and is complete, the root being open with ``stack``;
    ``leaf_in_progress`` says whether the innermost container has a member being received (a
    string or a number), not just its key."""
    depth = len(stack)
    for level, key in enumerate(path):
        if level >= depth:
            return False  # inside a string or number being written: nothing is complete
        frame = stack[level]
        items = frame.items
        # Whether the member at ``key`` is the open container one level down, to descend into.
        descend = level + 1 < depth and level + 1 < len(path)
        if frame.kind == ARRAY:
            if not isinstance(key, int) or isinstance(key, bool):
                return False
            if 0 <= key < len(items):
                return exists(items[key], path[level + 1 :])
            if key == len(items) and descend:
                continue
            return False  # not begun, or the member in progress itself
        if not isinstance(key, str):
            return False
        if key == frame.key and (level + 1 < depth or leaf_in_progress):
            if descend:
                continue
            return False
        if key in items:
            return exists(items[key], path[level + 1 :])
        return False
    return False  # the root itself is open
