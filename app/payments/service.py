"""Payment use cases: start, claim, confirm, reject, and apply what a gateway reports.

Each runs in one transaction and writes an ``order_event`` for every step. Rows are
locked order first, then payment, so two use cases on the same order never deadlock.
Calls to a gateway happen outside any transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import structlog

from app import actors
from app.errors import DomainError, IllegalTransition, InvalidInput, NotFound, PaymentClosed
from app.ordering import events
from app.ordering import service as ordering
from app.ordering.events import OrderEventType
from app.ordering.states import OrderStatus
from app.ordering.tables import Order
from app.payments.notices import Notices
from app.payments.providers import (
    MANUAL,
    Instructions,
    Outcome,
    PaymentDraft,
    Proof,
    ProviderWebhook,
    Verification,
)
from app.payments.reference import new_reference
from app.payments.states import OPEN_PAYMENT_STATUSES, PaymentStatus, transition_payment
from app.payments.tables import Payment, ProviderEvent

log = structlog.get_logger(__name__)

_REFERENCE_TRIES = 5
_OPEN = [status.value for status in OPEN_PAYMENT_STATUSES]
REASON_MAX = 500


@dataclass(frozen=True, slots=True)
class PaymentRecord:
    id: int
    order_id: int
    attempt: int
    provider: str
    reference: str
    amount: int
    currency: str
    status: PaymentStatus
    checkout_url: str | None
    provider_payment_id: str | None
    expires_at: datetime | None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> PaymentRecord:
        return cls(
            id=row["id"],
            order_id=row["order"],
            attempt=row["attempt"],
            provider=row["provider"],
            reference=row["reference"],
            amount=row["amount"],
            currency=row["currency"],
            status=PaymentStatus(row["status"]),
            checkout_url=row["checkout_url"],
            provider_payment_id=row["provider_payment_id"],
            expires_at=row["expires_at"],
        )


@dataclass(frozen=True, slots=True)
class Confirmation:
    payment_id: int
    order_id: int
    order_number: int
    status: PaymentStatus  # confirmed, or refund_due when the order could not take it
    already: bool = False  # it was confirmed before: nothing changed
    # Other attempts of the order closed by this one, for the gateway to stop: (provider, id)
    superseded: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Claim:
    payment: PaymentRecord
    order_number: int
    first: bool  # the customer said so for the first time (else a repeat or a new proof)
    proof: bool


# --- Starting a payment -----------------------------------------------------------------


async def open_payment(
    order_id: int, provider: str, *, actor: str, now: datetime | None = None
) -> tuple[PaymentRecord, bool]:
    """The order's open attempt with ``provider``, or a new one; ``True`` when new.

    A manual attempt is complete when opened (its instructions are the reference), so its
    ``PaymentStarted`` is written here; a gateway's is written by ``attach_instructions``.
    """
    for _ in range(_REFERENCE_TRIES):
        try:
            return await _open(order_id, provider, actor, now or datetime.now(UTC))
        except asyncpg.UniqueViolationError as exc:
            if exc.constraint_name == "payment_one_open_per_method":
                continue  # a concurrent request opened it: the next round finds it
            if exc.constraint_name != "payment_reference_key":
                raise
    raise RuntimeError("could not open a payment")  # 32^7 references make this moot


async def _open(
    order_id: int, provider: str, actor: str, now: datetime
) -> tuple[PaymentRecord, bool]:
    async with Payment._meta.db.transaction():
        order = await _lock_order(order_id)
        existing = (
            await Payment.select()
            .where(
                (Payment.order == order_id)
                & (Payment.provider == provider)
                & Payment.status.is_in(_OPEN)
            )
            .first()
        )
        if existing is not None:
            return PaymentRecord.from_row(existing), False
        _require_payable(order)
        attempt = await _next_attempt(order_id)
        rows = await Payment.insert(
            Payment(
                order=order_id,
                attempt=attempt,
                provider=provider,
                reference=new_reference(),
                idempotency_key=f"order:{order_id}:attempt:{attempt}",
                amount=order["total"],
                currency=order["currency"],
                status=PaymentStatus.PENDING,
                expires_at=order["expires_at"],
                created_at=now,
                updated_at=now,
            )
        ).returning(*Payment.all_columns())
        payment = PaymentRecord.from_row(rows[0])
        if provider == MANUAL:
            await _record_started(payment, order, actor)
        return payment, True


async def attach_instructions(
    payment_id: int, instructions: Instructions, *, actor: str, now: datetime | None = None
) -> PaymentRecord:
    """Keep what the gateway made for the attempt (link, session id) and log it as started.

    When the gateway needs a later deadline than the order's (Stripe's shortest is 30 min),
    the order waits for it: the customer must not pay on a link for an expired order.
    """
    now = now or datetime.now(UTC)
    async with Payment._meta.db.transaction():
        order_id = await _order_of(payment_id)
        order = await _lock_order(order_id)
        payment = await _lock_payment(payment_id)
        if payment["status"] != PaymentStatus.PENDING or payment["checkout_url"]:
            return PaymentRecord.from_row(payment)
        expires_at = max(
            (t for t in (instructions.expires_at, order["expires_at"]) if t is not None),
            default=None,
        )
        rows = (
            await Payment.update(
                {
                    Payment.provider_payment_id: instructions.provider_payment_id,
                    Payment.checkout_url: instructions.checkout_url,
                    Payment.provider_data: dict(instructions.data),
                    Payment.expires_at: expires_at,
                    Payment.updated_at: now,
                    Payment.version: Payment.version + 1,
                }
            )
            .where(Payment.id == payment_id)
            .returning(*Payment.all_columns())
        )
        if expires_at is not None and (
            order["expires_at"] is None or expires_at > order["expires_at"]
        ):
            await Order.update({Order.expires_at: expires_at}).where(Order.id == order_id)
            order["expires_at"] = expires_at
        record = PaymentRecord.from_row(rows[0])
        await _record_started(record, order, actor)
        return record


async def abandon_payment(
    payment_id: int, reason: str, *, actor: str = actors.SYSTEM, now: datetime | None = None
) -> None:
    """A gateway attempt that could not even start (the gateway is down) ends failed."""
    async with Payment._meta.db.transaction():
        order = await _lock_order(await _order_of(payment_id))
        payment = await _lock_payment(payment_id)
        if payment["status"] != PaymentStatus.PENDING:
            return
        await _set_payment(payment, PaymentStatus.FAILED, now, failure_reason=reason[:REASON_MAX])
        await _event(order, OrderEventType.PAYMENT_FAILED, actor, payment, reason=reason)


async def open_checkout_url(order_id: int) -> str | None:
    """The payment link of the order's pending card attempt, if there is one."""
    row = (
        await Payment.select(Payment.checkout_url)
        .where(
            (Payment.order == order_id)
            & (Payment.status == PaymentStatus.PENDING.value)
            & Payment.checkout_url.is_not_null()
        )
        .order_by(Payment.id, ascending=False)
        .first()
    )
    return str(row["checkout_url"]) if row else None


async def draft_for(payment: PaymentRecord) -> PaymentDraft:
    order = (
        await Order.select(Order.number, Order.expires_at)
        .where(Order.id == payment.order_id)
        .first()
    )
    assert order is not None
    return PaymentDraft(
        payment_id=payment.id,
        order_id=payment.order_id,
        order_number=order["number"],
        reference=payment.reference,
        amount=payment.amount,
        currency=payment.currency,
        expires_at=order["expires_at"],
        # The reference, not the row id: ids repeat across databases sharing a Stripe account.
        idempotency_key=f"chatcart-payment-{payment.reference}",
    )


# --- The customer says they paid ----------------------------------------------------------


async def claim_payment(
    order_id: int,
    *,
    customer_id: int,
    proof: Proof | None = None,
    actor: str = actors.CUSTOMER,
    now: datetime | None = None,
) -> Claim | None:
    """Mark the order's manual attempt as waiting for staff; ``None`` if it has none open.

    Saying it again changes nothing; a proof sent later is kept with the attempt.
    """
    now = now or datetime.now(UTC)
    async with Payment._meta.db.transaction():
        order = await _lock_order(order_id)
        if order["customer"] != customer_id:
            raise NotFound(f"No order with id {order_id}.", field="order_id")  # not theirs
        row = await _open_manual(order_id)
        if row is None:
            return None
        payment = await _lock_payment(row["id"])
        first = payment["status"] == PaymentStatus.PENDING
        if first:
            payment = await _set_payment(
                payment, PaymentStatus.AWAITING_VERIFICATION, now, claimed_at=now
            )
            await _event(order, OrderEventType.PAYMENT_CLAIMED, actor, payment, proof=bool(proof))
        if proof is not None:
            payment = await _keep_proof(payment, proof, now)
            await _event(
                order,
                OrderEventType.PAYMENT_PROOF_RECEIVED,
                actor,
                payment,
                media_id=proof.media_id,
                mime_type=proof.mime_type,
            )
        return Claim(PaymentRecord.from_row(payment), order["number"], first, proof is not None)


async def _open_manual(order_id: int) -> dict[str, Any] | None:
    row: dict[str, Any] | None = (
        await Payment.select(Payment.id)
        .where(
            (Payment.order == order_id) & (Payment.provider == MANUAL) & Payment.status.is_in(_OPEN)
        )
        .first()
    )
    return row


async def _keep_proof(payment: dict[str, Any], proof: Proof, now: datetime) -> dict[str, Any]:
    rows = (
        await Payment.update(
            {
                Payment.proof_media_id: proof.media_id,
                Payment.proof_mime_type: proof.mime_type,
                Payment.proof_caption: (proof.caption or None) and proof.caption[:1000],
                Payment.updated_at: now,
            }
        )
        .where(Payment.id == payment["id"])
        .returning(*Payment.all_columns())
    )
    return dict(rows[0])


# --- Staff decide ----------------------------------------------------------------------------


async def confirm_payment(
    payment_id: int,
    *,
    actor: str,
    note: str | None = None,
    notices: Notices,
    now: datetime | None = None,
) -> Confirmation:
    """Staff saw the money: the payment is confirmed and the order paid. Idempotent.

    An attempt that expired, failed or belongs to a cancelled or expired order is refused
    and nothing changes; money for an order another attempt already paid is flagged for
    refund instead of being applied twice.
    """
    now = now or datetime.now(UTC)
    async with Payment._meta.db.transaction():
        order = await _lock_order(await _order_of(payment_id))
        payment = await _lock_payment(payment_id)
        if payment["status"] == PaymentStatus.CONFIRMED:
            return _confirmation(payment, order, already=True)
        _refuse_closed(payment, order)
        await _event(order, OrderEventType.PAYMENT_VERIFICATION_ATTEMPTED, actor, payment)
        return await _apply_paid(
            order, payment, actor=actor, note=note, notices=notices, now=now, late_refund=False
        )


async def reject_payment(
    payment_id: int,
    *,
    actor: str,
    reason: str,
    notices: Notices,
    payment_minutes: int,
    now: datetime | None = None,
) -> PaymentRecord:
    """Staff could not find the money: the attempt fails and the customer is told why.

    The customer gets a fresh payment window to try again; rejecting twice changes nothing.
    """
    reason = " ".join(reason.split())
    if not reason:
        raise InvalidInput(
            "Say why the payment is rejected: the customer reads it.", field="reason"
        )
    now = now or datetime.now(UTC)
    async with Payment._meta.db.transaction():
        order = await _lock_order(await _order_of(payment_id))
        payment = await _lock_payment(payment_id)
        if payment["status"] == PaymentStatus.FAILED and payment["verified_by"] is not None:
            return PaymentRecord.from_row(payment)
        if payment["status"] not in _OPEN:
            raise IllegalTransition("payment", payment["status"], PaymentStatus.FAILED.value)
        await _event(order, OrderEventType.PAYMENT_VERIFICATION_ATTEMPTED, actor, payment)
        payment = await _set_payment(
            payment,
            PaymentStatus.FAILED,
            now,
            failure_reason=reason[:REASON_MAX],
            verified_by=actor,
            verification_note=reason[:REASON_MAX],
        )
        await _event(order, OrderEventType.PAYMENT_REJECTED, actor, payment, reason=reason)
        if order["status"] == OrderStatus.PENDING_PAYMENT:
            await _extend_window(order, now + timedelta(minutes=payment_minutes))
            texts = notices.texts
            await notices.send(
                order,
                f"payment:{payment_id}:rejected",
                texts.t(
                    "payment.rejected",
                    number=order["number"],
                    reason=reason[:REASON_MAX],
                    deadline=notices.deadline(order["expires_at"], now),
                ),
                ((f"pay:{order['number']}", "opt.pay"), ("human", "opt.human")),
            )
        return PaymentRecord.from_row(payment)


# --- What a gateway reports ----------------------------------------------------------------


async def apply_webhook(
    webhook: ProviderWebhook, *, notices: Notices, now: datetime | None = None
) -> str:
    """Apply one verified provider event, once. Returns what it did, for the response/log.

    A redelivered event is recognised by its id and changes nothing; events may arrive in
    any order, and only moves the payment's state machine allows are made.
    """
    now = now or datetime.now(UTC)
    async with Payment._meta.db.transaction():
        payment_row = await _find_webhook_payment(webhook)
        if payment_row is not None:
            # The order before the event row: storing it key-share locks the payment, and
            # holding that while waiting for the order deadlocks with any use case that
            # holds the order and waits for the payment (a concurrent event, the expiry).
            await _lock_order(payment_row["order"])
        stored = await ProviderEvent.raw(
            "INSERT INTO payment_provider_event (provider, event_id, type, payment, payload) "
            "VALUES ({}, {}, {}, {}, {}::jsonb) ON CONFLICT (provider, event_id) DO NOTHING "
            "RETURNING id",
            webhook.provider,
            webhook.event_id,
            webhook.type,
            payment_row["id"] if payment_row else None,
            _json(webhook.payload),
        )
        if not stored:
            return "duplicate"
        event_row_id = stored[0]["id"]
        outcome = await _apply_webhook(webhook, payment_row, notices, now)
        await ProviderEvent.update({ProviderEvent.outcome: outcome}).where(
            ProviderEvent.id == event_row_id
        )
        log.info(
            "payment webhook applied",
            provider=webhook.provider,
            event_id=webhook.event_id,
            type=webhook.type,
            payment_id=payment_row["id"] if payment_row else None,
            outcome=outcome,
        )
        return outcome


async def _apply_webhook(
    webhook: ProviderWebhook,
    payment_row: dict[str, Any] | None,
    notices: Notices,
    now: datetime,
) -> str:
    if payment_row is None:
        return "unknown payment"
    order = await _lock_order(payment_row["order"])
    payment = await _lock_payment(payment_row["id"])
    actor = actors.gateway(webhook.provider)
    await _event(
        order,
        OrderEventType.PAYMENT_WEBHOOK_RECEIVED,
        actor,
        payment,
        event_id=webhook.event_id,
        type=webhook.type,
    )
    if webhook.verification is None:
        return "ignored"
    return await apply_verification(order, payment, webhook.verification, actor, notices, now)


async def apply_verification(
    order: dict[str, Any],
    payment: dict[str, Any],
    verification: Verification,
    actor: str,
    notices: Notices,
    now: datetime,
) -> str:
    """Apply a gateway's answer about ``payment`` (rows locked by the caller)."""
    status = PaymentStatus(payment["status"])
    if verification.outcome is Outcome.PAID:
        if status is PaymentStatus.CONFIRMED or status is PaymentStatus.REFUND_DUE:
            return "already applied"
        mismatch = _mismatch(payment, verification)
        if mismatch is not None:
            if status is PaymentStatus.AWAITING_VERIFICATION:
                return "already under review"
            if status not in OPEN_PAYMENT_STATUSES:  # a closed attempt took the wrong sum
                reason = f"money received on a closed attempt: {mismatch}; refund it"
                refunded = await _refund_due(order, payment, reason, actor, notices, now)
                return refunded.status.value
            await _review(order, payment, mismatch, actor, notices, now)
            return "needs review"
        confirmation = await _apply_paid(
            order, payment, actor=actor, note=None, notices=notices, now=now, late_refund=True
        )
        return confirmation.status.value
    if status not in OPEN_PAYMENT_STATUSES:
        return f"ignored: payment is {status.value}"
    if verification.outcome is Outcome.FAILED:
        await _fail(order, payment, verification.detail or "the card payment failed", actor)
        if order["status"] == OrderStatus.PENDING_PAYMENT:
            await notices.send(
                order,
                f"payment:{payment['id']}:failed",
                notices.texts.t("payment.failed", number=order["number"]),
                ((f"pay:{order['number']}", "opt.pay"), ("human", "opt.human")),
            )
        return "failed"
    if verification.outcome is Outcome.EXPIRED and status is PaymentStatus.PENDING:
        await _set_payment(payment, PaymentStatus.EXPIRED, now, failure_reason="link expired")
        await _event(order, OrderEventType.PAYMENT_EXPIRED, actor, payment)
        return "expired"
    return "pending"


async def apply_check(
    payment_id: int,
    verification: Verification,
    *,
    actor: str,
    requested_by: str,
    notices: Notices,
    now: datetime | None = None,
) -> str:
    """Apply the answer of a check we asked the gateway for (not a webhook)."""
    now = now or datetime.now(UTC)
    async with Payment._meta.db.transaction():
        order = await _lock_order(await _order_of(payment_id))
        payment = await _lock_payment(payment_id)
        await _event(
            order,
            OrderEventType.PAYMENT_VERIFICATION_ATTEMPTED,
            actor,
            payment,
            outcome=verification.outcome.value,
            requested_by=requested_by,
        )
        return await apply_verification(order, payment, verification, actor, notices, now)


async def _find_webhook_payment(webhook: ProviderWebhook) -> dict[str, Any] | None:
    """The payment the event is about, if it is ours.

    A gateway account sends every event to every endpoint on it (staging and production,
    two shops…), so an id in the metadata alone is not proof: the reference must match,
    and so must the session id once we stored it.
    """
    columns = (Payment.id, Payment.order, Payment.reference, Payment.provider_payment_id)
    row: dict[str, Any] | None = None
    if webhook.payment_id is not None:
        row = (
            await Payment.select(*columns)
            .where((Payment.id == webhook.payment_id) & (Payment.provider == webhook.provider))
            .first()
        )
    elif webhook.provider_payment_id:
        row = (
            await Payment.select(*columns)
            .where(
                (Payment.provider == webhook.provider)
                & (Payment.provider_payment_id == webhook.provider_payment_id)
            )
            .first()
        )
    if row is None:
        return None
    if webhook.reference is not None and webhook.reference != row["reference"]:
        return None
    stored = row["provider_payment_id"]
    if stored and webhook.provider_payment_id and stored != webhook.provider_payment_id:
        return None
    return row


def _mismatch(payment: dict[str, Any], verification: Verification) -> str | None:
    amount, currency = verification.amount, (verification.currency or "").upper()
    if amount == payment["amount"] and currency == payment["currency"]:
        return None
    return (
        f"the gateway took {amount} {currency or '?'} (minor units) but the payment is for "
        f"{payment['amount']} {payment['currency']}"
    )


async def _review(
    order: dict[str, Any],
    payment: dict[str, Any],
    reason: str,
    actor: str,
    notices: Notices,
    now: datetime,
) -> None:
    payment = await _set_payment(
        payment, PaymentStatus.AWAITING_VERIFICATION, now, failure_reason=reason, claimed_at=now
    )
    await _event(order, OrderEventType.PAYMENT_NEEDS_REVIEW, actor, payment, reason=reason)
    await notices.send(
        order,
        f"payment:{payment['id']}:review",
        notices.texts.t("payment.review", number=order["number"]),
    )


async def _fail(order: dict[str, Any], payment: dict[str, Any], reason: str, actor: str) -> None:
    payment = await _set_payment(payment, PaymentStatus.FAILED, None, failure_reason=reason)
    await _event(order, OrderEventType.PAYMENT_FAILED, actor, payment, reason=reason)


# --- Shared steps --------------------------------------------------------------------------------


async def _apply_paid(
    order: dict[str, Any],
    payment: dict[str, Any],
    *,
    actor: str,
    note: str | None,
    notices: Notices,
    now: datetime,
    late_refund: bool,
) -> Confirmation:
    order_status = OrderStatus(order["status"])
    if order_status is not OrderStatus.PENDING_PAYMENT:
        paid_elsewhere = order["paid_at"] is not None
        if not paid_elsewhere and not late_refund:
            raise _closed_order(order)
        why = "already paid" if paid_elsewhere else f"{order_status.value}"
        reason = f"money received but the order is {why}: refund it"
        return await _refund_due(order, payment, reason, actor, notices, now)
    payment = await _set_payment(
        payment,
        PaymentStatus.CONFIRMED,
        now,
        confirmed_at=now,
        verified_by=actor,
        verification_note=(note or "").strip()[:REASON_MAX] or None,
    )
    await _event(order, OrderEventType.PAYMENT_CONFIRMED, actor, payment, note=note)
    await ordering.advance_order(order["id"], OrderStatus.PAID, actor=actor, now=now)
    superseded = await _close_other_attempts(order, payment, actor, now)
    return _confirmation(payment, order, superseded=superseded)


async def _refund_due(
    order: dict[str, Any],
    payment: dict[str, Any],
    reason: str,
    actor: str,
    notices: Notices,
    now: datetime,
) -> Confirmation:
    payment = await _set_payment(
        payment, PaymentStatus.REFUND_DUE, now, failure_reason=reason, verified_by=actor
    )
    await _event(order, OrderEventType.PAYMENT_REFUND_DUE, actor, payment, reason=reason)
    await notices.send(
        order,
        f"payment:{payment['id']}:refund",
        notices.texts.t(
            "payment.refund_due",
            number=order["number"],
            amount=notices.texts.money(payment["amount"]),
        ),
        (("human", "opt.human"),),
    )
    log.warning("payment flagged for refund", payment_id=payment["id"], reason=reason)
    return _confirmation(payment, order)


async def _close_other_attempts(
    order: dict[str, Any], paid: dict[str, Any], actor: str, now: datetime
) -> tuple[tuple[str, str], ...]:
    """Other pending attempts of a paid order expire; the gateway ones are stopped later."""
    others = await Payment.raw(
        "SELECT * FROM payment WHERE \"order\" = {} AND id <> {} AND status = 'pending' "
        "FOR NO KEY UPDATE",
        order["id"],
        paid["id"],
    )
    stopped: list[tuple[str, str]] = []
    for other in others:
        other = await _set_payment(
            dict(other),
            PaymentStatus.EXPIRED,
            now,
            failure_reason=f"the order was paid with {paid['reference']}",
        )
        await _event(order, OrderEventType.PAYMENT_EXPIRED, actor, other)
        if other["provider_payment_id"]:
            stopped.append((other["provider"], other["provider_payment_id"]))
    return tuple(stopped)


def _refuse_closed(payment: dict[str, Any], order: dict[str, Any]) -> None:
    status = PaymentStatus(payment["status"])
    if status in OPEN_PAYMENT_STATUSES:
        if order["status"] in (OrderStatus.CANCELLED, OrderStatus.EXPIRED):
            raise _closed_order(order)
        return
    raise PaymentClosed(
        f"Payment {payment['reference']} is {status.value.replace('_', ' ')}"
        f"{_because(payment)}; it cannot be confirmed.",
        field="payment_id",
    )


def _because(payment: dict[str, Any]) -> str:
    return f" ({payment['failure_reason']})" if payment["failure_reason"] else ""


def _closed_order(order: dict[str, Any]) -> DomainError:
    return PaymentClosed(
        f"Order #{order['number']} is {order['status']}, so its payment cannot be confirmed; "
        "if the money arrived, refund it.",
        field="payment_id",
    )


async def _record_started(payment: PaymentRecord, order: dict[str, Any], actor: str) -> None:
    await events.record(
        payment.order_id,
        OrderEventType.PAYMENT_STARTED,
        actor,
        {
            "payment_id": payment.id,
            "provider": payment.provider,
            "reference": payment.reference,
            "amount": payment.amount,
            "currency": payment.currency,
            "attempt": payment.attempt,
            "checkout_link": payment.checkout_url is not None,
            "expires_at": order["expires_at"],
        },
    )


async def _event(
    order: dict[str, Any],
    event_type: OrderEventType,
    actor: str,
    payment: dict[str, Any],
    **data: Any,
) -> None:
    await events.record(
        order["id"],
        event_type,
        actor,
        {
            "payment_id": payment["id"],
            "reference": payment["reference"],
            "provider": payment["provider"],
            "status": payment["status"],
            **{key: value for key, value in data.items() if value is not None},
        },
    )


async def _set_payment(
    payment: dict[str, Any],
    target: PaymentStatus,
    now: datetime | None,
    **columns: Any,
) -> dict[str, Any]:
    transition_payment(PaymentStatus(payment["status"]), target)
    values: dict[Any, Any] = {
        Payment.status: target.value,
        Payment.updated_at: now or datetime.now(UTC),
        Payment.version: Payment.version + 1,
        **{getattr(Payment, name): value for name, value in columns.items()},
    }
    rows = (
        await Payment.update(values)
        .where(Payment.id == payment["id"])
        .returning(*Payment.all_columns())
    )
    return dict(rows[0])


async def _extend_window(order: dict[str, Any], until: datetime) -> None:
    if order["expires_at"] is None or order["expires_at"] < until:
        await Order.update({Order.expires_at: until, Order.reminded_at: None}).where(
            Order.id == order["id"]
        )
        order["expires_at"] = until


def _require_payable(order: dict[str, Any]) -> None:
    if order["status"] != OrderStatus.PENDING_PAYMENT:
        raise PaymentClosed(
            f"Order #{order['number']} is {order['status'].replace('_', ' ')}; it cannot be paid.",
            field="order_id",
        )


async def _next_attempt(order_id: int) -> int:
    rows = await Payment.raw(
        'SELECT COALESCE(MAX(attempt), 0) + 1 AS attempt FROM payment WHERE "order" = {}',
        order_id,
    )
    return int(rows[0]["attempt"])


async def _order_of(payment_id: int) -> int:
    row = await Payment.select(Payment.order).where(Payment.id == payment_id).first()
    if row is None:
        raise NotFound(f"No payment with id {payment_id}.", field="payment_id")
    return int(row["order"])


async def _lock_order(order_id: int) -> dict[str, Any]:
    rows = await Order.raw("SELECT * FROM orders WHERE id = {} FOR NO KEY UPDATE", order_id)
    if not rows:
        raise NotFound(f"No order with id {order_id}.", field="order_id")
    return dict(rows[0])


async def _lock_payment(payment_id: int) -> dict[str, Any]:
    rows = await Payment.raw("SELECT * FROM payment WHERE id = {} FOR NO KEY UPDATE", payment_id)
    if not rows:
        raise NotFound(f"No payment with id {payment_id}.", field="payment_id")
    return dict(rows[0])


def _confirmation(
    payment: dict[str, Any],
    order: dict[str, Any],
    *,
    already: bool = False,
    superseded: tuple[tuple[str, str], ...] = (),
) -> Confirmation:
    return Confirmation(
        payment_id=payment["id"],
        order_id=order["id"],
        order_number=order["number"],
        status=PaymentStatus(payment["status"]),
        already=already,
        superseded=superseded,
    )


def _json(payload: Any) -> str:
    return json.dumps(payload, ensure_ascii=False, default=str)
