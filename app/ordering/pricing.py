"""Cart pricing in integer minor units.

Tax is computed once per line, on the line total, and rounded half-up to the minor unit;
cart totals are plain sums of the rounded lines, so a receipt always adds up.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from app.errors import InvalidInput
from app.money import require_currency

BASIS_POINTS = 10_000  # 100 % as a tax rate in basis points


@dataclass(frozen=True, slots=True)
class LineInput:
    sku: str
    name: str
    unit_price: int  # minor units, net or gross depending on the shop's setting
    tax_rate_bp: int  # 1600 is 16 %
    quantity: int


@dataclass(frozen=True, slots=True)
class PricedLine:
    """A line with its totals in minor units; ``net + tax == gross``."""

    sku: str
    name: str
    unit_price: int
    tax_rate_bp: int
    quantity: int
    net: int
    tax: int
    gross: int


@dataclass(frozen=True, slots=True)
class CartTotals:
    """``subtotal`` and ``tax`` sum the lines; ``total == subtotal + tax + delivery_fee``."""

    currency: str
    lines: tuple[PricedLine, ...]
    subtotal: int
    tax: int
    delivery_fee: int
    total: int

    @property
    def items_gross(self) -> int:
        return sum(line.gross for line in self.lines)


def round_half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded to the nearest integer, halves up; exact."""
    if numerator < 0 or denominator <= 0:
        raise ValueError("round_half_up needs numerator >= 0 and denominator > 0")
    return (2 * numerator + denominator) // (2 * denominator)


def _validate_line(line: LineInput) -> None:
    if line.quantity <= 0:
        raise InvalidInput(f"Quantity of {line.sku} must be at least 1.", field="quantity")
    if line.unit_price < 0:
        raise InvalidInput(f"Unit price of {line.sku} must not be negative.", field="unit_price")
    if not 0 <= line.tax_rate_bp <= BASIS_POINTS:
        raise InvalidInput(
            f"Tax rate of {line.sku} must be between 0 and {BASIS_POINTS} basis points.",
            field="tax_rate_bp",
        )


def price_line(line: LineInput, *, prices_include_tax: bool) -> PricedLine:
    """Price one line.

    Tax-exclusive: ``unit_price`` is net and tax is added on top. Tax-inclusive:
    ``unit_price`` is what the customer pays and the tax inside it is split out, so the
    gross is exactly the shelf price times the quantity.
    """
    _validate_line(line)
    rate = line.tax_rate_bp
    if prices_include_tax:
        gross = line.unit_price * line.quantity
        tax = round_half_up(gross * rate, BASIS_POINTS + rate)
        net = gross - tax
    else:
        net = line.unit_price * line.quantity
        tax = round_half_up(net * rate, BASIS_POINTS)
        gross = net + tax
    return PricedLine(
        sku=line.sku,
        name=line.name,
        unit_price=line.unit_price,
        tax_rate_bp=rate,
        quantity=line.quantity,
        net=net,
        tax=tax,
        gross=gross,
    )


def _refuse_duplicate_skus(lines: Sequence[LineInput]) -> None:
    seen: set[str] = set()
    for line in lines:
        if line.sku in seen:
            raise InvalidInput(
                f"{line.sku} appears on two lines; merge them into one quantity.", field="sku"
            )
        seen.add(line.sku)


def price_cart(
    lines: Sequence[LineInput], *, currency: str, prices_include_tax: bool, delivery_fee: int
) -> CartTotals:
    """Price a cart. The delivery fee is added after tax and is not taxed.

    An empty cart prices to just the delivery fee; refusing empty orders is the caller's
    decision, not a pricing rule.
    """
    require_currency(currency)
    if delivery_fee < 0:
        raise InvalidInput("Delivery fee must not be negative.", field="delivery_fee")
    _refuse_duplicate_skus(lines)
    priced = tuple(price_line(line, prices_include_tax=prices_include_tax) for line in lines)
    subtotal = sum(line.net for line in priced)
    tax = sum(line.tax for line in priced)
    return CartTotals(
        currency=currency,
        lines=priced,
        subtotal=subtotal,
        tax=tax,
        delivery_fee=delivery_fee,
        total=subtotal + tax + delivery_fee,
    )
