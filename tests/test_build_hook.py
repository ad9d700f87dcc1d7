"""The wheel build hook (hatch_build.py): compiles the JSON parser when it can, else builds pure.

Compiling for real is CI's job (it builds in place and runs the whole suite against the result);
these tests pin the decisions around it.
"""

from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]


def load_hook() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "streamstruct_hatch_build", ROOT / "hatch_build.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class FakeApp:
    def __init__(self) -> None:
        self.warnings: list[str] = []

    def display_warning(self, message: str) -> None:
        self.warnings.append(message)


def make_hook(module: ModuleType, directory: Path) -> Any:
    hook = module.CompileHook.__new__(module.CompileHook)
    # The attributes hatchling's interface exposes, set directly: hatchling itself is not a test
    # dependency (it lives in the isolated build environment).
    fake_app = FakeApp()
    type(hook).app = property(lambda self: fake_app)  # type: ignore[attr-defined]
    type(hook).directory = property(lambda self: str(directory))  # type: ignore[attr-defined]
    return hook


def fresh_build_data() -> dict[str, Any]:
    return {"force_include": {}, "pure_python": True, "infer_tag": False}


@pytest.mark.parametrize("value", ["1", "true", "YES"])
def test_the_environment_variable_switches_compiling_off(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    module = load_hook()
    monkeypatch.setenv("STREAMSTRUCT_PURE_PYTHON", value)
    assert not module.wanted()
    assert make_hook(module, ROOT).dependencies() == []


def test_compiling_needs_mypy_and_setuptools_at_build_time(monkeypatch: pytest.MonkeyPatch) -> None:
    module = load_hook()
    monkeypatch.delenv("STREAMSTRUCT_PURE_PYTHON", raising=False)
    assert module.wanted()  # the tests run on CPython
    assert [name.split(">")[0] for name in make_hook(module, ROOT).dependencies()] == [
        "mypy",
        "setuptools",
    ]


def test_an_editable_install_is_never_compiled(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    module = load_hook()
    monkeypatch.delenv("STREAMSTRUCT_PURE_PYTHON", raising=False)
    monkeypatch.setattr(module, "compile_modules", lambda destination: pytest.fail("compiled"))
    data = fresh_build_data()
    make_hook(module, tmp_path).initialize("editable", data)
    assert data == fresh_build_data()


def test_a_failed_compile_builds_a_pure_wheel_and_says_so(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    module = load_hook()
    monkeypatch.delenv("STREAMSTRUCT_PURE_PYTHON", raising=False)

    def fail(destination: Path) -> list[Path]:
        raise subprocess.CalledProcessError(1, ["cc"])

    monkeypatch.setattr(module, "compile_modules", fail)
    hook = make_hook(module, tmp_path)
    data = fresh_build_data()
    hook.initialize("standard", data)
    assert data == fresh_build_data()
    assert len(hook.app.warnings) == 1
    assert "pure-Python wheel" in hook.app.warnings[0]


def test_a_compiled_build_ships_the_extensions_with_a_platform_tag(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    module = load_hook()
    monkeypatch.delenv("STREAMSTRUCT_PURE_PYTHON", raising=False)
    built = [Path("streamstruct/_json.so"), Path("streamstruct/_json__mypyc.so")]
    monkeypatch.setattr(module, "compile_modules", lambda destination: built)
    data = fresh_build_data()
    make_hook(module, tmp_path).initialize("standard", data)
    output = tmp_path / ".streamstruct-compiled"
    assert data == {
        "force_include": {str(output / path): path.as_posix() for path in built},
        "pure_python": False,
        "infer_tag": True,
    }
