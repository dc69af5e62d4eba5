"""The GraphQL schema, composed from per-domain types. ``schema.graphql`` is exported from it."""

from __future__ import annotations

import strawberry

from app.graphql.catalog import CatalogMutation, CatalogQuery
from app.graphql.chats import ChatsMutation, ChatsQuery
from app.graphql.context import Info
from app.graphql.customers import CustomersQuery
from app.graphql.execution import LeanExecutor
from app.graphql.guards import EXTENSIONS
from app.graphql.live import Subscription
from app.graphql.orders import OrdersMutation, OrdersQuery
from app.graphql.permissions import STAFF
from app.graphql.reports import ReportsQuery
from app.graphql.staff import StaffMutation, StaffQuery


@strawberry.type(description="Facts about the shop every admin screen needs.")
class Shop:
    name: str = strawberry.field(description="The shop's name, as customers see it")
    currency: str = strawberry.field(description="ISO 4217 code of every amount in the API")
    locale: str = strawberry.field(description="Locale for formatting money and dates")
    timezone: str = strawberry.field(description="IANA time zone of reports and receipts")
    prices_include_tax: bool = strawberry.field(
        description="Whether catalog prices already include tax"
    )


@strawberry.type(description="Read the shop. Every field needs a staff token.")
class Query(StaffQuery, OrdersQuery, CatalogQuery, ChatsQuery, CustomersQuery, ReportsQuery):
    @strawberry.field(description="The shop this API serves.", permission_classes=STAFF)
    def shop(self, info: Info) -> Shop:
        settings = info.context.settings
        return Shop(
            name=settings.shop_name,
            currency=settings.shop_currency,
            locale=settings.shop_locale,
            timezone=settings.shop_timezone,
            prices_include_tax=settings.prices_include_tax,
        )


@strawberry.type(description="Change the shop. Every mutation but login needs a staff token.")
class Mutation(StaffMutation, OrdersMutation, CatalogMutation, ChatsMutation):
    pass


schema = strawberry.Schema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    extensions=EXTENSIONS,
    execution_context_class=LeanExecutor,
)
