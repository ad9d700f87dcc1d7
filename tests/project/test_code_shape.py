"""The shape issue 13 set for the package's code: no module over 600 lines, no function over 100.

A long module or function is where the next maintainer gets lost (issue 13 split the parser's
335-line ``_parse`` and the 1,228-line assembler to get there); these tests fail when someone adds
one again, and name it. Read from the sources, so the answer is the same for the compiled build.
Cyclomatic complexity (at most 25: radon grade D) is checked with ``radon cc -s -n E streamstruct``,
which is not a test dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

import streamstruct

PACKAGE = Path(streamstruct.__file__ or "").parent
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 100


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _functions(tree: ast.Module) -> list[tuple[str, int]]:
    """Every function and method of ``tree`` (nested ones too), by qualified name, with its length
    in lines, decorators included."""
    found: list[tuple[str, int]] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                first = min([child.lineno, *(d.lineno for d in child.decorator_list)])
                found.append((prefix + child.name, (child.end_lineno or first) - first + 1))
                visit(child, f"{prefix}{child.name}.")
            elif isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")
            else:
                visit(child, prefix)

    visit(tree, "")
    return found


def test_the_package_is_read_from_its_sources() -> None:
    names = {path.relative_to(PACKAGE).as_posix() for path in _modules()}
    assert {"__init__.py", "_model/_assembler.py", "_core/_json.py"} <= names


def test_no_module_is_over_600_lines() -> None:
    long = {
        path.relative_to(PACKAGE).as_posix(): lines
        for path in _modules()
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}


def test_no_function_is_over_100_lines() -> None:
    long = {
        f"{path.relative_to(PACKAGE).as_posix()}:{name}": lines
        for path in _modules()
        for name, lines in _functions(ast.parse(path.read_text(encoding="utf-8")))
        if lines > MAX_FUNCTION_LINES
    }
    assert long == {}


def test_the_function_lengths_are_measured_as_they_read() -> None:
    source = "@decorated\ndef outer():\n    def inner():\n        pass\n\n    return inner\n"
    lengths = dict(_functions(ast.parse(source)))
    assert lengths == {"outer": 6, "outer.inner": 2}
