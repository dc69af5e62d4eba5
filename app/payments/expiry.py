"""Closing unpaid orders: remind the customer before the deadline, expire at it, cancel.

Safe when two schedulers run it at once: a reminder is claimed with a conditional update
(one of them wins), and expiry locks the order row and re-checks it, so stock is released
and the customer told exactly once.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from app import actors
from app.errors import DomainError, PaymentClosed
from app.ordering import events
from app.ordering import service as ordering
from app.ordering.events import OrderEventType
from app.ordering.states import OrderStatus
from app.ordering.tables import Order
from app.payments.methods import UNAVAILABLE, PaymentMethods, check_card_payment, stop_attempts
from app.payments.notices import Notices
from app.payments.states import PaymentStatus, transition_payment
from app.payments.tables import Payment

log = structlog.get_logger(__name__)

BATCH = 100


async def send_reminders(notices: Notices, *, lead: timedelta, now: datetime) -> int:
    """Remind each unpaid order's customer once, ``lead`` before the deadline."""
    if lead <= timedelta(0):
        return 0
    rows = await Order.raw(
        "SELECT id FROM orders o WHERE status = 'pending_payment' AND reminded_at IS NULL "
        "AND expires_at > {} AND expires_at <= {} "
        "AND NOT EXISTS (SELECT 1 FROM payment p WHERE p.order = o.id "
        "AND p.status = 'awaiting_verification') ORDER BY expires_at LIMIT {}",
        now,
        now + lead,
        BATCH,
    )
    sent = 0
    for row in rows:
        sent += await _remind(row["id"], notices, now)
    return sent


async def _remind(order_id: int, notices: Notices, now: datetime) -> int:
    async with Order._meta.db.transaction():
        claimed = await Order.raw(
            "UPDATE orders SET reminded_at = {} WHERE id = {} AND reminded_at IS NULL "
            "AND status = 'pending_payment' RETURNING *",
            now,
            order_id,
        )
        if not claimed:
            return 0  # another scheduler reminded it, or it was paid meanwhile
        order = dict(claimed[0])
        payment = await _latest_open(order_id)
        texts = notices.texts
        lines = [
            texts.t(
                "payment.reminder",
                number=order["number"],
                amount=texts.money(order["total"]),
                deadline=notices.deadline(order["expires_at"], now),
            )
        ]
        if payment is not None and payment["checkout_url"]:
            lines.append(texts.t("payment.link", url=payment["checkout_url"]))
        elif payment is not None:
            lines.append(texts.t("placed.reference", reference=payment["reference"]))
        number = order["number"]
        await notices.send(
            order,
            f"order:{order_id}:reminder:{int(order['expires_at'].timestamp())}",
            "\n".join(lines),
            (
                (f"paid:{number}", "opt.paid"),
                (f"pay:{number}", "opt.pay_again"),
                (f"cancel:{number}", "opt.cancel_order"),
            ),
        )
        await events.record(
            order_id,
            OrderEventType.PAYMENT_REMINDER_SENT,
            actors.SYSTEM,
            {"expires_at": order["expires_at"], "payment_id": payment and payment["id"]},
        )
        return 1


# When the gateway cannot say whether an open card link was paid, expiry waits this long
# past the deadline before releasing the stock anyway (money that arrives later is
# flagged for refund, never lost).
UNVERIFIABLE_GRACE = timedelta(minutes=15)
_DECIDED = frozenset({"confirmed", "refund_due", "needs review", "already under review"})


async def expire_due(methods: PaymentMethods, notices: Notices, *, now: datetime) -> int:
    """Expire unpaid orders past their deadline; returns how many this run expired."""
    expired = 0
    for order_id in await ordering.due_for_expiry(now, limit=BATCH):
        # A card payment may have gone through with its webhook still on the way.
        checked = await check_card_payment(
            order_id, methods, notices, requested_by=actors.SYSTEM, now=now
        )
        if checked in _DECIDED:
            continue
        if checked == UNAVAILABLE and not await _past_grace(order_id, now):
            continue
        stopped = await expire_unpaid(order_id, notices, now=now)
        if stopped is None:
            continue
        expired += 1
        await stop_attempts(methods, stopped)
    return expired


async def expire_unpaid(
    order_id: int, notices: Notices, *, now: datetime
) -> list[tuple[str, str]] | None:
    """Expire the order and its open attempts and tell the customer; ``None`` if not due.

    Returns the gateway attempts to stop (a checkout link must not take money afterwards).
    """
    async with Order._meta.db.transaction():
        rows = await Order.raw("SELECT * FROM orders WHERE id = {} FOR NO KEY UPDATE", order_id)
        if not rows or not await _still_due(dict(rows[0]), now):
            return None
        try:
            change = await ordering.expire_order(order_id, actor=actors.SYSTEM, now=now)
        except DomainError:
            return None
        stopped = await close_attempts(order_id, "not paid in time", actors.SYSTEM, now)
        await notices.send(
            dict(rows[0]),
            f"order:{order_id}:expired",
            notices.texts.t("payment.expired", number=change.number),
            ((f"reorder:{change.number}", "opt.reorder"), ("menu", "opt.menu")),
        )
    log.info("order expired", order_id=order_id, number=change.number, released=change.released)
    return stopped


async def cancel_unpaid(
    order_id: int, *, actor: str, reason: str, now: datetime | None = None
) -> tuple[ordering.OrderChange, list[tuple[str, str]]]:
    """Cancel an unpaid order with its open payment attempts, releasing its stock.

    Refused while the customer's claim to have paid waits for staff: a person decides
    that first. Returns the change and the gateway attempts to stop.
    """
    now = now or datetime.now(UTC)
    async with Order._meta.db.transaction():
        rows = await Order.raw(
            "SELECT id, number FROM orders WHERE id = {} FOR NO KEY UPDATE", order_id
        )
        if rows and await _claim_waiting(order_id):
            raise PaymentClosed(
                f"a payment for order #{rows[0]['number']} is being checked; "
                "type *human* to talk to a person",
                field="id",
            )
        change = await ordering.cancel_order(order_id, actor=actor, reason=reason, now=now)
        stopped = await close_attempts(order_id, "order cancelled", actor, now)
    return change, stopped


async def close_attempts(
    order_id: int, reason: str, actor: str, now: datetime
) -> list[tuple[str, str]]:
    """Expire the order's pending attempts (inside the caller's transaction)."""
    stopped: list[tuple[str, str]] = []
    for payment in await Payment.raw(
        "SELECT * FROM payment WHERE \"order\" = {} AND status = 'pending' FOR NO KEY UPDATE",
        order_id,
    ):
        transition_payment(PaymentStatus(payment["status"]), PaymentStatus.EXPIRED)
        await Payment.update(
            {
                Payment.status: PaymentStatus.EXPIRED.value,
                Payment.failure_reason: reason,
                Payment.updated_at: now,
                Payment.version: Payment.version + 1,
            }
        ).where(Payment.id == payment["id"])
        await events.record(
            order_id,
            OrderEventType.PAYMENT_EXPIRED,
            actor,
            {
                "payment_id": payment["id"],
                "reference": payment["reference"],
                "provider": payment["provider"],
                "status": PaymentStatus.EXPIRED.value,
                "reason": reason,
            },
        )
        if payment["provider_payment_id"]:
            stopped.append((payment["provider"], payment["provider_payment_id"]))
    return stopped


async def _claim_waiting(order_id: int) -> bool:
    return bool(
        await Payment.exists().where(
            (Payment.order == order_id)
            & (Payment.status == PaymentStatus.AWAITING_VERIFICATION.value)
        )
    )


async def _past_grace(order_id: int, now: datetime) -> bool:
    row = await Order.select(Order.expires_at).where(Order.id == order_id).first()
    return row is None or row["expires_at"] is None or row["expires_at"] + UNVERIFIABLE_GRACE <= now


async def _still_due(order: dict[str, Any], now: datetime) -> bool:
    if order["status"] != OrderStatus.PENDING_PAYMENT:
        return False
    if order["expires_at"] is None or order["expires_at"] > now:
        return False
    return not await _claim_waiting(order["id"])


async def _latest_open(order_id: int) -> dict[str, Any] | None:
    row: dict[str, Any] | None = (
        await Payment.select()
        .where(
            (Payment.order == order_id)
            & Payment.status.is_in(
                [PaymentStatus.PENDING.value, PaymentStatus.AWAITING_VERIFICATION.value]
            )
        )
        .order_by(Payment.id, ascending=False)
        .first()
    )
    return row
