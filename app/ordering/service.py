"""Order use cases: place, advance, cancel and expire. One transaction each.

Stock is reserved inside the order's transaction with a conditional update
(``stock = stock - q WHERE stock >= q``), so two customers can never buy the same
last unit; releasing it on cancel or expiry happens in that change's transaction too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from app.catalog.models import ProductRecord
from app.catalog.tables import Product
from app.customers.tables import Customer
from app.errors import EmptyCart, InvalidInput, NotFound, OutOfStock, StaleVersion, Unavailable
from app.ordering import events
from app.ordering.events import OrderEventType
from app.ordering.pricing import CartTotals, LineInput, PricedLine, price_cart
from app.ordering.states import OrderStatus, transition_order
from app.ordering.tables import Order, OrderItem
from app.ordering.values import (
    MAX_LINES,
    MAX_QUANTITY,
    CartLine,
    Destination,
    Fulfilment,
    ShopTerms,
)


@dataclass(frozen=True, slots=True)
class PlaceOrder:
    customer_id: int
    lines: Sequence[CartLine]
    fulfilment: Fulfilment
    destination: Destination | None = None
    note: str = ""
    # Whatever asked for the order (e.g. the chat message): asking again returns it.
    idempotency_key: str | None = None


@dataclass(frozen=True, slots=True)
class PlacedOrder:
    id: int
    number: int
    status: OrderStatus
    totals: CartTotals
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class OrderChange:
    id: int
    number: int
    status: OrderStatus
    version: int
    released: tuple[tuple[str, int], ...] = ()


async def place_order(
    command: PlaceOrder, terms: ShopTerms, *, actor: str, now: datetime | None = None
) -> PlacedOrder:
    """Snapshot prices, reserve stock and write the order with its ``OrderPlaced`` event.

    With an ``idempotency_key`` that placed an order before, that order is returned and
    nothing is written: a message handled twice places one order.
    """
    if command.idempotency_key is not None:
        earlier = await find_placed(command.idempotency_key)
        if earlier is not None:
            return earlier
    try:
        return await _place(command, terms, actor=actor, now=now or datetime.now(UTC))
    except asyncpg.UniqueViolationError:
        # The same request placed its order a moment ago on another connection.
        if command.idempotency_key is None:
            raise
        earlier = await find_placed(command.idempotency_key)
        if earlier is None:
            raise
        return earlier


async def _place(
    command: PlaceOrder, terms: ShopTerms, *, actor: str, now: datetime
) -> PlacedOrder:
    lines = _merged_lines(command.lines)
    destination = _checked_destination(command)
    async with Order._meta.db.transaction():
        await _require_customer(command.customer_id)
        products = await _products_for(lines)
        totals = price_cart(
            [_line_input(products[line.sku], line.quantity) for line in lines],
            currency=terms.currency,
            prices_include_tax=terms.prices_include_tax,
            delivery_fee=terms.delivery_fee if command.fulfilment is Fulfilment.DELIVERY else 0,
        )
        reserved = await _reserve_stock(products, lines)
        number = await _next_order_number()
        expires_at = now + timedelta(minutes=terms.payment_minutes)
        order_id = await _insert_order(command, destination, terms, totals, number, now, expires_at)
        await _insert_items(order_id, products, totals.lines, reserved)
        await events.record(
            order_id,
            OrderEventType.PLACED,
            actor,
            {
                "number": number,
                "status": OrderStatus.PENDING_PAYMENT.value,
                "total": totals.total,
                "currency": totals.currency,
                "fulfilment": command.fulfilment.value,
                "items": [{"sku": line.sku, "quantity": line.quantity} for line in totals.lines],
                "expires_at": expires_at,
            },
        )
    return PlacedOrder(order_id, number, OrderStatus.PENDING_PAYMENT, totals, expires_at)


async def find_placed(idempotency_key: str) -> PlacedOrder | None:
    order = await Order.select().where(Order.idempotency_key == idempotency_key).first()
    if order is None:
        return None
    items = await OrderItem.select().where(OrderItem.order == order["id"]).order_by(OrderItem.sku)
    lines = tuple(
        PricedLine(
            sku=item["sku"],
            name=item["name"],
            unit_price=item["unit_price"],
            tax_rate_bp=item["tax_rate_bp"],
            quantity=item["quantity"],
            net=item["net"],
            tax=item["tax"],
            gross=item["gross"],
        )
        for item in items
    )
    totals = CartTotals(
        currency=order["currency"],
        lines=lines,
        subtotal=order["subtotal"],
        tax=order["tax"],
        delivery_fee=order["delivery_fee"],
        total=order["total"],
    )
    return PlacedOrder(
        order["id"], order["number"], OrderStatus(order["status"]), totals, order["expires_at"]
    )


async def advance_order(
    order_id: int,
    target: OrderStatus,
    *,
    actor: str,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> OrderChange:
    """Move an order along its fulfilment path (paid → preparing → ready → completed …).

    Cancelling and expiring release stock and have their own use cases.
    """
    if target in (OrderStatus.CANCELLED, OrderStatus.EXPIRED):
        raise InvalidInput(f"Use the {target.value} action for this change.", field="status")
    now = now or datetime.now(UTC)
    async with Order._meta.db.transaction():
        order = await _lock_order(order_id)
        if expected_version is not None and order["version"] != expected_version:
            raise StaleVersion(
                f"Order {order['number']} was changed by someone else; reload and try again.",
                field="version",
            )
        current = OrderStatus(order["status"])
        transition_order(current, target)
        stamps = {
            OrderStatus.PAID: "paid_at",
            OrderStatus.COMPLETED: "completed_at",
        }
        extra = {stamps[target]: now} if target in stamps else {}
        change = await _set_status(order, target, now, extra)
        await events.record(
            order_id,
            OrderEventType.STATUS_CHANGED,
            actor,
            {"from": current.value, "to": target.value},
        )
    return change


async def cancel_order(
    order_id: int, *, actor: str, reason: str, now: datetime | None = None
) -> OrderChange:
    """Cancel an unpaid order and put its reserved stock back on the shelf."""
    reason = reason.strip()
    if not reason:
        raise InvalidInput("Say why the order is cancelled.", field="reason")
    return await _close_unpaid(
        order_id,
        OrderStatus.CANCELLED,
        OrderEventType.CANCELLED,
        actor=actor,
        now=now or datetime.now(UTC),
        extra={"cancel_reason": reason[:500]},
        data={"reason": reason[:500]},
    )


async def expire_order(order_id: int, *, actor: str, now: datetime | None = None) -> OrderChange:
    """Expire an unpaid order whose payment window has closed, releasing its stock."""
    now = now or datetime.now(UTC)
    return await _close_unpaid(
        order_id,
        OrderStatus.EXPIRED,
        OrderEventType.EXPIRED,
        actor=actor,
        now=now,
        extra={"expired_at": now},
        data={},
        require_due=True,
    )


async def due_for_expiry(now: datetime, *, limit: int = 100) -> list[int]:
    """Unpaid orders past their deadline, oldest first.

    An order whose customer said they paid waits for staff to confirm or reject that
    claim: expiring it would release stock the customer may have paid for.
    """
    rows = await Order.raw(
        "SELECT id FROM orders o WHERE status = 'pending_payment' AND expires_at <= {} "
        "AND NOT EXISTS (SELECT 1 FROM payment p WHERE p.order = o.id "
        "AND p.status = 'awaiting_verification') "
        "ORDER BY expires_at LIMIT {}",
        now,
        limit,
    )
    return [row["id"] for row in rows]


async def get_order(order_id: int) -> dict[str, Any]:
    order = await Order.select().where(Order.id == order_id).first()
    if order is None:
        raise NotFound(f"No order with id {order_id}.", field="id")
    order["items"] = (
        await OrderItem.select().where(OrderItem.order == order_id).order_by(OrderItem.id)
    )
    return order


async def _close_unpaid(
    order_id: int,
    target: OrderStatus,
    event_type: OrderEventType,
    *,
    actor: str,
    now: datetime,
    extra: dict[str, Any],
    data: dict[str, Any],
    require_due: bool = False,
) -> OrderChange:
    async with Order._meta.db.transaction():
        order = await _lock_order(order_id)
        current = OrderStatus(order["status"])
        transition_order(current, target)
        if require_due and (order["expires_at"] is None or order["expires_at"] > now):
            raise InvalidInput(
                f"Order {order['number']} is still within its payment window.", field="id"
            )
        released = await _release_stock(order_id)
        change = await _set_status(order, target, now, {f"{target.value}_at": now, **extra})
        await events.record(
            order_id,
            event_type,
            actor,
            {
                "from": current.value,
                "to": target.value,
                "released": [{"sku": sku, "quantity": qty} for sku, qty in released],
                **data,
            },
        )
    return OrderChange(change.id, change.number, change.status, change.version, released)


def _merged_lines(lines: Sequence[CartLine]) -> list[CartLine]:
    if not lines:
        raise EmptyCart("The cart is empty.", field="lines")
    quantities: dict[str, int] = {}
    for line in lines:
        if isinstance(line.quantity, bool) or not isinstance(line.quantity, int):
            raise InvalidInput(f"Quantity of {line.sku} must be a whole number.", field="quantity")
        if line.quantity <= 0:
            raise InvalidInput(
                f"Quantity of {line.sku} must be at least 1, not {line.quantity}.",
                field="quantity",
            )
        quantities[line.sku] = quantities.get(line.sku, 0) + line.quantity
    if len(quantities) > MAX_LINES:
        raise InvalidInput(f"An order holds at most {MAX_LINES} different items.", field="lines")
    for sku, quantity in quantities.items():
        if quantity > MAX_QUANTITY:
            raise InvalidInput(
                f"At most {MAX_QUANTITY} of {sku} per order, not {quantity}.", field="quantity"
            )
    # Sorted by SKU so concurrent orders lock product rows in the same order (no deadlock).
    return [CartLine(sku, quantities[sku]) for sku in sorted(quantities)]


def _checked_destination(command: PlaceOrder) -> Destination | None:
    if command.fulfilment is Fulfilment.PICKUP:
        return None
    destination = command.destination or Destination()
    problem = destination.problem()
    if problem is not None:
        raise InvalidInput(problem, field="destination")
    return destination


async def _products_for(lines: Sequence[CartLine]) -> dict[str, ProductRecord]:
    skus = [line.sku for line in lines]
    rows = await Product.select().where(Product.sku.is_in(skus))
    products = {row["sku"]: ProductRecord.from_row(row) for row in rows}
    for sku in skus:
        product = products.get(sku)
        if product is None:
            raise NotFound(f"There is no product with SKU {sku!r}.", field="sku")
        if product.archived or not product.available:
            raise Unavailable(f"{product.name} ({sku}) is not available right now.", field="sku")
    return products


async def _require_customer(customer_id: int) -> None:
    if not await Customer.exists().where(Customer.id == customer_id):
        raise NotFound(f"No customer with id {customer_id}.", field="customer_id")


def _line_input(product: ProductRecord, quantity: int) -> LineInput:
    return LineInput(
        sku=product.sku,
        name=product.name,
        unit_price=product.price,
        tax_rate_bp=product.tax_rate_bp,
        quantity=quantity,
    )


async def _reserve_stock(
    products: dict[str, ProductRecord], lines: Sequence[CartLine]
) -> dict[str, int]:
    """Take the units off the shelf; return how many were taken per SKU."""
    reserved: dict[str, int] = {}
    for line in lines:
        product = products[line.sku]
        if product.stock is None:
            continue
        taken = await Product.raw(
            "UPDATE product SET stock = stock - {} "
            "WHERE id = {} AND stock IS NOT NULL AND stock >= {} RETURNING stock",
            line.quantity,
            product.id,
            line.quantity,
        )
        if not taken:
            left = await Product.select(Product.stock).where(Product.id == product.id).first()
            available = left["stock"] if left else None
            raise OutOfStock(product.sku, product.name, line.quantity, available)
        reserved[line.sku] = line.quantity
    return reserved


async def _release_stock(order_id: int) -> tuple[tuple[str, int], ...]:
    # Only what checkout actually took: a product whose tracking was switched on after the
    # order was placed gets nothing back it never gave.
    rows = await Product.raw(
        "UPDATE product p SET stock = p.stock + i.reserved "
        "FROM order_item i WHERE i.order = {} AND i.product = p.id "
        "AND i.reserved > 0 AND p.stock IS NOT NULL "
        "RETURNING i.sku, i.reserved",
        order_id,
    )
    return tuple(sorted((row["sku"], row["reserved"]) for row in rows))


async def _next_order_number() -> int:
    rows = await Order.raw("SELECT nextval('order_number_seq') AS number")
    return int(rows[0]["number"])


async def _insert_order(
    command: PlaceOrder,
    destination: Destination | None,
    terms: ShopTerms,
    totals: CartTotals,
    number: int,
    now: datetime,
    expires_at: datetime,
) -> int:
    rows = await Order.insert(
        Order(
            number=number,
            customer=command.customer_id,
            status=OrderStatus.PENDING_PAYMENT,
            fulfilment=command.fulfilment,
            delivery_address=destination.address if destination else None,
            delivery_latitude=destination.latitude if destination else None,
            delivery_longitude=destination.longitude if destination else None,
            note=command.note.strip()[:1000],
            currency=totals.currency,
            prices_include_tax=terms.prices_include_tax,
            subtotal=totals.subtotal,
            tax=totals.tax,
            delivery_fee=totals.delivery_fee,
            total=totals.total,
            placed_at=now,
            updated_at=now,
            expires_at=expires_at,
            idempotency_key=command.idempotency_key,
        )
    ).returning(Order.id)
    return int(rows[0]["id"])


async def _insert_items(
    order_id: int,
    products: dict[str, ProductRecord],
    lines: Sequence[PricedLine],
    reserved: dict[str, int],
) -> None:
    await OrderItem.insert(
        *[
            OrderItem(
                order=order_id,
                product=products[line.sku].id,
                sku=line.sku,
                name=line.name,
                unit_price=line.unit_price,
                tax_rate_bp=line.tax_rate_bp,
                quantity=line.quantity,
                reserved=reserved.get(line.sku, 0),
                net=line.net,
                tax=line.tax,
                gross=line.gross,
            )
            for line in lines
        ]
    )


async def _lock_order(order_id: int) -> dict[str, Any]:
    rows = await Order.raw("SELECT * FROM orders WHERE id = {} FOR NO KEY UPDATE", order_id)
    if not rows:
        raise NotFound(f"No order with id {order_id}.", field="id")
    return dict(rows[0])


async def _set_status(
    order: dict[str, Any], target: OrderStatus, now: datetime, extra: dict[str, Any]
) -> OrderChange:
    values: dict[Any, Any] = {
        Order.status: target.value,
        Order.updated_at: now,
        Order.version: Order.version + 1,
        **extra,
    }
    rows = (
        await Order.update(values)
        .where(Order.id == order["id"])
        .returning(Order.id, Order.number, Order.status, Order.version)
    )
    row = rows[0]
    return OrderChange(row["id"], row["number"], OrderStatus(row["status"]), row["version"])
