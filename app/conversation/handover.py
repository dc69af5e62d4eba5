"""A person takes over a chat: staff replies, and handing the customer back to the bot.

While ``customer.handover_since`` is set the bot stays silent; customers' messages are
still stored (staff read them) and marked handled.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import structlog

from app.conversation.messages import Texts
from app.conversation.store import SessionStore
from app.customers.tables import Customer
from app.errors import InvalidInput, NotFound
from app.settings import Settings
from app.whatsapp.outbound import SERVICE_WINDOW, queue_message
from app.whatsapp.outgoing import Recipient, TextMessage, to_cloud_body

log = structlog.get_logger(__name__)

MAX_REPLY = 4096


async def send_staff_reply(
    customer_id: int, text: str, *, staff_id: int, now: datetime | None = None
) -> int:
    """Queue a staff member's message to the customer; return the outbound message id."""
    text = text.strip()
    if not text:
        raise InvalidInput("The reply is empty.", field="text")
    if len(text) > MAX_REPLY:
        raise InvalidInput(f"A reply holds at most {MAX_REPLY} characters.", field="text")
    customer = await _customer(customer_id)
    last = customer["last_inbound_at"]
    if last is None or (now or datetime.now(UTC)) - last > SERVICE_WINDOW:
        raise InvalidInput(
            "The customer last wrote over 24 hours ago: WhatsApp only delivers free text "
            "within 24 hours of their last message.",
            field="customer_id",
        )
    recipient = Recipient(wa_id=customer["wa_id"], user_id=customer["user_id"])
    outbound_id = await queue_message(
        customer_id=customer_id,
        body=to_cloud_body(TextMessage(text), recipient),
        kind="text",
    )
    assert outbound_id is not None
    log.info("staff reply queued", customer_id=customer_id, staff_id=staff_id)
    return outbound_id


async def end_handover(
    customer_id: int, *, staff_id: int, settings: Settings, sessions: SessionStore
) -> int | None:
    """Give the customer back to the bot (their cart is kept); None if no handover was on."""
    customer = await _customer(customer_id)
    if customer["handover_since"] is None:
        return None
    await Customer.update({Customer.handover_since: None}).where(Customer.id == customer_id)
    await sessions.reset(customer_id)
    texts = Texts.for_locale(settings.shop_locale, settings.shop_currency)
    recipient = Recipient(wa_id=customer["wa_id"], user_id=customer["user_id"])
    outbound_id = await queue_message(
        customer_id=customer_id,
        body=to_cloud_body(TextMessage(texts.t("handover.ended")), recipient),
        kind="text",
    )
    log.info("handover ended", customer_id=customer_id, staff_id=staff_id)
    return outbound_id


async def _customer(customer_id: int) -> dict[str, Any]:
    customer = await Customer.select().where(Customer.id == customer_id).first()
    if customer is None:
        raise NotFound(f"No customer with id {customer_id}.", field="customer_id")
    return customer
