"""The memory section in each build (issue 14: both builds in one run): each figure comes from a
child on the build's copy of streamstruct, which says which build it imported; a child that says
another is refused, and a build that cannot be made is left out and said. No figure is checked."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # `benchmarks` is a package beside `streamstruct`, not installed
    sys.path.insert(0, str(ROOT))

import streamstruct  # noqa: E402
from benchmarks import builds, memory  # noqa: E402

needs_proc = pytest.mark.skipif(
    not memory._STATUS.exists(), reason="the memory figures read Linux's /proc/self/status"
)


def _tiny_rows(folder: Path) -> Path:
    json_file = folder / "rows.json"
    json_file.write_text(memory.document_json(memory.ROWS, 2_000)[0], encoding="utf-8")
    return json_file


@needs_proc
def test_a_child_started_for_a_build_says_that_build(tmp_path: Path) -> None:
    peak = memory.measure(memory.REFERENCE, memory.ROWS, _tiny_rows(tmp_path), 4, 16_384, "pure")
    assert peak.build == builds.PURE
    assert peak.json_bytes > 0


@needs_proc
def test_a_child_that_imported_another_build_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The checkout itself (the sources, or the compiled modules beside them in CI's compiled run)
    # handed out as the copy of the other build.
    here = streamstruct.build_info().build
    other = builds.COMPILED if here == builds.PURE else builds.PURE
    monkeypatch.setattr(memory, "prepare", lambda build: ROOT)
    with pytest.raises(builds.MislabelledBuildError, match=f"the {other} worker imported a {here}"):
        memory.measure(memory.REFERENCE, memory.ROWS, _tiny_rows(tmp_path), 4, 16_384, other)


@needs_proc
def test_a_child_that_imported_from_outside_its_copy_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An empty folder handed out as the copy: the child finds streamstruct in the checkout, of
    # the right build, but not where it was sent.
    here = streamstruct.build_info().build
    copy = tmp_path / "copy"
    copy.mkdir()
    monkeypatch.setattr(memory, "prepare", lambda build: copy)
    with pytest.raises(builds.MislabelledBuildError, match=r"streamstruct\._core\._json from"):
        memory.measure(memory.REFERENCE, memory.ROWS, _tiny_rows(tmp_path), 4, 16_384, here)


@needs_proc
def test_a_build_that_cannot_be_made_is_left_out_and_said(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memory, "compiled_unavailable", lambda: "no compiler here")
    results = memory.run(size=20_000, builds=(builds.COMPILED,))
    assert results.peaks == []
    assert results.skipped_builds == {builds.COMPILED: "no compiler here"}
    assert memory.targets(results) == []
    assert "The compiled build skipped: no compiler here." in memory.format_results(results)


def test_targets_are_per_build_and_named() -> None:
    results = memory.MemoryResults(1_000)
    for build in (builds.PURE, builds.COMPILED):
        for kind in memory.KINDS:
            for document in (*memory.DOCUMENTS, *memory.SHAPES):
                above = 1_000 if build == builds.PURE else 2_000
                results.peaks.append(
                    memory.Peak(
                        kind, document, 1_000, 0, above // 1024 + 1, 0, 0.1, 0, 0, build=build
                    )
                )
    found = memory.targets(results)
    assert {t.what.rsplit(" ", 1)[-1] for t in found} == {"(pure)", "(compiled)"}
    assert len(found) % 2 == 0
    pure = [t.what.removesuffix(" (pure)") for t in found if t.what.endswith("(pure)")]
    compiled = [t.what.removesuffix(" (compiled)") for t in found if t.what.endswith("(compiled)")]
    assert pure == compiled  # the same targets, one set per build
