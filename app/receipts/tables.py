from piccolo.columns import (
    BigInt,
    Bytea,
    ForeignKey,
    OnDelete,
    Serial,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from app.ordering.tables import Order
from app.payments.tables import Payment


class Receipt(Table, tablename="receipt"):
    id = Serial(primary_key=True)
    number = Varchar(length=32, unique=True, help_text="e.g. R-2026-000042")
    sequence = BigInt(unique=True, help_text="From receipt_number_seq; orders the receipts")
    order = ForeignKey(Order, null=False, on_delete=OnDelete.restrict, index=True)
    payment = ForeignKey(
        Payment,
        null=False,
        on_delete=OnDelete.restrict,
        unique=True,
        help_text="One receipt per payment",
    )
    issued_at = Timestamptz(default=TimestamptzNow())
    text_body = Text(default="")
    pdf = Bytea(null=True, default=None)
    sent_at = Timestamptz(null=True, default=None)
