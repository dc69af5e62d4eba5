"""Render a ``ReceiptDocument`` as an A4 PDF with fpdf2.

Text: the PDF uses the standard Helvetica font, which needs no font file but can only
show Windows-1252 characters (fpdf2 raises ``FPDFUnicodeEncodingException`` for
anything else, even "€" unless the encoding is switched to cp1252 as here). So nothing
reaches fpdf2 unsanitised:

* text people typed (shop, customer, product names, addresses) keeps every character
  cp1252 has, loses its accents where that makes it fit ("ą" -> "a"), drops invisible
  format marks, and shows "?" for the rest: "Chai ☕" prints as "Chai ?", "蛋糕" as "??";
* text babel writes for the locale (money, dates) is rewritten where it would lose
  characters: a currency symbol cp1252 lacks becomes the ISO code ("₹12.34" ->
  "INR 12.34"), and a date or amount that still does not fit (Arabic, Chinese month
  names) is formatted in English instead, so numbers are never replaced by "?".

Showing every script needs an embedded Unicode font (e.g. Noto Sans) and a shaping
engine; that is a font asset decision, not a renderer one.

Output is deterministic: the creation date is the receipt's ``issued_at``, so the same
receipt always renders the same bytes (fpdf2 derives the file /ID from content + date).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime

import phonenumbers
from babel.core import Locale, UnknownLocaleError
from babel.dates import format_datetime
from babel.numbers import get_currency_symbol
from fpdf import FPDF
from fpdf.enums import Align, TableBordersLayout, VAlign, XPos, YPos
from fpdf.fonts import FontFace

from app.errors import InvalidInput
from app.money import Money, format_money
from app.receipts.document import ReceiptDocument, ReceiptLine

_ENCODING = "windows-1252"
_FALLBACK_LOCALE = "en"
_FONT = "Helvetica"
_MARGIN = 18.0
_LINE = 5.0  # mm per line of 10 pt text
_COLUMNS = (104.0, 16.0, 27.0, 27.0)  # item, qty, unit price, line total: 174 mm
_GREY = (110, 110, 110)
# A row taller than a page cannot be laid out; a name this long is clipped, never lost
# silently: the ellipsis shows it was cut. Product names are at most 200 in the catalog.
_MAX_NAME = 200
_CLOSING_HEIGHT = 40.0  # payment facts and the thanks below the totals


class _ReceiptPdf(FPDF):
    def __init__(self, number: str) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self._number = number

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(_FONT, size=8)
        self.set_text_color(*_GREY)
        self.cell(0, 4, f"{self._number}  ·  {self.page_no()}/{{nb}}", align=Align.C)


def render_pdf(doc: ReceiptDocument, *, locale: str) -> bytes:
    """The receipt as PDF bytes; ``locale`` ("en_IN" or "en-IN") formats money and dates."""
    babel_locale = _babel_locale(locale)
    pdf = _new_pdf(doc, babel_locale)
    _header(pdf, doc, babel_locale)
    _items(pdf, doc, babel_locale)
    _totals(pdf, doc, babel_locale)
    _payment(pdf, doc)
    return bytes(pdf.output())


def _babel_locale(locale: str) -> str:
    tag = locale.replace("-", "_")
    try:
        Locale.parse(tag)
    except (UnknownLocaleError, ValueError):
        raise InvalidInput(f"Unknown locale {locale!r}.", field="locale") from None
    return tag


def _new_pdf(doc: ReceiptDocument, locale: str) -> _ReceiptPdf:
    pdf = _ReceiptPdf(doc.number)
    pdf.core_fonts_encoding = _ENCODING
    pdf.set_margins(_MARGIN, _MARGIN, _MARGIN)
    pdf.set_auto_page_break(auto=True, margin=_MARGIN)
    pdf.set_title(doc.number)
    pdf.set_creator(doc.shop_name)
    pdf.set_author(doc.shop_name)
    pdf.set_subject(f"Receipt for order #{doc.order_number}")
    pdf.set_lang(locale.replace("_", "-"))
    pdf.set_creation_date(doc.issued_at)
    pdf.add_page()
    return pdf


def _header(pdf: FPDF, doc: ReceiptDocument, locale: str) -> None:
    pdf.set_font(_FONT, style="B", size=16)
    _paragraph(pdf, doc.shop_name, height=7)
    pdf.set_font(_FONT, size=9)
    pdf.set_text_color(*_GREY)
    if doc.shop_address:
        _paragraph(pdf, doc.shop_address, height=4.5)
    if doc.shop_tax_id:
        _paragraph(pdf, f"Tax ID: {doc.shop_tax_id}", height=4.5)
    pdf.set_text_color(0)
    pdf.ln(6)
    pdf.set_font(_FONT, style="B", size=14)
    _paragraph(pdf, f"Receipt {doc.number}", height=7)
    pdf.ln(2)
    pdf.set_font(_FONT, size=10)
    for label, value in _facts(doc, locale):
        _fact(pdf, label, value)
    pdf.ln(5)


def _facts(doc: ReceiptDocument, locale: str) -> list[tuple[str, str]]:
    facts = [("Order", f"#{doc.order_number}"), ("Paid", _datetime_text(doc.paid_at, locale))]
    customer = ", ".join(
        part for part in (doc.customer_name, _phone_text(doc.customer_phone)) if part
    )
    if customer:
        facts.append(("Customer", customer))
    if doc.fulfilment == "delivery":
        facts.append(("Delivery to", doc.delivery_address or "-"))
    elif doc.fulfilment == "pickup":
        facts.append(("Pickup", "Collect at the shop"))
    return facts


def _fact(pdf: FPDF, label: str, value: str) -> None:
    label_width = 28.0
    pdf.set_text_color(*_GREY)
    pdf.cell(label_width, _LINE, _pdf_text(label))
    pdf.set_text_color(0)
    pdf.multi_cell(
        pdf.epw - label_width, _LINE, _pdf_text(value), new_x=XPos.LMARGIN, new_y=YPos.NEXT
    )


def _items(pdf: FPDF, doc: ReceiptDocument, locale: str) -> None:
    pdf.set_font(_FONT, size=10)
    with pdf.table(
        col_widths=_COLUMNS,
        width=sum(_COLUMNS),
        text_align=(Align.L, Align.R, Align.R, Align.R),
        v_align=VAlign.T,
        borders_layout=TableBordersLayout.HORIZONTAL_LINES,
        headings_style=FontFace(emphasis="BOLD"),
        line_height=_LINE,
        padding=(1.5, 1.0),
        repeat_headings=1,
    ) as table:
        table.row(("Item", "Qty", "Unit price", "Total"))
        for line in doc.lines:
            table.row(_item_cells(line, doc, locale))
    pdf.ln(3)


def _item_cells(line: ReceiptLine, doc: ReceiptDocument, locale: str) -> tuple[str, ...]:
    # Shelf price times quantity: gross when prices include tax, net when tax is added.
    line_total = line.gross if doc.prices_include_tax else line.net
    return (
        _pdf_text(f"{_clip(line.name)}\nSKU {_clip(line.sku)}"),
        str(line.quantity),
        _money_text(line.unit_price, doc.currency, locale),
        _money_text(line_total, doc.currency, locale),
    )


def _totals(pdf: FPDF, doc: ReceiptDocument, locale: str) -> None:
    rows = _total_rows(doc)
    # Totals, payment and thanks stay on one page rather than splitting after "Subtotal".
    if pdf.will_page_break(6 * len(rows) + _CLOSING_HEIGHT):
        pdf.add_page()
    for label, amount, bold in rows:
        pdf.set_font(_FONT, style="B" if bold else "", size=11 if bold else 10)
        value = _money_text(amount, doc.currency, locale)
        pdf.cell(sum(_COLUMNS[:3]), 6, label, align=Align.R)
        pdf.cell(_COLUMNS[3], 6, value, align=Align.R, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(6)


def _total_rows(doc: ReceiptDocument) -> list[tuple[str, int, bool]]:
    """Label, amount, emphasis. With tax-inclusive prices the subtotal is what the lines
    show (net + tax) and the tax is reported as contained in the total."""
    rows: list[tuple[str, int, bool]] = []
    if doc.prices_include_tax:
        rows.append(("Subtotal", doc.subtotal + doc.tax, False))
    else:
        rows += [("Subtotal", doc.subtotal, False), ("Tax", doc.tax, False)]
    if doc.fulfilment == "delivery" or doc.delivery_fee:
        rows.append(("Delivery", doc.delivery_fee, False))
    rows.append(("Total", doc.total, True))
    if doc.prices_include_tax:
        rows.append(("Incl. tax", doc.tax, False))
    return rows


def _payment(pdf: FPDF, doc: ReceiptDocument) -> None:
    pdf.set_font(_FONT, size=10)
    _fact(pdf, "Paid by", doc.payment_method)
    _fact(pdf, "Reference", doc.payment_reference)
    pdf.ln(10)
    pdf.set_font(_FONT, style="B", size=12)
    pdf.cell(0, 6, "Thank you", align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _paragraph(pdf: FPDF, text: str, *, height: float) -> None:
    pdf.multi_cell(0, height, _pdf_text(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _clip(text: str) -> str:
    return text if len(text) <= _MAX_NAME else text[: _MAX_NAME - 1] + "…"


def _phone_text(digits: str | None) -> str | None:
    if not digits:
        return None
    try:
        number = phonenumbers.parse(f"+{digits}")
    except phonenumbers.NumberParseException:
        return f"+{digits}"
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def _datetime_text(moment: datetime, locale: str) -> str:
    """Long format, which ends with the zone: "15 January 2026, 3:04:05 PM IST"."""
    text = str(format_datetime(moment, "long", locale=locale))
    if _fits(text):
        return _pdf_text(text)
    return _pdf_text(str(format_datetime(moment, "long", locale=_FALLBACK_LOCALE)))


def _money_text(amount: int, currency: str, locale: str) -> str:
    money = Money(amount, currency)
    text = _with_iso_code(format_money(money, locale), currency, locale)
    if _fits(text):
        return _pdf_text(text)
    return _pdf_text(_with_iso_code(format_money(money, _FALLBACK_LOCALE), currency, "en"))


_CODE_NEXT_TO_DIGIT = re.compile(r"(?<=\d)(?=[A-Z]{3})|(?<=[A-Z]{3})(?=\d)")


def _with_iso_code(text: str, currency: str, locale: str) -> str:
    symbol = str(get_currency_symbol(currency, locale=locale))
    if _fits(symbol):
        return text
    # CLDR's currency spacing: a code, unlike a sign, is kept apart from the digits.
    return _CODE_NEXT_TO_DIGIT.sub("\xa0", text.replace(symbol, currency))


def _fits(text: str) -> bool:
    return all(_cp1252_form(char) is not None for char in unicodedata.normalize("NFC", text))


def _pdf_text(text: str) -> str:
    """``text`` in characters Helvetica can show, "?" for those it cannot."""
    forms = (_cp1252_form(char) for char in unicodedata.normalize("NFC", text))
    return "".join("?" if form is None else form for form in forms)


def _cp1252_form(char: str) -> str | None:
    """The char, its printable stand-in, or None if it has none.

    Invisible marks become "" and control characters a space (a newline stays a line break).
    """
    if unicodedata.category(char) == "Cc" and char != "\n":
        return " "
    if _encodable(char):
        return char
    # Bidi and zero-width marks, emoji variation selectors, stray combining accents.
    if unicodedata.category(char) in {"Cf", "Mn", "Me"}:
        return ""
    # Compatibility forms and accented letters: "\u202f" -> " ", "￥" -> "¥", "ą" -> "a".
    decomposed = unicodedata.normalize("NFKD", char)
    folded = "".join(part for part in decomposed if not unicodedata.combining(part))
    if folded and folded != char and _encodable(folded):
        return unicodedata.normalize("NFC", folded)
    return None


def _encodable(text: str) -> bool:
    try:
        text.encode(_ENCODING)
    except UnicodeEncodeError:
        return False
    return True
