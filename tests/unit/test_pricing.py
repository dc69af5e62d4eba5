import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.errors import InvalidInput
from app.ordering.pricing import (
    CartTotals,
    LineInput,
    PricedLine,
    price_cart,
    price_line,
    round_half_up,
)


def line(
    sku: str = "TEA", *, unit_price: int = 333, tax_rate_bp: int = 1600, quantity: int = 3
) -> LineInput:
    return LineInput(
        sku=sku, name=sku.title(), unit_price=unit_price, tax_rate_bp=tax_rate_bp, quantity=quantity
    )


@pytest.mark.parametrize(
    ("numerator", "denominator", "rounded"),
    [
        (0, 7, 0),
        (10, 5, 2),
        (4, 10, 0),
        (5, 10, 1),  # exact half goes up
        (15, 10, 2),
        (25, 10, 3),
        (6, 10, 1),
        (14, 10, 1),
        (1, 3, 0),
        (2, 3, 1),
        (10**30 + 5, 10, 10**29 + 1),
    ],
)
def test_round_half_up(numerator: int, denominator: int, rounded: int) -> None:
    assert round_half_up(numerator, denominator) == rounded


@pytest.mark.parametrize(("numerator", "denominator"), [(-1, 10), (1, 0), (1, -10)])
def test_round_half_up_needs_non_negative_input(numerator: int, denominator: int) -> None:
    with pytest.raises(ValueError):
        round_half_up(numerator, denominator)


def test_exclusive_line_adds_tax_on_the_line_total() -> None:
    priced = price_line(line(unit_price=333, quantity=3), prices_include_tax=False)
    # 999 × 16 % = 159.84 on the line; per unit it would have been 3 × 53 = 159.
    assert (priced.net, priced.tax, priced.gross) == (999, 160, 1159)


def test_inclusive_line_splits_tax_out_of_the_gross() -> None:
    priced = price_line(line(unit_price=1160, quantity=1), prices_include_tax=True)
    assert (priced.net, priced.tax, priced.gross) == (1000, 160, 1160)


def test_inclusive_line_keeps_the_shelf_price() -> None:
    priced = price_line(line(unit_price=999, quantity=3), prices_include_tax=True)
    # 2997 × 1600 / 11600 = 413.38 → 413
    assert (priced.net, priced.tax, priced.gross) == (2584, 413, 2997)


def test_exclusive_tax_at_exact_half_rounds_up() -> None:
    # 50 × 1 % = 0.5 → 1
    priced = price_line(line(unit_price=50, tax_rate_bp=100, quantity=1), prices_include_tax=False)
    assert (priced.tax, priced.gross) == (1, 51)


def test_inclusive_tax_at_exact_half_rounds_up() -> None:
    # 11 × 10000 / 20000 = 5.5 → 6
    priced = price_line(line(unit_price=11, tax_rate_bp=10000, quantity=1), prices_include_tax=True)
    assert (priced.tax, priced.net) == (6, 5)


def test_line_keeps_its_input_fields() -> None:
    priced = price_line(line("COFFEE", unit_price=250, quantity=2), prices_include_tax=False)
    assert (priced.sku, priced.name, priced.unit_price, priced.tax_rate_bp, priced.quantity) == (
        "COFFEE",
        "Coffee",
        250,
        1600,
        2,
    )


def test_zero_rate_and_zero_price() -> None:
    free = price_line(line(unit_price=0), prices_include_tax=False)
    untaxed = price_line(line(unit_price=500, tax_rate_bp=0), prices_include_tax=True)
    assert (free.net, free.tax, free.gross) == (0, 0, 0)
    assert (untaxed.net, untaxed.tax, untaxed.gross) == (1500, 0, 1500)


def test_cart_totals() -> None:
    totals = price_cart(
        [line("TEA", unit_price=333, quantity=3), line("CAKE", unit_price=450, quantity=1)],
        currency="USD",
        prices_include_tax=False,
        delivery_fee=300,
    )
    assert totals.currency == "USD"
    assert [priced.sku for priced in totals.lines] == ["TEA", "CAKE"]
    assert totals.subtotal == 999 + 450
    assert totals.tax == 160 + 72
    assert totals.items_gross == 1159 + 522
    assert totals.delivery_fee == 300
    assert totals.total == 1159 + 522 + 300


def test_delivery_fee_is_not_taxed() -> None:
    with_fee = price_cart([line()], currency="USD", prices_include_tax=False, delivery_fee=1000)
    without = price_cart([line()], currency="USD", prices_include_tax=False, delivery_fee=0)
    assert with_fee.tax == without.tax
    assert with_fee.total == without.total + 1000


def test_empty_cart_costs_the_delivery_fee() -> None:
    totals = price_cart([], currency="KES", prices_include_tax=True, delivery_fee=200)
    assert totals == CartTotals(
        currency="KES", lines=(), subtotal=0, tax=0, delivery_fee=200, total=200
    )
    assert totals.items_gross == 0


@pytest.mark.parametrize(
    ("bad_line", "field"),
    [
        (line(quantity=0), "quantity"),
        (line(quantity=-1), "quantity"),
        (line(unit_price=-1), "unit_price"),
        (line(tax_rate_bp=-1), "tax_rate_bp"),
        (line(tax_rate_bp=10001), "tax_rate_bp"),
    ],
)
def test_invalid_line_is_refused(bad_line: LineInput, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        price_cart([bad_line], currency="USD", prices_include_tax=False, delivery_fee=0)
    assert caught.value.field == field
    with pytest.raises(InvalidInput):
        price_line(bad_line, prices_include_tax=True)


def test_full_tax_rate_is_allowed() -> None:
    priced = price_line(
        line(unit_price=100, tax_rate_bp=10000, quantity=1), prices_include_tax=False
    )
    assert (priced.tax, priced.gross) == (100, 200)


def test_negative_delivery_fee_is_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        price_cart([line()], currency="USD", prices_include_tax=False, delivery_fee=-1)
    assert caught.value.field == "delivery_fee"


def test_same_sku_twice_is_refused() -> None:
    with pytest.raises(InvalidInput, match="TEA") as caught:
        price_cart(
            [line("TEA", quantity=1), line("CAKE"), line("TEA", quantity=2)],
            currency="USD",
            prices_include_tax=False,
            delivery_fee=0,
        )
    assert caught.value.field == "sku"


def test_unknown_currency_is_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        price_cart([line()], currency="XYZ", prices_include_tax=False, delivery_fee=0)
    assert caught.value.field == "currency"


# Properties

prices = st.integers(min_value=0, max_value=10**9)
quantities = st.integers(min_value=1, max_value=1000)
rates = st.integers(min_value=0, max_value=10000)


@st.composite
def carts(draw: st.DrawFn) -> list[LineInput]:
    count = draw(st.integers(min_value=0, max_value=8))
    return [
        LineInput(
            sku=f"SKU-{index}",
            name=f"Item {index}",
            unit_price=draw(prices),
            tax_rate_bp=draw(rates),
            quantity=draw(quantities),
        )
        for index in range(count)
    ]


def assert_line_adds_up(priced: PricedLine) -> None:
    assert priced.net + priced.tax == priced.gross
    assert 0 <= priced.tax <= priced.gross


@given(carts(), st.booleans(), st.integers(min_value=0, max_value=10**6))
def test_totals_are_the_sum_of_the_lines(
    lines: list[LineInput], inclusive: bool, delivery_fee: int
) -> None:
    totals = price_cart(
        lines, currency="USD", prices_include_tax=inclusive, delivery_fee=delivery_fee
    )
    for priced in totals.lines:
        assert_line_adds_up(priced)
    assert totals.subtotal == sum(priced.net for priced in totals.lines)
    assert totals.tax == sum(priced.tax for priced in totals.lines)
    assert totals.items_gross == totals.subtotal + totals.tax
    assert totals.total == totals.subtotal + totals.tax + totals.delivery_fee
    assert [priced.sku for priced in totals.lines] == [given.sku for given in lines]


@given(prices, quantities, rates, st.booleans())
def test_line_net_plus_tax_is_gross(price: int, quantity: int, rate: int, inclusive: bool) -> None:
    priced = price_line(
        line(unit_price=price, tax_rate_bp=rate, quantity=quantity),
        prices_include_tax=inclusive,
    )
    assert_line_adds_up(priced)
    expected_total = priced.gross if inclusive else priced.net
    assert expected_total == price * quantity


@given(prices, quantities, rates)
def test_inclusive_and_exclusive_agree_on_the_net(price: int, quantity: int, rate: int) -> None:
    exclusive = price_line(
        line(unit_price=price, tax_rate_bp=rate, quantity=quantity), prices_include_tax=False
    )
    inclusive = price_line(
        line(unit_price=exclusive.gross, tax_rate_bp=rate, quantity=1), prices_include_tax=True
    )
    assert inclusive.net == price * quantity
    assert inclusive.tax == exclusive.tax
