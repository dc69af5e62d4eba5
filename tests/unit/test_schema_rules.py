"""Rules the whole schema keeps: every field guarded, every type and field described."""

from __future__ import annotations

from pathlib import Path

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLObjectType,
    build_schema,
)

from app.graphql.orders import OrderStatus, PaymentStatus
from app.graphql.permissions import IsStaff
from app.graphql.schema import schema
from app.ordering.states import OrderStatus as OrderStatusValue
from app.payments.states import PaymentStatus as PaymentStatusValue

ROOT = Path(__file__).resolve().parents[2]
PUBLIC = {"login"}  # the only way in without a token


def test_every_root_field_but_login_needs_a_staff_token() -> None:
    roots = [schema.query, schema.mutation, schema.subscription]
    unguarded = []
    for root in roots:
        definition = root.__strawberry_definition__  # type: ignore[union-attr]
        for field in definition.fields:
            classes = {type(p) for e in field.extensions for p in getattr(e, "permissions", [])}
            if field.python_name not in PUBLIC and IsStaff not in classes:
                unguarded.append(f"{definition.name}.{field.name}")
    assert unguarded == []


def test_every_type_field_and_enum_is_described() -> None:
    sdl = build_schema((ROOT / "schema.graphql").read_text(encoding="utf-8"))
    missing = []
    for name, graphql_type in sdl.type_map.items():
        if name.startswith("__") or name in {"String", "Int", "Float", "Boolean", "ID"}:
            continue
        if not graphql_type.description:
            missing.append(name)
        if isinstance(graphql_type, GraphQLObjectType | GraphQLInputObjectType):
            for field_name, field in graphql_type.fields.items():
                if not field.description:
                    missing.append(f"{name}.{field_name}")
        if isinstance(graphql_type, GraphQLEnumType) and not graphql_type.values:
            missing.append(name)
    assert missing == []


def test_the_api_status_enums_name_every_domain_status() -> None:
    """The GraphQL enums spell the domain's statuses out (so mypy can type them); a status
    added to the domain must show up in the API, with the same stored value."""
    pairs = [(OrderStatus, OrderStatusValue), (PaymentStatus, PaymentStatusValue)]
    for api, domain in pairs:
        assert {(m.name, m.value) for m in api} == {(m.name, m.value) for m in domain}
