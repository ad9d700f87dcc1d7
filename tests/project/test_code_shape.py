"""The shape issue 13 set for the package's code: no module over 600 lines, no function over 100,
none above cyclomatic complexity 25, maintainability grade A or B everywhere.

A long module or function is where the next maintainer gets lost (issue 13 split the parser's
335-line ``_parse`` and the 1,228-line assembler to get there); these tests fail when someone adds
one again, and name it. Read from the sources, so the answer is the same for the compiled build.
Complexity and maintainability are radon's figures (``radon cc -s -n E streamstruct``, ``radon mi
streamstruct``), read through its API: radon is a test dependency for this.
"""

from __future__ import annotations

import ast
from pathlib import Path

from radon.complexity import cc_visit
from radon.metrics import mi_rank, mi_visit
from radon.visitors import Class, Function

import streamstruct

PACKAGE = Path(streamstruct.__file__ or "").parent
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 100
MAX_COMPLEXITY = 25  # radon grade D at worst


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


def _blocks(blocks: list[Function | Class]) -> list[Function]:
    """Every function, method and closure among radon's ``blocks`` (classes opened)."""
    found: list[Function] = []
    for block in blocks:
        if isinstance(block, Class):
            found += _blocks([*block.methods, *block.inner_classes])
        else:
            found += [block, *_blocks(block.closures)]
    return found


def test_no_function_is_above_complexity_25() -> None:
    complex_ = {
        f"{path.relative_to(PACKAGE).as_posix()}:{block.fullname}": block.complexity
        for path in _modules()
        for block in _blocks(cc_visit(path.read_text(encoding="utf-8")))
        if block.complexity > MAX_COMPLEXITY
    }
    assert complex_ == {}


def test_every_module_is_maintainability_grade_a_or_b() -> None:
    graded = {
        path.relative_to(PACKAGE).as_posix(): rank
        for path in _modules()
        if (rank := mi_rank(mi_visit(path.read_text(encoding="utf-8"), True))) not in {"A", "B"}
    }
    assert graded == {}


def test_the_complexity_is_measured_in_methods_and_closures() -> None:
    # A closure of 26 branches inside a method: found, and counted as radon counts it.
    branches = "".join(f"            if x == {n}:\n                return {n}\n" for n in range(26))
    source = (
        f"class C:\n    def m(self):\n        def inner(x):\n{branches}\n        return inner\n"
    )
    found = {block.fullname: block.complexity for block in _blocks(cc_visit(source))}
    assert found["C.m"] == 1
    assert max(found.values()) == 27
