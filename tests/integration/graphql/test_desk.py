"""Staff run orders and chats through GraphQL: status, cancel, receipts, dead letters, handovers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest

from app import actors
from app.catalog.seed import seed_demo_catalog
from app.customers.service import register_customer
from app.customers.tables import Customer
from app.ordering.service import PlaceOrder, place_order
from app.ordering.values import CartLine, Fulfilment, ShopTerms
from app.payments.notices import Notices
from app.payments.providers import MANUAL
from app.payments.service import claim_payment, confirm_payment, open_payment
from app.receipts.service import settle
from app.resources import Resources
from app.settings import Settings
from app.staff.service import create_staff
from app.staff.tables import Role
from app.whatsapp.outbound import queue_message
from app.whatsapp.tables import InboundMessage, OutboundMessage
from tests.conftest import app_client
from tests.integration.graphql.test_auth import PASSWORD, gql, log_in

TERMS = ShopTerms("USD", prices_include_tax=False, delivery_fee=0, payment_minutes=30)
STATUS = """mutation($id: ID!, $status: OrderStatus!, $version: Int) {
  updateOrderStatus(id: $id, status: $status, version: $version) {
    order { status version } errors { code message } } }"""


@pytest.fixture
async def api(db: Resources, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    await seed_demo_catalog()
    await create_staff("ada@shop.example", "Ada", Role.STAFF, PASSWORD)
    async with app_client(settings) as client:
        yield client


@pytest.fixture
async def token(api: httpx.AsyncClient) -> str:
    return await log_in(api, "ada@shop.example")


async def an_order(n: int, *, paid: bool, settings: Settings) -> tuple[int, int]:
    customer = await register_customer(wa_id=f"1555222{n:04d}", profile_name=f"Buyer {n}")
    await Customer.update({Customer.last_inbound_at: datetime.now(UTC)}).where(
        Customer.id == customer.id
    )
    placed = await place_order(
        PlaceOrder(customer.id, [CartLine("BRD-BAGU", 2)], Fulfilment.PICKUP),
        TERMS,
        actor=actors.CUSTOMER,
    )
    if paid:
        payment, _ = await open_payment(placed.id, MANUAL, actor=actors.CUSTOMER)
        await claim_payment(placed.id, customer_id=customer.id)
        await confirm_payment(payment.id, actor=actors.staff(1), notices=Notices(settings))
        await settle(payment.id, settings)
    return placed.id, customer.id


async def texts_to(customer_id: int) -> list[str]:
    rows = (
        await OutboundMessage.select(OutboundMessage.payload)
        .where(OutboundMessage.customer == customer_id)
        .output(load_json=True)
    )
    bodies = []
    for row in rows:
        payload = row["payload"]
        bodies.append(
            payload.get("text", {}).get("body")
            or payload.get("interactive", {}).get("body", {}).get("text")
            or payload.get("document", {}).get("caption", "")
        )
    return bodies


async def test_a_paid_order_moves_along_and_the_customer_hears_of_it(
    api: httpx.AsyncClient, token: str, settings: Settings
) -> None:
    order_id, customer_id = await an_order(1, paid=True, settings=settings)
    preparing = await gql(api, STATUS, token, id=str(order_id), status="PREPARING")
    order = preparing["data"]["updateOrderStatus"]["order"]
    assert order["status"] == "PREPARING"
    stale = await gql(api, STATUS, token, id=str(order_id), status="READY", version=1)
    assert stale["data"]["updateOrderStatus"]["errors"][0]["code"] == "STALE_VERSION"
    ready = await gql(
        api, STATUS, token, id=str(order_id), status="READY", version=order["version"]
    )
    assert ready["data"]["updateOrderStatus"]["order"]["status"] == "READY"
    told = await texts_to(customer_id)
    assert any("it is now being prepared" in text for text in told)
    assert any("it is now ready for pickup" in text for text in told)


async def test_an_unpaid_order_cannot_skip_ahead(
    api: httpx.AsyncClient, token: str, settings: Settings
) -> None:
    order_id, _ = await an_order(2, paid=False, settings=settings)
    body = await gql(api, STATUS, token, id=str(order_id), status="READY")
    assert body["data"]["updateOrderStatus"]["errors"][0]["code"] == "ILLEGAL_TRANSITION"


async def test_cancelling_needs_a_reason_releases_stock_and_tells_the_customer(
    api: httpx.AsyncClient, token: str, settings: Settings
) -> None:
    order_id, customer_id = await an_order(3, paid=False, settings=settings)
    cancel = """mutation($id: ID!, $reason: String!) { cancelOrder(id: $id, reason: $reason) {
      order { status } errors { field code } } }"""
    empty = await gql(api, cancel, token, id=str(order_id), reason=" ")
    assert empty["data"]["cancelOrder"]["errors"] == [{"field": "reason", "code": "INVALID"}]
    done = await gql(api, cancel, token, id=str(order_id), reason="out of flour today")
    assert done["data"]["cancelOrder"]["order"] == {"status": "CANCELLED"}
    assert any(
        "cancelled by the shop: out of flour today" in t for t in await texts_to(customer_id)
    )
    paid_id, _ = await an_order(4, paid=True, settings=settings)
    refused = await gql(api, cancel, token, id=str(paid_id), reason="too late")
    assert refused["data"]["cancelOrder"]["errors"][0]["code"] == "ILLEGAL_TRANSITION"


async def test_a_receipt_can_be_sent_again(
    api: httpx.AsyncClient, token: str, settings: Settings
) -> None:
    order_id, _ = await an_order(5, paid=True, settings=settings)
    before = await OutboundMessage.count().where(OutboundMessage.kind == "document")
    resend = """mutation($id: ID!) { resendReceipt(orderId: $id) { errors { code } } }"""
    body = await gql(api, resend, token, id=str(order_id))
    assert body["data"]["resendReceipt"]["errors"] == []
    assert await OutboundMessage.count().where(OutboundMessage.kind == "document") == before + 1
    unpaid_id, _ = await an_order(6, paid=False, settings=settings)
    missing = await gql(api, resend, token, id=str(unpaid_id))
    assert missing["data"]["resendReceipt"]["errors"][0]["code"] == "NOT_FOUND"


async def test_dead_letters_are_listed_and_retried(api: httpx.AsyncClient, token: str) -> None:
    customer = await register_customer(wa_id="15552229999", profile_name="Dee")
    message_id = await queue_message(
        customer_id=customer.id,
        body={
            "messaging_product": "whatsapp",
            "to": "15552229999",
            "type": "text",
            "text": {"body": "hello"},
        },
        kind="text",
    )
    await OutboundMessage.update(
        {
            OutboundMessage.status: "dead",
            OutboundMessage.attempts: 8,
            OutboundMessage.last_error: "(#131000) Something went wrong",
        }
    ).where(OutboundMessage.id == message_id)
    listed = await gql(
        api,
        "{ outboundMessages(status: DEAD) { totalCount "
        "edges { node { id attempts lastError } } } }",
        token,
    )
    assert listed["data"]["outboundMessages"]["totalCount"] == 1
    assert [edge["node"] for edge in listed["data"]["outboundMessages"]["edges"]] == [
        {"id": str(message_id), "attempts": 8, "lastError": "(#131000) Something went wrong"}
    ]
    retry = """mutation($id: ID!) { retryOutboundMessage(id: $id) {
      message { status attempts } errors { code } } }"""
    again = await gql(api, retry, token, id=str(message_id))
    assert again["data"]["retryOutboundMessage"]["message"] == {"status": "queued", "attempts": 0}
    twice = await gql(api, retry, token, id=str(message_id))
    assert twice["data"]["retryOutboundMessage"]["errors"] == [{"code": "ILLEGAL_TRANSITION"}]


async def test_staff_reply_to_a_waiting_customer_and_hand_them_back(
    api: httpx.AsyncClient, token: str
) -> None:
    customer = await register_customer(wa_id="15552228888", profile_name="Hana")
    await Customer.update(
        {Customer.handover_since: datetime.now(UTC), Customer.last_inbound_at: datetime.now(UTC)}
    ).where(Customer.id == customer.id)
    await InboundMessage.insert(
        InboundMessage(
            wamid="wamid.hana",
            customer=customer.id,
            type="text",
            payload={"message": {"type": "text", "text": {"body": "Where is my order?"}}},
            sent_at=datetime.now(UTC),
        )
    )
    waiting = await gql(api, "{ handovers { customer { id name } messages { text } } }", token)
    assert waiting["data"]["handovers"] == [
        {
            "customer": {"id": str(customer.id), "name": "Hana"},
            "messages": [{"text": "Where is my order?"}],
        }
    ]
    reply = """mutation($id: ID!, $text: String!) { replyToCustomer(customerId: $id, text: $text) {
      ok errors { code } } }"""
    sent = await gql(api, reply, token, id=str(customer.id), text="Hi Hana, how can I help?")
    assert sent["data"]["replyToCustomer"] == {"ok": True, "errors": []}
    end = """mutation($id: ID!) { endHandover(customerId: $id) { ok } }"""
    assert (await gql(api, end, token, id=str(customer.id)))["data"]["endHandover"]["ok"] is True
    assert (await gql(api, "{ handovers { since } }", token))["data"]["handovers"] == []
    told = await texts_to(customer.id)
    assert "Hi Hana, how can I help?" in told
    assert any("I'm back" in text for text in told)
