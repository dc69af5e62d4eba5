"""The payment methods a shop offers, and the use cases that need to talk to a gateway.

Starting a card payment and checking one are the only steps that call out; they do so
outside any transaction and fall back to the manual method when the gateway cannot
answer, so a customer always gets a way to pay, never an error.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog

from app import actors
from app.errors import PaymentClosed
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
from app.payments.states import OPEN_PAYMENT_STATUSES, PaymentStatus
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
                return await _start_card(order_id, methods.card, actor)
            except ProviderUnavailable as exc:
                fallback = exc.reason
                log.warning("card payment unavailable", order_id=order_id, reason=exc.reason)
    payment, _ = await service.open_payment(order_id, MANUAL, actor=actor)
    return StartedPayment(payment, Method.MANUAL, fallback)


async def _start_card(order_id: int, card: PaymentProvider, actor: str) -> StartedPayment:
    payment, _ = await service.open_payment(order_id, card.name, actor=actor)
    if payment.checkout_url:
        return StartedPayment(payment, Method.CARD)
    draft = await service.draft_for(payment)
    try:
        instructions = await card.create_instructions(draft)
    except ProviderUnavailable as exc:
        await service.abandon_payment(payment.id, f"card payments unavailable: {exc.reason}")
        raise
    attached = await service.attach_instructions(payment.id, instructions, actor=actor)
    if attached.status is not PaymentStatus.PENDING or not attached.checkout_url:
        # The order was paid, cancelled or expired while the gateway made the link.
        if instructions.provider_payment_id:
            await stop_attempts(
                PaymentMethods(ManualProvider(), card),
                [(card.name, instructions.provider_payment_id)],
            )
        raise PaymentClosed(f"Order #{draft.order_number} can no longer be paid.", field="order_id")
    return StartedPayment(attached, Method.CARD)


async def stop_attempts(methods: PaymentMethods, attempts: Iterable[tuple[str, str]]) -> None:
    """Stop closed gateway attempts at the gateway (expire their links), best effort.

    A link that cannot be stopped now still dies at its own expiry, and money paid on it
    meanwhile is confirmed or flagged for refund, never lost.
    """
    for name, provider_payment_id in attempts:
        provider = methods.provider(name)
        if provider is None:
            continue
        try:
            await provider.cancel(provider_payment_id)
        except ProviderUnavailable as exc:
            log.warning("could not stop payment at provider", provider=name, reason=exc.reason)


async def stop_superseded(order_id: int, methods: PaymentMethods) -> None:
    """After a payment confirmed the order, stop the order's other gateway links."""
    rows = await Payment.select(Payment.provider, Payment.provider_payment_id).where(
        (Payment.order == order_id)
        & (Payment.provider != MANUAL)
        & (Payment.status == PaymentStatus.EXPIRED.value)
        & Payment.provider_payment_id.is_not_null()
    )
    await stop_attempts(methods, [(row["provider"], row["provider_payment_id"]) for row in rows])


UNAVAILABLE = "unavailable"


async def check_card_payment(
    order_id: int,
    methods: PaymentMethods,
    notices: Notices,
    *,
    requested_by: str = actors.CUSTOMER,
    now: datetime | None = None,
) -> str | None:
    """Ask the gateway about the order's open card attempt and apply its answer.

    Returns what changed (``confirmed``, ``pending``, …), ``UNAVAILABLE`` when the gateway
    cannot answer now, or ``None`` when there is no open card attempt. The gateway is the
    actor of what its answer changes; who asked is kept in the event.
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
        return UNAVAILABLE
    return await service.apply_check(
        row["id"],
        verification,
        actor=actors.gateway(card.name),
        requested_by=requested_by,
        notices=notices,
        now=now or datetime.now(UTC),
    )
