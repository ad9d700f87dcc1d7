"""OncePerKey, the build-once cache behind the model side's per-type caches."""

from __future__ import annotations

import threading
from typing import Any

from streamstruct._model._once import OncePerKey


def test_a_value_is_built_once_per_key_and_then_looked_up() -> None:
    cache: OncePerKey[Any, list[Any]] = OncePerKey()
    built: list[Any] = []

    def build(key: Any) -> list[Any]:
        built.append(key)
        return [key]

    first = cache.get("a", build)
    assert cache.get("a", build) is first
    assert cache.get("b", build) == ["b"]
    assert built == ["a", "b"]


def test_an_unhashable_key_is_built_on_each_ask() -> None:
    cache: OncePerKey[Any, list[Any]] = OncePerKey()
    key = ("tuple holding a list", [1])
    assert cache.get(key, list) == list(key)
    assert cache.get(key, list) is not cache.get(key, list)


def test_threads_asking_together_get_one_value() -> None:
    cache: OncePerKey[str, object] = OncePerKey()
    start = threading.Barrier(8)
    results: list[object] = []

    def ask() -> None:
        start.wait()
        results.append(cache.get("key", lambda _: object()))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 8
    assert all(result is results[0] for result in results)
