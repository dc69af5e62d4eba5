"""Messages the shop sends a customer about a payment outside a chat turn.

Reminders, expiry, a rejected or failed payment, money to refund: each is queued as an
outbound message inside the transaction of the change it announces, with an idempotency
key naming that change, so the customer hears of it exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.conversation.messages import Texts
from app.customers.tables import Customer
from app.settings import Settings
from app.whatsapp.outbound import queue_message
from app.whatsapp.outgoing import (
    Button,
    ButtonsMessage,
    OutgoingMessage,
    Recipient,
    TextMessage,
    to_cloud_body,
)


@dataclass(frozen=True, slots=True)
class Notices:
    settings: Settings

    @property
    def texts(self) -> Texts:
        return Texts.for_locale(self.settings.shop_locale, self.settings.shop_currency)

    def deadline(self, at: datetime, now: datetime) -> str:
        return self.texts.deadline(at.astimezone(self.settings.timezone), now)

    async def send(
        self,
        order: dict[str, Any],
        key: str,
        body: str,
        buttons: tuple[tuple[str, str], ...] = (),
    ) -> int | None:
        """Queue ``body`` (with up to three ``(id, text id)`` buttons) to the order's customer."""
        customer = await Customer.select().where(Customer.id == order["customer"]).first()
        if customer is None:
            return None
        message: OutgoingMessage = (
            ButtonsMessage(
                body,
                tuple(Button(choice, self.texts.t(title)) for choice, title in buttons),
            )
            if buttons
            else TextMessage(body)
        )
        recipient = Recipient(wa_id=customer["wa_id"], user_id=customer["user_id"])
        payload = to_cloud_body(message, recipient)
        return await queue_message(
            customer_id=customer["id"],
            body=payload,
            kind=str(payload.get("type", "text")),
            order_id=order["id"],
            idempotency_key=key,
        )
