"""An order waiting for payment, and what its customer and its audit trail show afterwards."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app import actors
from app.catalog.service import get_product
from app.customers.service import CustomerRecord, register_customer
from app.ordering import events
from app.ordering.service import PlaceOrder, place_order
from app.ordering.tables import Order
from app.ordering.values import CartLine, Fulfilment, ShopTerms
from app.payments.tables import Payment
from app.whatsapp.tables import OutboundMessage
from tests.integration.factories import a_product

_counter = itertools.count(1)


@dataclass(frozen=True, slots=True)
class Unpaid:
    id: int
    number: int
    total: int
    expires_at: datetime
    customer_id: int
    wa_id: str
    product_id: int


async def a_phone_customer() -> CustomerRecord:
    """A customer WhatsApp shared the phone of, so notices go ``to`` that number."""
    n = next(_counter)
    return await register_customer(
        user_id=f"US.77{n:010d}", wa_id=f"1555{n:07d}", profile_name=f"Buyer {n}"
    )


async def an_unpaid_order(
    *,
    price: int = 1250,
    quantity: int = 2,
    stock: int | None = 5,
    minutes: int = 30,
    customer: CustomerRecord | None = None,
    now: datetime | None = None,
) -> Unpaid:
    """A pickup order of one tracked product, placed by the customer through the use case."""
    product = await a_product(price=price, stock=stock)
    customer = customer or await a_phone_customer()
    assert customer.wa_id is not None
    terms = ShopTerms("USD", prices_include_tax=False, delivery_fee=0, payment_minutes=minutes)
    placed = await place_order(
        PlaceOrder(customer.id, [CartLine(product.sku, quantity)], Fulfilment.PICKUP),
        terms,
        actor=actors.CUSTOMER,
        now=now,
    )
    return Unpaid(
        placed.id,
        placed.number,
        placed.totals.total,
        placed.expires_at,
        customer.id,
        customer.wa_id,
        product.id,
    )


async def stock_of(order: Unpaid) -> int | None:
    return (await get_product(order.product_id)).stock


async def order_row(order_id: int) -> dict[str, Any]:
    row = await Order.select().where(Order.id == order_id).first()
    assert row is not None
    return row


async def payment_row(payment_id: int) -> dict[str, Any]:
    row = await Payment.select().where(Payment.id == payment_id).first()
    assert row is not None
    return row


async def payments_of(order_id: int) -> list[dict[str, Any]]:
    return list(await Payment.select().where(Payment.order == order_id).order_by(Payment.id))


async def trail(order_id: int) -> list[tuple[str, str]]:
    """The order's audit trail as (event type, actor), oldest first."""
    return [(event["type"], event["actor"]) for event in await events.history(order_id)]


async def event_types(order_id: int) -> list[str]:
    return [event_type for event_type, _ in await trail(order_id)]


async def messages_to(customer_id: int) -> list[dict[str, Any]]:
    """What was queued for the customer, oldest first: kind and Cloud API body."""
    rows = (
        await OutboundMessage.select(
            OutboundMessage.kind, OutboundMessage.payload, OutboundMessage.recipient
        )
        .where(OutboundMessage.customer == customer_id)
        .order_by(OutboundMessage.id)
        .output(load_json=True)
    )
    return list(rows)


def body_of(message: dict[str, Any]) -> str:
    """The text a customer reads in a queued text or buttons message."""
    payload = message["payload"]
    if payload["type"] == "text":
        return str(payload["text"]["body"])
    return str(payload["interactive"]["body"]["text"])


def buttons_of(message: dict[str, Any]) -> list[str]:
    buttons = message["payload"]["interactive"]["action"]["buttons"]
    return [button["reply"]["id"] for button in buttons]
