"""Reports count paid orders on the shop's days, best sellers, statuses and the funnel."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest

from app.catalog.seed import seed_demo_catalog
from app.ordering.tables import Order
from app.reports.service import count_cart
from app.resources import Resources
from app.settings import Settings
from app.staff.service import create_staff
from app.staff.tables import Role
from app.whatsapp.tables import InboundMessage
from tests.conftest import app_client, make_settings
from tests.integration.graphql.test_auth import PASSWORD, gql, log_in
from tests.integration.graphql.test_desk import an_order

REPORT = """query($from: Date!, $to: Date!) { reports(from: $from, to: $to) {
  sales { orders revenue tax averageOrderValue byDay { day orders revenue } }
  topProducts { sku quantity revenue }
  ordersByStatus { status orders }
  funnel { conversations carts ordersPlaced paid }
  errors { field code } } }"""


@pytest.fixture
async def api(db: Resources, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    await seed_demo_catalog()
    await create_staff("ada@shop.example", "Ada", Role.STAFF, PASSWORD)
    nairobi = make_settings(
        settings.database_url or "", settings.redis_url or "", shop_timezone="Africa/Nairobi"
    )
    async with app_client(nairobi) as client:
        yield client


async def test_a_days_report(api: httpx.AsyncClient, settings: Settings, db: Resources) -> None:
    token = await log_in(api, "ada@shop.example")
    paid_id, buyer = await an_order(1, paid=True, settings=settings)
    await an_order(2, paid=False, settings=settings)
    # Paid at 22:30 UTC: already the next day in Nairobi (UTC+3).
    late = datetime(2026, 3, 1, 22, 30, tzinfo=UTC)
    await Order.update({Order.paid_at: late, Order.placed_at: late - timedelta(minutes=5)}).where(
        Order.id == paid_id
    )
    await count_cart(db.redis, buyer, datetime(2026, 3, 2, 1, 0))
    await InboundMessage.insert(
        InboundMessage(wamid="wamid.r1", customer=buyer, type="text", payload={}, sent_at=late)
    )

    day = await gql(api, REPORT, token, **{"from": "2026-03-02", "to": "2026-03-02"})
    report = day["data"]["reports"]
    assert report["errors"] == []
    assert report["sales"]["orders"] == 1
    assert report["sales"]["revenue"] == 498
    assert report["sales"]["byDay"] == [{"day": "2026-03-02", "orders": 1, "revenue": 498}]
    assert report["topProducts"] == [{"sku": "BRD-BAGU", "quantity": 2, "revenue": 498}]
    assert report["ordersByStatus"] == [{"status": "paid", "orders": 1}]
    assert report["funnel"] == {"conversations": 1, "carts": 1, "ordersPlaced": 1, "paid": 1}
    before = await gql(api, REPORT, token, **{"from": "2026-03-01", "to": "2026-03-01"})
    assert before["data"]["reports"]["sales"]["orders"] == 0

    backwards = await gql(api, REPORT, token, **{"from": "2026-03-02", "to": "2026-03-01"})
    assert backwards["data"]["reports"]["errors"] == [{"field": "to", "code": "INVALID"}]
    today = date.today().isoformat()
    assert "errors" not in await gql(api, REPORT, token, **{"from": today, "to": today})
