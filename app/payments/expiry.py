"""The payment clock: remind customers before an unpaid order expires, then expire it.

Safe when two schedulers run it at once: a reminder is claimed with a conditional update
(one of them wins), and expiry locks the order row and re-checks it, so stock is released
and the customer told exactly once.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import structlog

from app import actors
from app.errors import DomainError
from app.ordering import events
from app.ordering import service as ordering
from app.ordering.events import OrderEventType
from app.ordering.states import OrderStatus
from app.ordering.tables import Order
from app.payments.methods import PaymentMethods, check_card_payment
from app.payments.notices import Notices
from app.payments.providers import ProviderUnavailable
from app.payments.states import PaymentStatus
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


async def expire_due(methods: PaymentMethods, notices: Notices, *, now: datetime) -> int:
    """Expire unpaid orders past their deadline; returns how many this run expired."""
    expired = 0
    for order_id in await ordering.due_for_expiry(now, limit=BATCH):
        # A card payment may have gone through with its webhook still on the way.
        if await check_card_payment(order_id, methods, notices, actor=actors.SYSTEM) in (
            "confirmed",
            "refund_due",
            "needs review",
        ):
            continue
        stopped = await expire_unpaid(order_id, notices, now=now)
        if stopped is None:
            continue
        expired += 1
        for provider_name, provider_payment_id in stopped:
            await _stop_at_provider(methods, provider_name, provider_payment_id)
    return expired


async def expire_unpaid(
    order_id: int, notices: Notices, *, now: datetime
) -> list[tuple[str, str]] | None:
    """Expire the order and its open attempts and tell the customer; ``None`` if not due.

    Returns the gateway attempts to stop (a checkout link must not take money afterwards).
    """
    async with Order._meta.db.transaction():
        rows = await Order.raw("SELECT * FROM orders WHERE id = {} FOR UPDATE", order_id)
        if not rows or not await _still_due(dict(rows[0]), now):
            return None
        order = dict(rows[0])
        try:
            change = await ordering.expire_order(order_id, actor=actors.SYSTEM, now=now)
        except DomainError:
            return None
        stopped: list[tuple[str, str]] = []
        for payment in await Payment.raw(
            "SELECT * FROM payment WHERE \"order\" = {} AND status = 'pending' FOR UPDATE",
            order_id,
        ):
            await Payment.update(
                {
                    Payment.status: PaymentStatus.EXPIRED.value,
                    Payment.failure_reason: "not paid in time",
                    Payment.updated_at: now,
                    Payment.version: Payment.version + 1,
                }
            ).where(Payment.id == payment["id"])
            await events.record(
                order_id,
                OrderEventType.PAYMENT_EXPIRED,
                actors.SYSTEM,
                {
                    "payment_id": payment["id"],
                    "reference": payment["reference"],
                    "provider": payment["provider"],
                    "status": PaymentStatus.EXPIRED.value,
                },
            )
            if payment["provider_payment_id"]:
                stopped.append((payment["provider"], payment["provider_payment_id"]))
        await notices.send(
            order,
            f"order:{order_id}:expired",
            notices.texts.t("payment.expired", number=change.number),
            ((f"reorder:{change.number}", "opt.reorder"), ("menu", "opt.menu")),
        )
    log.info("order expired", order_id=order_id, number=change.number, released=change.released)
    return stopped


async def _still_due(order: dict[str, Any], now: datetime) -> bool:
    if order["status"] != OrderStatus.PENDING_PAYMENT:
        return False
    if order["expires_at"] is None or order["expires_at"] > now:
        return False
    return not await Payment.exists().where(
        (Payment.order == order["id"])
        & (Payment.status == PaymentStatus.AWAITING_VERIFICATION.value)
    )


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


async def _stop_at_provider(methods: PaymentMethods, name: str, provider_payment_id: str) -> None:
    provider = methods.provider(name)
    if provider is None:
        return
    try:
        await provider.cancel(provider_payment_id)
    except ProviderUnavailable as exc:
        # The link still dies at its own expiry; money paid meanwhile is flagged for refund.
        log.warning("could not stop payment at provider", provider=name, reason=exc.reason)
