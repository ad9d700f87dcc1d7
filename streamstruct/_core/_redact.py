"""Keeping the API key out of errors: a server may quote the key it was sent.

Some servers and proxies echo the key they refused ("Incorrect API key provided: sk-..."), in an
HTTP error body, a 200 JSON error body, an error event inside a stream, an HTML page or an SSE
event that is not JSON. :class:`Redactor` replaces the key with ``<api key>`` wherever server text
becomes part of an error: its message, its ``body``, its ``args`` and the exceptions chained to it.

The rules:

* Only a key of at least :data:`MIN_SECRET_LENGTH` characters is redacted. A shorter "key" (a local
  server's ``"k"``) is no secret, and replacing every occurrence of it would garble every message
  (``Un<api key>nown request URL``).
* JSON is decoded first and the strings inside it are redacted, keys and values, never the JSON
  text itself: the structure stays valid, and a key written with escapes (``sk-a\\/b``,
  ``\\u0073k-...``) is found in its decoded form.
* Text that is not JSON is redacted as text, the key's escaped spellings included, and so is every
  JSON string literal in it (decoded, checked, and written back redacted when it held the key).
* A message that quotes at most so many characters may cut the key short: at least
  :data:`MIN_SECRET_LENGTH` of its first characters followed by ``...``, ``…`` or the end of the
  text are redacted too.
* Where the stream layer quotes server text itself (an SSE ``data`` that is not JSON, an HTML page,
  a JSON body that does not parse), it redacts the text first, then cuts it short.

Not redacted: an error's ``text`` and ``partial`` (and ``raw``, ``errors``, ``refusal``), which are
the model's answer, not the server's words.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final, final

__all__ = ["MASK", "MIN_SECRET_LENGTH", "Redactor"]

MIN_SECRET_LENGTH: Final = 8
"""The shortest key that is redacted: anything shorter is no secret, and too common a text."""
MASK: Final = "<api key>"

# A JSON string literal, maybe cut short (an error message quotes at most so many characters).
_STRING_LITERAL: Final = re.compile(r'"(?:[^"\\]|\\.)*(?:"|\\?$)')
# What a message that quotes at most so many characters puts where it cut.
_CUT_MARKS: Final = ("...", "\u2026")


@final
class Redactor:
    """Replaces one secret with :data:`MASK` in text, in decoded JSON values and in errors."""

    __slots__ = ("_secret", "_spellings")

    def __init__(self, secret: str) -> None:
        if len(secret) < MIN_SECRET_LENGTH:
            raise ValueError(f"a secret to redact has at least {MIN_SECRET_LENGTH} characters")
        self._secret = secret
        # How the key reads once quoted: as a JSON string (and with "/" escaped, as some JSON
        # writers do) and as a Python repr (what error messages quoting raw data show).
        json_form = json.dumps(secret)[1:-1]
        self._spellings = tuple(
            dict.fromkeys((secret, json_form, json_form.replace("/", "\\/"), repr(secret)[1:-1]))
        )

    @classmethod
    def for_key(cls, key: str | None) -> Redactor | None:
        """The redactor for an API key, or ``None`` when there is nothing worth redacting."""
        if key is None or len(key) < MIN_SECRET_LENGTH:
            return None
        return cls(key)

    def text(self, text: str) -> str:
        """``text`` with the key replaced, in any of its quoted or JSON-escaped spellings."""
        for spelling in self._spellings:
            if spelling in text:
                text = text.replace(spelling, MASK)
        if "\\" in text:
            text = _STRING_LITERAL.sub(self._literal, text)
        if self._secret[:MIN_SECRET_LENGTH] in text:
            text = self._cut_short(text)
        return text

    def head(self, text: str, limit: int) -> str:
        """The first ``limit`` characters of ``text``, redacted: what a message may quote.

        Redacted before it is cut, so that a key across the cut is found whole, and only as much
        as can reach the cut (the key's longest escaped spelling past it): an 8 MiB event that is
        not JSON costs no more than a short one.
        """
        window = text[: limit + 6 * len(self._secret) + 2]
        return self.text(window)[:limit]

    def _cut_short(self, text: str) -> str:
        """``text`` without the key's beginning where a message cut the key short (quoting at
        most so many characters, then ``...`` or ``…``, or the end of the text)."""
        secret = self._secret
        head = secret[:MIN_SECRET_LENGTH]
        start = text.find(head)
        while start != -1:
            end = start + MIN_SECRET_LENGTH
            while (
                end < len(text) and end - start < len(secret) and text[end] == secret[end - start]
            ):
                end += 1
            if end == len(text) or text.startswith(_CUT_MARKS, end):
                text = text[:start] + MASK + text[end:]
                end = start + len(MASK)
            start = text.find(head, end)
        return text

    def _literal(self, match: re.Match[str]) -> str:
        literal = match[0]
        closed = len(literal) > 1 and literal.endswith('"') and not literal.endswith('\\"')
        try:
            decoded = json.loads(literal if closed else literal.rstrip("\\") + '"')
        except ValueError:
            return literal
        if not isinstance(decoded, str):
            return literal
        redacted = self.text(decoded)  # a literal cut short may end with the key's beginning
        if redacted == decoded:
            return literal
        written = json.dumps(redacted, ensure_ascii=False)
        return written if closed else written[:-1]

    def value(self, value: Any) -> Any:
        """A decoded JSON value with the key replaced in every string in it (keys too).

        Copied with an explicit stack, not recursion: a hostile server's error body nested
        some hundreds deep (which ``json.loads`` still takes) must not end in a ``RecursionError``.
        """
        root: list[Any] = [None]
        # (the container a copy goes into, where in it, the value to copy)
        stack: list[tuple[Any, Any, Any]] = [(root, 0, value)]
        while stack:
            into, where, item = stack.pop()
            if isinstance(item, str):
                into[where] = self.text(item)
            elif isinstance(item, dict):
                copied: dict[Any, Any] = {}
                into[where] = copied
                for name, inner in item.items():
                    redacted = self.text(name) if isinstance(name, str) else name
                    copied[redacted] = None  # its place, in order; filled when popped
                    stack.append((copied, redacted, inner))
            elif isinstance(item, list):
                into[where] = listed = [None] * len(item)
                stack.extend((listed, index, inner) for index, inner in enumerate(item))
            else:
                into[where] = item
        return root[0]

    def error(self, error: BaseException) -> None:
        """Redact ``error`` in place: message, ``args``, ``body``, ``request_id``, and the exceptions
        chained to it.

        A chained exception that still shows the key once its ``args`` are redacted (its ``str``
        is built from elsewhere) is cut from the chain, so no traceback prints it.
        """
        seen: set[int] = set()
        parent: BaseException | None = None
        current: BaseException | None = error
        while current is not None and id(current) not in seen:
            seen.add(id(current))
            self._redact_one(current)
            if parent is not None and self._shows_key(current):
                parent.__cause__ = None
                parent.__context__ = None
                parent.__suppress_context__ = True
                return
            # What a traceback prints next: the cause, else the context.
            parent, current = current, current.__cause__ or current.__context__

    def _redact_one(self, error: BaseException) -> None:
        state = getattr(error, "__dict__", None)
        if state is not None:
            # request_id too: a gateway may echo request headers into its x-request-id.
            for name in ("message", "body", "request_id"):
                if name in state:
                    state[name] = self.value(state[name])
        error.args = tuple(self.value(arg) for arg in error.args)

    def _shows_key(self, error: BaseException) -> bool:
        try:
            shown = f"{error!s} {error!r}"
        except Exception:  # a broken __str__: tracebacks show nothing of it either
            return False
        return self.text(shown) != shown
