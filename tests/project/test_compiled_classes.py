"""The classes mypyc compiles take no weak reference they would leave dangling.

mypyc (2.4.1) gives a compiled class with a Python base (``typing.Generic``, an exception) a
``__dict__`` and a weak-reference slot, and its deallocator never clears the weak references
(mypyc/mypyc#1102): one outlives the object, and reading or dropping it crashes the interpreter.
pydantic makes such references without being asked: a model class defined inside a function
keeps weak references to that function's locals. So the compiled test run ended in a
segmentation fault at exit once a test held a ``PartialAssembler`` beside a model class of its
own (session 9). A native class with no Python base takes no weak reference at all.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import hatch_build

ROOT = Path(__file__).resolve().parents[2]

#: Bases a compiled class may have besides other compiled classes: ``object``, and the two whose
#: classes are never instances with a weak-reference slot (a NamedTuple is a tuple; a Protocol
#: is not instantiated).
NATIVE_BASES = {"object", "NamedTuple", "Protocol"}


def _compiled_classes() -> list[tuple[str, ast.ClassDef]]:
    found = []
    for relative in hatch_build.COMPILED_MODULES:
        tree = ast.parse((ROOT / relative).read_text(encoding="utf-8"))
        found += [(relative, node) for node in ast.walk(tree) if isinstance(node, ast.ClassDef)]
    return found


def test_no_compiled_class_has_a_python_base() -> None:
    compiled = {node.name for _, node in _compiled_classes()}
    wrong = [
        f"{path}: class {node.name}({ast.unparse(base)})"
        for path, node in _compiled_classes()
        for base in node.bases
        if not (isinstance(base, ast.Name) and base.id in compiled | NATIVE_BASES)
    ]
    assert wrong == [], (
        "compiled classes with a Python base (a weak-reference slot mypyc leaves dangling)"
    )


def test_the_check_sees_a_generic_base() -> None:
    # The check above reads bases as written: a subscripted Generic is not a compiled class.
    tree = ast.parse("class Reader(Generic[_Out]):\n    pass\n")
    (node,) = [n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)]
    assert not isinstance(node.bases[0], ast.Name)


SCRIPT = """
import gc, weakref
from typing import Iterable
from pydantic import BaseModel
from streamstruct import JSONParser, PartialAssembler
from streamstruct._core._json_refusals import LexError
from streamstruct._model._assembler import AssemblerCore
from streamstruct._request._modes import plan_request
from streamstruct._response._partial_reader import PartialReader
from streamstruct._response._reader import IterableReader

class User(BaseModel):
    name: str

MESSAGES = [{"role": "user", "content": "hi"}]

MAKERS = [
    lambda: PartialAssembler(User),
    lambda: AssemblerCore(User),
    lambda: JSONParser(),
    lambda: LexError("x", 0, "y"),
    lambda: PartialReader(plan_request(User, MESSAGES, mode="tools")),
    lambda: IterableReader(plan_request(Iterable[User], MESSAGES, mode="tools")),
]

taken = 0
for make in MAKERS:
    obj = make()
    fired = []
    try:
        ref = weakref.ref(obj, fired.append)
    except TypeError:
        continue  # takes none: nothing can dangle
    taken += 1
    name = type(obj).__name__
    del obj
    gc.collect()
    assert ref() is None and fired, name
assert taken >= 1  # LexError, an interpreted exception, does

def a_test_of_a_user() -> None:
    # pydantic keeps weak references to the locals of the function a model is defined in.
    assembler = PartialAssembler(User)
    parser = JSONParser()
    parser.feed('{"name": "Ada"}')
    assembler.advance(parser)

    class Local(BaseModel):
        user: User

    assert Local(user=assembler.finish(parser.close())).user.name == "Ada"

a_test_of_a_user()
gc.collect()
print("ok")
"""


def test_weak_references_to_the_core_objects_never_dangle() -> None:
    # In a child process: the failure is a segmentation fault, at the latest in the last
    # garbage collection at exit (the child runs whichever build this test runs).
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(SCRIPT)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert (result.returncode, result.stdout.strip()) == (0, "ok"), result.stderr[-2000:]
