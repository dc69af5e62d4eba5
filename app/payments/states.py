"""The lifecycle of one payment attempt as a table of allowed moves.

Failed and expired are terminal: a retry is a new payment row, so each row keeps the
story of exactly one attempt.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from app.errors import IllegalTransition


class PaymentStatus(StrEnum):
    PENDING = "pending"
    AWAITING_VERIFICATION = "awaiting_verification"
    CONFIRMED = "confirmed"
    FAILED = "failed"
    EXPIRED = "expired"


_S = PaymentStatus

PAYMENT_TRANSITIONS: Final[Mapping[PaymentStatus, frozenset[PaymentStatus]]] = MappingProxyType(
    {
        _S.PENDING: frozenset({_S.AWAITING_VERIFICATION, _S.CONFIRMED, _S.FAILED, _S.EXPIRED}),
        # Once the customer says they paid, the payment no longer expires on a timer:
        # someone has to confirm or reject the claim.
        _S.AWAITING_VERIFICATION: frozenset({_S.CONFIRMED, _S.FAILED}),
        _S.CONFIRMED: frozenset(),
        _S.FAILED: frozenset(),
        _S.EXPIRED: frozenset(),
    }
)


def can_transition_payment(current: PaymentStatus, target: PaymentStatus) -> bool:
    return target in PAYMENT_TRANSITIONS[current]


def transition_payment(current: PaymentStatus, target: PaymentStatus) -> PaymentStatus:
    """Return ``target`` if the move is allowed; staying put is not a move."""
    if not can_transition_payment(current, target):
        raise IllegalTransition("payment", current, target)
    return target
