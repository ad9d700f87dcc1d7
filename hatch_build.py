"""Build hook: on request, compile the per-event core with mypyc into the wheel being built.

streamstruct is pure Python, and stays so: the compiled modules are built from the very same
sources (mypyc turns typed Python into C extensions), so there is one parser and one assembler to
read, test and fix. The sans-I/O modules that run for every event of a stream are compiled:
``streamstruct/_core/_json.py`` (the JSON parser: 4-character pieces about twice as fast),
``streamstruct/_model/_assembler.py`` (``Partial`` snapshots and field events: about a third less CPU)
with what was split out of it (``_memo``, ``_fields``) and ``streamstruct/_model/_nodes.py`` (the tree
of the response type it walks, with ``_schema_facts``), the list reuse both call (``_recycle``),
and the SSE decoder, chunk decoding, the text log and the reader that chains them (``_sse``,
``_wire`` with ``_updates``, ``_text``, ``_reader``: together another ~1.5 us of the ~16 per event); see
docs/benchmarks.md. Everything else (the client, the streams, the models) is unchanged.

* By default a build is pure Python: ``pip install .`` and ``pip install -e .`` need nothing but
  hatchling, offline too.
* ``STREAMSTRUCT_COMPILE=1`` in the environment (what a release's wheel builds set) asks for the
  compiled modules: mypy and setuptools become build requirements, and a wheel that cannot be
  compiled (no C compiler, an interpreter mypyc does not support) is an error, not a quiet
  fallback. An editable install is never compiled, asked or not: an edit to the source must take
  effect at once, not be shadowed by an extension built from an older one.

``python hatch_build.py --inplace`` compiles into the source tree, for benchmarking a checkout
(delete every ``streamstruct/**/*.so`` afterwards to go back, never some: the compiled modules
link to each other; the test suite refuses to run against a module older than its
source). CI builds a wheel with ``STREAMSTRUCT_COMPILE=1``, checks it is
compiled, and runs the test suite against the compiled modules taken from it.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
COMPILED_MODULES = (
    "streamstruct/_core/_json.py",
    # The parser's state machine and lexer, split out of _json.py (issue 13), compiled with it: the
    # compiled JSONParser subclasses ValueBuilder (mypyc needs its base compiled too) and calls the
    # lexer per token. _json_options (read once per parser) stays Python.
    "streamstruct/_core/_json_builder.py",
    "streamstruct/_core/_json_lexer.py",
    "streamstruct/_core/_json_string.py",
    "streamstruct/_core/_json_containers.py",
    "streamstruct/_model/_assembler.py",
    # Split out of _assembler (compiled as they were inside it: they run for every event).
    "streamstruct/_model/_memo.py",
    "streamstruct/_model/_fields.py",
    "streamstruct/_model/_nodes.py",
    "streamstruct/_model/_schema_facts.py",
    # Split out of _assembler to keep it under 600 lines (issue 13): the level builder and the
    # text-progress counter run for every event, called from the compiled assembler.
    "streamstruct/_model/_level_builder.py",
    "streamstruct/_model/_text_progress.py",
    # What Atomic / NotNull withhold, looked at for every event of an annotated model's stream
    # (issue 16: at most 5% per event over a plain model).
    "streamstruct/_model/_withheld.py",
    # What they withhold, decided as each level is built (the view then only holds back events):
    # called per level built, with _level_builder (interpreted from compiled code, a call costs more).
    "streamstruct/_model/_withholding.py",
    # The reference-count list reuse both of them call per snapshot (compiled with them, as it was
    # when it was two copies inside them: an interpreted call from compiled code costs more).
    "streamstruct/_core/_recycle.py",
    "streamstruct/_core/_sse.py",
    "streamstruct/_core/_wire.py",
    # The Responses and Anthropic decoders: per event too, as _wire is for chat (interpreted, they
    # left those dialects 1.2-1.27x chat's compiled per-event cost, measured under load).
    "streamstruct/_core/_wire_responses.py",
    "streamstruct/_core/_wire_anthropic.py",
    # Their learnt envelopes, read for nearly every event of those streams (issue 15's speed
    # target: within 1.2x of chat's per-event cost).
    "streamstruct/_core/_envelope.py",
    # The update vocabulary _wire builds and _reader reads for every event (part of _wire until
    # issue 13): compiled with them, so the classes stay native to both.
    "streamstruct/_core/_updates.py",
    "streamstruct/_core/_text.py",
    "streamstruct/_response/_reader.py",
    # The one-object reader, split out of _reader (issue 13): it subclasses the compiled
    # ResponseReader and unwraps every event of a wrapped response type.
    "streamstruct/_response/_partial_reader.py",
    # The reader calls its event decoder once per event: interpreted, it cost the compiled e2e
    # benchmark 5-15% against main (2,000 rows, 16 KiB reads 0.154 -> 0.161-0.177 s CPU);
    # compiled, 1.02x (0.175 -> 0.178) and 1.01x with one event per read, in the same runs.
    "streamstruct/_core/_decoding.py",
)
COMPILE_VARIABLE = "STREAMSTRUCT_COMPILE"

# Run in a child process, so that setuptools and mypy stay out of the build backend's process.
_SETUP_SCRIPT = """
import os
from mypyc.build import mypycify
from setuptools import setup

modules = os.environ["STREAMSTRUCT_MYPYC_MODULES"].split()
setup(
    name="streamstruct-compiled",
    ext_modules=mypycify(
        # Only the modules named are compiled, and what they import is there for its types: its
        # own errors, or a third-party package missing from the build environment (the runtime
        # dependencies are not build requirements), must not stop the build.
        ["--follow-imports=silent", "--ignore-missing-imports"] + modules,
        opt_level="3",
        # Every module in one group, "streamstruct._native" (a shared library inside the package
        # plus a small stub beside each source): calls between them (the assembler calling _memo,
        # _fields, _recycle for every event) are native C calls, not the generic Python call
        # path. Against the previous grouping (only the _json* modules together, every other
        # module its own extension), the in-process pipeline (benchmarks.worker "pipeline", the
        # Report at 100 KB, 25,613 events, both trees loaded alternately, 7 rounds, the median of
        # 3 runs each) took 0.912x the CPU in tools mode (11.93 -> 10.96 us/event) and 0.925x in
        # content mode (11.70 -> 10.77), medians of the paired ratios (0.896-0.941).
        # A module of the group imported by another of it gets a wrong __file__ from mypyc
        # (the shared library's folder + the whole dotted name): find a source from its name.
        separate=[(modules, "streamstruct._native")],
        target_dir=os.environ["STREAMSTRUCT_MYPYC_C_DIR"],  # the generated C, out of the tree
    ),
)
"""


def wanted() -> bool:
    """Whether the build was asked to compile (``STREAMSTRUCT_COMPILE=1``)."""
    return os.environ.get(COMPILE_VARIABLE, "").strip().lower() in ("1", "true", "yes")


def compile_modules(destination: Path) -> list[Path]:
    """Compile ``COMPILED_MODULES`` and copy the extensions into ``destination/streamstruct``.

    Returns the paths of the extension files, relative to ``destination``. Raises
    ``subprocess.CalledProcessError`` when mypyc or the C compiler fails.
    """
    with tempfile.TemporaryDirectory(prefix="streamstruct-mypyc-") as work:
        build_lib = Path(work, "lib")
        arguments = ["build_ext", "--build-lib", str(build_lib), "--build-temp", f"{work}/tmp"]
        script = Path(work, "setup.py")
        script.write_text(_SETUP_SCRIPT)
        environment = {
            **os.environ,
            "STREAMSTRUCT_MYPYC_MODULES": " ".join(str(ROOT / path) for path in COMPILED_MODULES),
            "STREAMSTRUCT_MYPYC_C_DIR": str(Path(work, "c")),
        }
        subprocess.run(
            # Not run from the project's root: setuptools would read (and judge) its pyproject.toml.
            [sys.executable, str(script), *arguments],
            cwd=work,
            check=True,
            env=environment,
        )
        built = []
        for extension in sorted(build_lib.rglob("*")):
            if extension.is_file():
                relative = extension.relative_to(build_lib)
                target = destination / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(extension, target)
                built.append(relative)
        return built


try:
    from hatchling.builders.hooks.plugin.interface import BuildHookInterface
except ImportError:  # run as a script: python hatch_build.py --inplace
    BuildHookInterface = object  # type: ignore[assignment,misc]


class CompileHook(BuildHookInterface):  # type: ignore[misc,valid-type]
    """Hatchling's custom build hook (``[tool.hatch.build.targets.wheel.hooks.custom]``)."""

    PLUGIN_NAME = "custom"

    def dependencies(self) -> list[str]:
        return ["mypy>=1.11", "setuptools>=68"] if wanted() else []

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if version == "editable" or not wanted():
            return
        if platform.python_implementation() != "CPython":
            raise RuntimeError(
                f"{COMPILE_VARIABLE}=1: mypyc compiles for CPython only, not "
                f"{platform.python_implementation()}; build without it for a pure-Python wheel"
            )
        output = Path(tempfile.mkdtemp(prefix="streamstruct-compiled-"))
        self._compiled_output = output  # removed in finalize(), once the wheel holds the files
        try:
            built = compile_modules(output)
        except (OSError, subprocess.CalledProcessError) as error:
            shutil.rmtree(output, ignore_errors=True)
            raise RuntimeError(
                f"{COMPILE_VARIABLE}=1: compiling with mypyc failed ({error}); "
                "build without it for a pure-Python wheel: the same streams, only slower"
            ) from error
        for relative in built:
            build_data["force_include"][str(output / relative)] = relative.as_posix()
        build_data["pure_python"] = False
        build_data["infer_tag"] = True

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        output = getattr(self, "_compiled_output", None)
        if output is not None:
            shutil.rmtree(output, ignore_errors=True)


if __name__ == "__main__":
    if sys.argv[1:] != ["--inplace"]:
        sys.exit("usage: python hatch_build.py --inplace")
    for path in compile_modules(ROOT):
        print(f"compiled: {path}")
