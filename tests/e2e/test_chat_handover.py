"""A customer asks for a person: the bot goes quiet, staff reply, then hand back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from app.catalog.seed import seed_demo_catalog
from app.conversation.handler import session_store
from app.conversation.handover import end_handover, send_staff_reply
from app.customers.tables import Customer
from app.errors import InvalidInput, NotFound
from app.resources import Resources
from app.settings import Settings
from app.whatsapp.outgoing import render_plain
from app.whatsapp.tables import InboundMessage
from tests.conftest import app_client, make_settings
from tests.e2e.chat_driver import ChatDriver, webhook_body

SECRET = "handover-secret"


@pytest.fixture
async def shop(db: Resources, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    await seed_demo_catalog()
    configured = make_settings(
        settings.database_url or "", settings.redis_url or "", whatsapp_app_secret=SECRET
    )
    async with app_client(configured, run_worker=True) as client:
        yield client


async def test_handover_round_trip(
    shop: httpx.AsyncClient, db: Resources, settings: Settings
) -> None:
    ada = ChatDriver(shop, SECRET, "15550004444")
    await ada.say("hi")
    await ada.say("sourdough")
    await ada.tap("Add 1")
    handed = await ada.say("human")
    assert "person" in render_plain(handed)
    customer = await Customer.select().first()
    assert customer is not None
    assert customer["handover_since"] is not None

    # The bot stays silent, but the message is kept (and marked handled) for staff.
    quiet = ada.message({"type": "text", "text": {"body": "where is my bread?"}})
    await ada.post_body(webhook_body(ada.wa_id, quiet))
    row = None
    for _ in range(100):
        row = (
            await InboundMessage.select(InboundMessage.status)
            .where(InboundMessage.wamid == quiet["id"])
            .first()
        )
        if row is not None and row["status"] == "processed":
            break
        await asyncio.sleep(0.05)
    assert row is not None
    assert row["status"] == "processed"
    assert await ada.replies(within=1) == []

    await send_staff_reply(customer["id"], "Hi Ada, it is on its way!", staff_id=1)
    staff_reply = await ada.replies()
    assert [render_plain(m) for m in staff_reply] == ["Hi Ada, it is on its way!"]

    sessions = session_store(settings)
    await end_handover(customer["id"], staff_id=1, settings=settings, sessions=sessions)
    back = await ada.replies()
    assert "back" in render_plain(back[0])
    assert (
        await end_handover(customer["id"], staff_id=1, settings=settings, sessions=sessions) is None
    )

    cart = await ada.say("cart")
    assert "Sourdough loaf" in render_plain(cart)  # the cart survived the handover


async def test_staff_reply_refuses_bad_input(shop: httpx.AsyncClient) -> None:
    ada = ChatDriver(shop, SECRET, "15550005555")
    await ada.say("hi")
    customer = await Customer.select().first()
    assert customer is not None
    with pytest.raises(InvalidInput):
        await send_staff_reply(customer["id"], "   ", staff_id=1)
    with pytest.raises(InvalidInput):
        await send_staff_reply(customer["id"], "x" * 5000, staff_id=1)
    with pytest.raises(NotFound):
        await send_staff_reply(999_999, "hello", staff_id=1)
    await Customer.update({Customer.last_inbound_at: None}).where(Customer.id == customer["id"])
    with pytest.raises(InvalidInput) as closed:
        await send_staff_reply(customer["id"], "hello", staff_id=1)
    assert "24 hours" in closed.value.message
