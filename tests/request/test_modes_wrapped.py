"""Planning a request for a response type that is not a model: its ``{"response": ...}`` wrapper.

Border: ``response_spec`` and ``plan_request`` for ``list[User]``, ``int``, a ``RootModel``, ...
(what is sent); the wrapper itself is in ``model/test_response_types.py``, the calls end to end in
``io/test_client_response_types.py``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest
from pydantic import BaseModel, RootModel

from streamstruct import InvalidArgumentTypeError, UnsupportedResponseModelError
from streamstruct._model._response_types import wrapper_model
from streamstruct._request._modes import Mode, plan_request, response_spec

MESSAGES = [{"role": "user", "content": "hi"}]


class User(BaseModel):
    name: str


@pytest.mark.parametrize("response_model", [list[User], int, User | None, RootModel[list[int]]])
def test_a_type_that_is_not_a_model_is_planned_as_its_wrapper(response_model: Any) -> None:
    spec = response_spec(response_model)
    wrapper = wrapper_model(response_model)
    assert spec.models == (wrapper,)
    assert not spec.iterable
    assert spec.wrapped is not None
    assert spec.wrapped.annotation == response_model
    plan = plan_request(response_model, MESSAGES, mode=Mode.TOOLS)
    (tool,) = plan.body["tools"]
    assert tool["function"]["name"] == wrapper.__name__
    parameters = tool["function"]["parameters"]
    assert parameters["type"] == "object"
    assert list(parameters["properties"]) == ["response"]
    assert plan.tools == {wrapper.__name__: wrapper}


def test_a_model_is_not_wrapped() -> None:
    spec = response_spec(User)
    assert spec.models == (User,)
    assert spec.wrapped is None


def test_json_schema_mode_sends_the_wrapper_strict() -> None:
    plan = plan_request(list[User], MESSAGES, mode=Mode.JSON_SCHEMA)
    schema = plan.body["response_format"]["json_schema"]
    assert schema["name"] == "UserList"
    assert schema["strict"] is True
    assert schema["schema"]["required"] == ["response"]
    assert schema["schema"]["additionalProperties"] is False


def test_an_iterable_of_non_models_points_at_list() -> None:
    with pytest.raises(InvalidArgumentTypeError, match=r"response_model=list\[\.\.\.\]") as caught:
        response_spec(Iterable[int])
    assert caught.value.argument == "response_model"


def test_an_unsupported_type_is_named() -> None:
    with pytest.raises(UnsupportedResponseModelError, match="len") as caught:
        plan_request(len, MESSAGES)
    assert caught.value.response_model is len
