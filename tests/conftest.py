from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from streamstruct.testing import Simulator

# streamstruct's pytest plugin is opt-in: this is how a project asks for it.
pytest_plugins = ["streamstruct.testing.pytest_plugin"]


@pytest.fixture
def simulator() -> Simulator:
    """The suite's short name for the simulator behind the plugin's client and URL fixtures.

    A module or class overrides ``simulator`` to change its settings, as the suite always has;
    ``streamstruct_simulator`` (the plugin's fixture) follows it.
    """
    return Simulator()


@pytest.fixture
def streamstruct_simulator(simulator: Simulator) -> Simulator:
    return simulator


@pytest.fixture
def simulator_url(streamstruct_simulator_url: str) -> str:
    """The suite's short name for ``streamstruct_simulator_url`` (uvicorn on 127.0.0.1)."""
    return streamstruct_simulator_url


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Every async test runs on both anyio backends."""
    return str(request.param)


@pytest.fixture
def mypy_strict(tmp_path: Path) -> Callable[[str], subprocess.CompletedProcess[str]]:
    """Run ``mypy --strict`` on one file of the repository (a path from its root): the result."""

    def run(file: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "mypy",
                "--strict",
                "--follow-imports=silent",  # this file's errors only, not the package's
                "--cache-dir",
                str(tmp_path),
                file,
            ],
            cwd=Path(__file__).parent.parent,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    return run


def _compiled_names() -> tuple[str, ...]:
    """The modules a STREAMSTRUCT_COMPILE=1 wheel carries compiled: hatch_build.COMPILED_MODULES."""
    import ast

    tree = ast.parse((Path(__file__).resolve().parents[1] / "hatch_build.py").read_text())
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and getattr(node.targets[0], "id", "") == "COMPILED_MODULES"
        ):
            paths = ast.literal_eval(node.value)
            return tuple(".".join(Path(path).with_suffix("").parts[1:]) for path in paths)
    raise RuntimeError("hatch_build.py has no COMPILED_MODULES")


COMPILED = _compiled_names()


def _module_files() -> list[Path]:
    import importlib

    package = Path(importlib.import_module("streamstruct").__file__ or "").parent
    files = []
    for name in COMPILED:
        file = Path(importlib.import_module(f"streamstruct.{name}").__file__ or "")
        # Beside its source, whatever __file__ says: mypyc gives a module of a group imported by
        # another of the group the shared library's folder + the whole dotted name (doubled).
        files.append(package.joinpath(*name.split(".")[:-1], file.name))
    return files


def pytest_sessionstart(session: pytest.Session) -> None:
    """Refuse a compiled module older than its source (built in place, then the source edited):
    the tests would run the old code while the edits seemed to pass."""
    for module in _module_files():
        source = module.with_name(module.name.split(".")[0] + ".py")
        if module != source and source.exists() and source.stat().st_mtime > module.stat().st_mtime:
            raise pytest.UsageError(
                f"{module} is older than {source}: rebuild (python hatch_build.py --inplace) or "
                "delete every streamstruct/**/*.so, or the tests run the old code"
            )


def pytest_report_header() -> str:
    """Say which build the run exercises: the sources, or the mypyc build of them."""
    files = _module_files()
    compiled = [f.name for f in files if f.suffix != ".py"]
    if not compiled:
        return "streamstruct per-event modules: pure Python"
    return "streamstruct per-event modules: compiled (mypyc), " + ", ".join(compiled)
