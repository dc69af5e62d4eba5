"""The payment methods a shop offers, and the use cases that need to talk to a gateway.

Starting a card payment and checking one are the only steps that call out; they do so
outside any transaction and fall back to the manual method when the gateway cannot
answer, so a customer always gets a way to pay, never an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import structlog

from app import actors
from app.payments import service
from app.payments.notices import Notices
from app.payments.providers import (
    MANUAL,
    ManualProvider,
    Method,
    PaymentProvider,
    ProviderUnavailable,
)
from app.payments.service import PaymentRecord
from app.payments.states import OPEN_PAYMENT_STATUSES
from app.payments.tables import Payment

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class PaymentMethods:
    manual: ManualProvider
    card: PaymentProvider | None = None  # None: the shop takes no card payments

    @property
    def offered(self) -> tuple[Method, ...]:
        return (Method.CARD, Method.MANUAL) if self.card else (Method.MANUAL,)

    def provider(self, name: str) -> PaymentProvider | None:
        if name == MANUAL:
            return self.manual
        if self.card is not None and self.card.name == name:
            return self.card
        return None


@dataclass(frozen=True, slots=True)
class StartedPayment:
    payment: PaymentRecord
    method: Method
    fallback: str | None = None  # why the card was asked for but the manual method given


async def start_payment(
    order_id: int,
    method: Method,
    methods: PaymentMethods,
    *,
    actor: str = actors.CUSTOMER,
    customer_phone: str | None = None,
) -> StartedPayment:
    """Payment instructions for the order: a card link, or the manual reference.

    Asking again returns the same attempt; a gateway that is down or refuses gives the
    manual method with the reason.
    """
    fallback: str | None = None
    if method is Method.CARD:
        if methods.card is None:
            fallback = "card payments are not offered"
        else:
            try:
                return await _start_card(order_id, methods.card, actor, customer_phone)
            except ProviderUnavailable as exc:
                fallback = exc.reason
                log.warning("card payment unavailable", order_id=order_id, reason=exc.reason)
    payment, _ = await service.open_payment(order_id, MANUAL, actor=actor)
    return StartedPayment(payment, Method.MANUAL, fallback)


async def _start_card(
    order_id: int, card: PaymentProvider, actor: str, customer_phone: str | None
) -> StartedPayment:
    payment, _ = await service.open_payment(order_id, card.name, actor=actor)
    if payment.checkout_url:
        return StartedPayment(payment, Method.CARD)
    draft = await service.draft_for(payment, customer_phone)
    try:
        instructions = await card.create_instructions(draft)
    except ProviderUnavailable as exc:
        await service.abandon_payment(payment.id, f"card payments unavailable: {exc.reason}")
        raise
    return StartedPayment(
        await service.attach_instructions(payment.id, instructions, actor=actor), Method.CARD
    )


async def check_card_payment(
    order_id: int,
    methods: PaymentMethods,
    notices: Notices,
    *,
    actor: str = actors.CUSTOMER,
    now: datetime | None = None,
) -> str | None:
    """Ask the gateway about the order's open card attempt and apply its answer.

    Returns what changed (``confirmed``, ``pending``, …), or ``None`` when there is no
    open card attempt or the gateway cannot answer now.
    """
    card = methods.card
    if card is None:
        return None
    row = (
        await Payment.select(Payment.id, Payment.provider_payment_id)
        .where(
            (Payment.order == order_id)
            & (Payment.provider == card.name)
            & Payment.status.is_in([s.value for s in OPEN_PAYMENT_STATUSES])
        )
        .first()
    )
    if row is None or not row["provider_payment_id"]:
        return None
    try:
        verification = await card.verify(row["provider_payment_id"])
    except ProviderUnavailable as exc:
        log.warning("card payment check unavailable", order_id=order_id, reason=exc.reason)
        return None
    return await service.apply_check(
        row["id"], verification, actor=actor, notices=notices, now=now or datetime.now(UTC)
    )
