import io
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader

from app.errors import InvalidInput
from app.ordering.pricing import LineInput, price_cart
from app.receipts.document import ReceiptDocument, ReceiptLine, pdf_filename, receipt_number
from app.receipts.pdf import render_pdf

KOLKATA = ZoneInfo("Asia/Kolkata")

BAKERY = (
    LineInput(sku="SD-1", name="Sourdough loaf", unit_price=450, tax_rate_bp=1000, quantity=2),
    LineInput(sku="CR-2", name="Butter croissant", unit_price=225, tax_rate_bp=1000, quantity=4),
    LineInput(sku="OJ-3", name="Fresh orange juice", unit_price=390, tax_rate_bp=500, quantity=1),
)


def _receipt(
    lines: Sequence[LineInput] = BAKERY,
    *,
    currency: str = "USD",
    prices_include_tax: bool = False,
    delivery_fee: int = 350,
) -> ReceiptDocument:
    totals = price_cart(
        lines, currency=currency, prices_include_tax=prices_include_tax, delivery_fee=delivery_fee
    )
    return ReceiptDocument(
        number="R-2026-000042",
        order_number=1042,
        issued_at=datetime(2026, 1, 15, 15, 5, tzinfo=KOLKATA),
        paid_at=datetime(2026, 1, 15, 15, 4, 5, tzinfo=KOLKATA),
        shop_name="Corner Bakery",
        shop_address="12 Market Street\nSpringfield",
        shop_tax_id="GB123456789",
        customer_name="Ana Lima",
        customer_phone="14155550100",
        lines=tuple(
            ReceiptLine(
                name=line.name,
                sku=line.sku,
                quantity=line.quantity,
                unit_price=line.unit_price,
                tax_rate_bp=line.tax_rate_bp,
                net=line.net,
                tax=line.tax,
                gross=line.gross,
            )
            for line in totals.lines
        ),
        subtotal=totals.subtotal,
        tax=totals.tax,
        delivery_fee=totals.delivery_fee,
        total=totals.total,
        currency=currency,
        prices_include_tax=prices_include_tax,
        payment_method="Bank transfer",
        payment_reference="0TGF-YD6R",
        fulfilment="delivery",
        delivery_address="4 Elm Road, Springfield",
    )


def _pages(data: bytes) -> list[str]:
    # A reader sees a no-break space as a space.
    pages = PdfReader(io.BytesIO(data)).pages
    return [page.extract_text().replace("\xa0", " ") for page in pages]


def _text(data: bytes) -> str:
    return "\n".join(_pages(data))


def test_receipt_shows_shop_order_items_totals_and_payment() -> None:
    text = _text(render_pdf(_receipt(), locale="en_US"))

    for expected in [
        "Corner Bakery",
        "12 Market Street",
        "GB123456789",
        "Receipt R-2026-000042",
        "#1042",
        "Ana Lima, +1 415-555-0100",
        "4 Elm Road, Springfield",
        "Sourdough loaf",
        "Butter croissant",
        "Fresh orange juice",
        "$9.00",  # 2 x $4.50
        "Subtotal $21.90",
        "Tax $2.00",
        "Delivery $3.50",
        "Total $27.40",
        "Bank transfer",
        "0TGF-YD6R",
        "Thank you",
    ]:
        assert expected in text


def test_paid_time_is_shown_in_the_shop_zone_with_its_name_or_offset() -> None:
    assert "15 January 2026, 3:04:05 PM IST" in _text(render_pdf(_receipt(), locale="en_IN"))
    assert "January 15, 2026, 3:04:05 PM +0530" in _text(render_pdf(_receipt(), locale="en_US"))


def test_money_and_dates_follow_the_locale() -> None:
    text = _text(render_pdf(_receipt(currency="EUR"), locale="de-DE"))

    assert "Total 27,40 €" in text
    assert "15. Januar 2026" in text


def test_tax_inclusive_prices_show_the_tax_as_included() -> None:
    text = _text(render_pdf(_receipt(prices_include_tax=True), locale="en_US"))

    assert "Subtotal $21.90" in text  # the shelf prices add up to what the lines show
    assert "Total $25.40" in text
    assert "Incl. tax $1.83" in text
    assert "Tax $" not in text


def test_pickup_orders_show_no_delivery() -> None:
    receipt = replace(_receipt(delivery_fee=0), fulfilment="pickup", delivery_address=None)

    text = _text(render_pdf(receipt, locale="en_US"))

    assert "Pickup" in text
    assert "Delivery" not in text
    assert "Total $23.90" in text


def test_text_outside_latin_fonts_renders_with_stand_ins() -> None:
    lines = [
        LineInput(sku="CH-1", name="Chai ☕️", unit_price=4000, tax_rate_bp=500, quantity=1),
        LineInput(sku="CK-2", name="蛋糕 cake", unit_price=25000, tax_rate_bp=500, quantity=1),
        LineInput(sku="PL-3", name="Pączki", unit_price=1500, tax_rate_bp=500, quantity=2),
    ]
    receipt = replace(_receipt(lines, currency="INR"), customer_name="Łukasz")

    text = _text(render_pdf(receipt, locale="en_IN"))

    assert "Chai ?" in text
    assert "?? cake" in text
    assert "Paczki" in text
    assert "?ukasz" in text
    assert "Total INR 339.50" in text  # "₹" is not in the font: the ISO code stands in


def test_a_script_the_font_lacks_falls_back_to_english_dates_and_currency_codes() -> None:
    text = _text(render_pdf(_receipt(currency="RUB"), locale="ru_RU"))

    assert "Total 27,40 RUB" in text
    assert "January 15, 2026" in text


def test_fifty_lines_fill_several_pages_and_all_appear() -> None:
    lines = [
        LineInput(
            sku=f"SKU-{i}",
            name=f"Product {i} " + "with a long descriptive name " * (i % 7),
            unit_price=100 + i,
            tax_rate_bp=1000,
            quantity=1 + i % 3,
        )
        for i in range(50)
    ]

    pages = _pages(render_pdf(_receipt(lines), locale="en_US"))

    assert len(pages) > 1
    text = "\n".join(pages)
    assert all(f"Product {i} " in text for i in range(50))
    assert "Thank you" in pages[-1]


def test_a_very_long_name_is_clipped_not_overflowing() -> None:
    lines = [LineInput(sku="X", name="Z" * 5000, unit_price=100, tax_rate_bp=0, quantity=1)]

    text = _text(render_pdf(_receipt(lines), locale="en_US"))

    assert "…" in text
    assert text.count("Z") < 300
    assert all(len(line) < 120 for line in text.splitlines())


def test_same_receipt_renders_identical_bytes() -> None:
    assert render_pdf(_receipt(), locale="en_US") == render_pdf(_receipt(), locale="en_US")


def test_metadata_names_the_receipt_and_the_shop() -> None:
    metadata = PdfReader(io.BytesIO(render_pdf(_receipt(), locale="en_US"))).metadata

    assert metadata is not None
    assert metadata.title == "R-2026-000042"
    assert metadata.creator == "Corner Bakery"


def test_unknown_locale_is_invalid_input() -> None:
    with pytest.raises(InvalidInput) as caught:
        render_pdf(_receipt(), locale="xx_YY")
    assert caught.value.field == "locale"


@pytest.mark.parametrize(
    ("sequence", "year", "number"),
    [(1, 2026, "R-2026-000001"), (42, 2026, "R-2026-000042"), (1_234_567, 2027, "R-2027-1234567")],
)
def test_receipt_numbers_and_file_names(sequence: int, year: int, number: str) -> None:
    assert receipt_number(sequence, year) == number
    assert pdf_filename(number) == f"receipt-{number}.pdf"


def test_receipt_sequences_start_at_one() -> None:
    with pytest.raises(ValueError, match="start at 1"):
        receipt_number(0, 2026)
