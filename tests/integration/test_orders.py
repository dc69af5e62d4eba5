"""Placing, advancing, cancelling and expiring orders against the real database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app import actors
from app.catalog.models import ProductChanges
from app.catalog.service import archive_product, get_product, set_availability, update_product
from app.errors import EmptyCart, IllegalTransition, InvalidInput, NotFound, OutOfStock, Unavailable
from app.ordering import events
from app.ordering.service import (
    PlaceOrder,
    advance_order,
    cancel_order,
    due_for_expiry,
    expire_order,
    get_order,
    place_order,
)
from app.ordering.states import OrderStatus
from app.ordering.tables import Order, OrderEvent, OrderItem
from app.ordering.values import CartLine, Destination, Fulfilment, ShopTerms
from tests.integration.factories import TERMS, a_customer, a_product


def pickup(customer_id: int, *lines: tuple[str, int]) -> PlaceOrder:
    return PlaceOrder(
        customer_id=customer_id,
        lines=[CartLine(sku, qty) for sku, qty in lines],
        fulfilment=Fulfilment.PICKUP,
    )


async def nothing_written() -> None:
    assert await Order.count() == 0
    assert await OrderItem.count() == 0
    assert await OrderEvent.count() == 0


async def test_place_order_snapshots_prices_reserves_stock_and_records_the_event() -> None:
    bread = await a_product("BREAD", price=649, stock=12, name="Sourdough")
    tea = await a_product("TEA", price=449, stock=None, tax_rate_bp=800, name="Green tea")
    customer = await a_customer()

    placed = await place_order(
        pickup(customer.id, ("BREAD", 2), ("TEA", 3)), TERMS, actor=actors.CUSTOMER
    )

    assert placed.number == 1001
    assert placed.status is OrderStatus.PENDING_PAYMENT
    # 2 × 6.49 untaxed + 3 × 4.49 at 8 % (13.47 + 1.0776 → 1.08)
    assert (placed.totals.subtotal, placed.totals.tax, placed.totals.total) == (2645, 108, 2753)
    order = await get_order(placed.id)
    assert order["total"] == 2753
    assert order["customer"] == customer.id
    assert [(i["sku"], i["quantity"], i["unit_price"], i["gross"]) for i in order["items"]] == [
        ("BREAD", 2, 649, 1298),
        ("TEA", 3, 449, 1455),
    ]
    assert (await get_product(bread.id)).stock == 10
    assert (await get_product(tea.id)).stock is None  # untracked stays untracked
    history = await events.history(placed.id)
    assert [(e["type"], e["actor"]) for e in history] == [("OrderPlaced", "customer")]
    assert history[0]["data"]["total"] == 2753
    assert history[0]["data"]["items"] == [
        {"sku": "BREAD", "quantity": 2},
        {"sku": "TEA", "quantity": 3},
    ]


async def test_order_numbers_are_sequential() -> None:
    await a_product("A", stock=None)
    customer = await a_customer()
    numbers = [
        (await place_order(pickup(customer.id, ("A", 1)), TERMS, actor="customer")).number
        for _ in range(3)
    ]
    assert numbers == [1001, 1002, 1003]


async def test_later_price_changes_do_not_touch_placed_orders() -> None:
    product = await a_product("A", price=500)
    customer = await a_customer()
    placed = await place_order(pickup(customer.id, ("A", 1)), TERMS, actor="customer")
    await update_product(
        product.id, ProductChanges(price=900), expected_version=product.version, actor="staff:1"
    )
    order = await get_order(placed.id)
    assert order["items"][0]["unit_price"] == 500
    assert order["total"] == 500


async def test_duplicate_lines_are_merged() -> None:
    product = await a_product("A", stock=10)
    customer = await a_customer()
    placed = await place_order(pickup(customer.id, ("A", 2), ("A", 3)), TERMS, actor="customer")
    order = await get_order(placed.id)
    assert [(i["sku"], i["quantity"]) for i in order["items"]] == [("A", 5)]
    assert (await get_product(product.id)).stock == 5


async def test_delivery_adds_the_fee_and_needs_a_destination() -> None:
    await a_product("A", price=1000, stock=None)
    customer = await a_customer()
    terms = ShopTerms("USD", prices_include_tax=False, delivery_fee=350, payment_minutes=30)
    command = PlaceOrder(
        customer_id=customer.id,
        lines=[CartLine("A", 1)],
        fulfilment=Fulfilment.DELIVERY,
        destination=Destination(latitude=-1.2921, longitude=36.8219),
    )
    placed = await place_order(command, terms, actor="customer")
    order = await get_order(placed.id)
    assert (order["delivery_fee"], order["total"]) == (350, 1350)
    assert order["delivery_latitude"] == pytest.approx(-1.2921)

    no_address = PlaceOrder(customer.id, [CartLine("A", 1)], Fulfilment.DELIVERY, Destination())
    with pytest.raises(InvalidInput) as error:
        await place_order(no_address, terms, actor="customer")
    assert error.value.field == "destination"
    assert await Order.count() == 1


async def test_pickup_never_charges_delivery() -> None:
    await a_product("A", price=1000, stock=None)
    customer = await a_customer()
    terms = ShopTerms("USD", prices_include_tax=False, delivery_fee=350, payment_minutes=30)
    placed = await place_order(pickup(customer.id, ("A", 1)), terms, actor="customer")
    assert placed.totals.delivery_fee == 0
    assert placed.totals.total == 1000


async def test_tax_inclusive_shop_keeps_the_shelf_price_as_the_total() -> None:
    await a_product("A", price=1160, tax_rate_bp=1600, stock=None)
    customer = await a_customer()
    terms = ShopTerms("USD", prices_include_tax=True, delivery_fee=0, payment_minutes=30)
    placed = await place_order(pickup(customer.id, ("A", 1)), terms, actor="customer")
    order = await get_order(placed.id)
    assert (order["subtotal"], order["tax"], order["total"]) == (1000, 160, 1160)
    assert order["prices_include_tax"] is True


@pytest.mark.parametrize("quantity", [0, -3])
async def test_non_positive_quantity_is_refused_and_changes_nothing(quantity: int) -> None:
    product = await a_product("A", stock=5)
    customer = await a_customer()
    with pytest.raises(InvalidInput) as error:
        await place_order(pickup(customer.id, ("A", quantity)), TERMS, actor="customer")
    assert error.value.field == "quantity"
    assert str(quantity) in error.value.message
    await nothing_written()
    assert (await get_product(product.id)).stock == 5


async def test_unknown_sku_is_named_and_nothing_is_reserved() -> None:
    product = await a_product("A", stock=5)
    customer = await a_customer()
    with pytest.raises(NotFound) as error:
        await place_order(pickup(customer.id, ("A", 1), ("NOPE", 1)), TERMS, actor="customer")
    assert "NOPE" in error.value.message
    await nothing_written()
    assert (await get_product(product.id)).stock == 5


async def test_empty_cart_is_refused() -> None:
    customer = await a_customer()
    with pytest.raises(EmptyCart):
        await place_order(pickup(customer.id), TERMS, actor="customer")
    await nothing_written()


async def test_out_of_stock_rolls_back_every_line() -> None:
    first = await a_product("A", stock=5, name="Almonds")
    second = await a_product("B", stock=1, name="Butter")
    customer = await a_customer()
    with pytest.raises(OutOfStock) as error:
        await place_order(pickup(customer.id, ("A", 2), ("B", 2)), TERMS, actor="customer")
    assert error.value.sku == "B"
    assert error.value.available == 1
    assert "Butter" in error.value.message
    await nothing_written()
    assert (await get_product(first.id)).stock == 5  # A's reservation was rolled back
    assert (await get_product(second.id)).stock == 1


async def test_unavailable_and_archived_products_cannot_be_ordered() -> None:
    hidden = await a_product("HIDDEN", stock=None, name="Hidden")
    gone = await a_product("GONE", stock=None, name="Gone")
    customer = await a_customer()
    await set_availability(hidden.id, False, actor="staff:1")
    await archive_product(gone.id, actor="staff:1")
    for sku, name in [("HIDDEN", "Hidden"), ("GONE", "Gone")]:
        with pytest.raises(Unavailable) as error:
            await place_order(pickup(customer.id, (sku, 1)), TERMS, actor="customer")
        assert name in error.value.message
    await nothing_written()


async def test_cancel_releases_stock_and_records_the_reason() -> None:
    tracked = await a_product("A", stock=5)
    untracked = await a_product("B", stock=None)
    customer = await a_customer()
    placed = await place_order(pickup(customer.id, ("A", 3), ("B", 2)), TERMS, actor="customer")
    assert (await get_product(tracked.id)).stock == 2

    change = await cancel_order(placed.id, actor="customer", reason="changed my mind")

    assert change.status is OrderStatus.CANCELLED
    assert change.released == (("A", 3),)
    assert (await get_product(tracked.id)).stock == 5
    assert (await get_product(untracked.id)).stock is None
    order = await get_order(placed.id)
    assert order["status"] == "cancelled"
    assert order["cancel_reason"] == "changed my mind"
    assert order["cancelled_at"] is not None
    history = await events.history(placed.id)
    assert [e["type"] for e in history] == ["OrderPlaced", "OrderCancelled"]
    assert history[1]["data"]["released"] == [{"sku": "A", "quantity": 3}]
    assert history[1]["data"]["reason"] == "changed my mind"


async def test_cancelling_twice_is_refused_and_stock_is_released_once() -> None:
    product = await a_product("A", stock=5)
    customer = await a_customer()
    placed = await place_order(pickup(customer.id, ("A", 2)), TERMS, actor="customer")
    await cancel_order(placed.id, actor="customer", reason="oops")
    with pytest.raises(IllegalTransition):
        await cancel_order(placed.id, actor="customer", reason="again")
    assert (await get_product(product.id)).stock == 5
    assert len(await events.history(placed.id)) == 2


async def test_a_paid_order_cannot_be_cancelled_as_unpaid() -> None:
    product = await a_product("A", stock=5)
    customer = await a_customer()
    placed = await place_order(pickup(customer.id, ("A", 2)), TERMS, actor="customer")
    await advance_order(placed.id, OrderStatus.PAID, actor="system")
    with pytest.raises(IllegalTransition) as error:
        await cancel_order(placed.id, actor="customer", reason="too late")
    assert "paid" in error.value.message
    assert (await get_product(product.id)).stock == 3


async def test_expiry_waits_for_the_deadline_then_releases_stock() -> None:
    product = await a_product("A", stock=5)
    customer = await a_customer()
    placed_at = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    placed = await place_order(
        pickup(customer.id, ("A", 4)), TERMS, actor="customer", now=placed_at
    )
    assert placed.expires_at == placed_at + timedelta(minutes=30)

    early = placed_at + timedelta(minutes=29)
    assert await due_for_expiry(early) == []
    with pytest.raises(InvalidInput):
        await expire_order(placed.id, actor="system", now=early)
    assert (await get_product(product.id)).stock == 1

    late = placed_at + timedelta(minutes=31)
    assert await due_for_expiry(late) == [placed.id]
    change = await expire_order(placed.id, actor="system", now=late)
    assert change.status is OrderStatus.EXPIRED
    assert (await get_product(product.id)).stock == 5
    assert await due_for_expiry(late) == []
    with pytest.raises(IllegalTransition):
        await expire_order(placed.id, actor="system", now=late)
    assert (await get_product(product.id)).stock == 5
    assert [e["type"] for e in await events.history(placed.id)] == ["OrderPlaced", "OrderExpired"]


async def test_fulfilment_path_is_enforced_and_audited() -> None:
    await a_product("A", stock=None)
    customer = await a_customer()
    placed = await place_order(pickup(customer.id, ("A", 1)), TERMS, actor="customer")
    with pytest.raises(IllegalTransition):
        await advance_order(placed.id, OrderStatus.PREPARING, actor="staff:1")
    for target in (OrderStatus.PAID, OrderStatus.PREPARING, OrderStatus.READY):
        await advance_order(placed.id, target, actor="staff:1")
    done = await advance_order(placed.id, OrderStatus.COMPLETED, actor="staff:1")
    assert done.status is OrderStatus.COMPLETED
    assert done.version == 5
    order = await get_order(placed.id)
    assert order["paid_at"] is not None
    assert order["completed_at"] is not None
    history = await events.history(placed.id)
    assert [e["data"].get("to") for e in history[1:]] == ["paid", "preparing", "ready", "completed"]
    assert {e["actor"] for e in history[1:]} == {"staff:1"}


async def test_advance_refuses_cancel_and_expire_which_must_release_stock() -> None:
    await a_product("A", stock=3)
    customer = await a_customer()
    placed = await place_order(pickup(customer.id, ("A", 1)), TERMS, actor="customer")
    for target in (OrderStatus.CANCELLED, OrderStatus.EXPIRED):
        with pytest.raises(InvalidInput):
            await advance_order(placed.id, target, actor="staff:1")
    assert (await get_order(placed.id))["status"] == "pending_payment"


async def test_stale_version_is_refused() -> None:
    await a_product("A", stock=None)
    customer = await a_customer()
    placed = await place_order(pickup(customer.id, ("A", 1)), TERMS, actor="customer")
    await advance_order(placed.id, OrderStatus.PAID, actor="system", expected_version=1)
    from app.errors import StaleVersion

    with pytest.raises(StaleVersion):
        await advance_order(placed.id, OrderStatus.PREPARING, actor="staff:1", expected_version=1)
    assert (await get_order(placed.id))["status"] == "paid"


async def test_unknown_order_is_not_found() -> None:
    with pytest.raises(NotFound):
        await cancel_order(999_999, actor="staff:1", reason="x")


async def test_release_gives_back_only_what_checkout_took() -> None:
    from app.catalog.service import set_stock

    product = await a_product("A", stock=None)
    customer = await a_customer()
    placed = await place_order(pickup(customer.id, ("A", 3)), TERMS, actor="customer")
    # Staff start counting stock after the order: the order took nothing from it.
    await set_stock(product.id, 10, reason="first count", actor="staff:1")
    change = await cancel_order(placed.id, actor="customer", reason="changed my mind")
    assert change.released == ()
    assert (await get_product(product.id)).stock == 10


async def test_unknown_customer_is_not_found_and_nothing_is_reserved() -> None:
    product = await a_product("A", stock=5)
    with pytest.raises(NotFound) as error:
        await place_order(pickup(999_999, ("A", 1)), TERMS, actor="customer")
    assert error.value.field == "customer_id"
    await nothing_written()
    assert (await get_product(product.id)).stock == 5


@pytest.mark.parametrize(
    ("destination", "words"),
    [
        (Destination(latitude=1000.0, longitude=0.0), "Latitude"),
        (Destination(latitude=1.0), "both"),
        (Destination(latitude=0.0, longitude=200.0), "Longitude"),
        (Destination(address="x" * 501), "500"),
        (Destination(address="   "), "address"),
    ],
)
async def test_bad_destinations_are_refused(destination: Destination, words: str) -> None:
    await a_product("A", stock=None)
    customer = await a_customer()
    command = PlaceOrder(customer.id, [CartLine("A", 1)], Fulfilment.DELIVERY, destination)
    with pytest.raises(InvalidInput) as error:
        await place_order(command, TERMS, actor="customer")
    assert words in error.value.message
    await nothing_written()
