"""PartialAssembler: the public, generic face of the assembler's core (:mod:`._assembler`).

Not compiled: it only passes each call on to :class:`~streamstruct._model._assembler.AssemblerCore`,
which is, and which the reader calls directly (so a stream pays nothing for this class). It is
a class of its own because a compiled class cannot be generic safely (see AssemblerCore), and a
user's type checker should know that ``PartialAssembler(User).snapshot`` is a ``User``'s
snapshot.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, cast, final

from .._core._json import JSONParser
from ._assembler import AssemblerCore
from ._partial import _M, FieldCompleted, FieldStarted, SnapshotEvent, TextAppended

__all__ = ["PartialAssembler"]


@final
class PartialAssembler(Generic[_M]):
    """Turn a JSON parser's progress into snapshots of ``model`` and field events.

    Feed the parser a text delta, then call :meth:`advance` with it: it returns, in document order,
    :class:`FieldStarted`, :class:`TextAppended` and :class:`FieldCompleted` events for what began,
    grew and closed, and a :class:`SnapshotEvent` when the snapshot visibly changed. Each value is
    validated when it closes; an invalid one raises :class:`~streamstruct.ResponseValidationError`
    from :meth:`advance`. Once the parser's value is complete, :meth:`finish` validates the whole
    model.

    The assembler takes the parser's completed values (``pop_completed``): nobody else may. The
    parser must record them deep enough: create it with
    ``JSONParser(completion_depth=assembler.completion_depth)`` (or ``None``, every level).

    ``text``, a callable returning the text fed to the parser so far, gives errors their ``raw`` and
    ``text``; it is called only when raising. ``context`` is passed to pydantic validation.
    ``drop_injected_nulls=True`` (when a strict schema was sent) treats a ``null`` the schema
    injected for an optional field as absent, as :func:`~streamstruct._request._modes.drop_injected_nulls`.

    ``field_events=False`` leaves out the field events (:attr:`field_events` may change it
    between calls): only snapshots are returned, for a consumer that reads nothing else, which
    then pays nothing for them. What was started and sent is still tracked, so events turned on
    later continue where the stream is (a text delta is the text since the last one sent or not).

    ``event_path_offset``: how many keys the field events' paths leave out at their start: 1 for
    a wrapper model (``{"response": ...}``, see :mod:`._response_types`), whose events are
    those of the answer inside it, with paths as the caller asked for them (``FieldStarted(())``
    for the answer itself). Written so in the first place: nothing rewrites each event after.
    """

    __slots__ = ("_core",)

    def __init__(
        self,
        model: type[_M],
        *,
        text: Callable[[], str] | None = None,
        context: Any = None,
        drop_injected_nulls: bool = False,
        field_events: bool = True,
        event_path_offset: int = 0,
    ) -> None:
        self._core = AssemblerCore(
            model,
            text=text,
            context=context,
            drop_injected_nulls=drop_injected_nulls,
            field_events=field_events,
            event_path_offset=event_path_offset,
        )

    @property
    def model(self) -> type[_M]:
        return cast("type[_M]", self._core.model)

    @property
    def completion_depth(self) -> int | None:
        """The ``completion_depth`` the parser needs (``None``: every level, for recursive models)."""
        return self._core.completion_depth

    @property
    def field_events(self) -> bool:
        """Whether :meth:`advance` returns field events, or only snapshots."""
        return self._core.field_events

    @field_events.setter
    def field_events(self, wanted: bool) -> None:
        self._core.field_events = wanted

    @property
    def snapshot(self) -> _M | None:
        """The last snapshot (a ``Partial[M]`` instance), or None before the object began."""
        return cast("_M | None", self._core.snapshot)

    def advance(
        self, parser: JSONParser
    ) -> list[FieldStarted | TextAppended | FieldCompleted | SnapshotEvent[_M]]:
        """Report what changed in ``parser`` since the last call (see the class docstring)."""
        return self._core.advance(parser)

    def finish(self, value: Any) -> _M:
        """Validate the complete value (``parser.close()``) as the model, model validators included."""
        return cast(_M, self._core.finish(value))

    def final_snapshot(self, final: _M) -> SnapshotEvent[_M] | None:
        """The snapshot of the validated model, when it shows more than the last one did.

        Validation may fill in what the JSON left out (defaults, a null a strict schema injected
        for an absent optional field): the last snapshot must agree with ``get_final()``, and it
        is complete (progress 100%).
        """
        return self._core.final_snapshot(final)
