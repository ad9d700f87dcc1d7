"""Where requests go and the key they carry: the base URL, endpoints, the API key, kept secret.

I/O layer (httpx URLs). What a repr or an error message may show of them is decided here: the key
never (:class:`Secret`), a URL's query values never (:func:`shown_url`, a gateway may take a key
there), an origin without path or query (:func:`origin`).
"""

from __future__ import annotations

import os
from typing import Final, final

import httpx

from .._errors import InvalidArgumentValueError
from .._request._arguments import check_base_url

__all__ = ["DEFAULT_BASE_URL", "Secret", "api_key", "base_url", "origin", "shown_url", "url_for"]

DEFAULT_BASE_URL: Final = "https://api.openai.com/v1"


def api_key(key: str | None) -> Secret | None:
    """The key as it goes into the header: surrounding whitespace (a key read from a file ends
    with a newline) is dropped, and a key that cannot be a header value is refused here, in
    words that do not repeat it, rather than inside a request whose error would quote it."""
    if key is None:
        return None
    key = key.strip()
    if not key:
        return None
    if not key.isascii() or not key.isprintable():
        raise InvalidArgumentValueError(
            "the API key holds characters an HTTP header cannot carry (non-ASCII or control "
            "characters); check where it was read from",
            argument="api_key",
        )
    return Secret(key)


def base_url(
    given: str | httpx.URL | None,
    *,
    variable: str = "OPENAI_BASE_URL",
    default: str = DEFAULT_BASE_URL,
) -> httpx.URL:
    """``base_url``, else the environment's ``variable`` (``OPENAI_BASE_URL``, Anthropic's
    ``ANTHROPIC_BASE_URL``), else ``default``: checked, ending with a slash."""
    if given is not None:
        url = check_base_url(given)
    else:
        from_environment = os.environ.get(variable)
        if from_environment:
            url = check_base_url(from_environment, argument=variable)
        else:
            url = httpx.URL(default)
    # Its path made to end with a slash; a query (Azure's ``?api-version=...``) is kept for every
    # request: ``URL.join`` would drop it, and a path without the slash would lose its last part.
    return url.copy_with(path=url.path.rstrip("/") + "/")


def url_for(base_url: httpx.URL, path: str) -> httpx.URL:
    """``path`` under ``base_url``, its query kept: ``http://h/v1/?a=1`` -> ``http://h/v1/path?a=1``."""
    return base_url.copy_with(path=base_url.path + path)


def shown_url(url: httpx.URL) -> str:
    """The URL as a repr shows it: query values hidden, since a gateway may take a key there."""
    if not url.query:
        return str(url)
    names = "&".join(f"{name}=..." for name in dict.fromkeys(url.params.keys()))
    return str(url.copy_with(query=None)) + "?" + names


@final
class Secret:
    """The API key, kept out of every repr, str and traceback that shows the client's state."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "<secret>"

    __str__ = __repr__


def origin(url: httpx.URL) -> str:
    return f"{url.scheme}://{url.netloc.decode('ascii', errors='replace')}"
