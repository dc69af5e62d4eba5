"""Receipts: exactly one per confirmed payment, numbered, rendered, sent, downloadable."""

from __future__ import annotations

import asyncio
import io
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

from pypdf import PdfReader

from app import actors
from app.payments.notices import Notices
from app.payments.providers import MANUAL
from app.payments.service import PaymentRecord, claim_payment, confirm_payment, open_payment
from app.receipts.links import download_path
from app.receipts.service import (
    ReceiptRecord,
    issue_receipt,
    receipt_pdf,
    send_receipt,
    settle,
    unsettled,
)
from app.receipts.tables import Receipt
from app.settings import Settings
from tests.conftest import app_client
from tests.integration.payments.conftest import LINK_KEY, SHOP_URL
from tests.integration.payments.shop import Unpaid, an_unpaid_order, event_types, messages_to

STAFF = actors.staff(4)


async def a_paid_order(
    notices: Notices, *, price: int = 1250, quantity: int = 2
) -> tuple[Unpaid, PaymentRecord]:
    placed = await an_unpaid_order(price=price, quantity=quantity)
    payment, _ = await open_payment(placed.id, MANUAL, actor=actors.CUSTOMER)
    await confirm_payment(payment.id, actor=STAFF, notices=notices)
    return placed, payment


def pdf_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


async def test_twenty_concurrent_confirmations_and_settlements_make_one_receipt(
    shop_settings: Settings, notices: Notices
) -> None:
    order = await an_unpaid_order(price=1250, quantity=2)
    payment, _ = await open_payment(order.id, MANUAL, actor=actors.CUSTOMER)
    await claim_payment(order.id, customer_id=order.customer_id)

    async def staff_confirms_and_settles() -> bool:
        confirmation = await confirm_payment(payment.id, actor=STAFF, notices=notices)
        await settle(payment.id, shop_settings)
        return confirmation.already

    already = await asyncio.gather(*(staff_confirms_and_settles() for _ in range(20)))

    assert already.count(False) == 1
    [receipt] = await Receipt.select(Receipt.number, Receipt.payment, Receipt.sent_at)
    assert receipt["number"] == f"R-{datetime.now(UTC).year}-000001"
    assert receipt["payment"] == payment.id
    assert receipt["sent_at"] is not None
    types = await event_types(order.id)
    assert [types.count(t) for t in ("PaymentConfirmed", "ReceiptIssued", "ReceiptSent")] == [
        1,
        1,
        1,
    ]
    assert [m["kind"] for m in await messages_to(order.customer_id)] == ["text", "document"]


async def test_receipts_are_numbered_in_sequence_and_carry_the_order(
    shop_settings: Settings, notices: Notices
) -> None:
    year = datetime.now(UTC).year
    first_order, first_payment = await a_paid_order(notices, price=1250, quantity=2)
    second_order, second_payment = await a_paid_order(notices, price=399, quantity=3)

    first = await issue_receipt(first_payment.id, shop_settings)
    second = await issue_receipt(second_payment.id, shop_settings)
    again = await issue_receipt(first_payment.id, shop_settings)

    assert first is not None
    assert second is not None
    assert (first.number, second.number) == (f"R-{year}-000001", f"R-{year}-000002")
    assert again == first
    assert await Receipt.count() == 2
    assert f"Receipt {first.number}" in first.text_body
    assert f"order *#{first_order.number}*" in first.text_body
    assert "Total: $25.00" in first.text_body
    assert first_payment.reference in first.text_body
    assert "Paid by Bank transfer" in first.text_body
    assert f"order *#{second_order.number}*" in second.text_body
    assert "$11.97" in second.text_body
    pdf = await receipt_pdf(first.number)
    assert pdf is not None
    assert pdf.startswith(b"%PDF")
    text = pdf_text(pdf)
    assert first.number in text
    assert str(first_order.number) in text
    assert "$25.00" in text
    assert "$11.97" in pdf_text(await receipt_pdf(second.number) or b"")


async def test_no_receipt_for_a_payment_that_is_not_confirmed(shop_settings: Settings) -> None:
    order = await an_unpaid_order()
    payment, _ = await open_payment(order.id, MANUAL, actor=actors.CUSTOMER)
    await claim_payment(order.id, customer_id=order.customer_id)

    assert await issue_receipt(payment.id, shop_settings) is None
    assert await settle(payment.id, shop_settings) is None
    assert await Receipt.count() == 0
    assert await messages_to(order.customer_id) == []


async def test_sending_queues_the_summary_and_a_signed_pdf_link_once(
    shop_settings: Settings, notices: Notices
) -> None:
    order, payment = await a_paid_order(notices)

    receipt = await settle(payment.id, shop_settings)
    await settle(payment.id, shop_settings)

    assert receipt is not None
    text, document = await messages_to(order.customer_id)
    assert (text["kind"], text["recipient"]) == ("text", order.wa_id)
    assert text["payload"]["text"]["body"] == receipt.text_body
    assert document["kind"] == "document"
    sent = document["payload"]["document"]
    assert sent["filename"] == f"receipt-{receipt.number}.pdf"
    assert sent["caption"] == f"Receipt {receipt.number} (PDF)"
    link = urlsplit(sent["link"])
    assert (
        f"{link.scheme}://{link.netloc}{link.path}" == f"{SHOP_URL}/receipts/{receipt.number}.pdf"
    )
    query = parse_qs(link.query)
    assert set(query) == {"expires", "signature"}
    hours = shop_settings.receipt_link_hours
    expires = datetime.fromtimestamp(int(query["expires"][0]), UTC)
    assert abs(expires - (datetime.now(UTC) + timedelta(hours=hours))) < timedelta(minutes=1)
    assert (await event_types(order.id)).count("ReceiptSent") == 1


async def test_a_customer_asking_again_gets_the_receipt_again(
    shop_settings: Settings, notices: Notices
) -> None:
    order, payment = await a_paid_order(notices)
    receipt = await settle(payment.id, shop_settings)
    assert receipt is not None
    stored = ReceiptRecord.from_row(
        (await Receipt.select().where(Receipt.id == receipt.id).first()) or {}
    )

    assert await send_receipt(stored, shop_settings, key="chat:receipt:1", actor="customer")
    assert not await send_receipt(stored, shop_settings, key="chat:receipt:1", actor="customer")

    assert len(await messages_to(order.customer_id)) == 4
    assert (await event_types(order.id))[-1] == "ReceiptSent"


async def test_the_link_in_the_chat_downloads_the_pdf_and_nothing_else(
    shop_settings: Settings, notices: Notices
) -> None:
    order, payment = await a_paid_order(notices)
    receipt = await settle(payment.id, shop_settings)
    assert receipt is not None
    [_, document] = await messages_to(order.customer_id)
    path = document["payload"]["document"]["link"].removeprefix(SHOP_URL)
    other = receipt.number.replace("000001", "000002")

    async with app_client(shop_settings) as web:
        ok = await web.get(path)
        first = path.split("signature=")[1][0]
        flipped = "1" if first == "0" else "0"  # always a different first symbol
        tampered = await web.get(re.sub(r"signature=\w", f"signature={flipped}", path))
        relabelled = await web.get(path.replace(receipt.number, other))
        unknown = await web.get(
            download_path(other, secret=LINK_KEY, now=datetime.now(UTC), ttl=timedelta(hours=1))
        )
        expired = await web.get(
            download_path(
                receipt.number,
                secret=LINK_KEY,
                now=datetime.now(UTC) - timedelta(hours=2),
                ttl=timedelta(hours=1),
            )
        )
        unsigned = await web.get(f"/receipts/{receipt.number}.pdf")

    assert ok.status_code == 200
    assert ok.headers["content-type"] == "application/pdf"
    assert ok.content == await receipt_pdf(receipt.number)
    assert receipt.number in pdf_text(ok.content)
    assert [r.status_code for r in (tampered, relabelled, unknown, unsigned)] == [404] * 4
    assert expired.status_code == 410


async def test_unsettled_lists_confirmed_payments_without_a_sent_receipt(
    shop_settings: Settings, notices: Notices
) -> None:
    _, not_issued = await a_paid_order(notices)
    _, not_sent = await a_paid_order(notices)
    _, done = await a_paid_order(notices)
    waiting = await an_unpaid_order()
    await open_payment(waiting.id, MANUAL, actor=actors.CUSTOMER)
    await issue_receipt(not_sent.id, shop_settings)
    await settle(done.id, shop_settings)

    assert await unsettled() == [not_issued.id, not_sent.id]

    for payment_id in await unsettled():
        await settle(payment_id, shop_settings)
    assert await unsettled() == []
    assert await Receipt.count() == 3
