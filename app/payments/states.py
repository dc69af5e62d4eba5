"""The lifecycle of one payment attempt as a table of allowed moves.

A retry after failure or expiry is a new payment row, so each row keeps the story of
exactly one attempt. Money that arrives for an attempt that can no longer be applied (the
order expired, or another attempt already paid it) is never dropped: the attempt becomes
``refund_due`` so staff see it and give the money back.
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
    REFUND_DUE = "refund_due"


_S = PaymentStatus

PAYMENT_TRANSITIONS: Final[Mapping[PaymentStatus, frozenset[PaymentStatus]]] = MappingProxyType(
    {
        _S.PENDING: frozenset(
            {_S.AWAITING_VERIFICATION, _S.CONFIRMED, _S.FAILED, _S.EXPIRED, _S.REFUND_DUE}
        ),
        # Once the customer says they paid, the payment no longer expires on a timer:
        # someone has to confirm or reject the claim.
        _S.AWAITING_VERIFICATION: frozenset({_S.CONFIRMED, _S.FAILED, _S.REFUND_DUE}),
        _S.CONFIRMED: frozenset(),
        # A gateway may still take money on an attempt given up here (a link that stayed
        # open): it is confirmed if the order can take it, else flagged for refund. Staff
        # cannot confirm these (the confirm use case refuses closed attempts).
        _S.FAILED: frozenset({_S.CONFIRMED, _S.REFUND_DUE}),
        _S.EXPIRED: frozenset({_S.CONFIRMED, _S.REFUND_DUE}),
        _S.REFUND_DUE: frozenset(),
    }
)


def can_transition_payment(current: PaymentStatus, target: PaymentStatus) -> bool:
    return target in PAYMENT_TRANSITIONS[current]


def transition_payment(current: PaymentStatus, target: PaymentStatus) -> PaymentStatus:
    """Return ``target`` if the move is allowed; staying put is not a move."""
    if not can_transition_payment(current, target):
        raise IllegalTransition("payment", current, target)
    return target


OPEN_PAYMENT_STATUSES: Final[frozenset[PaymentStatus]] = frozenset(
    {PaymentStatus.PENDING, PaymentStatus.AWAITING_VERIFICATION}
)
