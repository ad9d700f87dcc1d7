"""The public API is exactly what ``streamstruct.__all__`` lists, sorted, and every name exists."""

from __future__ import annotations

import streamstruct


def test_all_is_sorted_and_unique() -> None:
    assert list(streamstruct.__all__) == sorted(set(streamstruct.__all__))


def test_every_exported_name_exists_and_is_public() -> None:
    for name in streamstruct.__all__:
        member = getattr(streamstruct, name)
        module = getattr(member, "__module__", "streamstruct")
        assert module.startswith("streamstruct"), name


def test_nothing_public_is_left_out() -> None:
    public = {
        name
        for name, value in vars(streamstruct).items()
        if not name.startswith("_") and getattr(value, "__module__", "").startswith("streamstruct.")
    }
    assert public <= set(streamstruct.__all__)


def test_errors_share_one_root() -> None:
    for name in streamstruct.__all__:
        member = getattr(streamstruct, name)
        if isinstance(member, type) and issubclass(member, Exception):
            assert issubclass(member, streamstruct.StreamStructError), name


def test_the_web_module_exports_a_sorted_all_of_existing_names() -> None:
    from streamstruct import web

    assert list(web.__all__) == sorted(set(web.__all__))
    assert set(web.__all__) == {"CLIENT_JS", "PROTOCOL_VERSION", "SSE_HEADERS", "json_text", "sse"}
    for name in web.__all__:
        assert getattr(web, name) is not None
    public = {
        name
        for name, value in vars(web).items()
        if not name.startswith("_") and getattr(value, "__module__", "").startswith("streamstruct.")
    }
    assert public <= set(web.__all__)
