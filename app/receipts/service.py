"""Receipts: issue exactly one per confirmed payment, send it, find it again.

Issuing locks the order and payment rows before it draws a number, so concurrent
confirmations (or a task and the sweep) issue one receipt; numbers are drawn one at a time
inside the transaction, so they have no gaps. The unique ``receipt.payment`` and
``receipt.sequence`` columns hold the line should anything else get it wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from app import actors
from app.conversation.messages import Texts
from app.customers.tables import Customer
from app.db.locks import LockSpace
from app.keys import local_key
from app.ordering import events
from app.ordering.events import OrderEventType
from app.ordering.tables import Order, OrderItem
from app.payments.providers import MANUAL
from app.payments.states import PaymentStatus
from app.payments.tables import Payment
from app.receipts.document import ReceiptDocument, ReceiptLine, pdf_filename, receipt_number
from app.receipts.links import download_path
from app.receipts.pdf import render_pdf
from app.receipts.tables import Receipt
from app.settings import Settings
from app.whatsapp.outbound import queue_message
from app.whatsapp.outgoing import DocumentMessage, Recipient, TextMessage, to_cloud_body

log = structlog.get_logger(__name__)

LINK_KEY_FILENAME = "receipt_link_key"
CARD_LABEL = "Card"


@dataclass(frozen=True, slots=True)
class ReceiptRecord:
    id: int
    number: str
    order_id: int
    payment_id: int
    issued_at: datetime
    sent_at: datetime | None
    text_body: str

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> ReceiptRecord:
        return cls(
            id=row["id"],
            number=row["number"],
            order_id=row["order"],
            payment_id=row["payment"],
            issued_at=row["issued_at"],
            sent_at=row["sent_at"],
            text_body=row["text_body"],
        )


def link_secret(settings: Settings) -> str:
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value()
    return local_key(settings.chatcart_data_dir.resolve(), LINK_KEY_FILENAME)


async def issue_receipt(
    payment_id: int, settings: Settings, *, now: datetime | None = None
) -> ReceiptRecord | None:
    """The payment's receipt, issued now if it has none; ``None`` unless it is confirmed."""
    now = now or datetime.now(UTC)
    async with Receipt._meta.db.transaction():
        # Order first, then payment, as the payment use cases lock them: the receipt and its
        # event reference the order (a key-share lock), so taking it after the payment would
        # deadlock with a confirmation that holds the order and waits for the payment.
        owner = await Payment.select(Payment.order).where(Payment.id == payment_id).first()
        if owner is None:
            return None
        await Order.raw("SELECT id FROM orders WHERE id = {} FOR NO KEY UPDATE", owner["order"])
        rows = await Payment.raw(
            "SELECT * FROM payment WHERE id = {} FOR NO KEY UPDATE", payment_id
        )
        if not rows or rows[0]["status"] != PaymentStatus.CONFIRMED:
            return None
        payment = dict(rows[0])
        existing = await Receipt.select().where(Receipt.payment == payment_id).first()
        if existing is not None:
            return ReceiptRecord.from_row(existing)
        sequence = await _next_sequence()
        issued_local = now.astimezone(settings.timezone)
        number = receipt_number(sequence, issued_local.year)
        document = await _document(number, payment, settings, issued_local)
        texts = Texts.for_locale(settings.shop_locale, settings.shop_currency)
        text = receipt_text(document, texts)
        created = await Receipt.insert(
            Receipt(
                number=number,
                sequence=sequence,
                order=payment["order"],
                payment=payment_id,
                issued_at=now,
                text_body=text,
                pdf=render_pdf(document, locale=settings.shop_locale),
            )
        ).returning(*_COLUMNS)
        await events.record(
            payment["order"],
            OrderEventType.RECEIPT_ISSUED,
            actors.SYSTEM,
            {"receipt": number, "payment_id": payment_id, "total": document.total},
        )
        log.info("receipt issued", receipt=number, payment_id=payment_id)
        return ReceiptRecord.from_row(created[0])


async def send_receipt(
    receipt: ReceiptRecord,
    settings: Settings,
    *,
    key: str,
    actor: str = actors.SYSTEM,
    now: datetime | None = None,
) -> bool:
    """Queue the receipt's text and PDF to the customer; ``False`` if ``key`` sent it before."""
    now = now or datetime.now(UTC)
    async with Receipt._meta.db.transaction():
        order = (
            await Order.select(Order.id, Order.customer).where(Order.id == receipt.order_id).first()
        )
        assert order is not None
        customer = await Customer.select().where(Customer.id == order["customer"]).first()
        assert customer is not None
        recipient = Recipient(wa_id=customer["wa_id"], user_id=customer["user_id"])
        path = download_path(
            receipt.number,
            secret=link_secret(settings),
            now=now,
            ttl=timedelta(hours=settings.receipt_link_hours),
        )
        texts = Texts.for_locale(settings.shop_locale, settings.shop_currency)
        document = DocumentMessage(
            link=f"{settings.base_url}{path}",
            filename=pdf_filename(receipt.number),
            caption=texts.t("receipt.caption", number=receipt.number),
        )
        first = await queue_message(
            customer_id=customer["id"],
            body=to_cloud_body(TextMessage(receipt.text_body), recipient),
            kind="text",
            order_id=receipt.order_id,
            idempotency_key=f"{key}:text",
        )
        if first is None:
            return False
        await queue_message(
            customer_id=customer["id"],
            body=to_cloud_body(document, recipient),
            kind="document",
            order_id=receipt.order_id,
            idempotency_key=f"{key}:pdf",
        )
        await Receipt.update({Receipt.sent_at: now}).where(
            (Receipt.id == receipt.id) & Receipt.sent_at.is_null()
        )
        await events.record(
            receipt.order_id,
            OrderEventType.RECEIPT_SENT,
            actor,
            {"receipt": receipt.number, "resent": receipt.sent_at is not None},
        )
        return True


async def settle(payment_id: int, settings: Settings) -> ReceiptRecord | None:
    """After a confirmation: issue the receipt and send it, once whatever runs this twice."""
    receipt = await issue_receipt(payment_id, settings)
    if receipt is not None and receipt.sent_at is None:
        await send_receipt(receipt, settings, key=f"receipt:{receipt.id}")
    return receipt


async def settle_order(order_id: int, settings: Settings) -> None:
    """Settle every confirmed payment of the order (normally one)."""
    for row in await Payment.select(Payment.id).where(
        (Payment.order == order_id) & (Payment.status == PaymentStatus.CONFIRMED.value)
    ):
        await settle(row["id"], settings)


async def receipt_for_customer(
    order_id: int, customer_id: int, settings: Settings
) -> ReceiptRecord | None:
    """The order's receipt if the order is the customer's and paid (issued now if due)."""
    order = await Order.select(Order.customer).where(Order.id == order_id).first()
    if order is None or order["customer"] != customer_id:
        return None
    receipt = await receipt_of_order(order_id)
    if receipt is not None:
        return receipt
    paid = (
        await Payment.select(Payment.id)
        .where((Payment.order == order_id) & (Payment.status == PaymentStatus.CONFIRMED.value))
        .first()
    )
    return await issue_receipt(paid["id"], settings) if paid else None


async def unsettled(*, limit: int = 100) -> list[int]:
    """Confirmed payments whose receipt is not issued or not sent (for the sweep)."""
    rows = await Payment.raw(
        "SELECT p.id FROM payment p LEFT JOIN receipt r ON r.payment = p.id "
        "WHERE p.status = 'confirmed' AND (r.id IS NULL OR r.sent_at IS NULL) "
        "ORDER BY p.confirmed_at LIMIT {}",
        limit,
    )
    return [row["id"] for row in rows]


async def receipt_of_order(order_id: int) -> ReceiptRecord | None:
    row = (
        await Receipt.select(*_COLUMNS)
        .where(Receipt.order == order_id)
        .order_by(Receipt.id, ascending=False)
        .first()
    )
    return ReceiptRecord.from_row(row) if row else None


async def receipt_pdf(number: str) -> bytes | None:
    row = await Receipt.select(Receipt.pdf).where(Receipt.number == number).first()
    return bytes(row["pdf"]) if row and row["pdf"] is not None else None


def receipt_text(doc: ReceiptDocument, texts: Texts) -> str:
    """The WhatsApp summary of a receipt; the PDF carries the same figures."""
    lines = [
        texts.t("receipt.title", number=doc.number),
        texts.t("receipt.thanks", order=doc.order_number),
        "",
        *(
            texts.t(
                "cart.line",
                quantity=texts.number(line.quantity),
                name=line.name,
                amount=texts.money(line.gross if doc.prices_include_tax else line.net),
            )
            for line in doc.lines
        ),
        "",
    ]
    if doc.prices_include_tax:
        lines.append(
            texts.t(
                "totals.items_with_tax",
                amount=texts.money(doc.subtotal + doc.tax),
                tax=texts.money(doc.tax),
            )
        )
    else:
        lines.append(texts.t("totals.subtotal", amount=texts.money(doc.subtotal)))
        lines.append(texts.t("totals.tax", amount=texts.money(doc.tax)))
    if doc.delivery_fee or doc.fulfilment == "delivery":
        lines.append(texts.t("totals.delivery", amount=texts.money(doc.delivery_fee)))
    lines.append(texts.t("totals.total", amount=texts.money(doc.total)))
    lines.append("")
    lines.append(
        texts.t(
            "receipt.paid",
            method=doc.payment_method,
            reference=doc.payment_reference,
            date=texts.date(doc.paid_at),
            time=texts.time(doc.paid_at),
        )
    )
    lines.append(texts.t("receipt.shop", shop=doc.shop_name))
    return "\n".join(lines)


_COLUMNS = (
    Receipt.id,
    Receipt.number,
    Receipt.order,
    Receipt.payment,
    Receipt.issued_at,
    Receipt.sent_at,
    Receipt.text_body,
)


async def _next_sequence() -> int:
    """The next receipt number, without gaps.

    Drawn inside the issuing transaction while holding a transaction lock, so receipts
    are numbered one at a time and an issue that rolls back gives its number back (a
    sequence would skip it, and tax authorities ask for unbroken numbering).
    """
    await Receipt.raw("SELECT pg_advisory_xact_lock({}, 0)", int(LockSpace.RECEIPT_NUMBERS))
    rows = await Receipt.raw("SELECT COALESCE(MAX(sequence), 0) + 1 AS sequence FROM receipt")
    return int(rows[0]["sequence"])


async def _document(
    number: str, payment: dict[str, Any], settings: Settings, issued_local: datetime
) -> ReceiptDocument:
    order = await Order.select().where(Order.id == payment["order"]).first()
    assert order is not None
    customer = await Customer.select().where(Customer.id == order["customer"]).first()
    items = await OrderItem.select().where(OrderItem.order == order["id"]).order_by(OrderItem.id)
    paid_at = payment["confirmed_at"] or issued_local
    return ReceiptDocument(
        number=number,
        order_number=order["number"],
        issued_at=issued_local,
        paid_at=paid_at.astimezone(settings.timezone),
        shop_name=settings.shop_name,
        shop_address=settings.shop_address,
        shop_tax_id=settings.shop_tax_id,
        customer_name=customer["profile_name"] if customer else None,
        customer_phone=customer["wa_id"] if customer else None,
        lines=tuple(
            ReceiptLine(
                name=item["name"],
                sku=item["sku"],
                quantity=item["quantity"],
                unit_price=item["unit_price"],
                tax_rate_bp=item["tax_rate_bp"],
                net=item["net"],
                tax=item["tax"],
                gross=item["gross"],
            )
            for item in items
        ),
        subtotal=order["subtotal"],
        tax=order["tax"],
        delivery_fee=order["delivery_fee"],
        total=order["total"],
        currency=order["currency"],
        prices_include_tax=order["prices_include_tax"],
        payment_method=settings.payment_manual_label
        if payment["provider"] == MANUAL
        else CARD_LABEL,
        payment_reference=payment["reference"],
        fulfilment=order["fulfilment"],
        delivery_address=order["delivery_address"],
    )
