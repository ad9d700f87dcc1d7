"""Modes: the request each one builds, strict schemas, and the nulls strict schemas inject."""

from __future__ import annotations

import collections.abc
import copy
import enum
import json
import typing
from collections.abc import Iterable
from typing import Annotated, Any, Generic, Literal, TypeVar, Union

import pytest
from pydantic import BaseModel, Field
from typing_extensions import TypeAliasType

from streamstruct._model._nulls import drop_injected_nulls, injected_null_keys, injects_nulls
from streamstruct._model._types import has_fields, is_model, is_type_alias, union_models, unwrap
from streamstruct._request._modes import Mode, ResponseSpec, plan_request, response_spec
from streamstruct._request._schemas import strict_json_schema

# -- models ------------------------------------------------------------------------------------


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Address(BaseModel):
    """A postal address."""

    street: str
    zip_code: str | None = None
    country: str = "UK"


class Cat(BaseModel):
    kind: Literal["cat"] = "cat"
    lives: int = 9


class Dog(BaseModel):
    kind: Literal["dog"]
    good: bool = True


class Person(BaseModel):
    """Someone we know."""

    name: str = Field(description="The full name")
    age: int = 30
    nickname: str | None = None
    tags: list[str] = []
    color: Color = Color.RED
    mood: Literal["happy", "sad"] = "happy"
    home: Address = Field(description="Where they live")
    work: Address | None = None
    pet: Annotated[Cat | Dog, Field(discriminator="kind")]
    other_pets: list[Cat | Dog] = []
    score: int | str = 0
    coords: tuple[float, float] = (0.0, 0.0)
    nick_alias: int = Field(default=1, alias="nickAlias")


class Tree(BaseModel):
    value: int
    children: list[Tree] = []


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]


class WithDict(BaseModel):
    scores: dict[str, int]


EXAMPLES: list[BaseModel] = [
    Person(name="Ada", home=Address(street="1 Main St"), pet=Cat()),
    Person(
        name="Bob",
        age=41,
        nickname="B",
        tags=["x", "y"],
        color=Color.BLUE,
        mood="sad",
        home=Address(street="2 High St", zip_code="AB1", country="FR"),
        work=Address(street="3 Low St"),
        pet=Dog(kind="dog", good=False),
        other_pets=[Cat(lives=3), Dog(kind="dog")],
        score="high",
        coords=(1.5, -2.0),
        nickAlias=7,
    ),
    Tree(value=1, children=[Tree(value=2), Tree(value=3, children=[Tree(value=4)])]),
    Address(street="x"),
]

MESSAGES: list[dict[str, Any]] = [{"role": "user", "content": "Tell me about Ada."}]


# -- a small JSON Schema validator, enough for the keywords pydantic and the strict pass write --


def validates(instance: Any, schema: dict[str, Any], root: dict[str, Any] | None = None) -> bool:
    root = schema if root is None else root
    if "$ref" in schema:
        target: Any = root
        for part in schema["$ref"][2:].split("/"):
            target = target[part]
        if not validates(instance, target, root):
            return False
    if "anyOf" in schema and not any(validates(instance, s, root) for s in schema["anyOf"]):
        return False
    if "oneOf" in schema and sum(validates(instance, s, root) for s in schema["oneOf"]) != 1:
        return False
    if "enum" in schema and instance not in schema["enum"]:
        return False
    if "const" in schema and instance != schema["const"]:
        return False
    kinds = schema.get("type")
    if kinds is not None:
        kinds = kinds if isinstance(kinds, list) else [kinds]
        checks = {
            "object": lambda v: isinstance(v, dict),
            "array": lambda v: isinstance(v, list),
            "string": lambda v: isinstance(v, str),
            "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
            "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
            "boolean": lambda v: isinstance(v, bool),
            "null": lambda v: v is None,
        }
        if not any(checks[kind](instance) for kind in kinds):
            return False
    if isinstance(instance, dict):
        properties = schema.get("properties", {})
        if any(key not in instance for key in schema.get("required", [])):
            return False
        for key, value in instance.items():
            if key in properties:
                if not validates(value, properties[key], root):
                    return False
            elif schema.get("additionalProperties", True) is False:
                return False
    if isinstance(instance, list):
        prefix = schema.get("prefixItems", [])
        for i, value in enumerate(instance):
            sub = prefix[i] if i < len(prefix) else schema.get("items")
            if isinstance(sub, dict) and not validates(value, sub, root):
                return False
    return True


def walk(schema: Any) -> Iterable[dict[str, Any]]:
    if isinstance(schema, dict):
        yield schema
        for value in schema.values():
            yield from walk(value)
    elif isinstance(schema, list):
        for value in schema:
            yield from walk(value)


def assert_strict_shape(schema: dict[str, Any]) -> None:
    assert schema["type"] == "object"
    for node in walk(schema):
        if node.get("type") == "object" or "properties" in node:
            assert node["additionalProperties"] is False, node
            assert node.get("required", []) == list(node.get("properties", {})), node
        assert "default" not in node, node
        assert "oneOf" not in node, node
        assert "discriminator" not in node, node
        if "$ref" in node:
            assert set(node) == {"$ref"}, node


# -- response_spec -----------------------------------------------------------------------------


def test_response_spec_of_a_model() -> None:
    assert response_spec(Person) == ResponseSpec(models=(Person,), iterable=False, item_type=Person)
    assert response_spec(Person).name == "Person"


@pytest.mark.parametrize(
    "annotation",
    [
        Iterable[Cat | Dog],
        typing.Iterable[Union[Cat, Dog]],  # noqa: UP007 - typing.Union is another origin
        collections.abc.Iterable[Cat | Dog],
    ],
)
def test_response_spec_of_an_iterable(annotation: Any) -> None:
    spec = response_spec(annotation)
    assert spec.models == (Cat, Dog)
    assert spec.iterable
    assert spec.name == "Cat_Dog_list"


def test_response_spec_keeps_an_annotated_item_type() -> None:
    item = Annotated[Cat | Dog, Field(discriminator="kind")]
    spec = response_spec(Iterable[item])
    assert spec.models == (Cat, Dog)
    assert spec.item_type is item


@pytest.mark.parametrize("bad", [Iterable[int], Iterable, 3, len])
def test_response_spec_rejects_the_rest(bad: Any) -> None:
    with pytest.raises(TypeError):
        response_spec(bad)


# -- TOOLS -------------------------------------------------------------------------------------


def test_tools_mode_forces_one_function() -> None:
    plan = plan_request(Person, MESSAGES)
    assert plan.mode is Mode.TOOLS
    assert plan.source == "tool_calls"
    assert not plan.strict
    assert plan.tools == {"Person": Person}
    (tool,) = plan.body["tools"]
    assert tool["type"] == "function"
    function = tool["function"]
    assert function["name"] == "Person"
    assert function["description"] == "Someone we know."
    assert "strict" not in function
    assert function["parameters"]["type"] == "object"
    assert function["parameters"]["properties"] == Person.model_json_schema()["properties"]
    assert plan.body["tool_choice"] == {"type": "function", "function": {"name": "Person"}}
    assert "parallel_tool_calls" not in plan.body
    assert "response_format" not in plan.body
    assert list(plan.messages) == MESSAGES


def test_tools_mode_names_are_sanitised_and_root_refs_inlined() -> None:
    plan = plan_request(Page[Person], MESSAGES, mode="tools")
    assert list(plan.tools) == ["Page_Person_"]
    description = plan.body["tools"][0]["function"]["description"]
    assert "Page[Person]" in description  # no docstring: a default description
    tree = plan_request(Tree, MESSAGES).body["tools"][0]["function"]["parameters"]
    assert tree["type"] == "object"  # the recursive model's root $ref is inlined
    assert "$ref" not in tree
    assert tree["$defs"]["Tree"]["properties"]["value"] == {"title": "Value", "type": "integer"}


def test_tools_mode_strict() -> None:
    function = plan_request(Person, MESSAGES, strict=True).body["tools"][0]["function"]
    assert function["strict"] is True
    assert_strict_shape(function["parameters"])


def test_tools_mode_iterable_is_parallel_calls_one_tool_per_model() -> None:
    plan = plan_request(Iterable[Cat | Dog], MESSAGES, mode=Mode.TOOLS)
    assert plan.body["tool_choice"] == "required"
    assert plan.body["parallel_tool_calls"] is True
    assert plan.tools == {"Cat": Cat, "Dog": Dog}
    names = [tool["function"]["name"] for tool in plan.body["tools"]]
    assert names == ["Cat", "Dog"]
    assert plan.body["tools"][1]["function"]["parameters"]["properties"]["kind"]["const"] == "dog"
    assert "once for each item" in plan.body["tools"][0]["function"]["description"]


def test_tools_with_the_same_name_get_distinct_names() -> None:
    def make() -> type[BaseModel]:
        class Item(BaseModel):
            n: int

        return Item

    first, second = make(), make()
    plan = plan_request(Iterable[first | second], MESSAGES)  # type: ignore[valid-type]
    assert list(plan.tools) == ["Item", "Item_2"]
    assert plan.tools["Item_2"] is second


# -- JSON_SCHEMA -------------------------------------------------------------------------------


def test_json_schema_mode_is_strict_by_default() -> None:
    plan = plan_request(Person, MESSAGES, mode="json_schema")
    assert plan.source == "content"
    assert plan.strict
    assert plan.tools == {}
    response_format = plan.body["response_format"]
    assert response_format["type"] == "json_schema"
    assert response_format["json_schema"]["name"] == "Person"
    assert response_format["json_schema"]["strict"] is True
    assert_strict_shape(response_format["json_schema"]["schema"])
    assert list(plan.body) == ["response_format"]


def test_json_schema_mode_not_strict() -> None:
    plan = plan_request(WithDict, MESSAGES, mode="json_schema", strict=False)
    json_schema = plan.body["response_format"]["json_schema"]
    assert json_schema["strict"] is False
    assert json_schema["schema"] == WithDict.model_json_schema()
    assert not plan.strict


def test_json_schema_mode_iterable_wrapper() -> None:
    plan = plan_request(Iterable[Cat | Dog], MESSAGES, mode="json_schema")
    schema = plan.body["response_format"]["json_schema"]["schema"]
    assert plan.body["response_format"]["json_schema"]["name"] == "Cat_Dog_list"
    assert_strict_shape(schema)
    assert schema["required"] == ["items"]
    assert schema["properties"]["items"] == {
        "type": "array",
        "items": {"anyOf": [{"$ref": "#/$defs/Cat"}, {"$ref": "#/$defs/Dog"}]},
    }
    assert set(schema["$defs"]) == {"Cat", "Dog"}
    reply = {
        "items": [Cat().model_dump(), Dog(kind="dog").model_dump(), {"kind": "cat", "lives": None}]
    }
    assert validates(reply, schema)
    assert not validates({"items": [{"kind": None, "lives": 1}]}, schema)  # the tag stays required
    prepared = plan.drop_injected_nulls(reply)
    assert prepared["items"][2] == {"kind": "cat"}
    assert Cat.model_validate(prepared["items"][2]) == Cat()


def test_strict_schema_that_cannot_be_expressed_says_where() -> None:
    with pytest.raises(ValueError, match=r"#/properties/scores: an object with free-form keys"):
        plan_request(WithDict, MESSAGES, mode="json_schema")


# -- JSON and MD_JSON --------------------------------------------------------------------------


def test_json_mode_prepends_a_system_message_with_the_schema() -> None:
    plan = plan_request(Person, MESSAGES, mode="json")
    assert plan.source == "content"
    assert plan.body == {"response_format": {"type": "json_object"}}
    system, user = plan.messages
    assert system["role"] == "system"
    assert json.dumps(Person.model_json_schema(), indent=2) in system["content"]
    assert "JSON object only" in system["content"]
    assert user == MESSAGES[0]


def test_md_json_mode_asks_for_a_fenced_block() -> None:
    plan = plan_request(Iterable[Cat], MESSAGES, mode=Mode.MD_JSON)
    assert plan.source == "fenced_content"
    assert plan.body == {}
    content = plan.messages[0]["content"]
    assert "```json" in content
    assert '"items"' in content


def test_instruction_is_merged_into_a_leading_system_message() -> None:
    original = [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "hi"},
    ]
    snapshot = copy.deepcopy(original)
    plan = plan_request(Person, original, mode="json")
    assert len(plan.messages) == 2
    assert plan.messages[0]["content"].startswith("You are terse.\n\nRespond with a JSON object")
    assert original == snapshot  # the caller's messages are untouched
    assert plan.messages[1] is not original[1]

    parts = [{"role": "developer", "content": [{"type": "text", "text": "Be kind."}]}]
    merged = plan_request(Person, parts, mode="md_json").messages
    assert len(merged) == 1
    assert merged[0]["content"][0] == {"type": "text", "text": "Be kind."}
    assert "```json" in merged[0]["content"][1]["text"]
    assert len(parts[0]["content"]) == 1

    later = [{"role": "user", "content": "hi"}, {"role": "system", "content": "late"}]
    assert [m["role"] for m in plan_request(Person, later, mode="json").messages] == [
        "system",
        "user",
        "system",
    ]


def test_strict_only_applies_to_schema_modes() -> None:
    with pytest.raises(ValueError, match="strict=True"):
        plan_request(Person, MESSAGES, mode="json", strict=True)
    assert not plan_request(Person, MESSAGES, mode="md_json", strict=False).strict
    with pytest.raises(ValueError, match="'xml' is not a valid Mode"):
        plan_request(Person, MESSAGES, mode="xml")  # type: ignore[arg-type]


def test_messages_are_copied() -> None:
    messages = [{"role": "user", "content": "hi"}]
    plan = plan_request(Person, messages)
    assert plan.messages[0] == messages[0]
    assert plan.messages[0] is not messages[0]


# -- strict_json_schema ------------------------------------------------------------------------


def test_strict_schema_shape_and_input_untouched() -> None:
    schema = Person.model_json_schema()
    snapshot = copy.deepcopy(schema)
    strict = strict_json_schema(schema)
    assert schema == snapshot
    assert_strict_shape(strict)
    properties = strict["properties"]
    # optional with a default: nullable, described outside
    assert properties["age"] == {"title": "Age", "anyOf": [{"type": "integer"}, {"type": "null"}]}
    # already nullable: not wrapped twice
    assert properties["nickname"] == {
        "title": "Nickname",
        "anyOf": [{"type": "string"}, {"type": "null"}],
    }
    # enum via $ref, Literal, list
    assert properties["color"] == {"anyOf": [{"$ref": "#/$defs/Color"}, {"type": "null"}]}
    assert properties["mood"]["anyOf"][0] == {"enum": ["happy", "sad"], "type": "string"}
    assert properties["tags"]["anyOf"][0] == {"items": {"type": "string"}, "type": "array"}
    # a $ref with a description beside it is inlined, the description winning
    assert properties["home"]["description"] == "Where they live"
    assert properties["home"]["properties"]["street"] == {"title": "Street", "type": "string"}
    # the tagged union: anyOf, no discriminator
    assert properties["pet"]["anyOf"] == [{"$ref": "#/$defs/Cat"}, {"$ref": "#/$defs/Dog"}]
    # the alias is the key
    assert "nickAlias" in properties
    # $defs are strict too
    assert strict["$defs"]["Cat"]["required"] == ["kind", "lives"]
    assert strict["$defs"]["Address"]["properties"]["country"]["anyOf"][1] == {"type": "null"}


def test_strict_schema_of_a_recursive_model() -> None:
    strict = strict_json_schema(Tree.model_json_schema())
    assert_strict_shape(strict)
    assert strict["properties"]["children"]["anyOf"][0]["items"] == {"$ref": "#/$defs/Tree"}


def test_strict_schema_is_idempotent() -> None:
    strict = strict_json_schema(Person.model_json_schema())
    assert strict_json_schema(strict) == strict


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: type(e).__name__)
def test_strict_schema_still_validates_the_models_own_instances(example: BaseModel) -> None:
    schema = plan_request(type(example), MESSAGES, mode="json_schema").body["response_format"][
        "json_schema"
    ]["schema"]
    dumped = example.model_dump(mode="json", by_alias=True)
    assert validates(dumped, schema)
    assert validates(dumped, type(example).model_json_schema())  # the check itself is sound
    assert type(example).model_validate(dumped) == example


def test_strict_schema_rejects_what_its_validator_should() -> None:
    schema = strict_json_schema(Address.model_json_schema())
    assert not validates({"street": "x", "zip_code": None}, schema)  # country missing
    assert not validates({"street": "x", "zip_code": None, "country": None, "extra": 1}, schema)
    assert not validates({"street": 1, "zip_code": None, "country": None}, schema)


def test_a_reply_using_the_injected_nulls_validates_after_dropping_them() -> None:
    plan = plan_request(Person, MESSAGES, mode="json_schema")
    schema = plan.body["response_format"]["json_schema"]["schema"]
    reply = {
        "name": "Ada",
        "age": None,
        "nickname": None,
        "tags": None,
        "color": None,
        "mood": None,
        "home": {"street": "1 Main St", "zip_code": None, "country": None},
        "work": None,
        "pet": {"kind": "cat", "lives": None},
        "other_pets": [{"kind": "dog", "good": None}, {"kind": "cat", "lives": 2}],
        "score": None,
        "coords": None,
        "nickAlias": None,
    }
    assert validates(reply, schema)
    person = Person.model_validate(plan.drop_injected_nulls(reply))
    assert person == Person(
        name="Ada",
        home=Address(street="1 Main St"),
        pet=Cat(),
        other_pets=[Dog(kind="dog"), Cat(lives=2)],
    )
    assert person.nickname is None  # a real None stays: the field accepts it
    assert person.work is None


# -- injected nulls ----------------------------------------------------------------------------


def test_injected_null_keys() -> None:
    assert injected_null_keys(Address) == {"country"}
    assert injected_null_keys(Cat) == {"lives"}  # a one-value Literal stays required
    assert injected_null_keys(Dog) == {"good"}
    assert injected_null_keys(Person) == {
        "age",
        "tags",
        "color",
        "mood",
        "other_pets",
        "score",
        "coords",
        "nickAlias",
    }


class _Plain(BaseModel):
    name: str
    nick: str | None = None  # admits null: nothing is injected for it
    kind: Literal["plain"] = "plain"  # a one-value Literal stays required


class _Holder(BaseModel):
    plains: list[_Plain]
    by_name: dict[str, tuple[_Plain, ...]]


class _Tree(BaseModel):
    label: str
    children: list[_Tree] = Field(default_factory=list)


class _DeepTree(BaseModel):
    children: list[_DeepTree] | None = None
    leaf: Annotated[list[Address], Field(min_length=1)]


def test_injects_nulls_looks_through_every_model_reachable() -> None:
    assert not injects_nulls(_Plain)
    assert not injects_nulls(_Holder)
    assert not injects_nulls(list[_Plain] | None)
    assert injects_nulls(_Tree)  # children has a default and is not nullable
    assert injects_nulls(_DeepTree)  # through Annotated, a list, and past the recursion
    assert injects_nulls(Person)
    assert injects_nulls(Iterable[Cat | Dog])
    assert injects_nulls(dict[str, list[Address]])
    assert not injects_nulls(int)
    assert not injects_nulls(Literal["a", "b"])
    assert injects_nulls("Address")  # not resolved: assumed to
    # A recursive type alias (``type Tree = list[Tree] | int`` on Python 3.12) ends too.
    tree = TypeAliasType("Tree", int)
    object.__setattr__(tree, "__value__", list[tree] | int)  # type: ignore[valid-type]
    assert not injects_nulls(tree)
    object.__setattr__(tree, "__value__", list[tree] | Address)  # type: ignore[valid-type]
    assert injects_nulls(tree)
    # Skipping the walk is safe: where injects_nulls says no, dropping changes nothing.
    value = {"plains": [{"name": "a", "nick": None, "kind": "plain"}], "by_name": {}}
    assert drop_injected_nulls(value, _Holder) == value


def test_drop_injected_nulls_follows_the_annotation() -> None:
    assert drop_injected_nulls({"street": "a", "country": None, "zip_code": None}, Address) == {
        "street": "a",
        "zip_code": None,
    }
    # containers
    value = [{"street": "a", "country": None}]
    assert drop_injected_nulls(value, list[Address]) == [{"street": "a"}]
    assert value == [{"street": "a", "country": None}]  # copied, not mutated
    assert drop_injected_nulls({"k": {"street": "a", "country": None}}, dict[str, Address]) == {
        "k": {"street": "a"}
    }
    assert drop_injected_nulls(
        [{"lives": None}, {"good": None, "kind": "dog"}], tuple[Cat, Dog]
    ) == [
        {},
        {"kind": "dog"},
    ]
    # unions: the model whose fields and literals fit
    assert drop_injected_nulls({"kind": "dog", "good": None}, Cat | Dog) == {"kind": "dog"}
    assert drop_injected_nulls({"kind": "cat", "lives": None}, Annotated[Cat | Dog, "x"]) == {
        "kind": "cat"
    }
    assert drop_injected_nulls({"unknown": None}, Cat | Dog) == {"unknown": None}
    assert drop_injected_nulls([{"lives": None}], list[Cat] | None) == [{}]
    # anything else is left alone
    assert drop_injected_nulls(None, Address) is None
    assert drop_injected_nulls({"a": None}, dict) == {"a": None}
    assert drop_injected_nulls({"value": 1, "children": None}, Tree) == {"value": 1}


def test_plan_drop_injected_nulls_is_the_identity_when_not_strict() -> None:
    reply = {"kind": "cat", "lives": None}
    assert plan_request(Cat, MESSAGES).drop_injected_nulls(reply) is reply
    strict_tools = plan_request(Iterable[Cat | Dog], MESSAGES, strict=True)
    assert strict_tools.drop_injected_nulls(reply, tool="Cat") == {"kind": "cat"}
    assert plan_request(Cat, MESSAGES, mode="json_schema").drop_injected_nulls(reply) == {
        "kind": "cat"
    }


class Counted(BaseModel):
    """A model that counts how often its JSON schema is generated."""

    name: str
    schemas_made: typing.ClassVar[int] = 0

    @classmethod
    def model_json_schema(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
        Counted.schemas_made += 1
        return super().model_json_schema(*args, **kwargs)


@pytest.mark.parametrize("mode", list(Mode))
def test_a_model_schema_is_made_once_and_plans_do_not_share_what_can_change(mode: Mode) -> None:
    first = plan_request(Counted, MESSAGES, mode=mode)
    made = Counted.schemas_made
    second = plan_request(Counted, MESSAGES, mode=mode)
    assert Counted.schemas_made == made  # planned from the cache
    assert second.body == first.body
    assert second.messages == first.messages
    first.body["extra"] = 1  # each plan has a body of its own to merge into
    assert "extra" not in second.body
    assert second.messages[0] is not first.messages[0]


def test_an_item_type_that_cannot_be_hashed_is_planned_each_time() -> None:
    class A(BaseModel):
        kind: Literal["a"]

    class B(BaseModel):
        kind: Literal["b"]

    item = Annotated[A | B, {"unhashable": "metadata"}]
    plans = [plan_request(Iterable[item], MESSAGES, mode=Mode.JSON_SCHEMA) for _ in range(2)]  # type: ignore[valid-type]
    assert plans[0].body == plans[1].body
    assert plans[0].spec.iterable


# -- layers ------------------------------------------------------------------------------------


def test_type_introspection_sees_through_annotated_and_aliases() -> None:
    pet = TypeAliasType("pet", Annotated[Cat | Dog, Field(discriminator="kind")])
    assert unwrap(Annotated[pet, "meta"]) == Cat | Dog
    assert is_type_alias(pet)
    assert not is_type_alias(Cat)
    assert union_models(pet) == (Cat, Dog)
    assert union_models(Annotated[Address, "meta"]) == (Address,)
    assert union_models(Cat | int) == ()
    assert has_fields(Address)
    assert not has_fields(dict)
    assert is_model(Cat)
    assert not is_model(Cat(kind="cat", lives=9))
