from piccolo.columns import (
    JSONB,
    BigInt,
    BigSerial,
    ForeignKey,
    Integer,
    OnDelete,
    Serial,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.constraints import Check, Unique
from piccolo.table import Table

from app.ordering.tables import Order
from app.payments.states import PaymentStatus


class Payment(Table, tablename="payment"):
    """One attempt to pay an order. A retry after failure or expiry is a new row."""

    id = Serial(primary_key=True)
    order = ForeignKey(Order, null=False, on_delete=OnDelete.restrict, index=True)
    attempt = Integer(default=1, help_text="1 for the first attempt on the order, then 2, …")
    provider = Varchar(length=32, help_text="manual, stripe, …")
    reference = Varchar(
        length=16, unique=True, help_text="Crockford base32 reference the customer quotes"
    )
    idempotency_key = Varchar(length=128, unique=True)
    amount = BigInt()
    currency = Varchar(length=3)
    status = Varchar(length=32, choices=PaymentStatus, default=PaymentStatus.PENDING)
    provider_payment_id = Varchar(length=255, null=True, default=None)
    checkout_url = Text(null=True, default=None)
    provider_data = JSONB(default={})
    expires_at = Timestamptz(null=True, default=None)
    confirmed_at = Timestamptz(null=True, default=None)
    failure_reason = Text(null=True, default=None)
    claimed_at = Timestamptz(
        null=True, default=None, help_text="When the customer said they had paid"
    )
    proof_media_id = Varchar(
        length=255, null=True, default=None, help_text="WhatsApp media id of the proof sent"
    )
    proof_mime_type = Varchar(length=128, null=True, default=None)
    proof_caption = Text(null=True, default=None)
    verified_by = Varchar(
        length=64, null=True, default=None, help_text="Who confirmed or rejected it (actor)"
    )
    verification_note = Text(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())
    version = Integer(default=1)

    payment_amount_non_negative = Check("amount >= 0")
    payment_attempt_positive = Check("attempt > 0")
    payment_one_row_per_attempt = Unique(["order", "attempt"])
    payment_provider_id_unique = Unique(["provider", "provider_payment_id"])


class ProviderEvent(Table, tablename="payment_provider_event"):
    """A webhook event a payment provider sent, kept once: a redelivery is recognised by id."""

    id = BigSerial(primary_key=True)
    provider = Varchar(length=32)
    event_id = Varchar(length=255, help_text="The provider's event id (Stripe: evt_…)")
    type = Varchar(length=128)
    payment = ForeignKey(Payment, null=True, on_delete=OnDelete.restrict, index=True)
    outcome = Varchar(length=64, default="", help_text="What the event changed, or why nothing")
    payload = JSONB(default={})
    received_at = Timestamptz(default=TimestamptzNow())

    provider_event_once = Unique(["provider", "event_id"])
