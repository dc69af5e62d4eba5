"""Money as an integer count of the currency's minor unit (cents, fils, yen).

Integers keep totals exact; ``Decimal`` appears only at the edges, when parsing what a
person typed and when formatting for a person to read.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, DecimalException
from functools import cache

from babel import numbers as babel_numbers
from babel.core import UnknownLocaleError

from app.errors import CurrencyMismatch, InvalidInput

# The widest signed 64-bit integer: a bound for any stored amount, and it stops a typed
# "1e999999999" from becoming a billion-digit integer.
MAX_MINOR_UNITS = 2**63 - 1


@cache
def _known_currencies() -> frozenset[str]:
    return frozenset(babel_numbers.list_currencies())


def require_currency(currency: str) -> str:
    """Return ``currency`` if it is an upper-case ISO 4217 code babel knows."""
    if currency not in _known_currencies():
        raise InvalidInput(
            f"Unknown currency {currency!r}: expected an upper-case ISO 4217 code such as 'USD'.",
            field="currency",
        )
    return currency


def currency_exponent(currency: str) -> int:
    """Number of decimal places of the minor unit: JPY 0, USD 2, KWD 3."""
    return int(babel_numbers.get_currency_precision(require_currency(currency)))


def _is_int(value: object) -> bool:
    # bool is an int subclass, but True dollars is always a bug.
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True, slots=True)
class Money:
    """An amount in minor units of ``currency``. Negative amounts are allowed (refunds)."""

    amount: int
    currency: str

    def __post_init__(self) -> None:
        if not _is_int(self.amount):
            raise InvalidInput(
                f"Money amounts are whole minor units, got {self.amount!r}.", field="amount"
            )
        require_currency(self.currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    @property
    def is_zero(self) -> bool:
        return self.amount == 0

    def _same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            raise CurrencyMismatch(
                f"Cannot combine {self.currency} with {other.currency}.", field="currency"
            )

    def __add__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other)
        return Money(self.amount - other.amount, self.currency)

    def __mul__(self, factor: int) -> Money:
        if not _is_int(factor):
            return NotImplemented
        return Money(self.amount * factor, self.currency)

    def __rmul__(self, factor: int) -> Money:
        return self.__mul__(factor)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same_currency(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same_currency(other)
        return self.amount <= other.amount

    def __gt__(self, other: Money) -> bool:
        self._same_currency(other)
        return self.amount > other.amount

    def __ge__(self, other: Money) -> bool:
        self._same_currency(other)
        return self.amount >= other.amount


def to_decimal(money: Money) -> Decimal:
    """The amount in major units, exactly: Money(1250, "USD") -> Decimal("12.50")."""
    # Built from a string so no decimal context can round it.
    return Decimal(f"{money.amount}E-{currency_exponent(money.currency)}")


def _as_decimal(value: str | Decimal | int) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if _is_int(value):
        return Decimal(value)
    if not isinstance(value, str):
        raise InvalidInput(f"Amount must be text or a number, got {value!r}.", field="amount")
    try:
        return Decimal(value.strip())
    except DecimalException:
        raise InvalidInput(f"{value!r} is not a number.", field="amount") from None


def parse_amount(value: str | Decimal | int, currency: str) -> int:
    """Major units as typed ("12.5", Decimal("12.5"), 12) to minor units (1250 for USD).

    Refuses negative, non-finite and too-precise amounts ("1.005" USD) instead of
    rounding them: a customer's or merchant's figure is never silently changed.
    Trailing zeros are harmless ("12.00" JPY is 12).
    """
    exponent = currency_exponent(currency)
    amount = _as_decimal(value)
    if not amount.is_finite():
        raise InvalidInput(f"Amount must be a finite number, got {value!r}.", field="amount")
    if amount < 0:
        raise InvalidInput(f"Amount must not be negative, got {value!r}.", field="amount")
    if amount.is_zero():
        return 0
    if amount.adjusted() + exponent >= len(str(MAX_MINOR_UNITS)):
        raise InvalidInput(f"Amount {value!r} is too large.", field="amount")
    minor = _exact_minor_units(amount, exponent)
    if minor is None:
        raise InvalidInput(
            f"{currency} amounts have {_decimal_places(exponent)}, got {value!r}.", field="amount"
        )
    if minor > MAX_MINOR_UNITS:
        raise InvalidInput(f"Amount {value!r} is too large.", field="amount")
    return minor


def _decimal_places(exponent: int) -> str:
    if exponent == 0:
        return "no decimal places"
    return f"at most {exponent} decimal place{'s' if exponent > 1 else ''}"


def _exact_minor_units(amount: Decimal, exponent: int) -> int | None:
    """``amount`` × 10**exponent if that is a whole number, else None.

    Works on the digits: Decimal arithmetic would round to the context's 28 digits.
    """
    _, digit_tuple, power = amount.as_tuple()
    digits = "".join(map(str, digit_tuple))
    shift = int(power) + exponent
    if shift >= 0:
        return int(digits + "0" * shift)
    trailing_zeros = len(digits) - len(digits.rstrip("0"))
    if trailing_zeros < -shift:
        return None
    return int(digits[:shift])


def format_money(money: Money, locale: str) -> str:
    """Money for people: Money(123456, "USD") is "$1,234.56" in en_US, "1.234,56 $" in de_DE."""
    # BCP 47 tags (Accept-Language, WhatsApp profiles) use "-", babel wants "_".
    babel_locale = locale.replace("-", "_")
    try:
        text = babel_numbers.format_currency(to_decimal(money), money.currency, locale=babel_locale)
    except (UnknownLocaleError, ValueError):
        raise InvalidInput(f"Unknown locale {locale!r}.", field="locale") from None
    return str(text)
