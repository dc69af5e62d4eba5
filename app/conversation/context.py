"""Load what the machine reads in a turn: the catalog, the customer's orders, the terms."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from app.catalog.tables import Product
from app.conversation.view import CatalogSnapshot, Context, OrderView, ProductView
from app.ordering.tables import Order, OrderItem
from app.payments.providers import MANUAL, Method
from app.payments.states import PaymentStatus
from app.payments.tables import Payment
from app.receipts.tables import Receipt
from app.settings import Settings, shop_terms

RECENT_ORDERS = 20  # what "status 1042", "paid 1042" and "receipt 1042" can find


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
            Order.id,
            Order.number,
            Order.status,
            Order.total,
            Order.currency,
            Order.placed_at,
            Order.expires_at,
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
    payments: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for payment in (
        await Payment.select(
            Payment.order,
            Payment.reference,
            Payment.provider,
            Payment.status,
            Payment.checkout_url,
        )
        .where(Payment.order.is_in(ids))
        .order_by(Payment.attempt)
    ):
        payments[payment["order"]].append(payment)
    receipts = {
        row["order"]: row["number"]
        for row in await Receipt.select(Receipt.order, Receipt.number).where(
            Receipt.order.is_in(ids)
        )
    }
    return tuple(
        _view(order, items[order["id"]], payments[order["id"]], receipts) for order in orders
    )


def _view(
    order: dict[str, Any],
    items: list[tuple[str, str, int]],
    payments: list[dict[str, Any]],
    receipts: dict[int, str],
) -> OrderView:
    manual = [p for p in payments if p["provider"] == MANUAL]
    card_links = [
        p["checkout_url"]
        for p in payments
        if p["checkout_url"] and p["status"] == PaymentStatus.PENDING
    ]
    return OrderView(
        id=order["id"],
        number=order["number"],
        status=order["status"],
        total=order["total"],
        currency=order["currency"],
        placed_at=order["placed_at"],
        items=tuple(items),
        payment_reference=manual[-1]["reference"] if manual else None,
        references=tuple(p["reference"] for p in payments),
        payment_status=payments[-1]["status"] if payments else None,
        checkout_url=card_links[-1] if card_links else None,
        expires_at=order["expires_at"],
        receipt=receipts.get(order["id"]),
    )


async def load_context(
    settings: Settings,
    customer_id: int,
    *,
    now: datetime,
    session_expired: bool,
    payment_methods: tuple[Method, ...] = (Method.MANUAL,),
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
        payment_methods=payment_methods,
        manual_label=settings.payment_manual_label,
        manual_account=settings.payment_manual_account,
    )
