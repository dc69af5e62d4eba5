"""Handle one customer message: run the machine, perform its effects, queue the replies.

The machine decides; this module does the I/O it asks for. Every write is idempotent
on the message id (the order's idempotency key, each reply's key), and the session store
re-applies a message to the session it had before, so a message handled twice - its
worker died half way - places one order and sends each reply once.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import redis.asyncio as aioredis
import structlog

from app import actors
from app.conversation import machine
from app.conversation.context import load_context
from app.conversation.effects import (
    CancelOrder,
    CancelRefused,
    Effect,
    OrderCancelled,
    OrderPlaced,
    OrderRefused,
    Outcome,
    PlaceOrder,
    Reply,
    StartHandover,
    Turn,
)
from app.conversation.inbound import to_input
from app.conversation.inputs import Unsupported
from app.conversation.messages import Texts
from app.conversation.session import Session
from app.conversation.store import SessionStore
from app.conversation.view import Context
from app.customers.tables import Customer
from app.errors import DomainError
from app.ordering import service as ordering
from app.payments.service import start_manual_payment
from app.settings import Settings, shop_terms
from app.whatsapp.outbound import queue_message
from app.whatsapp.outgoing import OutgoingMessage, Recipient, TextMessage, to_cloud_body
from app.whatsapp.processing import PendingMessage

log = structlog.get_logger(__name__)

CHAT_CANCEL_REASON = "cancelled by the customer in chat"


@dataclass
class _Progress:
    """Replies queued so far while handling one message (numbers their keys)."""

    replies: int = 0


class ConversationHandler:
    def __init__(self, settings: Settings, sessions: SessionStore) -> None:
        self.settings = settings
        self.sessions = sessions

    async def __call__(self, message: PendingMessage) -> None:
        customer = await Customer.select().where(Customer.id == message.customer_id).first()
        if customer is None or customer["handover_since"] is not None:
            return  # a person is answering this customer; staff see the message
        parsed = to_input(message.payload)
        if isinstance(parsed, Unsupported) and parsed.kind == "reaction":
            return  # a 👍 on one of our messages needs no answer
        now = datetime.now(UTC)
        loaded = await self.sessions.load(message.customer_id, message.wamid)
        ctx = await load_context(
            self.settings, message.customer_id, now=now, session_expired=loaded.expired
        )
        turn = machine.step(loaded.session, parsed, ctx)
        await self.sessions.save(message.customer_id, message.wamid, loaded.session, turn.session)
        recipient = Recipient(wa_id=customer["wa_id"], user_id=customer["user_id"])
        final = await self._perform(turn, message, recipient, ctx, _Progress())
        await self.sessions.save(message.customer_id, message.wamid, loaded.session, final)

    async def gave_up(self, message: PendingMessage) -> None:
        """The message failed for good: undo its step and say so, instead of going silent."""
        await self.sessions.undo(message.customer_id, message.wamid)
        customer = await Customer.select().where(Customer.id == message.customer_id).first()
        if customer is None:
            return
        texts = Texts.for_locale(self.settings.shop_locale, self.settings.shop_currency)
        recipient = Recipient(wa_id=customer["wa_id"], user_id=customer["user_id"])
        await queue_message(
            customer_id=message.customer_id,
            body=to_cloud_body(TextMessage(texts.t("error.gave_up")), recipient),
            kind="text",
            idempotency_key=_key("gave-up", message.wamid),
        )

    async def _perform(
        self,
        turn: Turn,
        message: PendingMessage,
        recipient: Recipient,
        ctx: Context,
        progress: _Progress,
    ) -> Session:
        session = turn.session
        for effect in turn.effects:
            outcome = await self._effect(effect, message, recipient, progress)
            if outcome is not None:
                follow_up = machine.after(session, outcome, ctx)
                session = await self._perform(follow_up, message, recipient, ctx, progress)
        return session

    async def _effect(
        self, effect: Effect, message: PendingMessage, recipient: Recipient, progress: _Progress
    ) -> Outcome | None:
        if isinstance(effect, Reply):
            await self._reply(effect.message, message, recipient, progress)
            return None
        if isinstance(effect, PlaceOrder):
            return await self._place_order(effect, message)
        if isinstance(effect, CancelOrder):
            return await self._cancel_order(effect)
        if isinstance(effect, StartHandover):
            await Customer.update({Customer.handover_since: datetime.now(UTC)}).where(
                Customer.id == message.customer_id
            )
            log.info("handover started", customer_id=message.customer_id)
            return None
        raise TypeError(f"unknown effect {effect!r}")

    async def _reply(
        self,
        outgoing: OutgoingMessage,
        message: PendingMessage,
        recipient: Recipient,
        progress: _Progress,
    ) -> None:
        progress.replies += 1
        body: dict[str, Any] = to_cloud_body(outgoing, recipient)
        await queue_message(
            customer_id=message.customer_id,
            body=body,
            kind=str(body.get("type", "text")),
            idempotency_key=_key(f"reply:{progress.replies}", message.wamid),
        )

    async def _place_order(self, effect: PlaceOrder, message: PendingMessage) -> Outcome:
        command = ordering.PlaceOrder(
            customer_id=message.customer_id,
            lines=effect.lines,
            fulfilment=effect.fulfilment,
            destination=effect.destination,
            note=effect.note,
            idempotency_key=_key("order", message.wamid),
        )
        try:
            placed = await ordering.place_order(
                command, shop_terms(self.settings), actor=actors.CUSTOMER
            )
            payment = await start_manual_payment(placed.id, actor=actors.CUSTOMER)
        except DomainError as refused:
            return OrderRefused(refused.message)
        expires_at = placed.expires_at.astimezone(self.settings.timezone)
        return OrderPlaced(placed.id, placed.number, placed.totals, payment.reference, expires_at)

    async def _cancel_order(self, effect: CancelOrder) -> Outcome:
        order = await ordering.get_order(effect.order_id)
        try:
            change = await ordering.cancel_order(
                effect.order_id, actor=actors.CUSTOMER, reason=CHAT_CANCEL_REASON
            )
        except DomainError as refused:
            if order["status"] == "cancelled" and order["cancel_reason"] == CHAT_CANCEL_REASON:
                # This message cancelled it before its worker died: same answer as then.
                return OrderCancelled(order["number"])
            return CancelRefused(order["number"], refused.message)
        return OrderCancelled(change.number)


def _key(purpose: str, wamid: str) -> str:
    """A short idempotency key: WhatsApp ids can be longer than the key columns."""
    digest = hashlib.sha256(wamid.encode()).hexdigest()[:40]
    return f"chat:{purpose}:{digest}"


def session_store(settings: Settings, redis: aioredis.Redis) -> SessionStore:
    return SessionStore(redis, timedelta(hours=settings.session_ttl_hours))
