"""Paying through the chat: the real webhook path, worker, sandbox transport and CLI.

Only Stripe's API is faked (respx, at the HTTP seam); its webhooks are signed the way
Stripe signs them.
"""

from __future__ import annotations

import asyncio
import io
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pypdf
import pytest
import respx

from app.catalog.seed import seed_demo_catalog
from app.ordering import events
from app.ordering.tables import Order
from app.payments.stripe import sign_payload
from app.payments.tables import Payment
from app.receipts.tables import Receipt
from app.resources import Resources
from app.settings import Settings
from app.whatsapp.outgoing import DocumentMessage, OutgoingMessage, render_plain
from tests.conftest import app_client, make_settings
from tests.e2e.chat_driver import ChatDriver
from tests.e2e.conftest import clean_env, run_cli

SECRET = "pay-app-secret"
STRIPE_API = "https://stripe.example.test"
WEBHOOK_SECRET = "whsec_e2e"
ROOT = Path(__file__).resolve().parents[2]


def configured(settings: Settings, **overrides: object) -> Settings:
    return make_settings(
        settings.database_url or "",
        settings.redis_url or "",
        whatsapp_app_secret=SECRET,
        public_url="http://shop.test",
        **overrides,
    )


@pytest.fixture
async def shop(db: Resources, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    await seed_demo_catalog()
    async with app_client(configured(settings), run_worker=True) as client:
        yield client


@pytest.fixture
async def card_shop(
    db: Resources, settings: Settings
) -> AsyncIterator[tuple[httpx.AsyncClient, respx.MockRouter]]:
    await seed_demo_catalog()
    stripe_settings = configured(
        settings,
        stripe_secret_key="sk_test_e2e",
        stripe_webhook_secret=WEBHOOK_SECRET,
        stripe_api_url=STRIPE_API,
        payment_gateway_failure_threshold=3,
        payment_gateway_reset_seconds=4,
        payment_gateway_timeout_seconds=2,
    )
    # Only Stripe is mocked; the shop itself is reached through the ASGI transport.
    with respx.mock(base_url=STRIPE_API, assert_all_called=False) as stripe:
        async with app_client(stripe_settings, run_worker=True) as client:
            yield client, stripe


async def order_something(ada: ChatDriver) -> OutgoingMessage:
    await ada.say("hi")
    found = await ada.say("sourdough")
    if "Add 1" not in render_plain(found):
        await ada.tap("Sourdough")
    await ada.tap("Add 1")
    await ada.tap("Checkout")
    await ada.tap("Pickup")
    return await ada.tap("Confirm")


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while asyncio.get_running_loop().time() < deadline:
        if await check():
            return
        await asyncio.sleep(0.1)
    pytest.fail("condition not met in time")


async def receipt_messages(ada: ChatDriver) -> list[OutgoingMessage]:
    messages: list[OutgoingMessage] = []
    for _ in range(3):
        messages += await ada.replies(within=20)
        if any(isinstance(m, DocumentMessage) for m in messages):
            break
    return messages


async def fetch_pdf(shop: httpx.AsyncClient, document: DocumentMessage) -> str:
    assert document.link.startswith("http://shop.test/receipts/R-")
    response = await shop.get(document.link)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    reader = pypdf.PdfReader(io.BytesIO(response.content))
    return " ".join(page.extract_text() for page in reader.pages).replace("\xa0", " ")


async def test_manual_payment_with_proof_confirmed_by_staff_ends_with_a_receipt(
    shop: httpx.AsyncClient, settings: Settings
) -> None:
    ada = ChatDriver(shop, SECRET, "15551110001")
    placed = render_plain(await order_something(ada))
    payment = await Payment.select().first()
    assert payment is not None
    assert payment["reference"] in placed

    said = render_plain(await ada.tap("I've paid"))
    assert "check your payment" in said
    assert payment["reference"] in said
    proof = {"type": "image", "image": {"id": "MEDIA-1", "mime_type": "image/jpeg"}}
    thanks = render_plain(ada._one(await ada.send(proof)))
    assert "proof of payment" in thanks
    row = await Payment.select().first()
    assert row is not None
    assert (row["status"], row["proof_media_id"]) == ("awaiting_verification", "MEDIA-1")

    env = clean_env(
        DATABASE_URL=settings.database_url or "",
        REDIS_URL=settings.redis_url or "",
        CHATCART_EMBEDDED="0",
        WHATSAPP_APP_SECRET=SECRET,
        PUBLIC_URL="http://shop.test",
    )
    listed = await asyncio.to_thread(run_cli, "payments", "list", env=env, cwd=ROOT)
    assert listed.returncode == 0, listed.stderr
    assert payment["reference"] in listed.stdout
    assert "proof sent" in listed.stdout
    # Typed the way a person copies it from a bank statement: lower case, no dash.
    typed = payment["reference"].replace("-", "").lower()
    confirmed = await asyncio.to_thread(
        run_cli, "payments", "confirm", typed, "--note", "seen on statement", env=env, cwd=ROOT
    )
    assert confirmed.returncode == 0, confirmed.stderr
    assert "is paid" in confirmed.stdout

    messages = await receipt_messages(ada)
    text = "\n".join(render_plain(m) for m in messages)
    assert "Receipt R-" in text
    order = await Order.select().first()
    assert order is not None
    assert order["status"] == "paid"
    documents = [m for m in messages if isinstance(m, DocumentMessage)]
    assert len(documents) == 1
    pdf_text = await fetch_pdf(shop, documents[0])
    assert f"#{order['number']}" in pdf_text
    assert f"${order['total'] / 100:.2f}" in pdf_text
    assert await Receipt.count() == 1

    again = await asyncio.to_thread(run_cli, "payments", "confirm", typed, env=env, cwd=ROOT)
    assert again.returncode == 0
    assert "already confirmed" in again.stdout
    assert await Receipt.count() == 1

    types = [event["type"] for event in await events.history(order["id"])]
    assert types == [
        "OrderPlaced",
        "PaymentStarted",
        "PaymentClaimed",
        "PaymentProofReceived",
        "PaymentVerificationAttempted",
        "PaymentConfirmed",
        "OrderStatusChanged",
        "ReceiptIssued",
        "ReceiptSent",
    ]

    # Later the customer asks for it again: same receipt, a fresh link.
    resent = await ada.send({"type": "text", "text": {"body": "receipt"}})
    assert "Receipt R-" in render_plain(resent[0])
    assert [type(m) for m in resent] == [type(resent[0]), DocumentMessage]
    assert await Receipt.count() == 1


async def test_rejected_payment_tells_the_customer_and_paying_again_works(
    shop: httpx.AsyncClient, settings: Settings
) -> None:
    ada = ChatDriver(shop, SECRET, "15551110002")
    await order_something(ada)
    await ada.say("paid")
    first = await Payment.select().first()
    assert first is not None
    env = clean_env(
        DATABASE_URL=settings.database_url or "",
        REDIS_URL=settings.redis_url or "",
        CHATCART_EMBEDDED="0",
    )
    rejected = await asyncio.to_thread(
        run_cli,
        "payments",
        "reject",
        first["reference"],
        "--reason",
        "no transfer with this reference arrived",
        env=env,
        cwd=ROOT,
    )
    assert rejected.returncode == 0, rejected.stderr
    told = render_plain(ada._one(await ada.replies(within=20)))
    assert "no transfer with this reference arrived" in told
    instructions = render_plain(await ada.tap("Pay"))
    second = await Payment.select().where(Payment.id != first["id"]).first()
    assert second is not None
    assert second["reference"] in instructions
    assert (second["attempt"], second["status"]) == (2, "pending")


async def test_paid_for_someone_elses_order_or_receipt_changes_nothing(
    shop: httpx.AsyncClient,
) -> None:
    ada = ChatDriver(shop, SECRET, "15551110003")
    await order_something(ada)
    order = await Order.select().first()
    assert order is not None
    bob = ChatDriver(shop, SECRET, "15551110004")
    await bob.say("hi")
    reply = render_plain(await bob.say(f"paid {order['number']}"))
    assert f"can't find order #{order['number']}" in reply
    reply = render_plain(await bob.say(f"receipt {order['number']}"))
    assert f"can't find order #{order['number']}" in reply
    payment = await Payment.select().first()
    assert payment is not None
    reply = render_plain(await bob.say(f"paid {payment['reference']}"))
    assert "can't find a payment with reference" in reply
    assert (await Payment.select(Payment.status).first() or {})["status"] == "pending"


def stripe_session(
    session_id: str, *, payment_id: int, amount: int, status: str = "open", paid: bool = False
) -> dict[str, Any]:
    return {
        "id": session_id,
        "object": "checkout.session",
        "status": status,
        "payment_status": "paid" if paid else "unpaid",
        "amount_total": amount,
        "currency": "usd",
        "url": f"https://checkout.stripe.test/c/pay/{session_id}" if status == "open" else None,
        "expires_at": int(time.time()) + 1900,
        "metadata": {"payment_id": str(payment_id)},
        "client_reference_id": None,
        "payment_intent": "pi_1" if paid else None,
    }


def checkout_form(request: httpx.Request) -> tuple[int, int]:
    """The payment id and amount a Checkout Session request asks for."""
    form = dict(httpx.QueryParams(request.content.decode()))
    return int(form["metadata[payment_id]"]), int(form["line_items[0][price_data][unit_amount]"])


async def post_stripe_event(shop: httpx.AsyncClient, event: dict[str, Any]) -> httpx.Response:
    body = json.dumps(event).encode()
    return await shop.post(
        "/webhooks/payments/stripe",
        content=body,
        headers={"Stripe-Signature": sign_payload(body, WEBHOOK_SECRET)},
    )


async def test_card_payment_webhook_delivered_three_times_and_out_of_order_pays_once(
    card_shop: tuple[httpx.AsyncClient, respx.MockRouter],
) -> None:
    shop, stripe = card_shop
    created: list[httpx.Request] = []

    def create(request: httpx.Request) -> httpx.Response:
        created.append(request)
        payment_id, amount = checkout_form(request)
        return httpx.Response(
            200, json=stripe_session("cs_1", payment_id=payment_id, amount=amount)
        )

    stripe.post("/v1/checkout/sessions").mock(side_effect=create)
    ada = ChatDriver(shop, SECRET, "15551110005")
    choose = render_plain(await order_something(ada))
    assert "How would you like to pay" in choose
    link = render_plain(await ada.tap("Pay by card"))
    assert "https://checkout.stripe.test/c/pay/cs_1" in link
    assert len(created) == 1
    assert created[0].headers["Idempotency-Key"]
    payment = await Payment.select().first()
    assert payment is not None
    amount = payment["amount"]

    completed = {
        "id": "evt_completed",
        "type": "checkout.session.completed",
        "created": int(time.time()),
        "data": {
            "object": stripe_session(
                "cs_1", payment_id=payment["id"], amount=amount, status="complete", paid=True
            )
        },
    }
    expired = {
        "id": "evt_expired",
        "type": "checkout.session.expired",
        "created": int(time.time()),
        "data": {
            "object": stripe_session(
                "cs_1", payment_id=payment["id"], amount=amount, status="expired"
            )
        },
    }
    answers = [await post_stripe_event(shop, completed) for _ in range(3)]
    answers.append(await post_stripe_event(shop, expired))
    assert [a.status_code for a in answers] == [200, 200, 200, 200]
    assert [a.json()["status"] for a in answers] == [
        "confirmed",
        "duplicate",
        "duplicate",
        "ignored: payment is confirmed",
    ]
    messages = await receipt_messages(ada)
    assert sum(isinstance(m, DocumentMessage) for m in messages) == 1
    order = await Order.select().first()
    assert order is not None
    assert order["status"] == "paid"
    assert await Receipt.count() == 1
    history = [event["type"] for event in await events.history(order["id"])]
    assert history.count("PaymentConfirmed") == 1
    assert history.count("PaymentWebhookReceived") == 2  # redeliveries are not new steps

    forged = await shop.post(
        "/webhooks/payments/stripe",
        content=json.dumps(completed).encode(),
        headers={"Stripe-Signature": sign_payload(b"other body", WEBHOOK_SECRET)},
    )
    assert forged.status_code == 400


async def hang(request: httpx.Request) -> httpx.Response:
    """A gateway that accepts the connection and never answers."""
    await asyncio.sleep(3600)
    raise AssertionError("unreachable")


@pytest.mark.parametrize(
    "failing",
    [pytest.param(httpx.Response(503), id="answers-503"), pytest.param(hang, id="times-out")],
)
async def test_gateway_down_opens_the_circuit_offers_manual_and_recovers(
    card_shop: tuple[httpx.AsyncClient, respx.MockRouter], failing: Any
) -> None:
    shop, stripe = card_shop
    route = stripe.post("/v1/checkout/sessions")
    if isinstance(failing, httpx.Response):
        route.mock(return_value=failing)
    else:
        route.mock(side_effect=failing)
    customers = [ChatDriver(shop, SECRET, f"1555222000{n}") for n in range(4)]
    for ada in customers[:3]:
        await order_something(ada)
        offered = render_plain(await ada.tap("Pay by card"))
        assert "Card payments aren't available right now" in offered
        assert "Reference:" in offered
    calls_when_open = route.call_count
    ready = (await shop.get("/health/ready")).json()
    assert ready["payments"]["stripe"]["circuit"]["state"] == "opened"

    # Open: the gateway is not even called, the manual method is offered at once.
    late = customers[3]
    await order_something(late)
    offered = render_plain(await late.tap("Pay by card"))
    assert "Card payments aren't available right now" in offered
    assert route.call_count == calls_when_open

    # The gateway is back; after the reset time the next customer gets a card link.
    payment_ids: list[int] = []

    def create(request: httpx.Request) -> httpx.Response:
        payment_id, amount = checkout_form(request)
        payment_ids.append(payment_id)
        return httpx.Response(
            200, json=stripe_session("cs_ok", payment_id=payment_id, amount=amount)
        )

    route.mock(side_effect=create)
    await asyncio.sleep(4.2)
    linked = render_plain(await late.say("pay"))
    if "How would you like to pay" in linked:
        linked = render_plain(await late.tap("Pay by card"))
    assert "https://checkout.stripe.test/c/pay/cs_ok" in linked
    ready = (await shop.get("/health/ready")).json()
    assert ready["payments"]["stripe"]["circuit"]["state"] == "closed"
