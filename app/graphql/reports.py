"""Reports for staff: sales, top products, orders by status and the conversion funnel."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import strawberry

from app.errors import DomainError
from app.graphql.context import Info
from app.graphql.errors import UserError, user_errors
from app.graphql.permissions import STAFF_THROTTLED
from app.reports import service


@strawberry.type(description="Sales of one shop day.")
class DaySales:
    day: date = strawberry.field(description="The day, in the shop's time zone")
    orders: int = strawberry.field(description="Orders paid that day")
    revenue: int = strawberry.field(description="Their totals, minor units")


@strawberry.type(description="Paid orders in the range (refunded ones left out).")
class SalesSummary:
    orders: int = strawberry.field(description="Orders paid")
    revenue: int = strawberry.field(description="Their totals, minor units")
    tax: int = strawberry.field(description="Tax in them, minor units")
    average_order_value: int = strawberry.field(description="Revenue / orders, minor units")
    by_day: list[DaySales] = strawberry.field(description="Day by day (days with sales)")


@strawberry.type(description="A product's sales in the range.")
class ProductSales:
    sku: str = strawberry.field(description="SKU")
    name: str = strawberry.field(description="Name as sold")
    quantity: int = strawberry.field(description="Units sold")
    revenue: int = strawberry.field(description="Line totals with tax, minor units")


@strawberry.type(description="How many orders placed in the range are in a status now.")
class StatusCount:
    status: str = strawberry.field(description="Order status")
    orders: int = strawberry.field(description="How many")


@strawberry.type(description="How many customers reached each step, in the range.")
class Funnel:
    conversations: int = strawberry.field(description="Wrote to the shop")
    carts: int = strawberry.field(description="Put something in a cart")
    orders_placed: int = strawberry.field(description="Placed an order")
    paid: int = strawberry.field(description="Paid an order")


@strawberry.type(description="Reports for a date range in the shop's time zone.")
class Reports:
    sales: SalesSummary | None = strawberry.field(description="Sales", default=None)
    top_products: list[ProductSales] = strawberry.field(
        description="Best sellers by revenue", default_factory=list
    )
    orders_by_status: list[StatusCount] = strawberry.field(
        description="Orders placed in the range, by status now", default_factory=list
    )
    funnel: Funnel | None = strawberry.field(description="Conversion funnel", default=None)
    errors: list[UserError] = strawberry.field(
        description="Why the range was refused", default_factory=list
    )


@strawberry.type
class ReportsQuery:
    @strawberry.field(
        description="Reports from `from` to `to` (dates, inclusive, at most 366 days).",
        permission_classes=STAFF_THROTTLED,
    )
    async def reports(
        self,
        info: Info,
        from_: Annotated[date, strawberry.argument(name="from", description="First day")],
        to: Annotated[date, strawberry.argument(description="Last day")],
    ) -> Reports:
        zone = info.context.settings.timezone
        try:
            start, end = service.window(from_, to, zone)
        except DomainError as error:
            return Reports(errors=user_errors(error))
        summary = await service.sales(start, end, zone)
        funnel = await service.funnel(start, end, zone, info.context.resources.redis)
        return Reports(
            sales=SalesSummary(
                orders=summary.orders,
                revenue=summary.revenue,
                tax=summary.tax,
                average_order_value=summary.average_order_value,
                by_day=[
                    DaySales(day=d.day, orders=d.orders, revenue=d.revenue) for d in summary.by_day
                ],
            ),
            top_products=[
                ProductSales(sku=p.sku, name=p.name, quantity=p.quantity, revenue=p.revenue)
                for p in await service.top_products(start, end)
            ],
            orders_by_status=[
                StatusCount(status=s.status, orders=s.orders)
                for s in await service.orders_by_status(start, end)
            ],
            funnel=Funnel(
                conversations=funnel.conversations,
                carts=funnel.carts,
                orders_placed=funnel.orders_placed,
                paid=funnel.paid,
            ),
        )
