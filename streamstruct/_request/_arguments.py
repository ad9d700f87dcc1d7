"""The client's and the calls' arguments, checked when they are given.

A wrong argument is refused at once, with a message that names it, rather than failing later
somewhere else ("dictionary update sequence element #0") or being ignored. The wrong type is an
:class:`~streamstruct.InvalidArgumentTypeError` (a ``TypeError``), a value that cannot work an
:class:`~streamstruct.InvalidArgumentValueError` (a ``ValueError``), both under the root
:class:`~streamstruct.StreamStructError`. Messages never repeat an API key or a header's value.

Only values are checked here: which keywords a call takes is its signature's business.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

import httpx

from .._errors import InvalidArgumentTypeError, InvalidArgumentValueError
from ._modes import Mode

__all__ = [
    "check_api_key",
    "check_backoff",
    "check_base_url",
    "check_call",
    "check_count",
    "check_deadline",
    "check_headers",
    "check_max_reasks",
    "check_max_retries",
    "check_messages",
    "check_mode",
    "check_model",
    "check_pool_choice",
    "check_stream_flag",
    "check_stream_keyword",
    "check_strict",
    "check_timeout",
]


def _type_name(value: object) -> str:
    return type(value).__name__


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def check_api_key(key: object) -> None:
    """A ``str`` or ``None``; its value is never shown."""
    if key is not None and not isinstance(key, str):
        raise InvalidArgumentTypeError(
            f"api_key must be a str or None, not {_type_name(key)}", argument="api_key"
        )


def check_base_url(url: object, *, argument: str = "base_url") -> httpx.URL:
    """An ``http://`` or ``https://`` URL with a host and no credentials in it.

    Credentials (``http://user:pass@host``) are refused: httpx would send them as
    ``Authorization: Basic ...`` in place of the API key, and show them wherever the URL is shown.
    The message shows the URL without them.
    """
    if not isinstance(url, str | httpx.URL):
        raise InvalidArgumentTypeError(
            f"{argument} must be a str or an httpx.URL, not {_type_name(url)}", argument=argument
        )
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as error:
        # httpx's reason may quote a piece of the URL: not when credentials may be in it.
        reason = "" if "@" in str(url) else f" ({error})"
        raise InvalidArgumentValueError(
            f"{argument} is not a URL{reason}", argument=argument
        ) from None
    if parsed.userinfo:
        shown = parsed.copy_with(username=None, password=None)
        raise InvalidArgumentValueError(
            f"{argument} holds credentials (user:password@) - refused: they would be sent as "
            "HTTP Basic authentication in place of the API key, and show in logs and reprs. "
            f"Give {shown} with api_key=... (or default_headers=... for another scheme)",
            argument=argument,
        )
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise InvalidArgumentValueError(
            f"{argument} must be an http:// or https:// URL with a host, such as "
            f"https://api.openai.com/v1, not {str(parsed)!r}",
            argument=argument,
        )
    return parsed


def check_headers(headers: object, *, argument: str = "default_headers") -> None:
    """A mapping of ``str`` to ``str`` (values never shown: they may be credentials)."""
    if headers is None:
        return
    if not isinstance(headers, Mapping):
        raise InvalidArgumentTypeError(
            f"{argument} must be a mapping of str to str, not {_type_name(headers)}",
            argument=argument,
        )
    for name, value in headers.items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise InvalidArgumentTypeError(
                f"{argument} must map str to str: {name!r} maps to {_type_name(value)}"
                if isinstance(name, str)
                else f"{argument} must map str to str, not {_type_name(name)} names",
                argument=argument,
            )
        _check_header(name, value, argument)


# What HTTP allows in a header's name (a token, RFC 9110 5.6.2) and value (visible ASCII, spaces
# and tabs; httpx encodes values as ASCII). Checked when the client is made: when sent, httpx and
# h11 refuse them with a message that quotes the value (maybe a credential), or a bare
# UnicodeEncodeError.
_HEADER_NAME: Final = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_HEADER_VALUE: Final = re.compile(r"[\t\x20-\x7e]*")


def _check_header(name: str, value: str, argument: str) -> None:
    if not _HEADER_NAME.fullmatch(name):
        raise InvalidArgumentValueError(
            f"{argument}: {name!r} is not a header name (letters, digits and !#$%&'*+-.^_`|~)",
            argument=argument,
        )
    if not _HEADER_VALUE.fullmatch(value) or value != value.strip(" \t"):
        raise InvalidArgumentValueError(
            f"{argument}: the value of {name!r} holds characters a header cannot carry "
            "(not ASCII, a control character, or spaces around it); it is not shown here",
            argument=argument,
        )


def check_timeout(value: object) -> None:
    """``None``, a positive number of seconds, or an ``httpx.Timeout`` whose set parts are."""
    if value is None:
        return
    if isinstance(value, httpx.Timeout):
        parts = {
            "connect": value.connect,
            "read": value.read,
            "write": value.write,
            "pool": value.pool,
        }
        for part, seconds in parts.items():
            if seconds is not None and not seconds > 0:
                raise InvalidArgumentValueError(
                    f"timeout's {part} must be a positive number of seconds or None, "
                    f"not {seconds!r}",
                    argument="timeout",
                )
        return
    if not _is_number(value):
        raise InvalidArgumentTypeError(
            "timeout must be a number of seconds, an httpx.Timeout or None, "
            f"not {_type_name(value)} {value!r}",
            argument="timeout",
        )
    if not value > 0:  # type: ignore[operator]  # a number, checked above; nan too
        raise InvalidArgumentValueError(
            f"timeout must be a positive number of seconds, not {value!r} "
            "(it bounds connecting and the silence between two reads)",
            argument="timeout",
        )


def check_max_retries(value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidArgumentTypeError(
            f"max_retries must be an int, not {_type_name(value)} {value!r}",
            argument="max_retries",
        )
    if value < 0:
        raise InvalidArgumentValueError(
            f"max_retries must be >= 0, not {value}", argument="max_retries"
        )


def check_max_reasks(value: object) -> None:
    """How often an answer that fails validation is re-asked: an int >= 0."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidArgumentTypeError(
            f"max_reasks must be an int, not {_type_name(value)} {value!r}",
            argument="max_reasks",
        )
    if value < 0:
        raise InvalidArgumentValueError(
            f"max_reasks must be >= 0, not {value}", argument="max_reasks"
        )


def check_backoff(value: object) -> None:
    """The first wait between retries: a finite number of seconds >= 0 (a nan or negative one
    used to be accepted, then fail on the first retry)."""
    if not _is_number(value):
        raise InvalidArgumentTypeError(
            f"backoff must be a number of seconds, not {_type_name(value)} {value!r}",
            argument="backoff",
        )
    if not (math.isfinite(value) and value >= 0):  # type: ignore[arg-type, operator]  # a number
        raise InvalidArgumentValueError(
            f"backoff must be a finite number of seconds >= 0, not {value}", argument="backoff"
        )


def check_deadline(value: object) -> None:
    if value is None:
        return
    if not _is_number(value):
        raise InvalidArgumentTypeError(
            f"deadline must be a number of seconds or None, not {_type_name(value)} {value!r}",
            argument="deadline",
        )
    if not value > 0:  # type: ignore[operator]  # a number, checked above; nan too
        raise InvalidArgumentValueError(
            f"deadline must be a positive number of seconds or None, not {value}",
            argument="deadline",
        )


def check_mode(value: object) -> Mode:
    try:
        return Mode(value)
    except ValueError:
        names = ", ".join(repr(mode.value) for mode in Mode)
        raise InvalidArgumentValueError(
            f"mode must be a Mode or one of {names}, not {value!r}", argument="mode"
        ) from None


def check_model(value: object) -> None:
    if not isinstance(value, str):
        raise InvalidArgumentTypeError(
            f"model must be a str (the model's name), not {_type_name(value)} {value!r}",
            argument="model",
        )
    if not value.strip():
        raise InvalidArgumentValueError(f"model must name a model, not {value!r}", argument="model")


def check_messages(messages: object) -> None:
    """A list (or tuple) of at least one message, each a mapping with a ``role``."""
    if not isinstance(messages, Sequence) or isinstance(messages, str | bytes | bytearray):
        raise InvalidArgumentTypeError(
            "messages must be a list of messages such as "
            "[{'role': 'user', 'content': 'Hello'}], "
            f"not {_type_name(messages)} {_shorten(messages)}",
            argument="messages",
        )
    if not messages:
        raise InvalidArgumentValueError(
            "messages must hold at least one message", argument="messages"
        )
    for index, message in enumerate(messages):
        where = f"messages[{index}]"
        if not isinstance(message, Mapping):
            raise InvalidArgumentTypeError(
                f"{where} must be a dict such as {{'role': 'user', 'content': 'Hello'}}, "
                f"not {_type_name(message)} {_shorten(message)}",
                argument=where,
            )
        role = message.get("role")
        if not isinstance(role, str) or not role:
            raise InvalidArgumentValueError(
                f"{where} must have a 'role' ('system', 'user', 'assistant', 'tool', ...), "
                + ("and has none" if role is None else f"not {role!r}"),
                argument=where,
            )


def check_strict(value: object) -> None:
    if value is not None and not isinstance(value, bool):
        raise InvalidArgumentTypeError(
            f"strict must be True, False or None, not {_type_name(value)} {value!r}",
            argument="strict",
        )


def check_stream_keyword(method: str, body: Mapping[str, Any]) -> None:
    """``stream=`` given to a method that always streams: ``True`` is harmless, else refused."""
    if "stream" in body and body["stream"] is not True:
        raise InvalidArgumentValueError(
            f"{method} always streams, so stream={body['stream']!r} cannot apply: use "
            "create(...) without stream=True for the whole answer at once",
            argument="stream",
        )


def check_stream_flag(value: object) -> None:
    """``create``'s ``stream``: ``True`` or ``False``, not merely truthy (``"no"`` would stream)."""
    if not isinstance(value, bool):
        raise InvalidArgumentTypeError(
            f"stream must be True or False, not {_type_name(value)}", argument="stream"
        )


def check_call(
    *,
    model: object,
    messages: object,
    mode: object,
    strict: object,
    max_retries: object,
    timeout: object,
    deadline: object,
    max_reasks: object = None,
) -> None:
    """Every per-call value of ``create``, ``create_partial`` and ``create_iterable``."""
    check_model(model)
    check_messages(messages)
    if mode is not None:
        check_mode(mode)
    check_strict(strict)
    if max_retries is not None:
        check_max_retries(max_retries)
    if max_reasks is not None:
        check_max_reasks(max_reasks)
    check_timeout(timeout)
    check_deadline(deadline)


def _shorten(value: object) -> str:
    shown = repr(value)
    return shown if len(shown) <= 60 else shown[:57] + "..."


def check_count(name: str, value: object) -> None:
    """A size or a depth: a positive int, said at once (not first when a stream opens, where the
    compiled reader checks its types)."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidArgumentTypeError(
            f"{name} must be an int, not {type(value).__name__} {value!r}", argument=name
        )
    if value < 1:
        raise InvalidArgumentValueError(f"{name} must be at least 1, not {value}", argument=name)


def check_pool_choice(http_client: object, transport: object, limits: object) -> None:
    """``http_client`` brings its own pool, ``transport`` its own connections, ``limits`` sizes
    the client's own pool: at most one of them."""
    if http_client is not None and transport is not None:
        raise InvalidArgumentValueError(
            "give http_client or transport, not both", argument="transport"
        )
    if http_client is not None and limits is not None:
        raise InvalidArgumentValueError(
            "limits size the client's own pool: give http_client or limits", argument="limits"
        )
    if transport is not None and limits is not None:
        # httpx hands a given transport every request as it is: limits would size nothing.
        raise InvalidArgumentValueError(
            "limits size the client's own pool: give transport or limits", argument="limits"
        )
