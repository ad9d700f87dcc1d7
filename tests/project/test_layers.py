"""The import contract of the whole package: which layer may import which.

The package is layered as its folders show (docs/architecture.md draws it):

    _errors  <  _core  <  _model  <  _request  <  _response  <  _io  <  testing  <  web  <  _demo (the CLI demo)  <  __main__

A module may import from its own layer and the layers below it, never above: the core parses
bytes without knowing about pydantic, the model side builds partials without knowing how the
request was made, and nothing in the library imports the test tools or the web helpers. Each
layer may also use only some third-party packages: the core the standard library alone, the
model side pydantic but no HTTP client or event loop.

Read from the sources (every ``import`` statement, those under ``TYPE_CHECKING`` included: an
arrow in a type is an arrow all the same), so the answer is the same for the compiled build.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import streamstruct

PACKAGE = Path(streamstruct.__file__ or "").parent

# The rank of each layer: a module may import a module of the same or a lower rank.
RANKS = {
    "_errors": 0,
    "_path": 0,
    "_core": 1,
    "_model": 2,
    "_request": 3,
    "_response": 4,
    "_io": 5,
    "_build": 6,
    "__init__": 6,
    "testing": 7,
    "web": 8,
    "_demo": 9,
    "__main__": 10,
}

# Third-party packages each layer may import (the standard library is always allowed).
ALLOWED_THIRD_PARTY = {
    "_errors": set(),
    "_path": set(),
    "_core": set(),
    "_model": {"pydantic", "pydantic_core", "typing_extensions"},
    "_request": {"pydantic", "pydantic_core", "typing_extensions", "httpx"},
    "_response": {"pydantic", "pydantic_core", "typing_extensions"},
}
EVENT_LOOPS_AND_HTTP = {"httpx", "httpcore", "anyio", "trio", "h11"}


@dataclass(frozen=True)
class Import:
    importer: str  # dotted, e.g. streamstruct._core._json
    target: str  # dotted, absolute
    line: int


def _dotted(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> Iterator[Import]:
    return _imports_in(path.read_text(encoding="utf-8"), _dotted(path), path.name == "__init__.py")


def _imports_in(source: str, importer: str, is_package: bool) -> Iterator[Import]:
    """Every import of ``source`` (the text of module ``importer``), made absolute."""
    package = importer if is_package else importer.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(importer, alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            if node.level and not node.module:  # from . import name: a module, or a name
                for alias in node.names:  # the package's __init__ defines
                    named = f"{module}.{alias.name}"
                    yield Import(importer, named if _is_module(named) else module, node.lineno)
            else:
                yield Import(importer, module, node.lineno)


def _is_module(dotted: str) -> bool:
    path = PACKAGE.parent.joinpath(*dotted.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _layer(dotted: str) -> str:
    """The layer of a module of the package: its first component below ``streamstruct``."""
    parts = dotted.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _all_imports() -> list[Import]:
    return [found for path in sorted(PACKAGE.rglob("*.py")) for found in _imports(path)]


def _is_package_module(dotted: str) -> bool:
    return dotted == "streamstruct" or dotted.startswith("streamstruct.")


def test_every_module_belongs_to_a_known_layer() -> None:
    layers = {_layer(_dotted(path)) for path in PACKAGE.rglob("*.py")}
    assert layers <= set(RANKS), f"modules outside the known layers: {layers - set(RANKS)}"
    flat = sorted(p.name for p in PACKAGE.glob("_*.py") if p.stem not in RANKS)
    assert not flat, f"private modules at the top of the package, outside any layer: {flat}"


def test_no_import_runs_up_the_layers() -> None:
    upward = [
        f"{found.importer}:{found.line} imports {found.target}"
        for found in _all_imports()
        if _is_package_module(found.target)
        and found.target != "streamstruct"  # the package's own names (the CLI, the web demo)
        and RANKS[_layer(found.target)] > RANKS[_layer(found.importer)]
    ]
    assert not upward, "\n".join(upward)


@pytest.mark.parametrize("layer", sorted(ALLOWED_THIRD_PARTY))
def test_each_layer_imports_only_its_allowed_third_party_packages(layer: str) -> None:
    allowed = ALLOWED_THIRD_PARTY[layer] | set(sys.stdlib_module_names) | {"streamstruct"}
    stray = [
        f"{found.importer}:{found.line} imports {found.target}"
        for found in _all_imports()
        if _layer(found.importer) == layer and found.target.split(".")[0] not in allowed
    ]
    assert not stray, "\n".join(stray)


def test_the_core_and_the_model_side_do_no_io() -> None:
    # Bytes and text in, values out: no HTTP client or event loop below the I/O shell's line.
    doing_io = [
        f"{found.importer} imports {found.target}"
        for found in _all_imports()
        if _layer(found.importer) in {"_errors", "_path", "_core", "_model", "_response"}
        and found.target.split(".")[0] in EVENT_LOOPS_AND_HTTP
    ]
    assert not doing_io, "\n".join(doing_io)


@pytest.mark.parametrize(
    "source",
    ["from .._io._client import AsyncClient\n", "import streamstruct._io._stream\n"],
)
def test_the_contract_reader_sees_an_upward_import(source: str) -> None:
    # The reader of the contract itself: a core module importing the I/O shell is caught,
    # written relative or absolute.
    (found,) = _imports_in(source, "streamstruct._core._x", is_package=False)
    assert _layer(found.target) == "_io"
    assert RANKS[_layer(found.target)] > RANKS[_layer(found.importer)]


def test_the_contract_reader_resolves_relative_imports_from_a_package() -> None:
    found = list(
        _imports_in("from . import _json\nfrom .._errors import X\n", "streamstruct._core", True)
    )
    assert [f.target for f in found] == ["streamstruct._core._json", "streamstruct._errors"]
