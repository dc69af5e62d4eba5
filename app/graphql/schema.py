"""The GraphQL schema, composed from per-domain types. ``schema.graphql`` is exported from it."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from app.settings import Settings


@strawberry.type(description="Public facts about the shop.")
class Shop:
    name: str
    currency: str = strawberry.field(description="ISO 4217 code of every amount in the API")
    locale: str
    timezone: str
    prices_include_tax: bool


def resolve_shop(info: Info[dict[str, Settings], None]) -> Shop:
    settings = info.context["settings"]
    return Shop(
        name=settings.shop_name,
        currency=settings.shop_currency,
        locale=settings.shop_locale,
        timezone=settings.shop_timezone,
        prices_include_tax=settings.prices_include_tax,
    )


@strawberry.type
class Query:
    shop: Shop = strawberry.field(resolver=resolve_shop, description="The shop this API serves.")


schema = strawberry.Schema(query=Query)
