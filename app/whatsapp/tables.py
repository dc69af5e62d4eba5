from enum import StrEnum

from piccolo.columns import (
    JSONB,
    BigSerial,
    ForeignKey,
    Integer,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from app.customers.tables import Customer
from app.ordering.tables import Order


class InboundStatus(StrEnum):
    PENDING = "pending"
    PROCESSED = "processed"
    FAILED = "failed"


class OutboundStatus(StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"
    DEAD = "dead"


class InboundMessage(Table, tablename="inbound_message"):
    """The durable inbox: every message WhatsApp delivered, stored before we answer 200."""

    id = BigSerial(primary_key=True)
    wamid = Varchar(length=256, unique=True, help_text="WhatsApp message id (messages[].id)")
    customer = ForeignKey(Customer, on_delete=OnDelete.restrict, null=True, index=True)
    type = Varchar(length=32)
    payload = JSONB()
    sent_at = Timestamptz(help_text="WhatsApp's timestamp: the order messages are handled in")
    received_at = Timestamptz(default=TimestamptzNow())
    status = Varchar(length=16, choices=InboundStatus, default=InboundStatus.PENDING)
    processed_at = Timestamptz(null=True, default=None)
    attempts = Integer(default=0)
    error = Text(null=True, default=None)


class OutboundMessage(Table, tablename="outbound_message"):
    id = BigSerial(primary_key=True)
    customer = ForeignKey(Customer, null=False, on_delete=OnDelete.restrict, index=True)
    recipient = Varchar(length=128, help_text="Address WhatsApp accepts: phone or user id")
    kind = Varchar(length=32, help_text="text, interactive, document, template, …")
    payload = JSONB()
    status = Varchar(length=16, choices=OutboundStatus, default=OutboundStatus.QUEUED)
    wamid = Varchar(length=256, null=True, default=None, unique=True)
    attempts = Integer(default=0)
    next_attempt_at = Timestamptz(default=TimestamptzNow())
    last_error = Text(null=True, default=None)
    error_code = Integer(null=True, default=None)
    order = ForeignKey(Order, on_delete=OnDelete.restrict, null=True, index=True)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())
    sent_at = Timestamptz(null=True, default=None)
    idempotency_key = Varchar(
        length=300,
        null=True,
        default=None,
        unique=True,
        help_text="What caused it (e.g. inbound wamid + position): reprocessing adds no copy",
    )
