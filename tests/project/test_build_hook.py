"""The wheel build hook (hatch_build.py): pure Python unless asked, compiled or failing when asked.

Compiling for real is CI's job (it builds a wheel with STREAMSTRUCT_COMPILE=1, checks it is
compiled and runs the whole suite against it); these tests pin the decisions around it.
"""

from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def load_hook() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "streamstruct_hatch_build", ROOT / "hatch_build.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make_hook(module: ModuleType) -> Any:
    # Built without hatchling's constructor: hatchling is not a test dependency (it lives in the
    # isolated build environment), and the hook reads nothing of what it sets.
    return module.CompileHook.__new__(module.CompileHook)


def fresh_build_data() -> dict[str, Any]:
    return {"force_include": {}, "pure_python": True, "infer_tag": False}


def never_called(destination: Path) -> list[Path]:
    raise AssertionError("compiled although not asked to")


@pytest.mark.parametrize("value", [None, "", "0", "no"])
def test_a_build_is_pure_python_and_needs_nothing_unless_asked(
    monkeypatch: pytest.MonkeyPatch, value: str | None
) -> None:
    module = load_hook()
    if value is None:
        monkeypatch.delenv("STREAMSTRUCT_COMPILE", raising=False)
    else:
        monkeypatch.setenv("STREAMSTRUCT_COMPILE", value)
    monkeypatch.setattr(module, "compile_modules", never_called)
    hook = make_hook(module)
    assert hook.dependencies() == []  # an offline install needs hatchling alone
    data = fresh_build_data()
    hook.initialize("standard", data)
    assert data == fresh_build_data()


@pytest.mark.parametrize("value", ["1", "true", "YES"])
def test_asking_to_compile_brings_mypy_and_setuptools(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    module = load_hook()
    monkeypatch.setenv("STREAMSTRUCT_COMPILE", value)
    assert [name.split(">")[0] for name in make_hook(module).dependencies()] == [
        "mypy",
        "setuptools",
    ]


def test_an_editable_install_is_never_compiled(monkeypatch: pytest.MonkeyPatch) -> None:
    module = load_hook()
    monkeypatch.setenv("STREAMSTRUCT_COMPILE", "1")
    monkeypatch.setattr(module, "compile_modules", never_called)
    data = fresh_build_data()
    make_hook(module).initialize("editable", data)
    assert data == fresh_build_data()


def test_a_compile_that_fails_when_asked_for_fails_the_build(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    module = load_hook()
    monkeypatch.setenv("STREAMSTRUCT_COMPILE", "1")
    outputs: list[Path] = []

    def fail(destination: Path) -> list[Path]:
        outputs.append(destination)
        raise subprocess.CalledProcessError(1, ["cc"])

    monkeypatch.setattr(module, "compile_modules", fail)
    with pytest.raises(RuntimeError, match="compiling with mypyc failed"):
        make_hook(module).initialize("standard", fresh_build_data())
    assert len(outputs) == 1
    assert not outputs[0].exists()  # nothing left behind


def test_a_compiled_build_ships_the_extensions_with_a_platform_tag_and_cleans_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    module = load_hook()
    monkeypatch.setenv("STREAMSTRUCT_COMPILE", "1")
    built = [Path("streamstruct/_json.so"), Path("streamstruct/_json__mypyc.so")]
    outputs: list[Path] = []

    def compile_into(destination: Path) -> list[Path]:
        outputs.append(destination)
        return built

    monkeypatch.setattr(module, "compile_modules", compile_into)
    hook = make_hook(module)
    data = fresh_build_data()
    hook.initialize("standard", data)
    (output,) = outputs
    assert data == {
        "force_include": {str(output / path): path.as_posix() for path in built},
        "pure_python": False,
        "infer_tag": True,
    }
    assert output.is_dir()
    hook.finalize("standard", data, "dist/streamstruct.whl")
    assert not output.exists()


def test_the_release_wheels_of_other_platforms_are_compiled_and_checked() -> None:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+; the configuration is the same
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["cibuildwheel"]
    assert config["environment"] == {"STREAMSTRUCT_COMPILE": "1"}  # a wheel that cannot be, fails
    assert "build_info().build != 'compiled'" in config["test-command"]  # and each is checked
    assert {"cp310-*", "cp314-*"} <= set(config["build"])
    assert config["linux"]["archs"] == ["x86_64", "aarch64"]
