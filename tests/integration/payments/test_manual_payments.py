"""Manual payments (bank transfer, mobile money): open, claim, confirm, reject."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

import pytest

from app import actors
from app.errors import InvalidInput, NotFound, PaymentClosed
from app.ordering.service import cancel_order
from app.payments.expiry import expire_unpaid
from app.payments.notices import Notices
from app.payments.providers import MANUAL, STRIPE, Instructions, Proof
from app.payments.service import (
    attach_instructions,
    claim_payment,
    confirm_payment,
    open_payment,
    reject_payment,
)
from app.payments.states import PaymentStatus
from app.payments.tables import Payment
from app.receipts.service import settle
from app.settings import Settings
from tests.integration.payments.shop import (
    a_phone_customer,
    an_unpaid_order,
    body_of,
    buttons_of,
    event_types,
    messages_to,
    order_row,
    payment_row,
    payments_of,
    trail,
)

STAFF = actors.staff(7)
REFERENCE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$")


async def test_opening_a_manual_payment_twice_gives_the_same_reference() -> None:
    order = await an_unpaid_order(price=1250, quantity=2)

    first, created = await open_payment(order.id, MANUAL, actor=actors.CUSTOMER)
    again, created_again = await open_payment(order.id, MANUAL, actor=actors.CUSTOMER)

    assert (created, created_again) == (True, False)
    assert again == first
    assert (first.status, first.amount, first.currency, first.attempt) == (
        PaymentStatus.PENDING,
        2500,
        "USD",
        1,
    )
    assert REFERENCE.match(first.reference), first.reference
    assert first.expires_at == order.expires_at
    assert await trail(order.id) == [("OrderPlaced", "customer"), ("PaymentStarted", "customer")]


async def test_concurrent_opens_make_one_attempt() -> None:
    order = await an_unpaid_order()

    opened = await asyncio.gather(
        *(open_payment(order.id, MANUAL, actor=actors.CUSTOMER) for _ in range(6))
    )

    assert [created for _, created in opened].count(True) == 1
    assert len({payment.id for payment, _ in opened}) == 1
    assert len(await payments_of(order.id)) == 1
    assert (await event_types(order.id)).count("PaymentStarted") == 1


async def test_a_cancelled_order_cannot_be_paid() -> None:
    order = await an_unpaid_order()
    await cancel_order(order.id, actor=actors.CUSTOMER, reason="changed my mind")

    with pytest.raises(PaymentClosed):
        await open_payment(order.id, MANUAL, actor=actors.CUSTOMER)
    assert await payments_of(order.id) == []


async def test_claiming_with_a_proof_waits_for_staff_and_keeps_the_proof() -> None:
    order = await an_unpaid_order()
    payment, _ = await open_payment(order.id, MANUAL, actor=actors.CUSTOMER)
    proof = Proof(media_id="wamid-media-1", mime_type="image/jpeg", caption="sent it")

    claim = await claim_payment(order.id, customer_id=order.customer_id, proof=proof)

    assert claim is not None
    assert (claim.first, claim.proof, claim.order_number) == (True, True, order.number)
    row = await payment_row(payment.id)
    assert row["status"] == "awaiting_verification"
    assert row["claimed_at"] is not None
    assert (row["proof_media_id"], row["proof_mime_type"], row["proof_caption"]) == (
        "wamid-media-1",
        "image/jpeg",
        "sent it",
    )
    assert (await trail(order.id))[2:] == [
        ("PaymentClaimed", "customer"),
        ("PaymentProofReceived", "customer"),
    ]


async def test_saying_paid_again_changes_nothing() -> None:
    order = await an_unpaid_order()
    payment, _ = await open_payment(order.id, MANUAL, actor=actors.CUSTOMER)
    await claim_payment(order.id, customer_id=order.customer_id)
    before = await payment_row(payment.id)

    again = await claim_payment(order.id, customer_id=order.customer_id)

    assert again is not None
    assert (again.first, again.proof) == (False, False)
    assert again.payment.status is PaymentStatus.AWAITING_VERIFICATION
    assert await payment_row(payment.id) == before
    assert (await event_types(order.id)).count("PaymentClaimed") == 1


async def test_a_customer_cannot_claim_someone_elses_order() -> None:
    order = await an_unpaid_order()
    payment, _ = await open_payment(order.id, MANUAL, actor=actors.CUSTOMER)
    stranger = await a_phone_customer()

    with pytest.raises(NotFound):
        await claim_payment(order.id, customer_id=stranger.id)

    assert (await payment_row(payment.id))["status"] == "pending"
    assert "PaymentClaimed" not in await event_types(order.id)


async def test_claiming_without_an_open_manual_payment_gives_nothing() -> None:
    order = await an_unpaid_order()
    assert await claim_payment(order.id, customer_id=order.customer_id) is None
    assert await payments_of(order.id) == []


async def test_confirming_pays_the_order_and_closes_the_card_link(notices: Notices) -> None:
    order = await an_unpaid_order()
    card, _ = await open_payment(order.id, STRIPE, actor=actors.CUSTOMER)
    await attach_instructions(
        card.id,
        Instructions(provider_payment_id="cs_test_open", checkout_url="https://pay.test/cs"),
        actor=actors.CUSTOMER,
    )
    manual, _ = await open_payment(order.id, MANUAL, actor=actors.CUSTOMER)
    await claim_payment(order.id, customer_id=order.customer_id)

    confirmation = await confirm_payment(
        manual.id, actor=STAFF, note="seen in bank", notices=notices
    )

    assert (confirmation.status, confirmation.already) == (PaymentStatus.CONFIRMED, False)
    assert confirmation.superseded == ((STRIPE, "cs_test_open"),)
    paid = await payment_row(manual.id)
    assert (paid["status"], paid["verified_by"], paid["verification_note"]) == (
        "confirmed",
        STAFF,
        "seen in bank",
    )
    assert paid["confirmed_at"] is not None
    closed = await payment_row(card.id)
    assert closed["status"] == "expired"
    assert closed["failure_reason"] == f"the order was paid with {manual.reference}"
    order_now = await order_row(order.id)
    assert order_now["status"] == "paid"
    assert order_now["paid_at"] == paid["confirmed_at"]
    assert (await trail(order.id))[-4:] == [
        ("PaymentVerificationAttempted", STAFF),
        ("PaymentConfirmed", STAFF),
        ("OrderStatusChanged", STAFF),
        ("PaymentExpired", STAFF),
    ]


async def test_confirming_twice_pays_once(notices: Notices) -> None:
    order = await an_unpaid_order()
    payment, _ = await open_payment(order.id, MANUAL, actor=actors.CUSTOMER)

    first = await confirm_payment(payment.id, actor=STAFF, notices=notices)
    second = await confirm_payment(payment.id, actor=actors.staff(8), notices=notices)

    assert (first.already, second.already) == (False, True)
    assert second.status is PaymentStatus.CONFIRMED
    assert (await payment_row(payment.id))["verified_by"] == STAFF
    types = await event_types(order.id)
    assert (types.count("PaymentConfirmed"), types.count("OrderStatusChanged")) == (1, 1)


async def test_an_expired_payment_cannot_be_confirmed(notices: Notices) -> None:
    order = await an_unpaid_order(stock=5, quantity=2)
    payment, _ = await open_payment(order.id, MANUAL, actor=actors.CUSTOMER)
    await expire_unpaid(order.id, notices, now=order.expires_at + timedelta(seconds=1))
    before = await event_types(order.id)

    with pytest.raises(PaymentClosed) as refused:
        await confirm_payment(payment.id, actor=STAFF, notices=notices)

    assert "expired" in refused.value.message
    assert (await payment_row(payment.id))["status"] == "expired"
    assert (await order_row(order.id))["status"] == "expired"
    assert await event_types(order.id) == before


async def test_a_rejected_payment_cannot_be_confirmed(notices: Notices) -> None:
    order = await an_unpaid_order()
    payment, _ = await open_payment(order.id, MANUAL, actor=actors.CUSTOMER)
    await reject_payment(
        payment.id, actor=STAFF, reason="nothing arrived", notices=notices, payment_minutes=30
    )

    with pytest.raises(PaymentClosed) as refused:
        await confirm_payment(payment.id, actor=STAFF, notices=notices)

    assert "nothing arrived" in refused.value.message
    assert (await payment_row(payment.id))["status"] == "failed"
    assert (await order_row(order.id))["status"] == "pending_payment"


async def test_a_claim_on_a_cancelled_order_cannot_be_confirmed(notices: Notices) -> None:
    order = await an_unpaid_order()
    payment, _ = await open_payment(order.id, MANUAL, actor=actors.CUSTOMER)
    await claim_payment(order.id, customer_id=order.customer_id)
    await cancel_order(order.id, actor=actors.CUSTOMER, reason="found it cheaper")

    with pytest.raises(PaymentClosed) as refused:
        await confirm_payment(payment.id, actor=STAFF, notices=notices)

    assert "cancelled" in refused.value.message
    assert (await payment_row(payment.id))["status"] == "awaiting_verification"
    assert (await order_row(order.id))["status"] == "cancelled"
    assert "PaymentConfirmed" not in await event_types(order.id)


async def test_money_for_an_order_another_attempt_paid_is_flagged_for_refund(
    notices: Notices,
) -> None:
    order = await an_unpaid_order(price=1250, quantity=2)
    manual, _ = await open_payment(order.id, MANUAL, actor=actors.CUSTOMER)
    await claim_payment(order.id, customer_id=order.customer_id)
    card, _ = await open_payment(order.id, STRIPE, actor=actors.CUSTOMER)
    await confirm_payment(card.id, actor="gateway:stripe", notices=notices)

    late = await confirm_payment(manual.id, actor=STAFF, notices=notices)

    assert (late.status, late.already) == (PaymentStatus.REFUND_DUE, False)
    row = await payment_row(manual.id)
    assert row["status"] == "refund_due"
    assert "already paid" in row["failure_reason"]
    assert (await order_row(order.id))["status"] == "paid"
    types = await event_types(order.id)
    assert (types.count("OrderStatusChanged"), types.count("PaymentRefundDue")) == (1, 1)
    [notice] = await messages_to(order.customer_id)
    assert notice["recipient"] == order.wa_id
    assert "We received $25.00" in body_of(notice)
    assert f"#{order.number}" in body_of(notice)
    assert buttons_of(notice) == ["human"]


async def test_rejecting_tells_the_customer_why_and_gives_a_new_window(notices: Notices) -> None:
    placed_at = datetime.now(UTC)
    order = await an_unpaid_order(now=placed_at, minutes=30)
    payment, _ = await open_payment(order.id, MANUAL, actor=actors.CUSTOMER)
    await claim_payment(order.id, customer_id=order.customer_id)
    rejected_at = placed_at + timedelta(minutes=25)

    rejected = await reject_payment(
        payment.id,
        actor=STAFF,
        reason="  No transfer with   that reference ",
        notices=notices,
        payment_minutes=30,
        now=rejected_at,
    )

    assert rejected.status is PaymentStatus.FAILED
    row = await payment_row(payment.id)
    assert (row["verified_by"], row["failure_reason"]) == (STAFF, "No transfer with that reference")
    assert (await order_row(order.id))["expires_at"] == rejected_at + timedelta(minutes=30)
    [notice] = await messages_to(order.customer_id)
    assert (notice["kind"], notice["recipient"]) == ("interactive", order.wa_id)
    assert "No transfer with that reference" in body_of(notice)
    assert buttons_of(notice) == [f"pay:{order.number}", "human"]
    assert (await trail(order.id))[-2:] == [
        ("PaymentVerificationAttempted", STAFF),
        ("PaymentRejected", STAFF),
    ]

    again = await reject_payment(
        payment.id, actor=STAFF, reason="again", notices=notices, payment_minutes=30
    )
    assert again == rejected
    assert len(await messages_to(order.customer_id)) == 1

    retry, created = await open_payment(order.id, MANUAL, actor=actors.CUSTOMER)
    assert (created, retry.attempt) == (True, 2)
    assert retry.reference != payment.reference


async def test_a_rejection_needs_a_reason(notices: Notices) -> None:
    order = await an_unpaid_order()
    payment, _ = await open_payment(order.id, MANUAL, actor=actors.CUSTOMER)
    await claim_payment(order.id, customer_id=order.customer_id)

    with pytest.raises(InvalidInput) as refused:
        await reject_payment(
            payment.id, actor=STAFF, reason=" \n ", notices=notices, payment_minutes=30
        )

    assert refused.value.field == "reason"
    assert (await payment_row(payment.id))["status"] == "awaiting_verification"
    assert await messages_to(order.customer_id) == []


async def test_a_full_manual_payment_leaves_a_complete_audit_trail(
    shop_settings: Settings, notices: Notices
) -> None:
    order = await an_unpaid_order()
    payment, _ = await open_payment(order.id, MANUAL, actor=actors.CUSTOMER)
    await claim_payment(order.id, customer_id=order.customer_id, proof=Proof("media-9"))
    await confirm_payment(payment.id, actor=STAFF, notices=notices)
    await settle(payment.id, shop_settings)

    assert await trail(order.id) == [
        ("OrderPlaced", "customer"),
        ("PaymentStarted", "customer"),
        ("PaymentClaimed", "customer"),
        ("PaymentProofReceived", "customer"),
        ("PaymentVerificationAttempted", STAFF),
        ("PaymentConfirmed", STAFF),
        ("OrderStatusChanged", STAFF),
        ("ReceiptIssued", "system"),
        ("ReceiptSent", "system"),
    ]
    assert await Payment.count().where(Payment.order == order.id) == 1
