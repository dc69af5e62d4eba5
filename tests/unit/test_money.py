from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.errors import CurrencyMismatch, InvalidInput
from app.money import (
    MAX_MINOR_UNITS,
    Money,
    currency_exponent,
    format_money,
    parse_amount,
    to_decimal,
)

amounts = st.integers(min_value=-(10**15), max_value=10**15)


@pytest.mark.parametrize(("currency", "exponent"), [("JPY", 0), ("USD", 2), ("KWD", 3)])
def test_currency_exponent(currency: str, exponent: int) -> None:
    assert currency_exponent(currency) == exponent


@pytest.mark.parametrize("currency", ["ABC", "usd", "", "US"])
def test_unknown_currency_is_invalid(currency: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        currency_exponent(currency)
    assert caught.value.field == "currency"


def test_money_refuses_unknown_currency() -> None:
    with pytest.raises(InvalidInput):
        Money(100, "usd")


@pytest.mark.parametrize("amount", [1.5, Decimal(1), "100", True])
def test_money_amount_must_be_an_int(amount: object) -> None:
    with pytest.raises(InvalidInput) as caught:
        Money(amount, "USD")  # type: ignore[arg-type]
    assert caught.value.field == "amount"


def test_arithmetic() -> None:
    a, b = Money(1050, "USD"), Money(250, "USD")
    assert a + b == Money(1300, "USD")
    assert a - b == Money(800, "USD")
    assert b - a == Money(-800, "USD")
    assert a * 3 == Money(3150, "USD")
    assert 3 * a == Money(3150, "USD")
    assert -a == Money(-1050, "USD")


def test_mixing_currencies_raises() -> None:
    usd, eur = Money(100, "USD"), Money(100, "EUR")
    with pytest.raises(CurrencyMismatch):
        usd + eur
    with pytest.raises(CurrencyMismatch):
        usd - eur
    with pytest.raises(CurrencyMismatch):
        _ = usd < eur


def test_equal_amounts_in_different_currencies_are_not_equal() -> None:
    assert Money(100, "USD") != Money(100, "EUR")


def test_multiplying_by_a_non_int_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        Money(100, "USD") * 1.5  # type: ignore[operator]
    with pytest.raises(TypeError):
        Money(100, "USD") + 1  # type: ignore[operator]


def test_ordering() -> None:
    small, big = Money(1, "USD"), Money(2, "USD")
    assert small < big
    assert small <= big
    assert small <= Money(1, "USD")
    assert big > small
    assert big >= small
    assert max(small, big) == big


def test_zero() -> None:
    assert Money.zero("KWD") == Money(0, "KWD")
    assert Money.zero("KWD").is_zero
    assert not Money(1, "KWD").is_zero


def test_money_is_hashable_and_frozen() -> None:
    money = Money(100, "USD")
    assert {money, Money(100, "USD")} == {money}
    with pytest.raises(AttributeError):
        money.amount = 5  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [
        ("12.5", "USD", 1250),
        ("12.50", "USD", 1250),
        (" 12 ", "USD", 1200),
        ("0.01", "USD", 1),
        ("0", "USD", 0),
        (".5", "USD", 50),
        ("1500", "JPY", 1500),
        ("12.00", "JPY", 12),
        ("1.005", "KWD", 1005),
        (Decimal("12.5"), "USD", 1250),
        (12, "USD", 1200),
        (12, "JPY", 12),
        ("92233720368547758.07", "USD", MAX_MINOR_UNITS),
    ],
)
def test_parse_amount(text: str | Decimal | int, currency: str, minor: int) -> None:
    assert parse_amount(text, currency) == minor


@pytest.mark.parametrize(
    ("text", "currency", "problem"),
    [
        ("-1", "USD", "negative"),
        (Decimal("-0.01"), "USD", "negative"),
        ("NaN", "USD", "finite"),
        ("Infinity", "USD", "finite"),
        ("1.005", "USD", "at most 2 decimal places"),
        ("1234567890123456.0000000000000001", "USD", "at most 2 decimal places"),
        ("1E-999999999", "USD", "at most 2 decimal places"),
        ("12.5", "JPY", "no decimal places"),
        ("1.0005", "KWD", "at most 3 decimal places"),
        ("twelve", "USD", "not a number"),
        ("", "USD", "not a number"),
        ("12,50", "USD", "not a number"),
        ("92233720368547758.08", "USD", "too large"),
        ("1e999999999", "USD", "too large"),
    ],
)
def test_parse_amount_rejects(text: str | Decimal, currency: str, problem: str) -> None:
    with pytest.raises(InvalidInput, match=problem) as caught:
        parse_amount(text, currency)
    assert caught.value.field == "amount"


def test_parse_amount_rejects_bool() -> None:
    with pytest.raises(InvalidInput):
        parse_amount(True, "USD")


def test_parse_amount_rejects_unknown_currency() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_amount("1", "XYZ")
    assert caught.value.field == "currency"


@pytest.mark.parametrize(
    ("money", "locale", "text"),
    [
        (Money(123456, "USD"), "en_US", "$1,234.56"),
        (Money(123456, "USD"), "en-US", "$1,234.56"),
        (Money(123456, "USD"), "de_DE", "1.234,56\xa0$"),
        (Money(123456, "EUR"), "de_DE", "1.234,56\xa0€"),
        (Money(1234, "JPY"), "en_US", "¥1,234"),
        (Money(1234, "KWD"), "en_US", "KWD1.234"),
        (Money(5, "USD"), "en_US", "$0.05"),
        (Money(-150, "USD"), "en_US", "-$1.50"),
    ],
)
def test_format_money(money: Money, locale: str, text: str) -> None:
    assert format_money(money, locale) == text


def test_format_money_unknown_locale() -> None:
    with pytest.raises(InvalidInput) as caught:
        format_money(Money(1, "USD"), "xx_YY")
    assert caught.value.field == "locale"


@pytest.mark.parametrize(
    ("money", "decimal"),
    [
        (Money(1250, "USD"), Decimal("12.50")),
        (Money(-1, "USD"), Decimal("-0.01")),
        (Money(1250, "JPY"), Decimal(1250)),
        (Money(1250, "KWD"), Decimal("1.250")),
    ],
)
def test_to_decimal(money: Money, decimal: Decimal) -> None:
    assert to_decimal(money) == decimal


def test_to_decimal_is_exact_beyond_decimal_precision() -> None:
    assert str(to_decimal(Money(10**40 + 1, "USD"))) == "1" + "0" * 38 + ".01"


@given(amounts, amounts)
def test_add_then_subtract_round_trips(a: int, b: int) -> None:
    x, y = Money(a, "USD"), Money(b, "USD")
    assert (x + y) - y == x
    assert (x - y) + y == x
    assert x + (-x) == Money.zero("USD")


@given(st.integers(min_value=0, max_value=10**15), st.sampled_from(["JPY", "USD", "KWD"]))
def test_parse_amount_round_trips_to_decimal(minor: int, currency: str) -> None:
    assert parse_amount(to_decimal(Money(minor, currency)), currency) == minor
    assert parse_amount(str(to_decimal(Money(minor, currency))), currency) == minor
