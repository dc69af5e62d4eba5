"""Plain values of the ordering domain shared by the tables and the use cases."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

# What one order may hold: distinct items, and units of one item.
MAX_LINES = 50
MAX_QUANTITY = 1000


class Fulfilment(StrEnum):
    DELIVERY = "delivery"
    PICKUP = "pickup"


@dataclass(frozen=True, slots=True)
class CartLine:
    sku: str
    quantity: int


@dataclass(frozen=True, slots=True)
class Destination:
    """Where a delivery goes: a typed address, a shared location, or both."""

    address: str | None = None
    latitude: float | None = None
    longitude: float | None = None

    @property
    def is_empty(self) -> bool:
        return not (self.address and self.address.strip()) and self.latitude is None

    def problem(self) -> str | None:
        """What is wrong with this destination, in words for the customer; None if fine."""
        if self.is_empty:
            return "A delivery needs an address or a shared location."
        if (self.latitude is None) != (self.longitude is None):
            return "A location needs both a latitude and a longitude."
        if self.latitude is not None and not -90 <= self.latitude <= 90:
            return "Latitude must be between -90 and 90."
        if self.longitude is not None and not -180 <= self.longitude <= 180:
            return "Longitude must be between -180 and 180."
        if self.address is not None and len(self.address) > 500:
            return "The address is longer than 500 characters."
        return None


@dataclass(frozen=True, slots=True)
class ShopTerms:
    """The shop's selling terms an order is placed under (from settings)."""

    currency: str
    prices_include_tax: bool
    delivery_fee: int
    payment_minutes: int
