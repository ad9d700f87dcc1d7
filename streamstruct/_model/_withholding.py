"""What ``Atomic`` and ``NotNull`` withhold, decided as each level of a snapshot is built.

Model layer, per event (compiled with the assembler: hatch_build.py). The markers of a response
model (:func:`~streamstruct._model._annotations.stream_annotations`) are put once per assembler
on the nodes of its type tree they concern (:func:`withholding_rules`): a model node learns which
of its fields' open values are withheld (``Atomic`` at the field) and which fields its objects
wait for (``NotNull``); a list, tuple or dict node learns that its open member is withheld
(``Atomic`` inside a field's type). The level builder asks :func:`withhold` about each level it
builds or remakes: a withheld open member is built as the hidden sentinel, an object that waits
is itself hidden, so the snapshot never holds what the annotations withhold and nothing is walked
or copied after the fact. A model without markers has no rules: the builder asks nothing.

What is withheld, as :class:`~streamstruct._model._withheld.WithheldView` (the plain path kept
for the side-by-side tests, ``ViewShortcuts.in_build``) decides it from the finished snapshot:
only open values (a complete one breaks no promise), and the highest of them on the spine.
"""

from __future__ import annotations

from typing import Any, Final, final

from .._core._json import Path
from ._annotations import Position, StreamAnnotations, stream_annotations
from ._memo import Memo, remake_level, same_shown
from ._nodes import _DictNode, _ModelNode, _Node, _SequenceNode, _UnionNode
from ._partial import _HIDDEN

__all__ = [
    "BELOW",
    "OPEN",
    "SELF",
    "SHOWN",
    "Rule",
    "remake_withheld",
    "rules_of",
    "withhold",
    "withholding_rules",
]

#: What :func:`withhold` found at a level (kept on its memo as ``Memo.withheld``):
SHOWN: Final = 0  # nothing withheld at or below it
BELOW: Final = 1  # a value withheld below its open member: its chain ends there
OPEN: Final = 2  # its open member withheld (built hidden): its chain ends at that member
SELF: Final = 3  # the level itself withheld (NotNull): hidden from the level above


@final
class Rule:
    """The markers one node of the type tree carries: ``atomic``, the names (a model's fields)
    whose open value is withheld; ``every``, whether every open member is (a list, tuple or dict
    whose members are atomic); ``not_null``, the fields a model's objects wait for."""

    __slots__ = ("atomic", "every", "not_null")

    def __init__(
        self, atomic: frozenset[str | int], every: bool, not_null: tuple[str, ...]
    ) -> None:
        self.atomic = atomic
        self.every = every
        self.not_null = not_null


def withhold(
    rule: Rule, stable: Any, open_name: str | int | None, below: Any, below_state: int, top: bool
) -> int:
    """What ``rule`` withholds at a level whose complete members are ``stable`` (a model's: by
    field name), whose open member is ``open_name`` and shows ``below`` (``below_state``: what
    was withheld at the level below, one of the constants above); ``top``: the root, which never
    waits. One of SHOWN, BELOW, OPEN, SELF (the highest withheld value wins)."""
    hides_open = open_name is not None and (rule.every or open_name in rule.atomic)
    if not top:
        for name in rule.not_null:
            if name == open_name:
                # The open value as the snapshot would show it without the markers: an object
                # withheld below is there, a hidden one (nothing known yet) is not.
                present = not hides_open and (
                    below_state == SELF or (below is not _HIDDEN and below is not None)
                )
            else:
                present = stable.get(name) is not None
            if not present:
                return SELF
    if hides_open:
        return OPEN
    return SHOWN if below_state == SHOWN else BELOW


def rules_of(root: _ModelNode) -> dict[_Node, Rule]:
    """The rules of the type tree at ``root`` (a model's root node; empty without markers), built
    for each assembler (about 17 us for the table of benchmarks.annotations, pure: once per
    response).
    """
    return withholding_rules(root, stream_annotations(root.cls))


def withholding_rules(root: _Node, annotations: StreamAnnotations) -> dict[_Node, Rule]:
    """The rules of every node reachable from ``root`` that carries a marker (built once per
    assembler: the walk builds the nodes it meets, as snapshots would)."""
    rules: dict[_Node, Rule] = {}
    atomic_containers: set[_Node] = set()
    seen: set[int] = set()
    pending: list[_Node] = [root]
    while pending:
        node = pending.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, _ModelNode):
            marks = annotations.of(node.cls)
            if marks is not None:
                rules[node] = Rule(
                    frozenset(n for n, at in marks.atomic.items() if () in at),
                    False,
                    tuple(sorted(marks.not_null)),
                )
                for name, positions in marks.atomic.items():
                    spec = node.by_name[name]
                    field_node = node.child(marks.json_keys.get(name, spec.name))
                    for position in positions:
                        if position and field_node is not None:
                            atomic_containers.update(_containers_at(field_node, position))
        pending.extend(_children(node))
    for node in atomic_containers:
        rules[node] = Rule(frozenset(), True, ())
    return rules


def _options(node: _Node) -> list[_Node]:
    """``node``, or the options of a union (at any depth)."""
    if isinstance(node, _UnionNode):
        return [option for inner in node.nodes for option in _options(inner)]
    return [node]


def _containers_at(node: _Node, position: Position) -> list[_Node]:
    """The list, tuple or dict nodes whose members sit at ``position`` (not empty) inside the
    field whose node is ``node``."""
    found = _options(node)
    for index, step in enumerate(position):
        kinds: Any = _SequenceNode if step == "item" else _DictNode
        containers = [option for option in found if isinstance(option, kinds)]
        if index == len(position) - 1:
            return containers
        found = [
            option
            for container in containers
            for child in _members(container)
            for option in _options(child)
        ]
    return []  # pragma: no cover (a position is never empty here)


def _members(node: _Node) -> list[_Node]:
    """The nodes of a list's, tuple's or dict's members."""
    if isinstance(node, _SequenceNode):
        keys = range(len(node.positions))
        return [child for key in keys if (child := node.child(key)) is not None]
    child = node.child("") if isinstance(node, _DictNode) else None
    return [] if child is None else [child]


def _children(node: _Node) -> list[_Node]:
    """The nodes directly below ``node``."""
    if isinstance(node, _ModelNode):
        keys = [spec.name for spec in node.by_name.values()]
        return [child for key in keys if (child := node.child(key)) is not None]
    if isinstance(node, _UnionNode):
        return list(node.nodes)
    return _members(node)


def remake_withheld(
    memo: Memo,
    rule: Rule | None,
    below: Any,
    below_chain: Path,
    below_state: int,
    top: bool,
    reuse: bool,
) -> tuple[Any, Path, int]:
    """:func:`~streamstruct._model._memo.remake_level` for a model with markers: the level of
    ``memo`` (whose ``rule`` may be None) made again with ``below`` (``below_chain`` and
    ``below_state``: the chain below it and what was withheld there; ``top``: it is the root) as
    its open member, what
    ``rule`` withholds left out. Its value (hidden when it waits), its chain and what it withheld;
    the last value again when it shows what it showed (a withheld value changed below it)."""
    open_name = memo.open_name
    assert open_name is not None
    chain: Path = (open_name, *below_chain)
    state = SHOWN if below_state == SHOWN else BELOW
    if rule is not None:
        state = withhold(rule, memo.stable, open_name, below, below_state, top)
        if state == OPEN:
            below, chain = _HIDDEN, (open_name,)
    if same_shown(below, memo.open_member) and chain == memo.chain:
        value = memo.value
    else:
        value = remake_level(memo, below, chain, reuse)
    memo.withheld = state
    if state == SELF:
        return _HIDDEN, (), SELF
    return value, chain, state
