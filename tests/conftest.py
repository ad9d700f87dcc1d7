from __future__ import annotations

import pytest


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Every async test runs on both anyio backends."""
    return str(request.param)


def pytest_report_header() -> str:
    """Say which JSON parser the run exercises: the source, or the mypyc build of it."""
    import streamstruct._json

    compiled = not streamstruct._json.__file__.endswith(".py")
    return f"streamstruct JSON parser: {'compiled (mypyc)' if compiled else 'pure Python'}"
