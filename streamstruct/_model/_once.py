"""OncePerKey: a value built once per key, even when two threads ask for it at the same time.

Model layer (the standard library only). What the model side computes per type (the kind of a
``response_model``, the wrapper model of a non-object type, the streaming annotations of a model)
is computed once and then looked up; a second thread asking while the first builds waits for it
rather than building a second copy (a wrapper class must be one class, as the partial classes
and the request plans are cached by class).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar, final

__all__ = ["OncePerKey"]

_K = TypeVar("_K")
_V = TypeVar("_V")


@final
class OncePerKey(Generic[_K, _V]):
    """A cache of values built once per key (``get(key, build)``); a key that is not hashable (an
    annotation holding a list, say) is built again on each ask, and not kept."""

    __slots__ = ("_built", "_lock")

    def __init__(self) -> None:
        self._built: dict[_K, _V] = {}
        self._lock = threading.Lock()

    def get(self, key: _K, build: Callable[[_K], _V]) -> _V:
        """The value built for ``key``: ``build(key)`` the first time, then that same value."""
        try:
            built = self._built.get(key)
        except TypeError:  # not hashable: built each time
            return build(key)
        if built is not None:
            return built
        with self._lock:  # asked again under the lock: another thread may have built it since
            built = self._built.get(key)
            if built is None:
                built = self._built[key] = build(key)
        return built
