"""The payment clock: one reminder before the deadline, then expiry, once, however many run it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx

from app import actors
from app.catalog.service import get_product
from app.ordering import events
from app.payments.expiry import expire_due, expire_unpaid, send_reminders
from app.payments.methods import PaymentMethods, start_payment
from app.payments.notices import Notices
from app.payments.providers import MANUAL, Method
from app.payments.service import apply_webhook, claim_payment, open_payment
from app.payments.states import PaymentStatus
from app.payments.stripe import sign_payload
from tests.integration.payments.fake_stripe import WEBHOOK_SECRETS, FakeStripe
from tests.integration.payments.shop import (
    an_unpaid_order,
    body_of,
    buttons_of,
    event_types,
    messages_to,
    order_row,
    payment_row,
    stock_of,
    trail,
)

LEAD = timedelta(minutes=10)


# --- Reminders ----------------------------------------------------------------------------


async def test_two_schedulers_remind_the_customer_once(notices: Notices) -> None:
    order = await an_unpaid_order(price=1250, quantity=2, minutes=30)
    payment, _ = await open_payment(order.id, MANUAL, actor=actors.CUSTOMER)
    now = order.expires_at - timedelta(minutes=5)

    sent = await asyncio.gather(
        send_reminders(notices, lead=LEAD, now=now), send_reminders(notices, lead=LEAD, now=now)
    )
    later = await send_reminders(notices, lead=LEAD, now=now + timedelta(minutes=1))

    assert (sorted(sent), later) == ([0, 1], 0)
    [reminder] = await messages_to(order.customer_id)
    assert reminder["recipient"] == order.wa_id
    text = body_of(reminder)
    assert f"Order *#{order.number}* ($25.00) is still waiting for payment" in text
    assert payment.reference in text
    assert buttons_of(reminder) == [
        f"paid:{order.number}",
        f"pay:{order.number}",
        f"cancel:{order.number}",
    ]
    assert (await event_types(order.id)).count("PaymentReminderSent") == 1
    assert (await order_row(order.id))["reminded_at"] == now


async def test_no_reminder_before_the_lead_time_or_after_the_deadline(notices: Notices) -> None:
    order = await an_unpaid_order(minutes=30)

    early = await send_reminders(notices, lead=LEAD, now=order.expires_at - timedelta(minutes=11))
    late = await send_reminders(notices, lead=LEAD, now=order.expires_at + timedelta(seconds=1))

    assert (early, late) == (0, 0)
    assert await messages_to(order.customer_id) == []


async def test_the_reminder_carries_the_card_link(
    stripe: FakeStripe, card_methods: PaymentMethods, notices: Notices
) -> None:
    order = await an_unpaid_order()
    started = await start_payment(order.id, Method.CARD, card_methods)
    deadline = (await order_row(order.id))["expires_at"]

    assert await send_reminders(notices, lead=LEAD, now=deadline - timedelta(minutes=2)) == 1

    [reminder] = await messages_to(order.customer_id)
    assert f"Pay by card: {started.payment.checkout_url}" in body_of(reminder)


async def test_no_reminder_while_a_claim_waits_for_staff(notices: Notices) -> None:
    order = await an_unpaid_order()
    await open_payment(order.id, MANUAL, actor=actors.CUSTOMER)
    await claim_payment(order.id, customer_id=order.customer_id)

    assert (
        await send_reminders(notices, lead=LEAD, now=order.expires_at - timedelta(minutes=5)) == 0
    )
    assert await messages_to(order.customer_id) == []


# --- Expiry ---------------------------------------------------------------------------------


async def test_two_racing_schedulers_expire_an_order_and_release_its_stock_once(
    manual_only: PaymentMethods, notices: Notices
) -> None:
    orders = [await an_unpaid_order(stock=5, quantity=2) for _ in range(3)]
    payments = [(await open_payment(o.id, MANUAL, actor=actors.CUSTOMER))[0] for o in orders]
    assert [await stock_of(o) for o in orders] == [3, 3, 3]
    now = max(o.expires_at for o in orders) + timedelta(seconds=1)

    expired = await asyncio.gather(
        expire_due(manual_only, notices, now=now), expire_due(manual_only, notices, now=now)
    )

    assert sum(expired) == 3
    assert [await stock_of(o) for o in orders] == [5, 5, 5]
    for order, payment in zip(orders, payments, strict=True):
        assert (await order_row(order.id))["status"] == "expired"
        row = await payment_row(payment.id)
        assert (row["status"], row["failure_reason"]) == ("expired", "not paid in time")
        assert (await trail(order.id))[-2:] == [
            ("OrderExpired", "system"),
            ("PaymentExpired", "system"),
        ]
        [notice] = await messages_to(order.customer_id)
        assert f"Order *#{order.number}* was cancelled because it wasn't paid in time" in (
            body_of(notice)
        )
        assert buttons_of(notice) == [f"reorder:{order.number}", "menu"]
    assert await expire_due(manual_only, notices, now=now + timedelta(minutes=5)) == 0


async def test_an_order_within_its_window_is_not_expired(
    manual_only: PaymentMethods, notices: Notices
) -> None:
    order = await an_unpaid_order(stock=5, quantity=2)

    assert await expire_due(manual_only, notices, now=order.expires_at - timedelta(seconds=1)) == 0
    assert (
        await expire_unpaid(order.id, notices, now=order.expires_at - timedelta(seconds=1)) is None
    )

    assert (await order_row(order.id))["status"] == "pending_payment"
    assert await stock_of(order) == 3


async def test_an_order_whose_payment_waits_for_verification_never_expires(
    manual_only: PaymentMethods, notices: Notices
) -> None:
    order = await an_unpaid_order(stock=5, quantity=2)
    payment, _ = await open_payment(order.id, MANUAL, actor=actors.CUSTOMER)
    await claim_payment(order.id, customer_id=order.customer_id)
    much_later = order.expires_at + timedelta(days=3)

    assert await expire_due(manual_only, notices, now=much_later) == 0
    assert await expire_unpaid(order.id, notices, now=much_later) is None

    assert (await order_row(order.id))["status"] == "pending_payment"
    assert (await payment_row(payment.id))["status"] == "awaiting_verification"
    assert await stock_of(order) == 3
    assert await messages_to(order.customer_id) == []


async def test_expiry_stops_the_open_checkout_link_once(
    stripe: FakeStripe, card_methods: PaymentMethods, notices: Notices
) -> None:
    order = await an_unpaid_order(stock=5, quantity=2)
    started = await start_payment(order.id, Method.CARD, card_methods)
    session = str(started.payment.provider_payment_id)
    now = (await order_row(order.id))["expires_at"] + timedelta(seconds=1)

    expired = await asyncio.gather(
        expire_due(card_methods, notices, now=now), expire_due(card_methods, notices, now=now)
    )

    assert sum(expired) == 1
    assert stripe.expire.call_count == 1
    assert stripe.sessions[session]["status"] == "expired"
    assert (await payment_row(started.payment.id))["status"] == "expired"
    assert await stock_of(order) == 5


async def test_a_card_payment_made_just_before_expiry_keeps_the_order(
    stripe: FakeStripe, card_methods: PaymentMethods, notices: Notices
) -> None:
    order = await an_unpaid_order(stock=5, quantity=2)
    started = await start_payment(order.id, Method.CARD, card_methods)
    stripe.pay(str(started.payment.provider_payment_id))  # its webhook is still on the way
    now = (await order_row(order.id))["expires_at"] + timedelta(seconds=1)

    assert await expire_due(card_methods, notices, now=now) == 0

    assert (await order_row(order.id))["status"] == "paid"
    assert (await payment_row(started.payment.id))["status"] == PaymentStatus.CONFIRMED
    assert await stock_of(order) == 3
    assert stripe.expire.call_count == 0
    # The gateway's answer changed the order; the clock only asked (kept in the event).
    assert (await trail(order.id))[-3:] == [
        ("PaymentVerificationAttempted", "gateway:stripe"),
        ("PaymentConfirmed", "gateway:stripe"),
        ("OrderStatusChanged", "gateway:stripe"),
    ]
    [check] = [
        e for e in await events.history(order.id) if e["type"] == "PaymentVerificationAttempted"
    ]
    assert check["data"]["requested_by"] == "system"


async def test_a_payment_arriving_while_the_order_expires_is_never_lost(
    stripe: FakeStripe, card_methods: PaymentMethods, notices: Notices
) -> None:
    assert card_methods.card is not None
    for _ in range(4):
        order = await an_unpaid_order(stock=5, quantity=2)
        started = await start_payment(order.id, Method.CARD, card_methods)
        session = str(started.payment.provider_payment_id)
        # Stripe still shows the session open to the clock; its webhook says it was paid.
        body = stripe.event("checkout.session.completed", session, payment_status="paid")
        webhook = card_methods.card.parse_webhook(
            {"stripe-signature": sign_payload(body, WEBHOOK_SECRETS[0])}, body
        )
        now = (await order_row(order.id))["expires_at"] + timedelta(seconds=1)

        _, outcome = await asyncio.gather(
            expire_due(card_methods, notices, now=now), apply_webhook(webhook, notices=notices)
        )

        status = (await order_row(order.id))["status"]
        payment = (await payment_row(started.payment.id))["status"]
        assert (status, payment, outcome) in {
            ("paid", "confirmed", "confirmed"),
            ("expired", "refund_due", "refund_due"),
        }
        assert await stock_of(order) == (3 if status == "paid" else 5)


async def test_expiry_goes_ahead_when_stripe_cannot_be_asked(
    stripe: FakeStripe, card_methods: PaymentMethods, notices: Notices
) -> None:
    order = await an_unpaid_order(stock=5, quantity=2)
    started = await start_payment(order.id, Method.CARD, card_methods)
    stripe.retrieve.mock(side_effect=httpx.ConnectError("no route to Stripe"))
    stripe.expire.mock(side_effect=httpx.ConnectError("no route to Stripe"))
    now = datetime.now(UTC) + timedelta(hours=1)

    assert await expire_due(card_methods, notices, now=now) == 1

    assert (await order_row(order.id))["status"] == "expired"
    assert (await payment_row(started.payment.id))["status"] == "expired"
    assert (await get_product(order.product_id)).stock == 5
