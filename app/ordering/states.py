"""The order lifecycle as a table of allowed moves.

Every status is a key, so a terminal status is simply one with no way out.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from app.errors import IllegalTransition


class OrderStatus(StrEnum):
    PENDING_PAYMENT = "pending_payment"
    PAID = "paid"
    PREPARING = "preparing"
    READY = "ready"
    OUT_FOR_DELIVERY = "out_for_delivery"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    REFUNDED = "refunded"


_S = OrderStatus

ORDER_TRANSITIONS: Final[Mapping[OrderStatus, frozenset[OrderStatus]]] = MappingProxyType(
    {
        _S.PENDING_PAYMENT: frozenset({_S.PAID, _S.CANCELLED, _S.EXPIRED}),
        # Once paid, the way out is a refund, never a plain cancel.
        _S.PAID: frozenset({_S.PREPARING, _S.REFUNDED}),
        # Delivery orders may go straight out; pickup orders wait as READY.
        _S.PREPARING: frozenset({_S.READY, _S.OUT_FOR_DELIVERY}),
        _S.READY: frozenset({_S.OUT_FOR_DELIVERY, _S.COMPLETED}),
        _S.OUT_FOR_DELIVERY: frozenset({_S.COMPLETED}),
        _S.COMPLETED: frozenset(),
        _S.CANCELLED: frozenset(),
        _S.EXPIRED: frozenset(),
        _S.REFUNDED: frozenset(),
    }
)

OPEN_STATUSES: Final[frozenset[OrderStatus]] = frozenset(
    status for status, targets in ORDER_TRANSITIONS.items() if targets
)


def can_transition_order(current: OrderStatus, target: OrderStatus) -> bool:
    return target in ORDER_TRANSITIONS[current]


def transition_order(current: OrderStatus, target: OrderStatus) -> OrderStatus:
    """Return ``target`` if the move is allowed; staying put is not a move."""
    if not can_transition_order(current, target):
        raise IllegalTransition("order", current, target)
    return target


def is_unpaid_open(status: OrderStatus) -> bool:
    """An order still waiting for its payment: the one state that can expire or be cancelled."""
    return status is OrderStatus.PENDING_PAYMENT
