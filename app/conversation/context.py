"""Load what the machine reads in a turn: the catalog, the customer's orders, the terms."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from app.catalog.tables import Product
from app.conversation.view import CatalogSnapshot, Context, OrderView, ProductView
from app.ordering.tables import Order, OrderItem
from app.payments.tables import Payment
from app.settings import Settings, shop_terms

RECENT_ORDERS = 5


async def load_catalog() -> CatalogSnapshot:
    rows = await Product.select(
        Product.sku,
        Product.name,
        Product.category,
        Product.price,
        Product.description,
        Product.stock,
        Product.available,
        Product.tax_rate_bp,
    ).where(Product.archived_at.is_null())
    return CatalogSnapshot(tuple(ProductView(**row) for row in rows))


async def load_orders(customer_id: int) -> tuple[OrderView, ...]:
    orders = (
        await Order.select(
            Order.id, Order.number, Order.status, Order.total, Order.currency, Order.placed_at
        )
        .where(Order.customer == customer_id)
        .order_by(Order.placed_at, ascending=False)
        .limit(RECENT_ORDERS)
    )
    if not orders:
        return ()
    ids = [order["id"] for order in orders]
    items: dict[int, list[tuple[str, str, int]]] = defaultdict(list)
    for item in (
        await OrderItem.select(OrderItem.order, OrderItem.sku, OrderItem.name, OrderItem.quantity)
        .where(OrderItem.order.is_in(ids))
        .order_by(OrderItem.id)
    ):
        items[item["order"]].append((item["sku"], item["name"], item["quantity"]))
    references: dict[int, str] = {}
    for payment in (
        await Payment.select(Payment.order, Payment.reference)
        .where(Payment.order.is_in(ids))
        .order_by(Payment.attempt)
    ):
        references[payment["order"]] = payment["reference"]
    return tuple(
        OrderView(
            id=order["id"],
            number=order["number"],
            status=order["status"],
            total=order["total"],
            currency=order["currency"],
            placed_at=order["placed_at"],
            items=tuple(items[order["id"]]),
            payment_reference=references.get(order["id"]),
        )
        for order in orders
    )


async def load_context(
    settings: Settings, customer_id: int, *, now: datetime, session_expired: bool
) -> Context:
    return Context(
        catalog=await load_catalog(),
        orders=await load_orders(customer_id),
        terms=shop_terms(settings),
        locale=settings.shop_locale,
        shop_name=settings.shop_name,
        payment_instructions=settings.payment_manual_instructions,
        now=now.astimezone(settings.timezone),
        session_expired=session_expired,
    )
