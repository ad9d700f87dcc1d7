from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Every async test runs on both anyio backends."""
    return str(request.param)


def _parser_module() -> Path:
    import streamstruct._json

    return Path(streamstruct._json.__file__)


def pytest_sessionstart(session: pytest.Session) -> None:
    """Refuse a compiled parser older than its source (built in place, then the source edited):
    the tests would run the old parser while the edits seemed to pass."""
    module = _parser_module()
    source = module.with_name("_json.py")
    if module != source and source.exists() and source.stat().st_mtime > module.stat().st_mtime:
        raise pytest.UsageError(
            f"{module} is older than {source}: rebuild it (python hatch_build.py --inplace) or "
            "delete it, or the tests run the old parser"
        )


def pytest_report_header() -> str:
    """Say which JSON parser the run exercises: the source, or the mypyc build of it."""
    module = _parser_module()
    if module.suffix == ".py":
        return "streamstruct JSON parser: pure Python"
    return f"streamstruct JSON parser: compiled (mypyc), {module.name}"
