"""A customer orders through the real webhook path, worker and sandbox transport."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from app.catalog.seed import seed_demo_catalog
from app.catalog.service import get_product_by_sku
from app.ordering import events
from app.ordering.tables import Order, OrderItem
from app.payments.tables import Payment
from app.resources import Resources
from app.settings import Settings
from app.whatsapp.outgoing import render_plain
from app.whatsapp.tables import InboundMessage
from tests.conftest import app_client, make_settings
from tests.e2e.chat_driver import ChatDriver

SECRET = "e2e-app-secret"


@pytest.fixture
async def shop(db: Resources, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    await seed_demo_catalog()
    configured = make_settings(
        settings.database_url or "",
        settings.redis_url or "",
        whatsapp_app_secret=SECRET,
        delivery_fee=350,
    )
    async with app_client(configured, run_worker=True) as client:
        yield client


async def test_hi_to_payment_instructions(shop: httpx.AsyncClient) -> None:
    ada = ChatDriver(shop, SECRET, "15551234567")
    croissant_before = (await get_product_by_sku("PAS-CROI")).stock

    greeting = await ada.say("hi")
    assert "Welcome" in render_plain(greeting)
    await ada.tap("Browse")
    await ada.tap("Bakery")
    await ada.tap("Butter croissant")
    await ada.tap("Choose quantity")
    added = await ada.say("3 please")
    assert "3 × *Butter croissant*" in render_plain(added)

    found = await ada.say("dark choclate")
    assert "Dark chocolate" in render_plain(found)
    if "Add 1" not in render_plain(found):
        await ada.tap("Dark chocolate")
    await ada.tap("Add 1")

    cart = await ada.say("cart")
    text = render_plain(cart)
    assert "3 × Butter croissant" in text
    assert "1 × Dark chocolate 100 g" in text
    await ada.tap("Change")
    await ada.tap("Butter croissant")
    changed = await ada.say("2")
    assert "2 × Butter croissant" in render_plain(changed)

    await ada.say("cart")
    await ada.tap("Checkout")
    await ada.tap("Delivery")
    summary = await ada.share_location(-1.2921, 36.8219)
    summary_text = render_plain(summary)
    # 2 × 2.25 + 3.49 + 16 % tax on the chocolate (0.56) + 3.50 delivery
    assert "$12.05" in summary_text, summary_text
    instructions = await ada.tap("Confirm")
    paid_text = render_plain(instructions)

    order = await Order.select().first()
    assert order is not None
    payment = await Payment.select().where(Payment.order == order["id"]).first()
    assert payment is not None
    assert payment["reference"] in paid_text
    assert str(order["number"]) in paid_text
    assert "$12.05" in paid_text
    assert order["total"] == 1205
    assert order["fulfilment"] == "delivery"
    assert order["delivery_latitude"] == pytest.approx(-1.2921)
    items = await OrderItem.select(OrderItem.sku, OrderItem.quantity).order_by(OrderItem.sku)
    assert [(i["sku"], i["quantity"]) for i in items] == [("PAS-CROI", 2), ("SNK-CHOC", 1)]
    assert (await get_product_by_sku("PAS-CROI")).stock == (croissant_before or 0) - 2
    history = [e["type"] for e in await events.history(order["id"])]
    assert history == ["OrderPlaced", "PaymentStarted"]
    pending = await InboundMessage.count().where(InboundMessage.status != "processed")
    assert pending == 0
    print("\n".join(ada.transcript))


async def test_a_cart_sent_from_the_whatsapp_catalog_is_repriced_from_ours(
    shop: httpx.AsyncClient,
) -> None:
    bob = ChatDriver(shop, SECRET, "15557654321")
    await bob.say("hi")
    order_message = {
        "type": "order",
        "order": {
            "catalog_id": "cat-1",
            "text": "for the party",
            "product_items": [
                # The client claims a price of 0.01: ours (6.49) is what counts.
                {
                    "product_retailer_id": "BRD-SOUR",
                    "quantity": 2,
                    "item_price": 0.01,
                    "currency": "USD",
                },
                {
                    "product_retailer_id": "NOPE-404",
                    "quantity": 1,
                    "item_price": 1,
                    "currency": "USD",
                },
            ],
        },
    }
    (cart,) = await bob.send(order_message)
    text = render_plain(cart)
    assert "2 × Sourdough loaf" in text
    assert "$12.98" in text
    assert "$0.02" not in text
    assert "NOPE-404 is not in our catalog" in text
