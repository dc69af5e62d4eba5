"""Payment use cases. Today: open the manual (bank transfer / mobile money) payment of an order."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from app.errors import IllegalTransition, NotFound
from app.ordering import events
from app.ordering.states import OrderStatus
from app.ordering.tables import Order
from app.payments.reference import new_reference
from app.payments.states import PaymentStatus
from app.payments.tables import Payment

MANUAL = "manual"
_REFERENCE_TRIES = 5


@dataclass(frozen=True, slots=True)
class PaymentInstructions:
    payment_id: int
    order_id: int
    provider: str
    reference: str
    amount: int
    currency: str
    expires_at: datetime | None


async def start_manual_payment(order_id: int, *, actor: str) -> PaymentInstructions:
    """Open the order's manual payment with a unique reference; asking again returns it."""
    for _ in range(_REFERENCE_TRIES):
        try:
            return await _open(order_id, actor)
        except asyncpg.UniqueViolationError as exc:
            if exc.constraint_name != "payment_reference_key":
                raise
    raise RuntimeError("could not draw an unused payment reference")  # 32^7 makes this moot


async def _open(order_id: int, actor: str) -> PaymentInstructions:
    async with Payment._meta.db.transaction():
        rows = await Order.raw("SELECT * FROM orders WHERE id = {} FOR UPDATE", order_id)
        if not rows:
            raise NotFound(f"No order with id {order_id}.", field="order_id")
        order = rows[0]
        existing = (
            await Payment.select()
            .where((Payment.order == order_id) & Payment.status.is_in(_OPEN))
            .first()
        )
        if existing is not None:
            return _instructions(existing)
        if order["status"] != OrderStatus.PENDING_PAYMENT:
            raise IllegalTransition("order", order["status"], "paying")
        attempt = await Payment.count().where(Payment.order == order_id) + 1
        created = await Payment.insert(
            Payment(
                order=order_id,
                attempt=attempt,
                provider=MANUAL,
                reference=new_reference(),
                idempotency_key=f"order:{order_id}:attempt:{attempt}",
                amount=order["total"],
                currency=order["currency"],
                status=PaymentStatus.PENDING,
                expires_at=order["expires_at"],
            )
        ).returning(*Payment.all_columns())
        payment = created[0]
        await events.record(
            order_id,
            events.OrderEventType.PAYMENT_STARTED,
            actor,
            {
                "payment_id": payment["id"],
                "provider": MANUAL,
                "reference": payment["reference"],
                "amount": payment["amount"],
                "attempt": attempt,
            },
        )
        return _instructions(payment)


_OPEN = [PaymentStatus.PENDING.value, PaymentStatus.AWAITING_VERIFICATION.value]


def _instructions(payment: dict[str, Any]) -> PaymentInstructions:
    return PaymentInstructions(
        payment_id=payment["id"],
        order_id=payment["order"],
        provider=payment["provider"],
        reference=payment["reference"],
        amount=payment["amount"],
        currency=payment["currency"],
        expires_at=payment["expires_at"],
    )
