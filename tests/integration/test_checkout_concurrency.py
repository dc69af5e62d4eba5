"""Many customers racing for the last units: no oversell, clear answers for the rest."""

from __future__ import annotations

import asyncio

from app.catalog.service import get_product
from app.errors import OutOfStock
from app.ordering.service import PlaceOrder, place_order
from app.ordering.tables import Order, OrderEvent
from app.ordering.values import CartLine, Fulfilment
from tests.integration.factories import TERMS, a_customer, a_product


async def test_thirty_customers_race_for_the_last_five_units() -> None:
    product = await a_product("LAST", stock=5, name="Limited edition mug")
    customers = [await a_customer() for _ in range(30)]

    async def checkout(customer_id: int) -> int | OutOfStock:
        command = PlaceOrder(customer_id, [CartLine("LAST", 1)], Fulfilment.PICKUP)
        try:
            return (await place_order(command, TERMS, actor="customer")).number
        except OutOfStock as refused:
            return refused

    results = await asyncio.gather(*(checkout(c.id) for c in customers))

    placed = [r for r in results if isinstance(r, int)]
    refused = [r for r in results if isinstance(r, OutOfStock)]
    assert len(placed) == 5
    assert len(refused) == 25
    assert len(set(placed)) == 5
    for answer in refused:
        assert answer.sku == "LAST"
        assert "Limited edition mug" in answer.message
        assert answer.available == 0
    assert (await get_product(product.id)).stock == 0
    assert await Order.count() == 5
    assert await OrderEvent.count().where(OrderEvent.type == "OrderPlaced") == 5


async def test_multi_line_orders_racing_never_oversell_any_product() -> None:
    a = await a_product("A", stock=7)
    b = await a_product("B", stock=4)
    customers = [await a_customer() for _ in range(20)]

    async def checkout(index: int, customer_id: int) -> bool:
        # Half the customers list the SKUs in the other order: locks must not deadlock.
        lines = [CartLine("A", 1), CartLine("B", 1)]
        if index % 2:
            lines.reverse()
        try:
            await place_order(
                PlaceOrder(customer_id, lines, Fulfilment.PICKUP), TERMS, actor="customer"
            )
        except OutOfStock:
            return False
        return True

    outcomes = await asyncio.gather(*(checkout(i, c.id) for i, c in enumerate(customers)))

    assert sum(outcomes) == 4
    assert (await get_product(b.id)).stock == 0
    assert (await get_product(a.id)).stock == 3
