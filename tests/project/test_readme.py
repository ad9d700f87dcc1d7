"""The README is run, not just read: every ```python block executes, offline, as written.

(docs/testing.md's blocks too.)

A block runs in a fresh namespace with the ``OPENAI_*`` variables removed, so it takes its simulator
path. A block that defines ``test_`` functions is a test module: it is run by pytest, with the
plugin's fixtures. A block preceded by ``<!-- not-run -->`` (for one that needs a real endpoint) is
skipped by this file; there should be few.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

import streamstruct
import streamstruct.testing

pytest_plugins = ["pytester"]

README = Path(__file__).resolve().parents[2] / "README.md"
NOT_RUN = "<!-- not-run -->"


@dataclass(frozen=True)
class Block:
    line: int  # of the block's first line of code, 1-based
    code: str
    run: bool

    def __str__(self) -> str:
        return f"README.md:{self.line}"


def python_blocks(text: str) -> list[Block]:
    blocks: list[Block] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        if lines[index].strip() == "```python":
            start = index + 1
            end = lines.index("```", start)
            before = next((line for line in reversed(lines[:index]) if line.strip()), "")
            code = "\n".join(lines[start:end]) + "\n"
            blocks.append(Block(line=start + 1, code=code, run=before.strip() != NOT_RUN))
            index = end
        index += 1
    return blocks


TEXT = README.read_text(encoding="utf-8")
BLOCKS = python_blocks(TEXT)
TESTING_DOC = README.parent / "docs" / "testing.md"


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


def test_the_readme_leads_with_the_two_commands() -> None:
    demo = "python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/python -m streamstruct demo"
    tests = "python3 -m venv .venv && .venv/bin/pip install -e '.[test]' && .venv/bin/python -m pytest -q"
    assert TEXT.index(demo) < TEXT.index(tests) < TEXT.index("## Quick start")


def test_the_readme_has_its_sections() -> None:
    headings = re.findall(r"^## (.+)$", TEXT, flags=re.MULTILINE)
    for heading in (
        "Quick start",
        "Partial vs Iterable",
        "Modes",
        "Per-field completion and events",
        "Errors and what they carry",
        "Retries and timeouts",
        "Testing your code with the simulator",
        "Benchmarks",
        "Coming from instructor",
    ):
        assert heading in headings


def test_most_blocks_run() -> None:
    assert len(BLOCKS) >= 6
    assert sum(not block.run for block in BLOCKS) <= 2


def test_the_names_the_readme_uses_exist() -> None:
    for name in set(re.findall(r"streamstruct\.(?!testing\b)([A-Za-z_]\w*)", TEXT)):
        assert hasattr(streamstruct, name), name
    for name in set(re.findall(r"streamstruct\.testing\.([A-Za-z_]\w*)", TEXT)):
        assert hasattr(streamstruct.testing, name), name
    for name in re.findall(r"`(\w+)\(", TEXT):  # faults and helpers named in the tables
        if name[0].isupper() and name not in {"Iterable", "Partial", "User"}:
            assert hasattr(streamstruct, name) or hasattr(streamstruct.testing, name), name


SCRIPTS = [block for block in BLOCKS if block.run and "def test_" not in block.code]
TEST_MODULES = [block for block in BLOCKS if block.run and "def test_" in block.code]


@pytest.mark.parametrize("block", SCRIPTS, ids=str)
def test_block_runs(block: Block, capsys: pytest.CaptureFixture[str]) -> None:
    # Padded so that a traceback names the README's own line numbers.
    # dont_inherit: not this file's `from __future__ import annotations` (a block runs as written)
    code = compile("\n" * (block.line - 1) + block.code, str(README), "exec", dont_inherit=True)
    exec(code, {"__name__": "__main__"})
    assert capsys.readouterr().out.strip(), "a README example should show something"


@pytest.mark.parametrize("block", TEST_MODULES, ids=str)
def test_block_of_tests_passes(block: Block, pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_from_readme=block.code)
    result = pytester.runpytest("-W", "error", "-p", "no:cacheprovider")
    outcomes = result.parseoutcomes()
    assert result.ret == 0, result.stdout.str()
    assert outcomes.get("passed", 0) >= block.code.count("def test_")


@pytest.mark.parametrize(
    "block",
    python_blocks(TESTING_DOC.read_text(encoding="utf-8")),
    ids=lambda b: f"testing.md:{b.line}",
)
def test_docs_testing_block_runs(block: Block) -> None:
    code = compile("\n" * (block.line - 1) + block.code, str(TESTING_DOC), "exec")
    exec(code, {"__name__": "__main__"})
