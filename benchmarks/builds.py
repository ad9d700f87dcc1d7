"""Both builds of streamstruct in one run: a pure copy and a compiled copy, each in a child process.

A user runs one build or the other (``streamstruct.build_info()`` says which), so the end-to-end
and concurrency sections measure both, side by side, whatever this checkout has in it:

- **pure**: a copy of the package's sources (no extension module, even if ``hatch_build.py
  --inplace`` left some in the tree);
- **compiled**: the same copy with ``hatch_build.COMPILED_MODULES`` compiled into it by
  ``hatch_build.compile_modules`` (mypyc and a C compiler: about a minute, once).

Both are cached under ``$XDG_CACHE_HOME/streamstruct-benchmarks`` (``~/.cache`` by default), keyed
by a hash of the sources, the build hook and the interpreter: an edit to any of them makes new
copies. Each copy runs in a ``benchmarks.worker`` child whose first line says which build it
imported; :class:`Worker` refuses one that is not the build it was started as (a copy made wrong,
an import from elsewhere), so a figure is never reported under the wrong build's name.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any, Final

__all__ = [
    "BUILDS",
    "COMPILED",
    "PURE",
    "MislabelledBuildError",
    "Worker",
    "Workers",
    "cache_root",
    "check_build",
    "compiled_unavailable",
    "prepare",
    "source_key",
]

PURE: Final = "pure"
COMPILED: Final = "compiled"
BUILDS: Final = (PURE, COMPILED)
_ROOT: Final = Path(__file__).resolve().parents[1]
_PACKAGE: Final = _ROOT / "streamstruct"


class MislabelledBuildError(RuntimeError):
    """A worker imported another build than the one it was started as."""


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "streamstruct-benchmarks"


def _hatch_build() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "_streamstruct_hatch_build", _ROOT / "hatch_build.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def source_key() -> str:
    """A hash of what a copy is made from: the package's sources, the build hook, the interpreter."""
    digest = hashlib.sha256(sys.version.encode())
    for path in [*sorted(_PACKAGE.rglob("*.py")), _ROOT / "hatch_build.py"]:
        digest.update(str(path.relative_to(_ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def compiled_unavailable() -> str | None:
    """None when the compiled build can be made here, else why not."""
    if sys.implementation.name != "cpython":
        return f"mypyc compiles for CPython only, not {sys.implementation.name}"
    missing = [name for name in ("mypy", "setuptools") if importlib.util.find_spec(name) is None]
    if missing:
        return f"compiling needs {' and '.join(missing)} (pip install -e '.[test]')"
    return None


def prepare(build: str, *, say: Any = None) -> Path:
    """The folder holding the copy of ``streamstruct`` for ``build``, made on first use."""
    folder = cache_root() / f"{source_key()}-{build}"
    if (folder / "complete").exists():
        return folder
    if say is not None:
        say(f"making the {build} copy of streamstruct in {folder}")
    work = folder.with_name(f"{folder.name}.{os.getpid()}.tmp")
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(
        _PACKAGE,
        work / "streamstruct",
        ignore=shutil.ignore_patterns("*.so", "*.pyd", "__pycache__"),
    )
    if build == COMPILED:
        with _stdout_to_stderr():  # the compiler's chatter is not the suite's output
            _hatch_build().compile_modules(work)
    elif build != PURE:
        raise ValueError(f"unknown build {build!r}: choose from {', '.join(BUILDS)}")
    (work / "complete").write_text(source_key() + "\n")
    try:
        work.rename(folder)
    except OSError:  # another run made it meanwhile: theirs is as good
        shutil.rmtree(work, ignore_errors=True)
    return folder


@contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def check_build(build: str, hello: dict[str, Any], folder: Path | None = None) -> None:
    """Raise :class:`MislabelledBuildError` unless the worker's ``hello`` is of ``build``, every
    core module imported from ``folder`` (the copy it was started on) when given."""
    said = hello.get("build")
    files: dict[str, str] = hello.get("files", {})
    strays = (
        [] if folder is None else [p for p in files.values() if Path(folder) not in Path(p).parents]
    )
    if said != build or strays:
        modules = ", ".join(f"{k} from {v}" for k, v in sorted(files.items()))
        raise MislabelledBuildError(
            f"the {build} worker imported a {said} build ({modules}): not reported"
        )


class Worker:
    """A ``benchmarks.worker`` child running one build; ``ask(command)`` sends it one command."""

    def __init__(self, build: str, folder: Path) -> None:
        self.build = build
        env = {
            **os.environ,
            # the copy first, then the checkout (for ``benchmarks``): the checkout's own
            # streamstruct, and an editable install's, come after and are never imported
            "PYTHONPATH": os.pathsep.join([str(folder), str(_ROOT)]),
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        self._process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.worker"],
            cwd=folder,  # ``-m`` puts the working directory first on sys.path
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            self.hello = self._read()
            check_build(build, self.hello, folder)
        except BaseException:
            self.close()
            raise

    @property
    def pid(self) -> int:
        return self._process.pid

    def _read(self) -> dict[str, Any]:
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            raise RuntimeError(f"the {self.build} worker exited ({self._process.wait()})")
        answer: dict[str, Any] = json.loads(line)
        if "error" in answer:
            raise RuntimeError(f"the {self.build} worker: {answer['error']}")
        return answer

    def ask(self, **command: Any) -> dict[str, Any]:
        assert self._process.stdin is not None
        self._process.stdin.write(json.dumps(command) + "\n")
        self._process.stdin.flush()
        return self._read()

    def close(self) -> None:
        if self._process.stdin is not None and not self._process.stdin.closed:
            self._process.stdin.close()
        try:
            self._process.wait(30)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        if self._process.stdout is not None:
            self._process.stdout.close()


class Workers:
    """One :class:`Worker` per build asked for, those that can be made here; a context manager.

    A build that cannot be made (no compiler, no mypy) is left out and ``skipped`` says why; a
    worker that imports the wrong build raises :class:`MislabelledBuildError`.
    """

    def __init__(self, builds: tuple[str, ...] | list[str] = BUILDS, *, say: Any = None) -> None:
        self._builds = tuple(builds)
        self._say = say
        self.workers: dict[str, Worker] = {}
        self.skipped: dict[str, str] = {}

    def __enter__(self) -> Workers:
        try:
            for build in self._builds:
                why = compiled_unavailable() if build == COMPILED else None
                if why is None:
                    try:
                        folder = prepare(build, say=self._say)
                    except subprocess.CalledProcessError as error:
                        why = f"compiling failed: {error}"
                if why is not None:
                    self.skipped[build] = why
                    continue
                self.workers[build] = Worker(build, folder)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        for worker in self.workers.values():
            worker.close()

    def hellos(self) -> dict[str, dict[str, Any]]:
        return {build: worker.hello for build, worker in self.workers.items()}
