"""Realistic strings and numbers for the value generator, chosen by field name.

A generated ``name`` reads like a name and an ``age`` like an age, so that streamed output looks
like a model's and exercises non-trivial string content (spaces, punctuation, ``@``, ``/``). Every
function draws from the generator's ``random.Random`` only, so values stay deterministic per seed.
"""

from __future__ import annotations

import datetime as _dt
import random
import re
import uuid
from collections.abc import Callable
from typing import Final

__all__ = ["_WORDS", "_formatted", "_named_string", "_singular", "_typical_range", "_words_of"]

# ---------------------------------------------------------------------------------------------
# Word lists. Small, fixed, ASCII: realistic enough to read, stable across Python versions.
# ---------------------------------------------------------------------------------------------

_FIRST_NAMES: Final = (
    "Ada", "Alan", "Grace", "Linus", "Margaret", "Dennis", "Barbara", "Ken", "Frances", "Edsger",
    "Radia", "Tim", "Hedy", "John", "Katherine", "Donald",
)  # fmt: skip
_LAST_NAMES: Final = (
    "Lovelace", "Turing", "Hopper", "Torvalds", "Hamilton", "Ritchie", "Liskov", "Thompson",
    "Allen", "Dijkstra", "Perlman", "Berners-Lee", "Lamarr", "McCarthy", "Johnson", "Knuth",
)  # fmt: skip
_CITIES: Final = (
    "Paris", "Lisbon", "Kyoto", "Nairobi", "Toronto", "Melbourne", "Oslo", "Buenos Aires",
    "San Francisco", "Berlin", "Seoul", "Cape Town",
)  # fmt: skip
_COUNTRIES: Final = (
    "France", "Portugal", "Japan", "Kenya", "Canada", "Australia", "Norway", "Argentina",
    "United States", "Germany", "South Korea", "South Africa",
)  # fmt: skip
_COMPANIES: Final = (
    "Acme Corp", "Globex", "Initech", "Umbrella Labs", "Hooli", "Stark Industries",
    "Wayne Enterprises", "Cyberdyne Systems",
)  # fmt: skip
_STREETS: Final = ("Baker Street", "Main Street", "Elm Avenue", "Harbour Road", "Rue de Rivoli")
_COLORS: Final = ("red", "green", "blue", "teal", "orange", "purple", "black", "white")
_JOBS: Final = ("software engineer", "data scientist", "teacher", "nurse", "architect", "chef")
_LANGUAGES: Final = ("English", "French", "Japanese", "Swahili", "Portuguese", "German")
_CURRENCIES: Final = ("USD", "EUR", "JPY", "GBP", "CAD")
_WORDS: Final = (
    "apple", "river", "stone", "cloud", "signal", "garden", "paper", "orbit", "lantern", "meadow",
    "harbor", "copper", "violet", "engine", "summit", "forest", "canvas", "ember", "pixel", "delta",
)  # fmt: skip
_SENTENCES: Final = (
    "Enjoys long walks and short functions.",
    "Builds reliable systems from small, well-tested parts.",
    "Has spent a decade turning vague ideas into working software.",
    "Writes clear documentation and asks good questions.",
    "Believes every bug report is a gift, even the rude ones.",
    "Prefers tea, tabs and timely code reviews.",
    "Once shipped a compiler over a long weekend.",
    "Likes mountains, maps and well-named variables.",
)

_SENTENCE_FIELDS: Final = frozenset(
    {
        "bio",
        "biography",
        "description",
        "summary",
        "about",
        "content",
        "text",
        "body",
        "comment",
        "comments",
        "notes",
        "note",
        "message",
        "details",
        "detail",
        "reason",
        "reasoning",
        "explanation",
        "overview",
        "abstract",
        "review",
        "feedback",
        "answer",
        "response",
        "story",
        "caption",
        "instructions",
        "remarks",
    }
)  # fmt: skip
_TITLE_FIELDS: Final = frozenset({"title", "headline", "subject", "heading", "label"})


def _words_of(name: str) -> list[str]:
    """``"firstName"`` / ``"first_name"`` / ``"First Name"`` -> ``["first", "name"]``."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name)
    return [w for w in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if w]


def _singular(name: str) -> str:
    """The item name for an array field: ``tags`` -> ``tag``, ``addresses`` -> ``address``."""
    if name.endswith("ies") and len(name) > 3:
        return name[:-3] + "y"
    if name.endswith(("sses", "xes", "ches", "shes")):
        return name[:-2]
    if name.endswith("s") and not name.endswith("ss") and len(name) > 1:
        return name[:-1]
    return name


def _formatted(rng: random.Random, fmt: str) -> str | None:
    """A string in a JSON-schema ``format``; ``None`` for a format this does not know."""
    moment = _dt.datetime(2020, 1, 1, tzinfo=_dt.timezone.utc) + _dt.timedelta(
        seconds=rng.randrange(0, 6 * 365 * 86400)
    )
    if fmt in _MOMENT_FORMATS:
        return moment.strftime(_MOMENT_FORMATS[fmt])
    if fmt == "duration":
        return f"PT{rng.randint(1, 12)}H{rng.randint(0, 59)}M"
    if fmt in ("email", "idn-email"):
        return _email(rng)
    if fmt in ("uri", "url", "iri", "uri-reference", "iri-reference"):
        return f"https://example.com/{rng.choice(_WORDS)}/{rng.randint(1, 999)}"
    if fmt == "uuid":
        return _uuid(rng)
    if fmt in ("hostname", "idn-hostname"):
        return f"{rng.choice(_WORDS)}.example.com"
    if fmt == "ipv4":
        return f"192.0.2.{rng.randint(1, 254)}"
    if fmt == "ipv6":
        return f"2001:db8::{rng.randint(1, 0xFFFF):x}"
    return None


_MOMENT_FORMATS: Final = {
    "date-time": "%Y-%m-%dT%H:%M:%SZ",
    "date": "%Y-%m-%d",
    "time": "%H:%M:%SZ",
}


def _email(rng: random.Random) -> str:
    first, last = rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)
    return f"{first}.{last}@example.com".lower().replace("-", "")


def _username(rng: random.Random) -> str:
    return f"{rng.choice(_FIRST_NAMES).lower()}_{rng.randint(1, 99)}"


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _title(rng: random.Random, count: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(count)).title()


def _named_string(rng: random.Random, name: str) -> str:
    """A string that fits a field called ``name`` (by its last word), or a few plain words."""
    words = _words_of(name)
    last = words[-1] if words else ""
    if "email" in words or "mail" in words:
        return _email(rng)
    if last in ("name", "names", "author"):
        return _a_name(rng, words)
    for last_words, make in _BY_LAST_WORD:
        if last in last_words:
            return make(rng)
    return " ".join(rng.choice(_WORDS) for _ in range(rng.randint(1, 3)))


def _a_name(rng: random.Random, words: list[str]) -> str:
    """A ``...name`` field: a person's by default, else what its first words say it names."""
    if words[:1] in (["first"], ["given"]) or "firstname" in words:
        return rng.choice(_FIRST_NAMES)
    if words[:1] in (["last"], ["family"], ["sur"]):
        return rng.choice(_LAST_NAMES)
    if words[:1] in (["user"], ["screen"]):
        return _username(rng)
    for qualifiers, pool in _NAMED_THINGS:
        if any(w in words for w in qualifiers):
            return rng.choice(pool)
    if any(w in words for w in ("product", "item", "project", "file", "team", "tag")):
        return _title(rng, 2)
    return f"{rng.choice(_FIRST_NAMES)} {rng.choice(_LAST_NAMES)}"


_NAMED_THINGS: Final = (
    (("company", "organization", "org", "business"), _COMPANIES),
    (("city", "town"), _CITIES),
    (("country", "nation"), _COUNTRIES),
)

_Make = Callable[[random.Random], str]

# By the field name's last word, in order: the first set that holds it says what to make.
_BY_LAST_WORD: Final[tuple[tuple[frozenset[str], _Make], ...]] = tuple(
    (frozenset(last_words), make)
    for last_words, make in (
        (("firstname", "forename"), lambda rng: rng.choice(_FIRST_NAMES)),
        (("lastname", "surname"), lambda rng: rng.choice(_LAST_NAMES)),
        (("username", "handle", "login", "nickname"), _username),
        (_SENTENCE_FIELDS, lambda rng: " ".join(rng.sample(_SENTENCES, rng.randint(1, 2)))),
        (_TITLE_FIELDS, lambda rng: _title(rng, rng.randint(2, 4))),
        (("city", "town"), lambda rng: rng.choice(_CITIES)),
        (("country", "nation"), lambda rng: rng.choice(_COUNTRIES)),
        (("address", "street"), lambda rng: f"{rng.randint(1, 250)} {rng.choice(_STREETS)}"),
        (("zip", "zipcode", "postcode", "postal"), lambda rng: f"{rng.randint(10000, 99999)}"),
        (("phone", "telephone", "mobile", "tel"), lambda rng: f"+1-555-01{rng.randint(0, 99):02d}"),
        (
            ("url", "uri", "website", "homepage", "link", "href"),
            lambda rng: f"https://example.com/{rng.choice(_WORDS)}",
        ),
        (
            ("company", "organization", "organisation", "employer", "org"),
            lambda rng: rng.choice(_COMPANIES),
        ),
        (("color", "colour"), lambda rng: rng.choice(_COLORS)),
        (
            ("job", "occupation", "profession", "role", "position"),
            lambda rng: rng.choice(_JOBS),
        ),
        (("language", "lang", "locale"), lambda rng: rng.choice(_LANGUAGES)),
        (("currency",), lambda rng: rng.choice(_CURRENCIES)),
        (("id", "uuid", "guid"), _uuid),
        (("date", "birthday", "dob"), lambda rng: _formatted(rng, "date") or ""),
        (("slug",), lambda rng: "-".join(rng.choice(_WORDS) for _ in range(3))),
        (
            ("code", "sku"),
            lambda rng: f"{rng.choice(_WORDS)[:3].upper()}-{rng.randint(1000, 9999)}",
        ),
        (("sentence", "quote"), lambda rng: rng.choice(_SENTENCES)),
    )
)


def _typical_range(name: str) -> tuple[int, int]:
    """A plausible range for a number, by field name: ages look like ages."""
    words = set(_words_of(name))
    if words & {"age", "years"}:
        return (18, 90)
    if words & {"year"}:
        return (1950, 2025)
    if words & {"month"}:
        return (1, 12)
    if words & {"day"}:
        return (1, 28)
    if words & {"hour", "hours"}:
        return (0, 23)
    if words & {"rating", "stars", "score"}:
        return (1, 5)
    if words & {"percent", "percentage"}:
        return (0, 100)
    if words & {"lat", "latitude"}:
        return (-90, 90)
    if words & {"lon", "lng", "longitude"}:
        return (-180, 180)
    if words & {"price", "cost", "amount", "salary", "total"}:
        return (1, 500)
    if words & {"count", "quantity", "qty", "number", "size", "population"}:
        return (1, 20)
    return (0, 100)
