"""Content codings undone as the body streams (``_body``), sans-I/O: every split of the body,
deflate in both its forms, gzip in several members, codings applied twice, and a small body that
inflates to a lot handed out in bounded pieces. The paths through a socket are in
``test_reliability_wire``."""

from __future__ import annotations

import gzip
import random
import zlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from streamstruct._io import _body

pytestmark = pytest.mark.anyio

TEXT = b"".join(b'data: {"n": %d, "pad": "%s"}\n\n' % (n, b"x" * (n % 50)) for n in range(400))


def deflated(data: bytes, wbits: int) -> bytes:
    squeeze = zlib.compressobj(wbits=wbits)
    return squeeze.compress(data) + squeeze.flush()


FORMS = {
    "gzip": ("gzip", deflated(TEXT, 31)),
    "deflate (zlib)": ("deflate", deflated(TEXT, 15)),
    "deflate (raw)": ("deflate", deflated(TEXT, -15)),
    "gzip in members": ("gzip", gzip.compress(TEXT[:999]) + gzip.compress(TEXT[999:])),
    "gzip then padding": ("gzip", deflated(TEXT, 31) + b"\x00" * 7),
    "gzip, gzip": ("gzip, gzip", gzip.compress(gzip.compress(TEXT))),
    "deflate, gzip": ("deflate, gzip", gzip.compress(deflated(TEXT, -15))),
}


class pieces:
    """``data`` cut at ``cuts``, as an async iterator that may be left half-read (no generator
    for trio to find unfinished)."""

    def __init__(self, data: bytes, cuts: list[int]) -> None:
        self._pieces = iter(
            [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]
        )

    def __aiter__(self) -> pieces:
        return self

    async def __anext__(self) -> bytes:
        for piece in self._pieces:
            return piece
        raise StopAsyncIteration


def response(coding: str, accept: str = _body.ACCEPT_ENCODING) -> httpx.Response:
    request = httpx.Request("POST", "http://test/", headers={"Accept-Encoding": accept})
    return httpx.Response(200, headers={"Content-Encoding": coding}, request=request)


async def decode(coding: str, data: bytes, cuts: list[int]) -> list[bytes]:
    return [piece async for piece in _body.decoded_body(pieces(data, cuts), response(coding))]


def splits(size: int) -> list[list[int]]:
    """Whole, one byte at a time, at every single split of the first bytes, and at random."""
    rng = random.Random(12)
    return [
        [],
        list(range(1, size)),
        *([cut] for cut in range(1, min(size, 24))),
        *(sorted(rng.sample(range(1, size), 9)) for _ in range(20)),
    ]


@pytest.mark.parametrize("form", FORMS)
async def test_every_split_decodes_to_the_body(form: str) -> None:
    coding, data = FORMS[form]
    for cuts in splits(len(data)):
        got = await decode(coding, data, cuts)
        assert b"".join(got) == TEXT, cuts
        assert all(got), "no empty piece is handed out"


async def test_a_piece_is_decoded_as_soon_as_it_arrives() -> None:
    squeeze = zlib.compressobj(wbits=31)
    first = squeeze.compress(b"data: 1\n\n") + squeeze.flush(zlib.Z_SYNC_FLUSH)
    rest = squeeze.compress(b"data: 2\n\n") + squeeze.flush()
    arrived: list[bytes] = []

    async def body() -> AsyncIterator[bytes]:
        yield first
        assert arrived == [b"data: 1\n\n"], "the first piece came out before more was read"
        yield rest

    async for piece in _body.decoded_body(body(), response("gzip")):
        arrived.append(piece)
    assert arrived == [b"data: 1\n\n", b"data: 2\n\n"]


@pytest.mark.parametrize("coding", ["gzip", "deflate"])
async def test_a_body_that_inflates_a_thousandfold_comes_out_in_bounded_pieces(
    coding: str,
) -> None:
    huge = b"\x00" * (64 * 1024 * 1024)
    data = deflated(huge, 31 if coding == "gzip" else 15)
    assert len(data) < 128 * 1024
    body = _body.decoded_body(pieces(data, []), response(coding))
    size = 0
    async for piece in body:
        assert len(piece) <= 64 * 1024
        size += len(piece)
        if size > 1024 * 1024:
            break  # the reader stops here (max_response_bytes): nothing more was inflated
    assert size <= 1024 * 1024 + 64 * 1024


@pytest.mark.parametrize("coding", ["gzip", "deflate"])
async def test_a_body_not_in_its_coding_is_a_decoding_error(coding: str) -> None:
    with pytest.raises(httpx.DecodingError):
        await decode(coding, b"\x1f\x8bthis is not compressed at all" * 3, [5])


async def test_an_empty_body_decodes_to_nothing() -> None:
    assert await decode("gzip", b"", []) == []
    assert await decode("deflate", b"", []) == []


async def test_a_body_with_no_coding_is_the_body_itself() -> None:
    raw = pieces(TEXT, [10])
    assert _body.decoded_body(raw, response("identity")) is raw


@pytest.mark.parametrize(
    ("coding", "accept", "says"),
    [
        ("br", _body.ACCEPT_ENCODING, "'br' (Accept-Encoding: gzip, deflate was sent): it was"),
        ("gzip", "identity", "'gzip' (Accept-Encoding: identity was sent): it was not asked for"),
        ("gzip", "", "'gzip' (no Accept-Encoding was sent): it was not asked for"),
        ("zstd", "zstd", "only gzip and deflate are decoded here"),
    ],
)
async def test_a_coding_not_asked_for_or_not_decoded_is_refused(
    coding: str, accept: str, says: str
) -> None:
    import streamstruct

    with pytest.raises(streamstruct.APIError) as caught:
        _body.decoded_body(pieces(TEXT, []), response(coding, accept))
    assert says in str(caught.value)


def test_no_private_httpx_name_is_used() -> None:
    """httpx's decoders are private: a release may change them (issue 12's review)."""
    source = Path(_body.__file__).read_text(encoding="utf-8")
    assert "httpx._" not in source
    assert "_get_content_decoder" not in source
