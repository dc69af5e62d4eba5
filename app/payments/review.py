"""What staff review: payments waiting for a person, found by reference or id.

The operator CLI uses these until the GraphQL admin API exposes the same use cases.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.errors import InvalidInput, NotFound
from app.payments.reference import normalize_reference
from app.payments.states import PaymentStatus
from app.payments.tables import Payment

REVIEW_STATUSES = (PaymentStatus.AWAITING_VERIFICATION, PaymentStatus.REFUND_DUE)


@dataclass(frozen=True, slots=True)
class PaymentLine:
    id: int
    reference: str
    order_number: int
    provider: str
    status: str
    amount: int
    currency: str
    created_at: datetime
    claimed_at: datetime | None
    proof: bool
    note: str | None  # why it needs a person, when known


async def review_queue(*, everything_open: bool = False, limit: int = 100) -> list[PaymentLine]:
    """Payments a person must act on; with ``everything_open`` the pending ones too."""
    statuses = [s.value for s in REVIEW_STATUSES]
    if everything_open:
        statuses.append(PaymentStatus.PENDING.value)
    rows = (
        await Payment.select(
            Payment.id,
            Payment.reference,
            Payment.order.number.as_alias("order_number"),
            Payment.provider,
            Payment.status,
            Payment.amount,
            Payment.currency,
            Payment.created_at,
            Payment.claimed_at,
            Payment.proof_media_id,
            Payment.failure_reason,
        )
        .where(Payment.status.is_in(statuses))
        .order_by(Payment.created_at)
        .limit(limit)
    )
    return [
        PaymentLine(
            id=row["id"],
            reference=row["reference"],
            order_number=row["order_number"],
            provider=row["provider"],
            status=row["status"],
            amount=row["amount"],
            currency=row["currency"],
            created_at=row["created_at"],
            claimed_at=row["claimed_at"],
            proof=row["proof_media_id"] is not None,
            note=row["failure_reason"],
        )
        for row in rows
    ]


async def find_payment(key: str) -> int:
    """The id of the payment ``key`` names: its id, or its reference (typos explained)."""
    key = key.strip()
    if key.isdigit() and len(key) < 10:
        row = await Payment.select(Payment.id).where(Payment.id == int(key)).first()
        if row is None:
            raise NotFound(f"No payment with id {key}.", field="payment")
        return int(row["id"])
    try:
        reference = normalize_reference(key)
    except InvalidInput as exc:
        raise InvalidInput(exc.message, field="payment") from None
    row = await Payment.select(Payment.id).where(Payment.reference == reference).first()
    if row is None:
        raise NotFound(f"No payment with reference {reference}.", field="payment")
    return int(row["id"])
