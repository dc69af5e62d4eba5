"""The lean executor gives exactly what graphql-core's own executor gives: same data, same
errors (message, path, locations), for plain fields, resolvers, and every failure mode."""

from __future__ import annotations

from enum import Enum
from typing import Any

import pytest
import strawberry

from app.graphql.execution import LeanExecutor


@strawberry.enum
class Colour(Enum):
    RED = "red"
    BLUE = "blue"


@strawberry.type
class Leaf:
    name: str
    size: int
    colour: Colour
    maybe: str | None
    ratio: float
    ok: bool
    ident: strawberry.ID

    @strawberry.field
    async def later(self) -> str:
        return self.name.upper()

    @strawberry.field
    def boom(self) -> str:
        raise ValueError(f"boom on {self.name}")

    @strawberry.field
    def times(self, factor: int) -> int:
        return self.size * factor


@strawberry.type
class Box:
    label: str
    leaves: list[Leaf]
    first: Leaf | None
    must: Leaf
    tags: list[str]
    optional_leaves: list[Leaf | None] | None
    strict_leaves: list[Leaf]


def leaf(name: str, **changes: Any) -> Leaf:
    values: dict[str, Any] = {
        "name": name,
        "size": len(name),
        "colour": Colour.RED if len(name) % 2 else Colour.BLUE,
        "maybe": None if len(name) % 2 else name,
        "ratio": len(name) / 3,
        "ok": len(name) > 2,
        "ident": strawberry.ID(name),
    }
    values.update(changes)
    return Leaf(**values)


def boxes() -> list[Box]:
    good = [leaf("ab"), leaf("abc"), leaf("abcd")]
    return [
        Box(
            label="one",
            leaves=good,
            first=good[0],
            must=good[1],
            tags=["x", "y"],
            optional_leaves=[good[0], None],
            strict_leaves=good,
        ),
        Box(
            label="two",
            leaves=[leaf("big", size=2**40), leaf("str", colour="red")],  # type: ignore[arg-type]
            first=None,
            must=None,  # type: ignore[arg-type]
            tags=[],
            optional_leaves=None,
            strict_leaves=[good[2], None],  # type: ignore[list-item]
        ),
    ]


@strawberry.type
class Query:
    @strawberry.field
    def boxes(self) -> list[Box]:
        return boxes()

    @strawberry.field
    def box(self, index: int) -> Box | None:
        return boxes()[index]

    @strawberry.field
    def strict_box(self) -> Box:
        return boxes()[1]


LEAN = strawberry.Schema(query=Query, execution_context_class=LeanExecutor)
STOCK = strawberry.Schema(query=Query)

DOCUMENTS = [
    "{ boxes { label tags leaves { name size colour maybe ratio ok ident } } }",
    "{ box(index: 0) { label first { name } leaves { name later } } }",
    "{ box(index: 0) { a: label b: label leaves { n: name s: size } } }",
    "{ box(index: 0) { ...B } } fragment B on Box { label leaves { ...L } } "
    "fragment L on Leaf { name colour }",
    "{ box(index: 0) { __typename leaves { __typename name } } }",
    "query($skip: Boolean!) { box(index: 0) { label @skip(if: $skip) leaves { name "
    "size @include(if: $skip) } } }",
    "{ box(index: 0) { leaves { name boom } } }",
    "{ box(index: 0) { leaves { name times(factor: 3) } } }",
    "{ box(index: 1) { label first { name } } }",
    "{ box(index: 1) { label must { name } } }",
    "{ box(index: 1) { leaves { name size } } }",
    "{ box(index: 1) { leaves { name colour } } }",
    "{ box(index: 1) { strictLeaves { name } } }",
    "{ box(index: 0) { optionalLeaves { name } } }",
    "{ box(index: 1) { optionalLeaves { name } } }",
    "{ strictBox { label must { name } } }",
    "{ boxes { label must { name later } strictLeaves { name } } }",
    "{ boxes { leaves { name later boom } } }",
]


@pytest.mark.parametrize("document", DOCUMENTS)
async def test_the_lean_executor_answers_as_graphql_core_does(document: str) -> None:
    variables = {"skip": True}
    lean = await LEAN.execute(document, variable_values=variables)
    stock = await STOCK.execute(document, variable_values=variables)
    assert lean.data == stock.data
    assert _errors(lean.errors) == _errors(stock.errors)
    # Response keys come back in the order the document asked for them.
    assert _key_order(lean.data) == _key_order(stock.data)


async def test_the_same_document_twice_in_one_schema_gives_the_same_answer() -> None:
    document = DOCUMENTS[1]
    first = await LEAN.execute(document)
    second = await LEAN.execute(document)
    assert first.data == second.data
    assert first.data is not None
    assert not first.errors


def _errors(errors: list[Any] | None) -> list[tuple[str, Any, Any]]:
    return sorted(
        (error.message, error.path, error.locations and [tuple(x) for x in error.locations])
        for error in errors or []
    )


def _key_order(value: Any) -> Any:
    if isinstance(value, dict):
        return [(key, _key_order(item)) for key, item in value.items()]
    if isinstance(value, list):
        return [_key_order(item) for item in value]
    return None
