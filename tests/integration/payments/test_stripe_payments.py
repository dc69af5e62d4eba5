"""Card payments through Stripe Checkout: starting one, falling back, and the webhook route."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest

from app import actors
from app.errors import PaymentClosed
from app.ordering.tables import OrderEvent
from app.payments.expiry import cancel_unpaid, expire_unpaid
from app.payments.methods import PaymentMethods, start_payment, stop_attempts
from app.payments.notices import Notices
from app.payments.providers import MANUAL, STRIPE, Method
from app.payments.service import (
    PaymentRecord,
    claim_payment,
    confirm_payment,
    open_payment,
    reject_payment,
)
from app.payments.states import PaymentStatus
from app.payments.tables import ProviderEvent
from app.queue import QUEUE_NAME
from app.receipts.service import settle
from app.resources import Resources
from app.settings import Settings
from tests.conftest import app_client
from tests.integration.payments.fake_stripe import FakeStripe, event_body, signed
from tests.integration.payments.shop import (
    Unpaid,
    an_unpaid_order,
    body_of,
    buttons_of,
    event_types,
    messages_to,
    order_row,
    payment_row,
    payments_of,
    stock_of,
    trail,
)

WEBHOOK = "/webhooks/payments/stripe"
GATEWAY = "gateway:stripe"
COMPLETED = "checkout.session.completed"


@pytest.fixture
async def web(stripe_settings: Settings, db: Resources) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(stripe_settings) as client:
        yield client


async def card_payment(order: Unpaid, methods: PaymentMethods) -> PaymentRecord:
    started = await start_payment(order.id, Method.CARD, methods)
    assert started.method is Method.CARD, started.fallback
    return started.payment


async def deliver(web: httpx.AsyncClient, body: bytes, **sign: Any) -> httpx.Response:
    return await web.post(WEBHOOK, content=body, headers=signed(body, **sign))


async def queued_tasks(db: Resources) -> list[tuple[str, list[Any]]]:
    entries = await db.redis.xrange(QUEUE_NAME) or []
    tasks = []
    for _, fields in entries:
        assert fields is not None
        data = json.loads(fields[b"data"])
        tasks.append((data["task_name"], data["args"]))
    return tasks


# --- Starting a card payment ----------------------------------------------------------


async def test_a_card_payment_gets_a_checkout_link_that_outlives_a_short_order_window(
    stripe: FakeStripe, card_methods: PaymentMethods
) -> None:
    order = await an_unpaid_order(price=1250, quantity=2, minutes=10)

    payment = await card_payment(order, card_methods)

    [session] = stripe.sessions.values()
    assert payment.provider == STRIPE
    assert (payment.provider_payment_id, payment.checkout_url) == (session["id"], session["url"])
    request = stripe.create.calls.last.request
    form = dict(parse_qsl(request.content.decode()))
    assert request.headers["Idempotency-Key"]
    assert (form["line_items[0][price_data][unit_amount]"], form["metadata[payment_id]"]) == (
        "2500",
        str(payment.id),
    )
    # Stripe refuses sessions shorter than 30 minutes: the order now waits for the link.
    extended = (await order_row(order.id))["expires_at"]
    assert extended == datetime.fromtimestamp(session["expires_at"], UTC)
    assert extended - datetime.now(UTC) > timedelta(minutes=30)
    assert payment.expires_at == extended
    history = await trail(order.id)
    assert history == [("OrderPlaced", "customer"), ("PaymentStarted", "customer")]


async def test_asking_again_returns_the_same_link_without_calling_stripe(
    stripe: FakeStripe, card_methods: PaymentMethods
) -> None:
    order = await an_unpaid_order()
    first = await card_payment(order, card_methods)

    again = await card_payment(order, card_methods)

    assert again == first
    assert stripe.create.call_count == 1
    assert (await event_types(order.id)).count("PaymentStarted") == 1


@pytest.mark.parametrize(
    "failure",
    [
        httpx.Response(500, json={"error": {"type": "api_error", "message": "boom"}}),
        httpx.ReadTimeout("Stripe is slow"),
    ],
    ids=["server-error", "timeout"],
)
async def test_a_gateway_that_keeps_failing_gives_the_manual_method(
    stripe: FakeStripe, card_methods: PaymentMethods, failure: httpx.Response | Exception
) -> None:
    if isinstance(failure, Exception):
        stripe.create.mock(side_effect=failure)
    else:
        stripe.create.mock(return_value=failure)
    order = await an_unpaid_order()

    started = await start_payment(order.id, Method.CARD, card_methods)

    assert started.method is Method.MANUAL
    assert started.fallback is not None
    assert "stripe failed after 3 attempts" in started.fallback
    assert stripe.create.call_count == 3  # retried, then given up
    # Every retry names the same attempt, so Stripe never opens a second session for it.
    keys = {call.request.headers["Idempotency-Key"] for call in stripe.create.calls}
    assert len(keys) == 1
    card, manual = await payments_of(order.id)
    assert (card["provider"], card["status"]) == (STRIPE, "failed")
    assert card["failure_reason"].startswith("card payments unavailable")
    assert (manual["provider"], manual["status"]) == (MANUAL, "pending")
    assert started.payment.id == manual["id"]
    assert (await order_row(order.id))["expires_at"] == order.expires_at
    assert (await trail(order.id))[1:] == [
        ("PaymentFailed", "system"),
        ("PaymentStarted", "customer"),
    ]


async def test_a_request_stripe_refuses_is_not_retried(
    stripe: FakeStripe, card_methods: PaymentMethods
) -> None:
    error = {"type": "invalid_request_error", "code": "parameter_invalid_integer"}
    stripe.create.mock(return_value=httpx.Response(400, json={"error": error | {"message": "no"}}))
    order = await an_unpaid_order()

    started = await start_payment(order.id, Method.CARD, card_methods)

    assert started.method is Method.MANUAL
    assert started.fallback == "Stripe refused the request: no"
    assert stripe.create.call_count == 1


# --- The webhook route --------------------------------------------------------------------


async def test_a_paid_session_delivered_three_times_then_expired_is_applied_once(
    stripe: FakeStripe, card_methods: PaymentMethods, web: httpx.AsyncClient, db: Resources
) -> None:
    order = await an_unpaid_order()
    payment = await card_payment(order, card_methods)
    session = str(payment.provider_payment_id)
    stripe.pay(session)
    completed = stripe.event(COMPLETED, session)

    answers = [await deliver(web, completed) for _ in range(3)]
    expired = await deliver(
        web, stripe.event("checkout.session.expired", session, status="expired")
    )

    assert [(r.status_code, r.json()["status"]) for r in answers] == [
        (200, "confirmed"),
        (200, "duplicate"),
        (200, "duplicate"),
    ]
    assert (expired.status_code, expired.json()) == (
        200,
        {"status": "ignored: payment is confirmed"},
    )
    row = await payment_row(payment.id)
    assert (row["status"], row["verified_by"]) == ("confirmed", GATEWAY)
    assert (await order_row(order.id))["status"] == "paid"
    types = await event_types(order.id)
    assert types.count("PaymentConfirmed") == 1
    assert types.count("OrderStatusChanged") == 1
    assert types.count("PaymentWebhookReceived") == 2
    stored = await ProviderEvent.select(ProviderEvent.type, ProviderEvent.outcome).order_by(
        ProviderEvent.id
    )
    assert [(e["type"], e["outcome"]) for e in stored] == [
        (COMPLETED, "confirmed"),
        ("checkout.session.expired", "ignored: payment is confirmed"),
    ]
    settles = [args for name, args in await queued_tasks(db) if name == "settle_payment"]
    assert settles == [[payment.id]]


async def test_events_about_one_payment_arriving_at_once_are_applied_in_turn(
    stripe: FakeStripe, card_methods: PaymentMethods, web: httpx.AsyncClient
) -> None:
    order = await an_unpaid_order()
    payment = await card_payment(order, card_methods)
    session = str(payment.provider_payment_id)
    stripe.pay(session)
    completed = stripe.event(COMPLETED, session)
    bodies = [
        completed,
        completed,
        stripe.event("checkout.session.async_payment_succeeded", session),
        stripe.event(COMPLETED, session),  # the same news under another event id
        stripe.event("checkout.session.expired", session, status="expired"),
    ]

    answers = await asyncio.gather(*(deliver(web, body) for body in bodies))

    assert [r.status_code for r in answers] == [200] * 5
    outcomes = sorted(r.json()["status"] for r in answers)
    assert outcomes.count("confirmed") == 1
    assert set(outcomes) - {"confirmed"} <= {
        "duplicate",
        "already applied",
        "ignored: payment is confirmed",
    }
    assert (await payment_row(payment.id))["status"] == "confirmed"
    assert (await event_types(order.id)).count("PaymentConfirmed") == 1
    assert await ProviderEvent.count() == 4


async def test_a_forged_signature_is_refused_and_nothing_is_stored(
    stripe: FakeStripe, card_methods: PaymentMethods, web: httpx.AsyncClient, db: Resources
) -> None:
    order = await an_unpaid_order()
    payment = await card_payment(order, card_methods)
    stripe.pay(str(payment.provider_payment_id))
    body = stripe.event(COMPLETED, str(payment.provider_payment_id))
    before = await OrderEvent.count()

    forged = await deliver(web, body, secret="whsec_attacker")
    unsigned = await web.post(WEBHOOK, content=body)
    tampered = await web.post(
        WEBHOOK, content=body.replace(b'"paid"', b'"PAID"'), headers=signed(body)
    )

    assert [r.status_code for r in (forged, unsigned, tampered)] == [400, 400, 400]
    assert await ProviderEvent.count() == 0
    assert await OrderEvent.count() == before
    assert (await payment_row(payment.id))["status"] == "pending"
    assert await queued_tasks(db) == []


async def test_a_stale_delivery_is_refused(
    stripe: FakeStripe, card_methods: PaymentMethods, web: httpx.AsyncClient
) -> None:
    order = await an_unpaid_order()
    payment = await card_payment(order, card_methods)
    stripe.pay(str(payment.provider_payment_id))
    body = stripe.event(COMPLETED, str(payment.provider_payment_id))

    replayed = await deliver(web, body, timestamp=int(time.time()) - 600)

    assert replayed.status_code == 400
    assert await ProviderEvent.count() == 0
    assert (await payment_row(payment.id))["status"] == "pending"


async def test_the_older_webhook_secret_still_works_while_rotating(
    stripe: FakeStripe, card_methods: PaymentMethods, web: httpx.AsyncClient
) -> None:
    order = await an_unpaid_order()
    payment = await card_payment(order, card_methods)
    stripe.pay(str(payment.provider_payment_id))

    response = await deliver(
        web, stripe.event(COMPLETED, str(payment.provider_payment_id)), secret="whsec_a"
    )

    assert response.json() == {"status": "confirmed"}


async def test_an_event_about_an_unknown_session_is_acknowledged_and_changes_nothing(
    stripe: FakeStripe, card_methods: PaymentMethods, web: httpx.AsyncClient
) -> None:
    order = await an_unpaid_order()
    payment = await card_payment(order, card_methods)
    history = await trail(order.id)
    stranger = {
        "id": "cs_test_not_ours",
        "object": "checkout.session",
        "status": "complete",
        "payment_status": "paid",
        "amount_total": order.total,
        "currency": "usd",
        "metadata": {"payment_id": "987654"},
    }

    response = await deliver(web, event_body(COMPLETED, stranger, event_id="evt_stranger"))

    assert (response.status_code, response.json()) == (200, {"status": "unknown payment"})
    [stored] = await ProviderEvent.select()
    assert (stored["event_id"], stored["payment"], stored["outcome"]) == (
        "evt_stranger",
        None,
        "unknown payment",
    )
    assert (await payment_row(payment.id))["status"] == "pending"
    assert (await order_row(order.id))["status"] == "pending_payment"
    assert await trail(order.id) == history


async def test_a_provider_that_is_not_set_up_is_not_found(web: httpx.AsyncClient) -> None:
    response = await web.post("/webhooks/payments/paypal", content=b"{}")
    assert response.status_code == 404
    assert await ProviderEvent.count() == 0


@pytest.mark.parametrize(
    ("amount", "currency"), [(2400, "usd"), (2500, "eur")], ids=["amount", "currency"]
)
async def test_money_that_does_not_match_waits_for_a_person(
    stripe: FakeStripe,
    card_methods: PaymentMethods,
    web: httpx.AsyncClient,
    amount: int,
    currency: str,
) -> None:
    order = await an_unpaid_order(price=1250, quantity=2)
    payment = await card_payment(order, card_methods)
    session = str(payment.provider_payment_id)
    stripe.pay(session, amount=amount, currency=currency)

    response = await deliver(web, stripe.event(COMPLETED, session))

    assert response.json() == {"status": "needs review"}
    row = await payment_row(payment.id)
    assert row["status"] == "awaiting_verification"
    assert f"took {amount} {currency.upper()}" in row["failure_reason"]
    assert "2500 USD" in row["failure_reason"]
    assert (await order_row(order.id))["status"] == "pending_payment"
    assert (await trail(order.id))[-1] == ("PaymentNeedsReview", GATEWAY)
    [notice] = await messages_to(order.customer_id)
    assert "A person will check it" in body_of(notice)


async def test_a_second_successful_payment_for_a_paid_order_is_flagged_for_refund(
    stripe: FakeStripe,
    card_methods: PaymentMethods,
    web: httpx.AsyncClient,
    notices: Notices,
) -> None:
    order = await an_unpaid_order(price=1250, quantity=2)
    card = await card_payment(order, card_methods)
    manual, _ = await open_payment(order.id, MANUAL, actor=actors.CUSTOMER)
    await claim_payment(order.id, customer_id=order.customer_id)
    await confirm_payment(manual.id, actor=actors.staff(3), notices=notices)
    session = str(card.provider_payment_id)
    stripe.pay(session)  # the customer paid on the link as well

    response = await deliver(web, stripe.event(COMPLETED, session))

    assert response.json() == {"status": "refund_due"}
    row = await payment_row(card.id)
    assert (row["status"], row["verified_by"]) == ("refund_due", GATEWAY)
    assert (await payment_row(manual.id))["status"] == "confirmed"
    assert (await order_row(order.id))["status"] == "paid"
    types = await event_types(order.id)
    assert (types.count("PaymentConfirmed"), types.count("PaymentRefundDue")) == (1, 1)
    [notice] = await messages_to(order.customer_id)
    assert f"We received $25.00 for order *#{order.number}*" in body_of(notice)


async def test_money_for_an_expired_order_is_flagged_for_refund(
    stripe: FakeStripe,
    card_methods: PaymentMethods,
    web: httpx.AsyncClient,
    notices: Notices,
) -> None:
    order = await an_unpaid_order(stock=5, quantity=2)
    card = await card_payment(order, card_methods)
    deadline = (await order_row(order.id))["expires_at"]
    await expire_unpaid(order.id, notices, now=deadline + timedelta(seconds=1))
    session = str(card.provider_payment_id)
    stripe.pay(session)

    response = await deliver(web, stripe.event(COMPLETED, session))

    assert response.json() == {"status": "refund_due"}
    assert (await payment_row(card.id))["status"] == "refund_due"
    assert (await order_row(order.id))["status"] == "expired"
    assert await stock_of(order) == 5  # the expiry put it back; the late money takes none
    assert "PaymentConfirmed" not in await event_types(order.id)


async def test_a_failed_bank_debit_fails_the_attempt_and_tells_the_customer(
    stripe: FakeStripe, card_methods: PaymentMethods, web: httpx.AsyncClient
) -> None:
    order = await an_unpaid_order()
    payment = await card_payment(order, card_methods)
    session = str(payment.provider_payment_id)
    waiting = await deliver(web, stripe.event(COMPLETED, session, status="complete"))

    failed = await deliver(web, stripe.event("checkout.session.async_payment_failed", session))

    assert waiting.json() == {"status": "pending"}  # completed, but unpaid: money on its way
    assert failed.json() == {"status": "failed"}
    assert (await payment_row(payment.id))["status"] == "failed"
    assert (await order_row(order.id))["status"] == "pending_payment"
    [notice] = await messages_to(order.customer_id)
    assert "didn't go through" in body_of(notice)
    assert buttons_of(notice) == [f"pay:{order.number}", "human"]
    assert (await trail(order.id))[-1] == ("PaymentFailed", GATEWAY)


async def test_an_expired_session_expires_the_attempt_and_a_new_link_can_be_made(
    stripe: FakeStripe, card_methods: PaymentMethods, web: httpx.AsyncClient
) -> None:
    order = await an_unpaid_order()
    payment = await card_payment(order, card_methods)
    session = str(payment.provider_payment_id)

    response = await deliver(
        web, stripe.event("checkout.session.expired", session, status="expired")
    )

    assert response.json() == {"status": "expired"}
    assert (await payment_row(payment.id))["status"] == "expired"
    assert (await order_row(order.id))["status"] == "pending_payment"
    assert (await trail(order.id))[-1] == ("PaymentExpired", GATEWAY)
    retry = await card_payment(order, card_methods)
    assert (retry.attempt, retry.status) == (2, PaymentStatus.PENDING)
    assert retry.checkout_url != payment.checkout_url


async def test_a_full_card_payment_leaves_a_complete_audit_trail(
    stripe: FakeStripe,
    card_methods: PaymentMethods,
    web: httpx.AsyncClient,
    stripe_settings: Settings,
) -> None:
    order = await an_unpaid_order()
    payment = await card_payment(order, card_methods)
    stripe.pay(str(payment.provider_payment_id))
    await deliver(web, stripe.event(COMPLETED, str(payment.provider_payment_id)))
    receipt = await settle(payment.id, stripe_settings)

    assert await trail(order.id) == [
        ("OrderPlaced", "customer"),
        ("PaymentStarted", "customer"),
        ("PaymentWebhookReceived", GATEWAY),
        ("PaymentConfirmed", GATEWAY),
        ("OrderStatusChanged", GATEWAY),
        ("ReceiptIssued", "system"),
        ("ReceiptSent", "system"),
    ]
    assert receipt is not None
    assert "Paid by Card" in receipt.text_body


# --- Found in review -----------------------------------------------------------------------


async def test_money_taken_on_a_rejected_card_attempt_still_pays_the_open_order(
    stripe: FakeStripe, card_methods: PaymentMethods, web: httpx.AsyncClient, notices: Notices
) -> None:
    order = await an_unpaid_order()
    card = await card_payment(order, card_methods)
    await reject_payment(
        card.id, actor=actors.staff(1), reason="looks wrong", notices=notices, payment_minutes=30
    )
    session = str(card.provider_payment_id)
    stripe.pay(session)  # the link was still open and the customer paid on it

    response = await deliver(web, stripe.event(COMPLETED, session))

    assert (response.status_code, response.json()) == (200, {"status": "confirmed"})
    assert (await payment_row(card.id))["status"] == "confirmed"
    assert (await order_row(order.id))["status"] == "paid"


async def test_an_event_naming_our_payment_id_with_another_reference_is_not_ours(
    stripe: FakeStripe, card_methods: PaymentMethods, web: httpx.AsyncClient
) -> None:
    order = await an_unpaid_order()
    card = await card_payment(order, card_methods)
    session = str(card.provider_payment_id)
    stripe.pay(session)
    # Staging on the same Stripe account has a payment with the same id, another reference.
    foreign = {
        **stripe.sessions[session],
        "id": "cs_staging_1",
        "metadata": {"payment_id": str(card.id), "reference": "0000-0000"},
    }

    response = await deliver(web, event_body(COMPLETED, foreign, event_id="evt_staging"))

    assert response.json() == {"status": "unknown payment"}
    assert (await payment_row(card.id))["status"] == "pending"
    assert (await order_row(order.id))["status"] == "pending_payment"


async def test_cancelling_an_unpaid_order_closes_its_attempts_and_stops_the_link(
    stripe: FakeStripe, card_methods: PaymentMethods
) -> None:
    order = await an_unpaid_order(stock=5, quantity=2)
    card = await card_payment(order, card_methods)
    manual, _ = await open_payment(order.id, MANUAL, actor=actors.CUSTOMER)

    change, stopped = await cancel_unpaid(order.id, actor=actors.CUSTOMER, reason="changed mind")
    await stop_attempts(card_methods, stopped)

    assert change.status == "cancelled"
    assert [(p["id"], p["status"]) for p in await payments_of(order.id)] == [
        (card.id, "expired"),
        (manual.id, "expired"),
    ]
    assert stopped == [(STRIPE, card.provider_payment_id)]
    assert stripe.expire.call_count == 1
    assert await stock_of(order) == 5


async def test_an_order_whose_payment_is_being_checked_cannot_be_cancelled(
    card_methods: PaymentMethods,
) -> None:
    order = await an_unpaid_order(stock=5, quantity=2)
    await open_payment(order.id, MANUAL, actor=actors.CUSTOMER)
    await claim_payment(order.id, customer_id=order.customer_id)

    with pytest.raises(PaymentClosed) as refused:
        await cancel_unpaid(order.id, actor=actors.CUSTOMER, reason="changed mind")

    assert "being checked" in refused.value.message
    assert (await order_row(order.id))["status"] == "pending_payment"
    assert await stock_of(order) == 3
