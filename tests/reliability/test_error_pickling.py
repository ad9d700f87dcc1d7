"""Every error pickles, whatever it carries: a service that hands errors to another process
(multiprocessing, a task queue, a cache) gets them back whole.

Each class of the tree is made with realistic attributes - a ``Partial[M]`` snapshot with nested
partial and complete models, the items of an iterable, pydantic's error dicts, a body, a status, a
request id - pickled and unpickled, here and in a fresh process (where ``Partial[M]`` does not exist
yet and is made again from ``M``). Errors raised by real streams over a loopback socket are pickled
too. The same tests run against the compiled build (CI), whose reader and assembler build them.
"""

from __future__ import annotations

import inspect
import os
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import pytest
import reliability_support
from pydantic import BaseModel, ValidationError, field_validator
from reliability_support import KEY, MESSAGES, Writer, content_chunk, frame, raw_server

import streamstruct
from streamstruct import Partial, _errors

# The three flavours (the async client on asyncio and on trio, the sync client): pytest takes
# a fixture by the name it is bound to here.
anyio_backend = reliability_support.anyio_backend
flavour = reliability_support.flavour


class Address(BaseModel):
    city: str
    zip: str


class Person(BaseModel):
    name: str
    age: int
    home: Address
    past: list[Address]

    @field_validator("age")
    @classmethod
    def adult(cls, value: int) -> int:
        if value < 18:
            raise ValueError("must be an adult")
        return value


def _snapshot() -> Any:
    """A snapshot as a stream shows it: a partial root, a partial and a complete nested model."""
    snapshot = Partial[Person](
        name="Zoë",
        home=Partial[Address](city="Par"),
        past=[Address(city="Lyon", zip="69001"), Partial[Address](city="Ni")],
    )
    return snapshot


def _validation_errors() -> list[Any]:
    with pytest.raises(ValidationError) as caught:
        Person.model_validate({"name": "Zoë", "age": 3, "home": {"city": "Paris"}, "past": []})
    return caught.value.errors()  # with ctx holding the validator's ValueError, and the input


# Realistic values for every keyword any error class takes; a keyword not listed here fails the
# test, so a new class (or a new attribute) cannot go untested.
_VALUES: dict[str, Any] = {
    "partial": _snapshot(),
    "text": '{"name": "Zoë", "home": {"city": "Par',
    "status_code": 429,
    "body": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"},
    "request_id": "req_0123456789",
    "limit": 1024 * 1024,
    "offset": 17,
    "line": 1,
    "column": 18,
    "expected": "',' or '}'",
    "finish_reason": "length",
    "refusal": "I can't help with that.",
    "errors": _validation_errors(),
    "path": ("past", 1, "zip"),
    "index": 2,
    "raw": '{"city": "Nice", "zip": 6}',
    "argument": "messages[0]",
    "response_model": list[int],
    "parse_error": streamstruct.JSONParseError(
        "unexpected '}'", offset=17, line=1, column=18, expected="',' or '}'"
    ),
}


def _every_error_class() -> list[type[streamstruct.StreamStructError]]:
    classes = [getattr(_errors, name) for name in _errors.__all__]
    assert all(issubclass(cls, streamstruct.StreamStructError) for cls in classes)
    return classes


def _made(cls: type[streamstruct.StreamStructError]) -> streamstruct.StreamStructError:
    keywords = [
        name
        for name, parameter in inspect.signature(cls.__init__).parameters.items()
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY
    ]
    unknown = set(keywords) - set(_VALUES)
    assert not unknown, f"{cls.__name__} takes {unknown}: give them realistic values here"
    error = cls(f"{cls.__name__} raised", **{name: _VALUES[name] for name in keywords})
    error.partial = _VALUES["partial"]  # every error may carry one, whatever its constructor
    error.text = _VALUES["text"]
    if isinstance(error, streamstruct.APIError):
        error.attempts = 3
    return error


def _comparable(value: Any) -> Any:
    """``value`` with the exceptions in it (pydantic's ``ctx``) as their type and args: two
    exceptions are never equal, however alike."""
    if isinstance(value, BaseException):
        return type(value), value.args
    if isinstance(value, dict):
        return {key: _comparable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_comparable(item) for item in value]
    return value


def _same(copy: BaseException, error: BaseException) -> None:
    assert type(copy) is type(error)
    assert str(copy) == str(error)
    assert copy.args == error.args
    assert _comparable(vars(copy)) == _comparable(vars(error))


@pytest.mark.parametrize("cls", _every_error_class(), ids=lambda cls: cls.__name__)
def test_every_error_class_pickles_with_everything_it_carries(
    cls: type[streamstruct.StreamStructError],
) -> None:
    error = _made(cls)
    for protocol in range(2, pickle.HIGHEST_PROTOCOL + 1):
        copy = pickle.loads(pickle.dumps(error, protocol=protocol))
        _same(copy, error)
        assert type(copy.partial) is Partial[Person]
        assert type(copy.partial.home) is Partial[Address]
        assert copy.partial.past[0] == Address(city="Lyon", zip="69001")
        assert streamstruct.progress(copy.partial).percent == (
            streamstruct.progress(error.partial).percent
        )


def test_an_iterable_errors_items_pickle() -> None:
    items = [Address(city="Lyon", zip="69001"), Address(city="Nice", zip="06000")]
    error = streamstruct.ResponseValidationError(
        "item 2 failed", errors=_validation_errors(), index=2, partial=items, text="[...]"
    )
    _same(pickle.loads(pickle.dumps(error)), error)


def test_errors_unpickle_in_a_fresh_process() -> None:
    # There, Partial[Person] has never been made: unpickling makes it from Person.
    errors = [_made(cls) for cls in _every_error_class()]
    script = (
        "import pickle, sys\n"
        "import streamstruct\n"
        "errors = pickle.loads(sys.stdin.buffer.read())\n"
        "for error in errors:\n"
        "    assert isinstance(error, streamstruct.StreamStructError)\n"
        "    print(type(error).__name__, type(error.partial).__name__, error.partial.home.city,"
        " len(getattr(error, 'errors', [])) if isinstance(error, streamstruct.ResponseValidationError) else '-')\n"
    )
    tests = Path(__file__).parent
    done = subprocess.run(
        [sys.executable, "-c", script],
        input=pickle.dumps(errors),
        capture_output=True,
        check=True,
        cwd=tests,
        env={"PYTHONPATH": os.pathsep.join([str(tests), str(tests.parent)]), "PATH": ""},
    )
    lines = done.stdout.decode().splitlines()
    assert [line.split()[0] for line in lines] == [type(error).__name__ for error in errors]
    assert all(line.split()[1:3] == ["PartialPerson", "Par"] for line in lines)


# -- errors raised by real streams -----------------------------------------------------------------


async def _underage(writer: Writer, headers: dict[str, str]) -> None:
    """A person whose age fails its validator, after a name and an unfinished home arrived."""
    await writer.start_chunked()
    await writer.chunk(frame(content_chunk('{"name": "Zoë", "home": {"city": "Paris", "zip": "7')))
    await writer.chunk(frame(content_chunk('5001"}, "past": [], "age": 3}', finish="stop")))
    await writer.chunk(frame("[DONE]"))
    await writer.end_chunked()


async def _cut(writer: Writer, headers: dict[str, str]) -> None:
    await writer.start_chunked()
    await writer.chunk(frame(content_chunk('{"name": "Zoë", "home": {"city": "Par')))


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("handler", "cls"),
    [
        (_underage, streamstruct.ResponseValidationError),
        (_cut, streamstruct.StreamInterruptedError),
    ],
)
async def test_an_error_from_a_real_stream_pickles_with_its_partial(
    flavour: str, handler: Any, cls: type[BaseException]
) -> None:
    options: dict[str, Any] = {"api_key": KEY, "mode": "json_schema", "max_retries": 0}
    request: dict[str, Any] = {"model": "m", "response_model": Person, "messages": MESSAGES}
    async with raw_server(handler) as (url, _log):
        if flavour == "sync":

            def run_sync() -> BaseException:
                with streamstruct.Client(base_url=url, **options) as client:
                    with pytest.raises(cls) as caught:
                        for _ in client.chat.completions.create_partial(**request):
                            pass
                    return caught.value

            error: Any = await anyio.to_thread.run_sync(run_sync)
        else:
            async with streamstruct.AsyncClient(base_url=url, **options) as client:
                with pytest.raises(cls) as caught:
                    async for _ in client.chat.completions.create_partial(**request):
                        pass
                error = caught.value
    assert type(error.partial) is Partial[Person]
    assert error.partial.name == "Zoë"
    copy = pickle.loads(pickle.dumps(error))
    _same(copy, error)
    assert copy.partial.home.city.startswith("Par")
