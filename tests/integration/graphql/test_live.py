"""Staff screens follow orders and payments live over WebSocket (graphql-transport-ws).

The app runs in Litestar's test client, on its own loop and thread; the test changes
orders through the use cases on that loop (``in_app``), as the chat would.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import pytest
from litestar.exceptions import WebSocketDisconnect
from litestar.testing import AsyncTestClient, WebSocketTestSession

from app import actors
from app.catalog.seed import seed_demo_catalog
from app.customers.service import register_customer
from app.customers.tables import Customer
from app.main import create_app
from app.ordering.service import PlaceOrder, place_order
from app.ordering.tables import OrderEvent
from app.ordering.values import CartLine, Fulfilment, ShopTerms
from app.payments.providers import MANUAL
from app.payments.service import PaymentRecord, claim_payment, open_payment
from app.resources import Resources
from app.settings import Settings
from app.staff.service import create_staff
from app.staff.tables import Role
from app.whatsapp.signature import sign
from app.whatsapp.tables import InboundMessage
from tests.conftest import make_settings
from tests.e2e.chat_driver import webhook_body
from tests.integration.graphql.test_auth import LOGIN, PASSWORD

T = TypeVar("T")
TERMS = ShopTerms("USD", prices_include_tax=False, delivery_fee=0, payment_minutes=30)
ORDER_EVENTS = """subscription($after: ID, $filter: OrderEventFilter) {
  orderEvents(after: $after, filter: $filter) { id type actor order { number status } } }"""


@pytest.fixture
async def shop(db: Resources, settings: Settings) -> AsyncIterator[AsyncTestClient[Any]]:
    await seed_demo_catalog()
    await create_staff("ada@shop.example", "Ada", Role.STAFF, PASSWORD)
    async with AsyncTestClient(app=create_app(settings)) as client:
        yield client


async def token_for(client: AsyncTestClient[Any]) -> str:
    variables = {"email": "ada@shop.example", "password": PASSWORD}
    response = await client.post("/graphql", json={"query": LOGIN, "variables": variables})
    return str(response.json()["data"]["login"]["token"])


@contextlib.asynccontextmanager
async def subscribe(
    client: AsyncTestClient[Any], token: str, query: str, **variables: Any
) -> AsyncIterator[WebSocketTestSession]:
    with await client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        init = {"authorization": f"Bearer {token}"}
        ws.send_json({"type": "connection_init", "payload": init})
        assert ws.receive_json()["type"] == "connection_ack"
        payload = {"query": query, "variables": variables}
        ws.send_json({"id": "1", "type": "subscribe", "payload": payload})
        yield ws


def in_app(client: AsyncTestClient[Any], work: Callable[..., Awaitable[T]], *args: Any) -> T:
    """Run database work on the app's loop: the connection pool belongs to it."""
    return client.blocking_portal.call(work, *args)


def next_payload(ws: WebSocketTestSession) -> dict[str, Any]:
    message = ws.receive_json(timeout=10)
    assert message["type"] == "next", message
    data = message["payload"].get("data")
    assert data is not None, message
    return dict(next(iter(data.values())))


async def an_order(n: int) -> tuple[int, int, int]:
    customer = await register_customer(wa_id=f"1555111{n:04d}", profile_name=f"Buyer {n}")
    placed = await place_order(
        PlaceOrder(customer.id, [CartLine("BRD-BAGU", 1)], Fulfilment.PICKUP),
        TERMS,
        actor=actors.CUSTOMER,
    )
    return placed.id, placed.number, customer.id


async def open_manual(order_id: int) -> PaymentRecord:
    payment, _ = await open_payment(order_id, MANUAL, actor=actors.CUSTOMER)
    return payment


async def claim(order_id: int, customer_id: int) -> PaymentRecord:
    payment = await open_manual(order_id)
    await claim_payment(order_id, customer_id=customer_id)
    return payment


async def test_a_new_order_and_its_payment_reach_a_subscribed_screen(
    shop: AsyncTestClient[Any],
) -> None:
    token = await token_for(shop)
    # From the latest event on: the subscription may start after the next commit.
    async with subscribe(shop, token, ORDER_EVENTS, after=str(in_app(shop, latest_event))) as ws:
        order_id, number, customer_id = in_app(shop, an_order, 1)
        placed = next_payload(ws)
        assert (placed["type"], placed["actor"]) == ("OrderPlaced", "customer")
        assert placed["order"] == {"number": number, "status": "PENDING_PAYMENT"}
        in_app(shop, claim, order_id, customer_id)
        assert next_payload(ws)["type"] == "PaymentStarted"
        claimed = next_payload(ws)
        assert claimed["type"] == "PaymentClaimed"
        assert int(claimed["id"]) > int(placed["id"])


async def test_resuming_with_after_replays_exactly_the_missed_events(
    shop: AsyncTestClient[Any],
) -> None:
    token = await token_for(shop)
    # From the latest event on: the subscription may start after the next commit.
    async with subscribe(shop, token, ORDER_EVENTS, after=str(in_app(shop, latest_event))) as ws:
        in_app(shop, an_order, 3)
        last_seen = next_payload(ws)["id"]
    # Disconnected: three orders happen meanwhile.
    missed = [in_app(shop, an_order, n) for n in (4, 5, 6)]
    async with subscribe(shop, token, ORDER_EVENTS, after=last_seen) as ws:
        replayed = [next_payload(ws) for _ in missed]
        assert [e["order"]["number"] for e in replayed] == [number for _, number, _ in missed]
        ids = [int(e["id"]) for e in replayed]
        assert ids == sorted(ids)
        assert ids[0] > int(last_seen)
        _, live_number, _ = in_app(shop, an_order, 7)
        assert next_payload(ws)["order"]["number"] == live_number


async def test_a_filter_keeps_other_orders_off_the_screen(shop: AsyncTestClient[Any]) -> None:
    token = await token_for(shop)
    watched_id, watched_number, _ = in_app(shop, an_order, 8)
    async with subscribe(
        shop,
        token,
        ORDER_EVENTS,
        filter={"orderId": str(watched_id)},
        after=str(in_app(shop, latest_event)),
    ) as ws:
        in_app(shop, an_order, 9)  # someone else's order: not on this screen
        in_app(shop, open_manual, watched_id)
        event = next_payload(ws)
    assert (event["type"], event["order"]["number"]) == ("PaymentStarted", watched_number)


async def test_subscribing_needs_a_valid_token(shop: AsyncTestClient[Any]) -> None:
    with await shop.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        ws.send_json({"type": "connection_init", "payload": {"authorization": "Bearer stolen"}})
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == 4403


async def test_a_customer_waiting_for_a_person_is_heard_live(
    db: Resources, settings: Settings
) -> None:
    await create_staff("ada@shop.example", "Ada", Role.STAFF, PASSWORD)
    configured = make_settings(
        settings.database_url or "", settings.redis_url or "", whatsapp_app_secret="live"
    )
    async with AsyncTestClient(app=create_app(configured, run_worker=True)) as shop:
        token = await token_for(shop)

        async def say(text: str) -> None:
            message = {
                "id": f"wamid.{uuid.uuid4().hex}",
                "timestamp": str(int(time.time())),
                "type": "text",
                "text": {"body": text},
            }
            raw = json.dumps(webhook_body("15559990001", message)).encode()
            response = await shop.post(
                "/webhooks/whatsapp",
                content=raw,
                headers={"X-Hub-Signature-256": sign(raw, "live")},
            )
            assert response.status_code == 200

        await say("human")
        customer_id = await wait_in_app(shop, handover_customer)
        # From the message asking for a person on: the subscription may start after the
        # next message is stored, and `after` makes that race harmless.
        seen = in_app(shop, last_inbound)
        query = """subscription($id: ID!, $after: ID) {
          handoverMessages(customerId: $id, after: $after) { type text } }"""
        async with subscribe(shop, token, query, id=str(customer_id), after=str(seen)) as ws:
            await say("is anyone there?")
            assert next_payload(ws) == {"type": "text", "text": "is anyone there?"}


async def latest_event() -> int:
    row = await OrderEvent.select(OrderEvent.id).order_by(OrderEvent.id, ascending=False).first()
    return int(row["id"]) if row else 0


async def last_inbound() -> int:
    row = (
        await InboundMessage.select(InboundMessage.id)
        .order_by(InboundMessage.id, ascending=False)
        .first()
    )
    assert row is not None
    return int(row["id"])


async def handover_customer() -> int | None:
    row = await Customer.select(Customer.id).where(Customer.handover_since.is_not_null()).first()
    return int(row["id"]) if row else None


async def wait_in_app(client: AsyncTestClient[Any], probe: Callable[[], Awaitable[T | None]]) -> T:
    for _ in range(100):
        found = in_app(client, probe)
        if found is not None:
            return found
        await asyncio.sleep(0.1)
    raise AssertionError("not found in time")
