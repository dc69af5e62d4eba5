from piccolo.columns import (
    JSONB,
    BigInt,
    BigSerial,
    Boolean,
    DoublePrecision,
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

from app.catalog.tables import Product
from app.customers.tables import Customer
from app.ordering.states import OrderStatus
from app.ordering.values import Fulfilment


class Order(Table, tablename="orders"):
    id = Serial(primary_key=True)
    number = Integer(unique=True, help_text="Human order number from order_number_seq")
    customer = ForeignKey(Customer, null=False, on_delete=OnDelete.restrict, index=True)
    status = Varchar(length=32, choices=OrderStatus, default=OrderStatus.PENDING_PAYMENT)
    fulfilment = Varchar(length=16, choices=Fulfilment, default=Fulfilment.PICKUP)
    delivery_address = Text(null=True, default=None)
    delivery_latitude = DoublePrecision(null=True, default=None)
    delivery_longitude = DoublePrecision(null=True, default=None)
    note = Text(default="")
    currency = Varchar(length=3)
    prices_include_tax = Boolean(default=False)
    subtotal = BigInt(help_text="Sum of line net amounts, minor units")
    tax = BigInt()
    delivery_fee = BigInt(default=0)
    total = BigInt()
    placed_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz(null=True, default=None)
    paid_at = Timestamptz(null=True, default=None)
    cancelled_at = Timestamptz(null=True, default=None)
    cancel_reason = Text(null=True, default=None)
    expired_at = Timestamptz(null=True, default=None)
    reminded_at = Timestamptz(
        null=True, default=None, help_text="When the customer was reminded to pay"
    )
    completed_at = Timestamptz(null=True, default=None)
    updated_at = Timestamptz(default=TimestamptzNow())
    version = Integer(default=1)
    idempotency_key = Varchar(
        length=128,
        null=True,
        default=None,
        unique=True,
        help_text="Set by the chat: the message that placed it, so a retry finds the same order",
    )

    orders_amounts_non_negative = Check(
        "subtotal >= 0 AND tax >= 0 AND delivery_fee >= 0 AND total >= 0"
    )
    orders_total_adds_up = Check("total = subtotal + tax + delivery_fee")
    orders_delivery_has_destination = Check(
        "fulfilment <> 'delivery' OR delivery_address IS NOT NULL OR delivery_latitude IS NOT NULL"
    )


class OrderItem(Table, tablename="order_item"):
    """A line of an order: a snapshot of the product as it was sold."""

    id = Serial(primary_key=True)
    order = ForeignKey(Order, null=False, on_delete=OnDelete.restrict, index=True)
    product = ForeignKey(Product, on_delete=OnDelete.restrict, null=True, index=True)
    sku = Varchar(length=64)
    name = Varchar(length=200)
    unit_price = BigInt()
    tax_rate_bp = Integer()
    quantity = Integer()
    reserved = Integer(
        default=0, help_text="Units taken from stock at checkout (0 when stock was not tracked)"
    )
    net = BigInt()
    tax = BigInt()
    gross = BigInt()

    order_item_quantity_positive = Check("quantity > 0")
    order_item_reserved_range = Check("reserved >= 0 AND reserved <= quantity")
    order_item_amounts_non_negative = Check(
        "unit_price >= 0 AND net >= 0 AND tax >= 0 AND gross >= 0"
    )
    order_item_gross_adds_up = Check("gross = net + tax")
    order_item_one_line_per_sku = Unique(["order", "sku"])


class OrderEvent(Table, tablename="order_event"):
    """Audit trail of every order change, and the outbox the event relay publishes from."""

    id = BigSerial(primary_key=True)
    order = ForeignKey(Order, null=False, on_delete=OnDelete.restrict, index=True)
    type = Varchar(length=64)
    data = JSONB(default={})
    actor = Varchar(length=64, help_text="customer, staff:<id> or system")
    created_at = Timestamptz(default=TimestamptzNow())
    published_at = Timestamptz(null=True, default=None)
