"""Orders and payments for staff: the orders board, one order with its audit trail, the
payment review queue, and confirming or rejecting a payment.

The board is the hot query, so a page is read in one SQL statement — the orders with
their customer, items, payments and receipt as JSON sub-selects — and resolved as plain
data; the audit trail, asked for on the detail screen, is one more statement per page.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

import msgspec
import strawberry
from graphql import GraphQLError
from strawberry.scalars import JSON

from app import actors
from app.db.reads import fetch
from app.errors import DomainError, NotFound
from app.graphql.context import Info
from app.graphql.errors import UserError, user_errors
from app.graphql.paging import (
    INVALID,
    Count,
    PageInfo,
    check_page_size,
    counting,
    cursor,
    cursor_key,
    decode_id_cursor,
    id_cursor,
    page_info,
    parse_id,
)
from app.graphql.permissions import STAFF, STAFF_THROTTLED
from app.ordering import service as ordering
from app.ordering.states import OrderStatus as OrderStatusValue
from app.ordering.tables import Order as OrderTable
from app.ordering.tables import OrderEvent as OrderEventTable
from app.payments import service as payments
from app.payments.expiry import cancel_unpaid
from app.payments.methods import stop_attempts
from app.payments.states import PaymentStatus as PaymentStatusValue
from app.receipts import service as receipts


@strawberry.enum(description="Where an order is in its lifecycle.")
class OrderStatus(Enum):
    PENDING_PAYMENT = OrderStatusValue.PENDING_PAYMENT.value
    PAID = OrderStatusValue.PAID.value
    PREPARING = OrderStatusValue.PREPARING.value
    READY = OrderStatusValue.READY.value
    OUT_FOR_DELIVERY = OrderStatusValue.OUT_FOR_DELIVERY.value
    COMPLETED = OrderStatusValue.COMPLETED.value
    CANCELLED = OrderStatusValue.CANCELLED.value
    EXPIRED = OrderStatusValue.EXPIRED.value
    REFUNDED = OrderStatusValue.REFUNDED.value


@strawberry.enum(description="Where a payment attempt is.")
class PaymentStatus(Enum):
    PENDING = PaymentStatusValue.PENDING.value
    AWAITING_VERIFICATION = PaymentStatusValue.AWAITING_VERIFICATION.value
    CONFIRMED = PaymentStatusValue.CONFIRMED.value
    FAILED = PaymentStatusValue.FAILED.value
    EXPIRED = PaymentStatusValue.EXPIRED.value
    REFUND_DUE = PaymentStatusValue.REFUND_DUE.value


@strawberry.type(description="Someone who ordered through WhatsApp.")
class Customer:
    id: strawberry.ID = strawberry.field(description="Customer id")
    name: str = strawberry.field(description="WhatsApp profile name")
    phone: str | None = strawberry.field(description="E.164 digits, when WhatsApp shared it")
    user_id: str | None = strawberry.field(description="WhatsApp business-scoped user id")


@strawberry.type(description="A line of an order, as it was sold.")
class OrderItem:
    sku: str = strawberry.field(description="Product SKU at the time of sale")
    name: str = strawberry.field(description="Product name at the time of sale")
    unit_price: int = strawberry.field(description="Minor units")
    tax_rate_bp: int = strawberry.field(description="Tax rate in basis points")
    quantity: int = strawberry.field(description="How many")
    net: int = strawberry.field(description="Line amount before tax, minor units")
    tax: int = strawberry.field(description="Line tax, minor units")
    gross: int = strawberry.field(description="Line amount with tax, minor units")


@strawberry.type(description="One attempt to pay an order.")
class Payment:
    id: strawberry.ID = strawberry.field(description="Payment id")
    reference: str = strawberry.field(description="The reference the customer quotes")
    provider: str = strawberry.field(description="manual or stripe")
    status: PaymentStatus = strawberry.field(description="Where the attempt is")
    amount: int = strawberry.field(description="Minor units")
    currency: str = strawberry.field(description="ISO 4217")
    attempt: int = strawberry.field(description="1 for the first attempt on the order, …")
    order_number: int = strawberry.field(description="The order it pays")
    created_at: datetime = strawberry.field(description="When it was opened")
    claimed_at: datetime | None = strawberry.field(description="When the customer said paid")
    confirmed_at: datetime | None = strawberry.field(description="When it was confirmed")
    has_proof: bool = strawberry.field(description="The customer sent a photo or document")
    failure_reason: str | None = strawberry.field(
        description="Why it failed, expired, needs review or must be refunded"
    )
    verified_by: str | None = strawberry.field(description="Who confirmed or rejected it")
    verification_note: str | None = strawberry.field(description="Their note or reason")


@strawberry.type(description="The receipt of a paid order.")
class Receipt:
    number: str = strawberry.field(description="e.g. R-2026-000042")
    issued_at: datetime = strawberry.field(description="When it was issued")
    sent_at: datetime | None = strawberry.field(description="When it was sent to the customer")


@strawberry.type(description="One step in an order's audit trail.")
class OrderEvent:
    id: strawberry.ID = strawberry.field(description="Increasing event id")
    type: str = strawberry.field(description="e.g. OrderPlaced, PaymentConfirmed")
    actor: str = strawberry.field(description="customer, staff:<id>, operator, gateway:<name>…")
    data: JSON = strawberry.field(description="What changed")
    created_at: datetime = strawberry.field(description="When")


async def _order_events(root: Order) -> list[OrderEvent]:
    """The audit trail of ``root``: a resolver of its own, as the board never asks for it."""
    rows = (
        await OrderEventTable.select()
        .where(OrderEventTable.order == int(root.id))
        .order_by(OrderEventTable.id)
        .limit(500)
        .output(load_json=True)
    )
    return [
        OrderEvent(
            id=strawberry.ID(str(row["id"])),
            type=row["type"],
            actor=row["actor"],
            data=row["data"],
            created_at=row["created_at"],
        )
        for row in rows
    ]


@strawberry.type(description="An order placed through the chat.")
class Order:
    id: strawberry.ID = strawberry.field(description="Order id")
    number: int = strawberry.field(description="The number the customer sees, e.g. 1042")
    status: OrderStatus = strawberry.field(description="Lifecycle status")
    fulfilment: str = strawberry.field(description="delivery or pickup")
    delivery_address: str | None = strawberry.field(description="Typed or shared address")
    note: str = strawberry.field(description="The customer's note")
    currency: str = strawberry.field(description="ISO 4217")
    subtotal: int = strawberry.field(description="Minor units")
    tax: int = strawberry.field(description="Minor units")
    delivery_fee: int = strawberry.field(description="Minor units")
    total: int = strawberry.field(description="Minor units")
    placed_at: datetime = strawberry.field(description="When it was placed")
    expires_at: datetime | None = strawberry.field(description="Payment deadline")
    paid_at: datetime | None = strawberry.field(description="When it was paid")
    version: int = strawberry.field(description="Increases on every change")
    customer: Customer = strawberry.field(description="Who ordered")
    items: list[OrderItem] = strawberry.field(description="What was ordered")
    payments: list[Payment] = strawberry.field(description="Every payment attempt, oldest first")
    receipt: Receipt | None = strawberry.field(description="The receipt, once paid")

    events: list[OrderEvent] = strawberry.field(
        resolver=_order_events,
        description="The audit trail, oldest first (at most 500 events).",
    )


@strawberry.type(description="An order and its cursor.")
class OrderEdge:
    cursor: str = strawberry.field(description="Opaque position in the list")
    node: Order = strawberry.field(description="The order")


@strawberry.type(description="A page of orders, newest first.")
class OrderConnection:
    edges: list[OrderEdge] = strawberry.field(description="The orders of this page")
    page_info: PageInfo = strawberry.field(description="Where the next page starts")
    count: strawberry.Private[Count]

    @strawberry.field(description="Orders matching the filter")
    async def total_count(self) -> int:
        return await self.count()


@strawberry.input(description="Which orders to list; every given condition must hold.")
class OrderFilter:
    statuses: list[OrderStatus] | None = strawberry.field(
        default=None, description="Any of these statuses"
    )
    number: int | None = strawberry.field(default=None, description="This order number")
    customer_id: strawberry.ID | None = strawberry.field(default=None, description="Customer")
    placed_from: datetime | None = strawberry.field(default=None, description="Placed at or after")
    placed_before: datetime | None = strawberry.field(default=None, description="Placed before")
    payment_status: PaymentStatus | None = strawberry.field(
        default=None, description="Has a payment attempt in this status"
    )


@strawberry.type(description="The result of a payment decision.")
class PaymentPayload:
    payment: Payment | None = strawberry.field(default=None, description="The payment now")
    errors: list[UserError] = strawberry.field(default_factory=list, description="Why not")


# --- Reading --------------------------------------------------------------------------------

# The hot reads return each order (or payment) as one JSON object whose keys are the
# GraphQL type's fields, and msgspec decodes a whole page straight into ``Order`` objects:
# no per-row or per-field Python. A test checks every key against the types.
_PAYMENT_FIELDS = """p.id::text AS id, p.reference, p.provider, p.status, p.amount,
       p.currency, p.attempt, o.number AS order_number, p.created_at, p.claimed_at,
       p.confirmed_at, p.proof_media_id IS NOT NULL AS has_proof, p.failure_reason,
       p.verified_by, p.verification_note"""

_ORDER_FIELDS = f"""o.id::text AS id, o.number, o.status, o.fulfilment, o.delivery_address,
       o.note, o.currency, o.subtotal, o.tax, o.delivery_fee, o.total, o.placed_at,
       o.expires_at, o.paid_at, o.version,
       (SELECT row_to_json(c) FROM (SELECT id::text AS id, profile_name AS name,
         wa_id AS phone, user_id FROM customer WHERE id = o.customer) c) AS customer,
       COALESCE((SELECT json_agg(i ORDER BY i.line) FROM (SELECT sku, name, unit_price,
         tax_rate_bp, quantity, net, tax, gross, id AS line FROM order_item
         WHERE "order" = o.id) i), '[]') AS items,
       COALESCE((SELECT json_agg(p ORDER BY p.attempt) FROM (SELECT {_PAYMENT_FIELDS}
         FROM payment p WHERE p."order" = o.id) p), '[]') AS payments,
       (SELECT row_to_json(r) FROM (SELECT number, issued_at, sent_at FROM receipt
         WHERE "order" = o.id ORDER BY id DESC LIMIT 1) r) AS receipt"""  # noqa: S608

_ORDERS = msgspec.json.Decoder(list[Order])
_PAYMENTS = msgspec.json.Decoder(list[Payment])


def _orders_page(where: str, order_by: str, limit: str = "") -> str:
    """One JSON array of the matching orders, in ``order_by`` order."""
    return (
        f"SELECT COALESCE(json_agg(x ORDER BY x.position), '[]') AS page FROM ("  # noqa: S608
        f"SELECT {_ORDER_FIELDS}, row_number() OVER (ORDER BY {order_by}) AS position "
        f"FROM orders o{where} ORDER BY {order_by}{limit}) x"
    )


def _payments_page(where: str, limit: str = "") -> str:
    return (
        f"SELECT COALESCE(json_agg(x ORDER BY x.position), '[]') AS page FROM ("  # noqa: S608
        f"SELECT {_PAYMENT_FIELDS}, row_number() OVER (ORDER BY p.id) AS position "
        f'FROM payment p JOIN orders o ON o.id = p."order"{where} ORDER BY p.id{limit}) x'
    )


@dataclass
class _Where:
    clauses: list[str]
    args: list[Any]

    def add(self, clause: str, *args: Any) -> None:
        self.clauses.append(clause)
        self.args.extend(args)

    @property
    def sql(self) -> str:
        return f" WHERE {' AND '.join(self.clauses)}" if self.clauses else ""


def _filters(where: _Where, filter: OrderFilter | None) -> None:
    if filter is None:
        return
    if filter.statuses:
        where.add("o.status = ANY({})", [status.value for status in filter.statuses])
    if filter.number is not None:
        where.add("o.number = {}", filter.number)
    if filter.customer_id is not None:
        where.add("o.customer = {}", parse_id(filter.customer_id, "customerId"))
    if filter.placed_from is not None:
        where.add("o.placed_at >= {}", filter.placed_from)
    if filter.placed_before is not None:
        where.add("o.placed_at < {}", filter.placed_before)
    if filter.payment_status is not None:
        where.add(
            'EXISTS (SELECT 1 FROM payment p WHERE p."order" = o.id AND p.status = {})',
            filter.payment_status.value,
        )


async def list_orders(filter: OrderFilter | None, first: int, after: str | None) -> OrderConnection:
    check_page_size(first)
    where = _Where([], [])
    _filters(where, filter)
    # Only fixed clauses are joined into the SQL; every value is a bound parameter.
    count_sql = f"SELECT count(*) AS n FROM orders o{where.sql}"  # noqa: S608
    count = counting(count_sql, *where.args)
    if after is not None:
        placed_at, order_id = _decode_order_cursor(after)
        where.add("(o.placed_at, o.id) < ({}, {})", placed_at, order_id)
    sql = _orders_page(where.sql, "o.placed_at DESC, o.id DESC", " LIMIT {}")
    rows = await fetch(sql, *where.args, first + 1)
    found = _ORDERS.decode(rows[0]["page"])
    page = found[:first]
    edges = [OrderEdge(cursor=_order_cursor(o.placed_at, int(o.id)), node=o) for o in page]
    return OrderConnection(
        edges=edges,
        page_info=page_info([edge.cursor for edge in edges], more=len(found) > first),
        count=count,
    )


async def find_order(id: strawberry.ID | None, number: int | None) -> Order | None:
    if (id is None) == (number is None):
        raise GraphQLError("Give either `id` or `number`.", extensions=INVALID)
    where = _Where([], [])
    if id is not None:
        where.add("o.id = {}", parse_id(id, "id"))
    else:
        where.add("o.number = {}", number)
    rows = await fetch(_orders_page(where.sql, "o.id"), *where.args)
    found = _ORDERS.decode(rows[0]["page"])
    return found[0] if found else None


async def payment_by_id(payment_id: int) -> Payment | None:
    rows = await fetch(_payments_page(" WHERE p.id = {}"), payment_id)
    found = _PAYMENTS.decode(rows[0]["page"])
    return found[0] if found else None


@strawberry.type(description="A payment and its cursor.")
class PaymentEdge:
    cursor: str = strawberry.field(description="Opaque position in the list")
    node: Payment = strawberry.field(description="The payment")


@strawberry.type(description="A page of payments, oldest first.")
class PaymentConnection:
    edges: list[PaymentEdge] = strawberry.field(description="The payments of this page")
    page_info: PageInfo = strawberry.field(description="Where the next page starts")
    count: strawberry.Private[Count]

    @strawberry.field(description="Payments matching the filter")
    async def total_count(self) -> int:
        return await self.count()


async def review_queue(
    statuses: list[Any] | None, provider: str | None, first: int, after: str | None
) -> PaymentConnection:
    check_page_size(first)
    wanted = [s.value for s in statuses] if statuses else ["awaiting_verification", "refund_due"]
    where = _Where([], [])
    where.add("p.status = ANY({})", wanted)
    if provider:
        where.add("p.provider = {}", provider)
    count_sql = f"SELECT count(*) AS n FROM payment p{where.sql}"  # noqa: S608
    count = counting(count_sql, *where.args)
    if after is not None:
        where.add("p.id > {}", decode_id_cursor(after))
    rows = await fetch(_payments_page(where.sql, " LIMIT {}"), *where.args, first + 1)
    found = _PAYMENTS.decode(rows[0]["page"])
    page = found[:first]
    edges = [PaymentEdge(cursor=id_cursor(int(p.id)), node=p) for p in page]
    return PaymentConnection(
        edges=edges,
        page_info=page_info([edge.cursor for edge in edges], more=len(found) > first),
        count=count,
    )


# --- Deciding -----------------------------------------------------------------------------


async def decide(
    info: Info, payment_id: strawberry.ID, *, note: str | None, reason: str | None
) -> PaymentPayload:
    staff = await info.context.staff()
    assert staff is not None
    runtime = info.context.runtime
    notices = runtime.notices
    try:
        key = parse_id(payment_id, "id")
        if reason is None:
            done = await payments.confirm_payment(
                key, actor=actors.staff(staff.id), note=note, notices=notices
            )
            if done.status is PaymentStatusValue.CONFIRMED and not done.already:
                await runtime.tasks.settle_payment.kiq(key)
            order_id = done.order_id
        else:
            record = await payments.reject_payment(
                key,
                actor=actors.staff(staff.id),
                reason=reason,
                notices=notices,
                payment_minutes=info.context.settings.order_payment_minutes,
            )
            if record.provider_payment_id:
                await stop_attempts(
                    runtime.payment_methods, [(record.provider, record.provider_payment_id)]
                )
            order_id = record.order_id
    except DomainError as error:
        return PaymentPayload(errors=user_errors(error))
    customer = await OrderTable.select(OrderTable.customer).where(OrderTable.id == order_id).first()
    if customer is not None:  # the customer's notice goes out now, not at the next sweep
        await runtime.tasks.deliver_outbound.kiq(customer["customer"])
    return PaymentPayload(payment=await payment_by_id(key))


@strawberry.type(description="The result of an order change.")
class OrderPayload:
    order: Order | None = strawberry.field(default=None, description="The order now")
    errors: list[UserError] = strawberry.field(default_factory=list, description="Why not")


async def _tell(info: Info, order_id: int, key: str, body: str) -> None:
    """Queue a message to the order's customer and send it now."""
    row = await OrderTable.select().where(OrderTable.id == order_id).first()
    if row is None:
        return
    await info.context.runtime.notices.send(row, key, body)
    await info.context.runtime.tasks.deliver_outbound.kiq(row["customer"])


@strawberry.type
class OrdersQuery:
    @strawberry.field(
        description="Orders, newest first (the orders board).", permission_classes=STAFF_THROTTLED
    )
    async def orders(
        self,
        filter: OrderFilter | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> OrderConnection:
        return await list_orders(filter, first, after)

    @strawberry.field(description="One order, by `id` or `number`.", permission_classes=STAFF)
    async def order(
        self, id: strawberry.ID | None = None, number: int | None = None
    ) -> Order | None:
        return await find_order(id, number)

    @strawberry.field(
        description="Payments waiting for a person (claimed or under review, and those to "
        "refund), oldest first; or those in `statuses`.",
        permission_classes=STAFF_THROTTLED,
    )
    async def payments(
        self,
        statuses: list[PaymentStatus] | None = None,
        provider: str | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> PaymentConnection:
        return await review_queue(statuses, provider, first, after)


@strawberry.type
class OrdersMutation:
    @strawberry.mutation(
        description="Confirm a payment: the order is paid and the receipt sent. Confirming "
        "twice changes nothing.",
        permission_classes=STAFF,
    )
    async def confirm_payment(
        self, info: Info, id: strawberry.ID, note: str | None = None
    ) -> PaymentPayload:
        return await decide(info, id, note=note, reason=None)

    @strawberry.mutation(
        description="Reject a payment: the customer is told the reason and how to pay again.",
        permission_classes=STAFF,
    )
    async def reject_payment(self, info: Info, id: strawberry.ID, reason: str) -> PaymentPayload:
        return await decide(info, id, note=None, reason=reason)

    @strawberry.mutation(
        description="Move a paid order along: PREPARING, READY, OUT_FOR_DELIVERY, COMPLETED "
        "(or REFUNDED). Pass the `version` you read to refuse a stale change. The customer "
        "is told.",
        permission_classes=STAFF,
    )
    async def update_order_status(
        self, info: Info, id: strawberry.ID, status: OrderStatus, version: int | None = None
    ) -> OrderPayload:
        staff = await info.context.staff()
        assert staff is not None
        order_id = parse_id(id, "id")
        try:
            change = await ordering.advance_order(
                order_id,
                OrderStatusValue(status.value),
                actor=actors.staff(staff.id),
                expected_version=version,
            )
        except DomainError as error:
            return OrderPayload(errors=user_errors(error))
        texts = info.context.runtime.notices.texts
        body = texts.t("order.update", number=change.number, status=texts.status(status.value))
        await _tell(info, order_id, f"order:{order_id}:status:{change.version}", body)
        return OrderPayload(order=await find_order(id, None))

    @strawberry.mutation(
        description="Cancel an unpaid order with a reason: its stock goes back on the shelf, "
        "its payment links stop, and the customer is told.",
        permission_classes=STAFF,
    )
    async def cancel_order(self, info: Info, id: strawberry.ID, reason: str) -> OrderPayload:
        staff = await info.context.staff()
        assert staff is not None
        order_id = parse_id(id, "id")
        try:
            change, stopped = await cancel_unpaid(
                order_id, actor=actors.staff(staff.id), reason=reason
            )
        except DomainError as error:
            return OrderPayload(errors=user_errors(error))
        await stop_attempts(info.context.runtime.payment_methods, stopped)
        texts = info.context.runtime.notices.texts
        body = texts.t("order.cancelled_by_shop", number=change.number, reason=reason.strip())
        await _tell(info, order_id, f"order:{order_id}:cancelled", body)
        return OrderPayload(order=await find_order(id, None))

    @strawberry.mutation(
        description="Send the order's receipt to the customer again (a fresh link).",
        permission_classes=STAFF,
    )
    async def resend_receipt(self, info: Info, order_id: strawberry.ID) -> OrderPayload:
        staff = await info.context.staff()
        assert staff is not None
        key = parse_id(order_id, "orderId")
        receipt = await receipts.receipt_of_order(key)
        if receipt is None:
            error = NotFound("This order has no receipt yet.", field="order_id")
            return OrderPayload(errors=user_errors(error))
        await receipts.send_receipt(
            receipt,
            info.context.settings,
            key=f"receipt:{receipt.id}:resend:{uuid.uuid4().hex}",
            actor=actors.staff(staff.id),
        )
        customer = await OrderTable.select(OrderTable.customer).where(OrderTable.id == key).first()
        if customer is not None:
            await info.context.runtime.tasks.deliver_outbound.kiq(customer["customer"])
        return OrderPayload(order=await find_order(order_id, None))


# --- Helpers ----------------------------------------------------------------------------------


def _order_cursor(placed_at: datetime, order_id: int) -> str:
    return cursor(placed_at.isoformat(), order_id)


def _decode_order_cursor(value: str) -> tuple[datetime, int]:
    placed, order_id = cursor_key(value, 2)
    try:
        return datetime.fromisoformat(placed), int(order_id)
    except ValueError:
        raise GraphQLError("`after` is not a cursor from this list.", extensions=INVALID) from None
