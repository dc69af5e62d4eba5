"""Shop reports over a date range in the shop's time zone: sales, top products, orders by
status, and the conversion funnel from first message to paid order.

Days are the shop's days: a range of dates becomes [first 00:00, last + 1 00:00) in
``SHOP_TIMEZONE``, and sales are counted on the day they were paid.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import redis.asyncio as aioredis

from app.errors import InvalidInput
from app.ordering.tables import Order

MAX_DAYS = 366
CARTS_KEY = "chatcart:funnel:carts:{day}"
CARTS_TTL = timedelta(days=MAX_DAYS + 30)


@dataclass(frozen=True, slots=True)
class DaySales:
    day: date
    orders: int
    revenue: int


@dataclass(frozen=True, slots=True)
class Sales:
    orders: int
    revenue: int  # minor units, paid orders not refunded
    tax: int
    average_order_value: int
    by_day: tuple[DaySales, ...]


@dataclass(frozen=True, slots=True)
class ProductSales:
    sku: str
    name: str
    quantity: int
    revenue: int


@dataclass(frozen=True, slots=True)
class StatusCount:
    status: str
    orders: int


@dataclass(frozen=True, slots=True)
class Funnel:
    conversations: int  # customers who wrote to the shop
    carts: int  # customers who put something in a cart
    orders_placed: int  # customers who placed an order
    paid: int  # customers with a paid order


def window(first: date, last: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    if last < first:
        raise InvalidInput("The range ends before it starts.", field="to")
    if (last - first).days >= MAX_DAYS:
        raise InvalidInput(f"A report covers at most {MAX_DAYS} days.", field="to")
    start = datetime.combine(first, time(), zone)
    end = datetime.combine(last + timedelta(days=1), time(), zone)
    return start, end


async def sales(start: datetime, end: datetime, zone: ZoneInfo) -> Sales:
    rows = await Order.raw(
        "SELECT (paid_at AT TIME ZONE {})::date AS day, count(*) AS orders, "
        "sum(total) AS revenue, sum(tax) AS tax FROM orders "
        "WHERE paid_at >= {} AND paid_at < {} AND status <> 'refunded' GROUP BY 1 ORDER BY 1",
        zone.key,
        start,
        end,
    )
    orders = sum(row["orders"] for row in rows)
    revenue = sum(int(row["revenue"]) for row in rows)
    return Sales(
        orders=orders,
        revenue=revenue,
        tax=sum(int(row["tax"]) for row in rows),
        average_order_value=round(revenue / orders) if orders else 0,
        by_day=tuple(DaySales(row["day"], row["orders"], int(row["revenue"])) for row in rows),
    )


async def top_products(start: datetime, end: datetime, limit: int = 10) -> list[ProductSales]:
    rows = await Order.raw(
        "SELECT i.sku, max(i.name) AS name, sum(i.quantity) AS quantity, sum(i.gross) AS revenue "
        'FROM order_item i JOIN orders o ON o.id = i."order" '
        "WHERE o.paid_at >= {} AND o.paid_at < {} AND o.status <> 'refunded' "
        "GROUP BY i.sku ORDER BY revenue DESC, i.sku LIMIT {}",
        start,
        end,
        limit,
    )
    return [
        ProductSales(row["sku"], row["name"], int(row["quantity"]), int(row["revenue"]))
        for row in rows
    ]


async def orders_by_status(start: datetime, end: datetime) -> list[StatusCount]:
    rows = await Order.raw(
        "SELECT status, count(*) AS n FROM orders WHERE placed_at >= {} AND placed_at < {} "
        "GROUP BY status ORDER BY status",
        start,
        end,
    )
    return [StatusCount(row["status"], row["n"]) for row in rows]


async def funnel(start: datetime, end: datetime, zone: ZoneInfo, redis: aioredis.Redis) -> Funnel:
    rows = await Order.raw(
        "SELECT (SELECT count(DISTINCT customer) FROM inbound_message "
        "  WHERE sent_at >= {} AND sent_at < {}) AS conversations, "
        "(SELECT count(DISTINCT customer) FROM orders "
        "  WHERE placed_at >= {} AND placed_at < {}) AS placed, "
        "(SELECT count(DISTINCT customer) FROM orders "
        "  WHERE placed_at >= {} AND placed_at < {} AND paid_at IS NOT NULL) AS paid",
        start,
        end,
        start,
        end,
        start,
        end,
    )
    row = rows[0]
    days = [
        (start.astimezone(zone).date() + timedelta(days=n)).isoformat()
        for n in range((end - start).days)
    ]
    carts = await redis.pfcount(*[CARTS_KEY.format(day=day) for day in days]) if days else 0
    return Funnel(
        conversations=row["conversations"],
        carts=int(carts),
        orders_placed=row["placed"],
        paid=row["paid"],
    )


async def count_cart(redis: aioredis.Redis, customer_id: int, moment: datetime) -> None:
    """Count a customer who started a cart on this (shop) day, for the funnel."""
    key = CARTS_KEY.format(day=moment.date().isoformat())
    async with redis.pipeline(transaction=False) as pipe:
        pipe.pfadd(key, str(customer_id))
        pipe.expire(key, CARTS_TTL)
        await pipe.execute()
