"""A receipt as plain values: everything the PDF and text renderers need, nothing to look up.

Amounts are minor units of ``currency``; the totals follow ``app.ordering.pricing``:
``subtotal`` is the sum of the lines' net amounts and ``total == subtotal + tax +
delivery_fee``. Times are already in the shop's time zone so renderers never guess one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class ReceiptLine:
    name: str
    sku: str
    quantity: int
    unit_price: int
    tax_rate_bp: int
    net: int
    tax: int
    gross: int


@dataclass(frozen=True, slots=True)
class ReceiptDocument:
    number: str
    order_number: int
    issued_at: datetime
    paid_at: datetime
    shop_name: str
    shop_address: str | None
    shop_tax_id: str | None
    customer_name: str | None
    customer_phone: str | None  # E.164 digits without "+", or None
    lines: tuple[ReceiptLine, ...]
    subtotal: int
    tax: int
    delivery_fee: int
    total: int
    currency: str
    prices_include_tax: bool
    payment_method: str  # a label for people: "Bank transfer", "Card (Stripe)"
    payment_reference: str
    fulfilment: str  # "delivery" | "pickup"
    delivery_address: str | None


def receipt_number(sequence: int, year: int) -> str:
    """R-2026-000042. Past 999999 receipts in a year the number simply grows a digit."""
    if sequence <= 0:
        raise ValueError(f"Receipt sequence numbers start at 1, got {sequence}.")
    return f"R-{year}-{sequence:06d}"


def pdf_filename(number: str) -> str:
    return f"receipt-{number}.pdf"
