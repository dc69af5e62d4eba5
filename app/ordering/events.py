"""Order events: the audit trail of every order change and the outbox the relay publishes.

``record`` must run inside the transaction of the change it describes, so an event
exists exactly when its change was committed.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from app.db.jsonb import to_jsonb
from app.ordering.tables import OrderEvent


class OrderEventType(StrEnum):
    PLACED = "OrderPlaced"
    STATUS_CHANGED = "OrderStatusChanged"
    CANCELLED = "OrderCancelled"
    EXPIRED = "OrderExpired"
    CUSTOMER_MERGED = "OrderCustomerMerged"
    # Payments: each step of each attempt, in the transaction of the change.
    PAYMENT_STARTED = "PaymentStarted"  # instructions or a card link issued
    PAYMENT_CLAIMED = "PaymentClaimed"  # the customer says they paid
    PAYMENT_PROOF_RECEIVED = "PaymentProofReceived"
    PAYMENT_VERIFICATION_ATTEMPTED = "PaymentVerificationAttempted"
    PAYMENT_WEBHOOK_RECEIVED = "PaymentWebhookReceived"
    PAYMENT_NEEDS_REVIEW = "PaymentNeedsReview"  # e.g. the gateway took another amount
    PAYMENT_CONFIRMED = "PaymentConfirmed"
    PAYMENT_REJECTED = "PaymentRejected"  # staff could not verify it
    PAYMENT_FAILED = "PaymentFailed"  # the gateway says it failed
    PAYMENT_EXPIRED = "PaymentExpired"
    PAYMENT_REFUND_DUE = "PaymentRefundDue"
    PAYMENT_REMINDER_SENT = "PaymentReminderSent"
    RECEIPT_ISSUED = "ReceiptIssued"
    RECEIPT_SENT = "ReceiptSent"


async def record(order_id: int, event_type: str, actor: str, data: dict[str, Any]) -> int:
    rows = await OrderEvent.insert(
        OrderEvent(order=order_id, type=event_type, actor=actor, data=to_jsonb(data))
    ).returning(OrderEvent.id)
    return int(rows[0]["id"])


async def history(order_id: int) -> list[dict[str, Any]]:
    """Every event of one order, oldest first."""
    return list(
        await OrderEvent.select()
        .where(OrderEvent.order == order_id)
        .order_by(OrderEvent.id)
        .output(load_json=True)
    )
