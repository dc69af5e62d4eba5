"""Handle one customer message: run the machine, perform its effects, queue the replies.

The machine decides; this module does the I/O it asks for. Every write is idempotent
on the message id (the order's idempotency key, each reply's key), and the session store
re-applies a message to the session it had before, so a message handled twice - its
worker died half way - places one order and sends each reply once.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
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
    ClaimPayment,
    ClaimState,
    Effect,
    OrderCancelled,
    OrderPlaced,
    OrderRefused,
    Outcome,
    PaymentClaimed,
    PaymentReady,
    PaymentRefused,
    PlaceOrder,
    ReceiptMissing,
    ReceiptSent,
    Reply,
    SendReceipt,
    StartHandover,
    StartPayment,
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
from app.ordering.tables import Order
from app.payments import service as payments
from app.payments.expiry import cancel_unpaid
from app.payments.methods import (
    PaymentMethods,
    check_card_payment,
    start_payment,
    stop_attempts,
    stop_superseded,
)
from app.payments.notices import Notices
from app.payments.providers import MANUAL, ManualProvider, Method
from app.payments.states import PaymentStatus
from app.receipts import service as receipts
from app.reports.service import count_cart
from app.settings import Settings, shop_terms
from app.whatsapp.outbound import queue_message
from app.whatsapp.outgoing import OutgoingMessage, Recipient, TextMessage, to_cloud_body
from app.whatsapp.processing import PendingMessage

log = structlog.get_logger(__name__)

CHAT_CANCEL_REASON = "cancelled by the customer in chat"
# Staff screens following a handover listen here (see app.graphql.live).
HANDOVER_CHANNEL = "chatcart:handover"
# What a card check may answer that means a person or a refund takes it from here.
_BEING_HANDLED = frozenset({"needs review", "already under review", "refund_due"})


@dataclass
class _Progress:
    """Replies queued so far while handling one message (numbers their keys)."""

    replies: int = 0
    # Orders with a payment confirmed during the turn: their receipts go out after the
    # turn's replies, so the customer reads "it went through" before the receipt.
    settle: list[int] = field(default_factory=list)


class ConversationHandler:
    def __init__(
        self,
        settings: Settings,
        sessions: SessionStore,
        redis: aioredis.Redis,
        payment_methods: PaymentMethods | None = None,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.redis = redis  # handover notes and the funnel's counters
        self.payment_methods = payment_methods or PaymentMethods(ManualProvider())
        self.notices = Notices(settings)

    async def __call__(self, message: PendingMessage) -> None:
        customer = await Customer.select().where(Customer.id == message.customer_id).first()
        if customer is None:
            return
        if customer["handover_since"] is not None:
            # A person is answering this customer: their screen shows the message.
            note = {"customer_id": message.customer_id, "message_id": message.id}
            await self.redis.publish(HANDOVER_CHANNEL, json.dumps(note))
            return
        parsed = to_input(message.payload)
        if isinstance(parsed, Unsupported) and parsed.kind == "reaction":
            return  # a 👍 on one of our messages needs no answer
        now = datetime.now(UTC)
        loaded = await self.sessions.load(message.customer_id, message.wamid)
        ctx = await load_context(
            self.settings,
            message.customer_id,
            now=now,
            session_expired=loaded.expired,
            payment_methods=self.payment_methods.offered,
        )
        turn = machine.step(loaded.session, parsed, ctx)
        # Saved once, after the effects: if they fail half way, the stored session is still
        # the one this message started from, so the retry takes the same step again.
        recipient = Recipient(wa_id=customer["wa_id"], user_id=customer["user_id"])
        progress = _Progress()
        final = await self._perform(turn, message, recipient, ctx, progress)
        await self.sessions.save(message.customer_id, message.wamid, loaded.session, final)
        if not loaded.session.cart and turn.session.cart:  # a cart started: the funnel's step 2
            await count_cart(self.redis, message.customer_id, ctx.now)
        for order_id in progress.settle:
            await receipts.settle_order(order_id, self.settings)
            await stop_superseded(order_id, self.payment_methods)

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
        if isinstance(effect, StartPayment):
            return await self._start_payment(effect)
        if isinstance(effect, ClaimPayment):
            return await self._claim_payment(effect, message, progress)
        if isinstance(effect, SendReceipt):
            return await self._send_receipt(effect, message)
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
            reference = None
            if len(self.payment_methods.offered) == 1:  # no choice to make: pay manually
                payment, _ = await payments.open_payment(placed.id, MANUAL, actor=actors.CUSTOMER)
                reference = payment.reference
        except DomainError as refused:
            return OrderRefused(refused.message)
        expires_at = placed.expires_at.astimezone(self.settings.timezone)
        return OrderPlaced(placed.id, placed.number, placed.totals, reference, expires_at)

    async def _start_payment(self, effect: StartPayment) -> Outcome:
        number = await _order_number(effect.order_id)
        try:
            started = await start_payment(effect.order_id, effect.method, self.payment_methods)
        except DomainError as refused:
            return PaymentRefused(number, refused.message)
        payment = started.payment
        expires_at = payment.expires_at or datetime.now(UTC)
        return PaymentReady(
            number=number,
            method=started.method,
            reference=payment.reference,
            amount=payment.amount,
            expires_at=expires_at.astimezone(self.settings.timezone),
            checkout_url=payment.checkout_url if started.method is Method.CARD else None,
            fallback=started.fallback is not None and effect.method is Method.CARD,
        )

    async def _claim_payment(
        self, effect: ClaimPayment, message: PendingMessage, progress: _Progress
    ) -> Outcome:
        number = await _order_number(effect.order_id)
        checked = await check_card_payment(effect.order_id, self.payment_methods, self.notices)
        if checked == PaymentStatus.CONFIRMED:
            progress.settle.append(effect.order_id)
            return PaymentClaimed(number, ClaimState.CARD_CONFIRMED)
        if checked in _BEING_HANDLED:
            return PaymentClaimed(number, ClaimState.AGAIN)  # under review, or being refunded
        try:
            claim = await payments.claim_payment(
                effect.order_id, customer_id=message.customer_id, proof=effect.proof
            )
        except DomainError as refused:
            return PaymentRefused(number, refused.message)
        if claim is None:
            link = await payments.open_checkout_url(effect.order_id)
            if link is not None:
                return PaymentClaimed(number, ClaimState.CARD_PENDING, checkout_url=link)
            return PaymentClaimed(number, ClaimState.NOTHING_OPEN)
        if claim.proof:
            state = ClaimState.PROOF
        else:
            state = ClaimState.CLAIMED if claim.first else ClaimState.AGAIN
        return PaymentClaimed(number, state, reference=claim.payment.reference)

    async def _send_receipt(self, effect: SendReceipt, message: PendingMessage) -> Outcome:
        number = await _order_number(effect.order_id)
        receipt = await receipts.receipt_for_customer(
            effect.order_id, message.customer_id, self.settings
        )
        if receipt is None:
            return ReceiptMissing(number)
        await receipts.send_receipt(
            receipt, self.settings, key=_key("receipt", message.wamid), actor=actors.CUSTOMER
        )
        return ReceiptSent(number)

    async def _cancel_order(self, effect: CancelOrder) -> Outcome:
        order = await ordering.get_order(effect.order_id)
        try:
            change, stopped = await cancel_unpaid(
                effect.order_id, actor=actors.CUSTOMER, reason=CHAT_CANCEL_REASON
            )
        except DomainError as refused:
            if order["status"] == "cancelled" and order["cancel_reason"] == CHAT_CANCEL_REASON:
                # This message cancelled it before its worker died: same answer as then.
                return OrderCancelled(order["number"])
            return CancelRefused(order["number"], refused.message)
        await stop_attempts(self.payment_methods, stopped)
        return OrderCancelled(change.number)


async def _order_number(order_id: int) -> int:
    row = await Order.select(Order.number).where(Order.id == order_id).first()
    return int(row["number"]) if row else 0


def _key(purpose: str, wamid: str) -> str:
    """A short idempotency key: WhatsApp ids can be longer than the key columns."""
    digest = hashlib.sha256(wamid.encode()).hexdigest()[:40]
    return f"chat:{purpose}:{digest}"


def session_store(settings: Settings, *, earlier: aioredis.Redis | None = None) -> SessionStore:
    """``earlier``: the Redis where versions before migration m0008 kept sessions."""
    return SessionStore(timedelta(hours=settings.session_ttl_hours), earlier=earlier)
