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
    PAYMENT_STARTED = "PaymentStarted"


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
