"""Staff look up customers (with their orders and spend) and receipts by number."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from app.catalog.seed import seed_demo_catalog
from app.resources import Resources
from app.settings import Settings
from app.staff.service import create_staff
from app.staff.tables import Role
from tests.conftest import app_client
from tests.integration.graphql.test_auth import PASSWORD, gql, log_in
from tests.integration.graphql.test_desk import an_order


@pytest.fixture
async def api(db: Resources, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    await seed_demo_catalog()
    await create_staff("ada@shop.example", "Ada", Role.STAFF, PASSWORD)
    async with app_client(settings) as client:
        yield client


async def test_a_customer_shows_orders_and_what_they_paid(
    api: httpx.AsyncClient, settings: Settings
) -> None:
    token = await log_in(api, "ada@shop.example")
    _, customer_id = await an_order(1, paid=True, settings=settings)
    found = await gql(
        api,
        '{ customers(search: "Buyer 1") { totalCount '
        "edges { node { id name orderCount spend } } } }",
        token,
    )
    assert found["data"]["customers"]["totalCount"] == 1
    assert [edge["node"] for edge in found["data"]["customers"]["edges"]] == [
        {"id": str(customer_id), "name": "Buyer 1", "orderCount": 1, "spend": 498}
    ]
    detail = await gql(
        api,
        "query($id: ID!) { customer(id: $id) { phone orders { status receipt { number } } } }",
        token,
        id=str(customer_id),
    )
    customer = detail["data"]["customer"]
    assert customer["phone"] == "15552220001"
    [order] = customer["orders"]
    assert order["status"] == "PAID"
    number = order["receipt"]["number"]
    receipt = await gql(
        api,
        "query($n: String!) { receipt(number: $n) { number orderNumber text } }",
        token,
        n=number.lower(),
    )
    assert receipt["data"]["receipt"]["number"] == number
    assert "Receipt" in receipt["data"]["receipt"]["text"]
    missing = await gql(api, '{ receipt(number: "R-1999-000001") { number } }', token)
    assert missing["data"]["receipt"] is None
