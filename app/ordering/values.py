"""Plain values of the ordering domain shared by the tables and the use cases."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


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


@dataclass(frozen=True, slots=True)
class ShopTerms:
    """The shop's selling terms an order is placed under (from settings)."""

    currency: str
    prices_include_tax: bool
    delivery_fee: int
    payment_minutes: int
