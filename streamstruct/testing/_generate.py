"""Schema-driven value generation: a deterministic, *valid*, realistic-looking value for a JSON schema.

The simulator answers a request it has no script for with a value generated from the request's
schema, so a test can stream a plausible object without writing one. Three promises:

* **Valid.** The value satisfies the schema keywords that structured-output schemas use: ``type``
  (also lists), ``enum``, ``const``, ``anyOf``/``oneOf``/``allOf``, ``$ref`` into ``$defs``/
  ``definitions``, ``nullable``, string lengths, ``format`` and ``pattern``, numeric bounds
  (exclusive too) and ``multipleOf``, array lengths, ``prefixItems`` and ``uniqueItems``, required
  and optional properties, ``additionalProperties`` and ``minProperties``/``maxProperties``.
  ``oneOf`` is treated as ``anyOf`` (one branch is generated; exclusivity is not checked), and a
  ``pattern`` with look-arounds or back-references may not be met.
* **Deterministic.** The same schema and seed give the same value, in any process, so a test can
  compute what the simulator will answer with :func:`generate_value`.
* **Realistic.** Strings are chosen by field name when the name says what it holds (``name``,
  ``email``, ``city``, ``bio``, ``description``, ``url``...), so streamed output reads like a
  model's and exercises non-trivial string content (spaces, punctuation, ``@``, ``/``).

Recursive schemas terminate: past ``max_depth`` nested objects/arrays, optional properties are
left out, arrays get their minimum length and unions prefer a non-recursive branch. The generator
recurses on the schema (bounded by ``max_depth`` plus the schema's own non-recursive nesting); it
is test tooling, not the parser, which must never recurse.
"""

from __future__ import annotations

import decimal
import json
import math
import random
import re
import sys
from collections.abc import Mapping
from typing import Any, Final

from ._realistic import _WORDS, _formatted, _named_string, _singular, _typical_range
from ._regex_sample import _RegexSampler, _Unsatisfiable

__all__ = ["generate_value"]

JSONSchema = Mapping[str, Any]

_DEFAULT_MAX_DEPTH: Final = 5


def generate_value(
    schema: JSONSchema | bool, *, seed: int = 0, max_depth: int = _DEFAULT_MAX_DEPTH
) -> Any:
    """Return a JSON-able value valid for ``schema``, the same one every time for the same seed.

    ``schema`` is a JSON schema as a client sends it (e.g. ``Model.model_json_schema()`` or a
    ``tools[].function.parameters``); ``$ref`` must point inside it (``#``, ``#/$defs/...``).
    ``max_depth`` bounds how deep recursive schemas unfold. Raises ``ValueError`` for a schema
    that cannot be satisfied (``false``, an external ``$ref``, impossible bounds).
    """
    root: JSONSchema = {} if schema is True else _schema(schema)
    return _Generator(root, random.Random(seed), max_depth).value(root, "", 0)


def _schema(schema: object) -> JSONSchema:
    if schema is True:
        return {}
    if schema is False:
        raise ValueError("cannot generate a value for the schema `false`")
    if not isinstance(schema, Mapping):
        raise ValueError(f"a JSON schema must be an object or a boolean, got {schema!r}")
    return schema


class _Generator:
    """One generation run: the root (for ``$ref``), the random source, the depth bound."""

    def __init__(self, root: JSONSchema, rng: random.Random, max_depth: int) -> None:
        self._root = root
        self._rng = rng
        self._max_depth = max_depth

    # -- schema algebra -----------------------------------------------------------------------

    def _resolve(self, ref: str) -> JSONSchema:
        if not ref.startswith("#"):
            raise ValueError(f"only local $ref are supported, got {ref!r}")
        node: Any = self._root
        for raw in ref[1:].lstrip("/").split("/") if ref not in ("#", "#/") else ():
            key = raw.replace("~1", "/").replace("~0", "~")
            if isinstance(node, Mapping) and key in node:
                node = node[key]
            elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
                node = node[int(key)]
            else:
                raise ValueError(f"unresolvable $ref {ref!r}")
        return _schema(node)

    def _flatten(self, schema: JSONSchema) -> JSONSchema:
        """Inline ``$ref`` and ``allOf`` so the keywords that matter sit on one mapping."""
        for _ in range(64):  # a $ref chain longer than this is a cycle
            if "$ref" in schema:
                siblings = {k: v for k, v in schema.items() if k != "$ref"}
                schema = _merge(self._resolve(schema["$ref"]), siblings)
            elif "allOf" in schema:
                merged: JSONSchema = {k: v for k, v in schema.items() if k != "allOf"}
                for part in schema["allOf"]:
                    merged = _merge(merged, self._flatten(_schema(part)))
                schema = merged
            else:
                return schema
        raise ValueError("$ref cycle without any concrete schema")

    # -- dispatch -----------------------------------------------------------------------------

    def value(self, schema: JSONSchema, name: str, depth: int) -> Any:
        schema = self._flatten(schema)
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            options = list(schema["enum"])
            if not options:
                raise _Unsatisfiable("empty enum")
            return self._rng.choice(options)
        for key in ("anyOf", "oneOf"):
            if key in schema:
                return self._union(schema, key, name, depth)
        if schema.get("nullable") is True and (
            depth >= self._max_depth or self._rng.random() < 0.15
        ):
            return None

        kind = schema.get("type")
        if isinstance(kind, list):
            kinds = [k for k in kind if isinstance(k, str)]
            non_null = [k for k in kinds if k != "null"]
            if "null" in kinds and (
                not non_null or depth >= self._max_depth or self._rng.random() < 0.15
            ):
                return None
            kind = self._rng.choice(non_null) if non_null else None
        if kind is None:
            kind = _infer_type(schema)
        return self._typed(kind, schema, name, depth)

    def _union(self, schema: JSONSchema, key: str, name: str, depth: int) -> Any:
        siblings = {k: v for k, v in schema.items() if k != key}
        branches = [_merge(siblings, _schema(b)) for b in schema[key]]
        if not branches:
            raise _Unsatisfiable(f"empty {key}")
        # Order the branches by preference, then take the first one that can be generated.
        # Null is realistic sometimes for Optional[X] but boring as a default. A branch with a
        # `pattern` is the likeliest to defeat us, and a bare string next to a number is how
        # lossy schemas spell "a number, or a string of one" (pydantic's Decimal): take the
        # number.
        null = [b for b in branches if _is_null(b)]
        others = [b for b in branches if not _is_null(b)]
        numeric = any(b.get("type") in ("number", "integer") for b in others)
        self._rng.shuffle(others)
        others.sort(key=lambda b: ("pattern" in b, numeric and b.get("type") == "string"))
        if depth >= self._max_depth:
            others.sort(key=lambda b: not _is_shallow(b))
            ordered = null + others
        elif null and self._rng.random() < 0.15:
            ordered = null + others
        else:
            ordered = others + null
        for branch in ordered:
            try:
                return self.value(branch, name, depth)
            except _Unsatisfiable:
                continue
        raise _Unsatisfiable(f"no branch of {key} could be generated")

    def _typed(self, kind: str, schema: JSONSchema, name: str, depth: int) -> Any:
        if kind == "null":
            return None
        if kind == "boolean":
            return self._rng.random() < 0.5
        if kind == "integer":
            return self._integer(schema, name)
        if kind == "number":
            return self._number(schema, name)
        if kind == "string":
            return self._string(schema, name)
        if kind == "array":
            return self._array(schema, name, depth)
        if kind == "object":
            return self._object(schema, name, depth)
        raise ValueError(f"unknown JSON schema type {kind!r}")

    # -- scalars ------------------------------------------------------------------------------

    def _integer(self, schema: JSONSchema, name: str) -> int:
        low, high = _bounds(schema)
        lo = (
            -sys.maxsize if low is None else math.floor(low[0]) + 1 if low[1] else math.ceil(low[0])
        )
        hi = (
            sys.maxsize
            if high is None
            else math.ceil(high[0]) - 1
            if high[1]
            else math.floor(high[0])
        )
        step = schema.get("multipleOf")
        if isinstance(step, (int, float)) and step > 0 and float(step).is_integer():
            step = int(step)
            lo, hi = -(-lo // step), hi // step  # multiples of step within [lo, hi]
        else:
            step = 1
        if lo > hi:
            raise _Unsatisfiable(f"no integer within the bounds of {dict(schema)!r}")
        want_lo, want_hi = (v // step for v in _typical_range(name))
        pick_lo, pick_hi = max(lo, want_lo), min(hi, want_hi)
        if pick_lo > pick_hi:  # the typical range misses the bounds: stay near the nearer bound
            pick_lo, pick_hi = (lo, min(hi, lo + 100)) if lo > want_hi else (max(lo, hi - 100), hi)
        return self._rng.randint(pick_lo, pick_hi) * step

    def _number(self, schema: JSONSchema, name: str) -> float | int:
        low, high = _bounds(schema)
        step = schema.get("multipleOf")
        if isinstance(step, (int, float)) and not isinstance(step, bool) and step > 0:
            return self._multiple(step, low, high, name)
        lo = -1e6 if low is None else low[0]
        hi = 1e6 if high is None else high[0]
        if lo > hi or (
            lo == hi and ((low is not None and low[1]) or (high is not None and high[1]))
        ):
            raise _Unsatisfiable(f"no number within the bounds of {dict(schema)!r}")
        want_lo, want_hi = _typical_range(name)
        pick_lo, pick_hi = max(lo, want_lo), min(hi, want_hi)
        if pick_lo > pick_hi:  # the typical range misses the bounds: stay near the nearer bound
            pick_lo, pick_hi = (lo, min(hi, lo + 100)) if lo > want_hi else (max(lo, hi - 100), hi)
        for _ in range(20):
            candidate = round(self._rng.uniform(pick_lo, pick_hi), 2)
            if _within(candidate, low, high):
                return candidate
        candidate = (lo + hi) / 2  # bounds narrower than two decimals
        if _within(candidate, low, high):
            return candidate
        raise _Unsatisfiable(f"no number within the bounds of {dict(schema)!r}")

    def _multiple(
        self, step: float, low: _Bound | None, high: _Bound | None, name: str
    ) -> float | int:
        """A multiple of ``step`` within the bounds: an integer multiplier k within the bounds
        divided by step, scaled back (rounded to the step's decimals)."""
        scaled: dict[str, float] = {}
        if low is not None:
            scaled["exclusiveMinimum" if low[1] else "minimum"] = low[0] / step
        if high is not None:
            scaled["exclusiveMaximum" if high[1] else "maximum"] = high[0] / step
        k = self._integer(scaled, name)
        if isinstance(step, int):
            return k * step
        exponent = decimal.Decimal(repr(step)).as_tuple().exponent
        decimals = -exponent if isinstance(exponent, int) and exponent < 0 else 0
        return round(k * step, decimals)

    def _string(self, schema: JSONSchema, name: str) -> str:
        min_length = int(schema.get("minLength", 0))
        max_length = schema.get("maxLength")
        if max_length is not None and int(max_length) < min_length:
            raise _Unsatisfiable(f"minLength > maxLength in {dict(schema)!r}")
        fmt = schema.get("format")
        text = _formatted(self._rng, fmt) if isinstance(fmt, str) else None
        if text is None:
            text = _named_string(self._rng, name)
        pattern = schema.get("pattern")
        if isinstance(pattern, str):
            return self._patterned(pattern, text, min_length, max_length)
        return self._fit(text, min_length, max_length)

    def _fit(self, text: str, min_length: int, max_length: object) -> str:
        while len(text) < min_length:
            text = f"{text} {self._rng.choice(_WORDS)}" if text else self._rng.choice(_WORDS)
        if isinstance(max_length, int) and len(text) > max_length:
            text = text[:max_length]
            stripped = text.rstrip()
            text = stripped if len(stripped) >= min_length else text
        return text

    def _patterned(self, pattern: str, text: str, min_length: int, max_length: object) -> str:
        try:
            regex = re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"invalid pattern {pattern!r}: {exc}") from exc

        def ok(s: str) -> bool:
            too_long = isinstance(max_length, int) and len(s) > max_length
            return not too_long and len(s) >= min_length and regex.search(s) is not None

        fitted = self._fit(text, min_length, max_length)
        if ok(fitted):
            return fitted
        for _ in range(30):
            try:
                candidate = _RegexSampler(self._rng).sample(pattern)
            except _Unsatisfiable:
                break
            if ok(candidate):
                return candidate
        raise _Unsatisfiable(f"could not produce a string matching {pattern!r}")

    # -- containers ---------------------------------------------------------------------------

    def _array(self, schema: JSONSchema, name: str, depth: int) -> list[Any]:
        prefix = [_schema(s) for s in schema.get("prefixItems", ())]
        items = schema.get("items", True if not prefix else schema.get("additionalItems", True))
        if isinstance(items, list):  # draft 4-7 tuple form
            prefix, items = [_schema(s) for s in items], schema.get("additionalItems", True)
        min_items = int(schema.get("minItems", 0))
        max_items = schema.get("maxItems")
        upper = len(prefix) if items is False else math.inf
        if isinstance(max_items, int):
            upper = min(upper, max_items)
        if min_items > upper:
            raise _Unsatisfiable(f"cannot satisfy the array bounds of {dict(schema)!r}")
        deep = depth >= self._max_depth
        count = min_items if deep else max(min_items, self._rng.randint(1, 3))
        count = int(min(count, upper))
        item_name = _singular(name)
        unique = schema.get("uniqueItems") is True
        result: list[Any] = []
        seen: set[str] = set()
        attempts = 0
        while len(result) < count:
            index = len(result)
            sub = prefix[index] if index < len(prefix) else _schema(items)
            candidate = self.value(sub, item_name, depth + 1)
            key = json.dumps(candidate, sort_keys=True)
            attempts += 1
            if unique and key in seen:
                if attempts > 50 * (count + 1):
                    if len(result) >= min_items:
                        break
                    raise _Unsatisfiable(f"cannot find {min_items} unique items")
                continue
            seen.add(key)
            result.append(candidate)
        return result

    def _object(self, schema: JSONSchema, name: str, depth: int) -> dict[str, Any]:
        properties: Mapping[str, Any] = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        result: dict[str, Any] = {}
        for key in self._object_keys(schema, properties, depth):
            sub = properties.get(key, {} if extra is False else extra)
            result[key] = self.value(_schema(sub), key, depth + 1)
        # A free-form mapping (dict[str, X]): invent a key or two so it is not always empty.
        is_mapping = not properties and isinstance(extra, Mapping) and bool(extra)
        count = self._rng.randint(1, 2) if is_mapping and depth < self._max_depth else 0
        count = max(count, int(schema.get("minProperties", 0)) - len(result))
        max_props = schema.get("maxProperties")
        if isinstance(max_props, int):
            count = min(count, max_props - len(result))
        if count > 0:
            if extra is False:
                raise _Unsatisfiable(f"cannot reach minProperties in {dict(schema)!r}")
            for key in [w for w in _WORDS if w not in result][:count]:
                result[key] = self.value(_schema(extra), _singular(name), depth + 1)
        return result

    def _object_keys(
        self, schema: JSONSchema, properties: Mapping[str, Any], depth: int
    ) -> list[str]:
        """The keys to fill: required ones always, each optional one by a coin flip (never past
        max_depth), within ``maxProperties`` and up to ``minProperties``."""
        required = [k for k in schema.get("required", ()) if isinstance(k, str)]
        min_props = int(schema.get("minProperties", 0))
        max_props = schema.get("maxProperties")
        keys = [
            key
            for key in properties
            if key in required or (depth < self._max_depth and self._rng.random() < 0.6)
        ]
        keys += [key for key in required if key not in properties]
        if isinstance(max_props, int) and len(keys) > max_props:
            optional = [key for key in keys if key not in required]
            drop = set(optional[max(0, len(optional) - (len(keys) - max_props)) :])
            keys = [key for key in keys if key not in drop]
        for key in properties:  # reach minProperties with the optional properties first
            if len(keys) >= min_props:
                break
            if key not in keys:
                keys.append(key)
        return keys


# ---------------------------------------------------------------------------------------------
# Helpers on schema fragments.
# ---------------------------------------------------------------------------------------------


def _merge(base: JSONSchema, extra: JSONSchema) -> JSONSchema:
    """Combine two schemas that must both hold (enough of ``allOf`` semantics for generation)."""
    merged = dict(base)
    for key, value in extra.items():
        if key == "properties" and isinstance(merged.get(key), Mapping):
            merged[key] = {**merged[key], **value}
        elif key == "required" and key in merged:
            merged[key] = list(dict.fromkeys([*merged[key], *value]))
        elif key in ("minimum", "minLength", "minItems", "minProperties", "exclusiveMinimum") and (
            isinstance(merged.get(key), (int, float)) and isinstance(value, (int, float))
        ):
            merged[key] = max(merged[key], value)
        elif key in ("maximum", "maxLength", "maxItems", "maxProperties", "exclusiveMaximum") and (
            isinstance(merged.get(key), (int, float)) and isinstance(value, (int, float))
        ):
            merged[key] = min(merged[key], value)
        else:
            merged[key] = value
    return merged


def _is_null(schema: JSONSchema) -> bool:
    return schema.get("type") == "null" or schema.get("const", ...) is None


def _is_shallow(schema: JSONSchema) -> bool:
    """A branch that cannot recurse: no reference and no container type."""
    return "$ref" not in schema and schema.get("type") not in ("object", "array", None)


def _infer_type(schema: JSONSchema) -> str:
    keys = schema.keys()
    if keys & {"properties", "additionalProperties", "required", "minProperties", "maxProperties"}:
        return "object"
    if keys & {"items", "prefixItems", "minItems", "maxItems", "uniqueItems"}:
        return "array"
    if keys & {"minLength", "maxLength", "pattern", "format"}:
        return "string"
    if keys & {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"}:
        return "number"
    return "string"


_Bound = tuple[float, bool]  # (value, exclusive)


def _bounds(schema: JSONSchema) -> tuple[_Bound | None, _Bound | None]:
    """Lower and upper bounds, reading both the draft-4 (boolean) and draft-6+ exclusive forms."""

    def pick(inclusive: str, exclusive: str) -> _Bound | None:
        inc, exc = schema.get(inclusive), schema.get(exclusive)
        if isinstance(exc, bool):  # draft 4: the flag qualifies the inclusive keyword
            return None if inc is None else (float(inc), exc)
        candidates: list[_Bound] = []
        if isinstance(inc, (int, float)):
            candidates.append((float(inc), False))
        if isinstance(exc, (int, float)):
            candidates.append((float(exc), True))
        if not candidates:
            return None
        return (
            max(candidates)
            if inclusive == "minimum"
            else min(candidates, key=lambda b: (b[0], not b[1]))
        )

    return pick("minimum", "exclusiveMinimum"), pick("maximum", "exclusiveMaximum")


def _within(value: float, low: _Bound | None, high: _Bound | None) -> bool:
    if low is not None and (value < low[0] or (low[1] and value == low[0])):
        return False
    return not (high is not None and (value > high[0] or (high[1] and value == high[0])))
