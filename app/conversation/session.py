"""The conversation state kept between two messages of one customer (stored as JSON)."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from typing import Any

from app.ordering.values import Destination, Fulfilment


class Step(StrEnum):
    """Where the customer is; it decides what typed text and "Back" mean."""

    MENU = "menu"
    CATEGORIES = "categories"  # list of categories
    PRODUCTS = "products"  # products of one category
    SEARCH = "search"  # search results
    PRODUCT = "product"  # one product's detail
    QUANTITY = "quantity"  # typing how many to add
    CART = "cart"
    CART_EDIT = "cart_edit"  # choosing a cart line to change
    LINE = "line"  # typing a new quantity for one line, or removing it
    FULFILMENT = "fulfilment"  # delivery or pickup
    ADDRESS = "address"  # typing an address or sharing a location
    CONFIRM = "confirm"  # the order summary, waiting for Confirm
    AWAITING_PAYMENT = "awaiting_payment"
    ORDERS = "orders"  # order status, history and cancel prompts
    HANDOVER = "handover"  # a person answers; the bot is silent


@dataclass(slots=True)
class CartItem:
    sku: str
    quantity: int


@dataclass(slots=True)
class Session:
    step: Step = Step.MENU
    cart: list[CartItem] = field(default_factory=list)
    # What list the customer browses: a category or a search (never both), and the page.
    category: str | None = None
    query: str | None = None
    results: list[str] = field(default_factory=list)  # SKUs the search found
    page: int = 0
    sku: str | None = None  # the product on screen, or the cart line being changed
    fulfilment: Fulfilment | None = None
    address: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    note: str = ""  # the customer's note from a catalog cart
    order_number: int | None = None  # the last order placed or shown
    # (id, title) of the choices in the last reply, so typing a title or its number
    # works like tapping it.
    options: list[tuple[str, str]] = field(default_factory=list)
    greeted: bool = False

    @classmethod
    def new(cls) -> Session:
        return cls()

    @property
    def destination(self) -> Destination | None:
        if self.fulfilment is not Fulfilment.DELIVERY:
            return None
        return Destination(address=self.address, latitude=self.latitude, longitude=self.longitude)

    def quantity_of(self, sku: str) -> int:
        return next((item.quantity for item in self.cart if item.sku == sku), 0)

    def copy(self) -> Session:
        return Session.from_json(self.to_json())

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Session:
        """Read a stored session. Unknown keys are ignored and missing or malformed ones
        take their defaults, so sessions written by an older or newer release still load.
        Raises ``ValueError`` only when ``text`` is not a JSON object at all."""
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("a stored session must be a JSON object")
        session = cls()
        for f in fields(cls):
            if f.name in data:
                value = _READERS.get(f.name, _same_type(getattr(session, f.name)))(data[f.name])
                if value is not _INVALID:
                    setattr(session, f.name, value)
        return session


_INVALID: Any = object()


def _same_type(default: Any) -> Any:
    def read(value: Any) -> Any:
        if isinstance(default, bool) or isinstance(value, bool):
            return value if isinstance(value, bool) and isinstance(default, bool) else _INVALID
        return value if isinstance(value, type(default)) else _INVALID

    return read


def _optional(kind: type) -> Any:
    def read(value: Any) -> Any:
        if value is None:
            return None
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if isinstance(value, bool) or not isinstance(value, kind):
            return _INVALID
        if isinstance(value, float) and not math.isfinite(value):
            return _INVALID
        return value

    return read


def _enum(kind: type[StrEnum], optional: bool) -> Any:
    def read(value: Any) -> Any:
        if value is None and optional:
            return None
        try:
            return kind(value)
        except ValueError:
            return _INVALID

    return read


def _cart(value: Any) -> Any:
    if not isinstance(value, list):
        return _INVALID
    items: list[CartItem] = []
    for entry in value:
        sku = entry.get("sku") if isinstance(entry, dict) else None
        quantity = entry.get("quantity") if isinstance(entry, dict) else None
        if isinstance(sku, str) and type(quantity) is int and quantity > 0:
            items.append(CartItem(sku, quantity))
    return items


def _strings(value: Any) -> Any:
    if not isinstance(value, list):
        return _INVALID
    return [entry for entry in value if isinstance(entry, str)]


def _options(value: Any) -> Any:
    if not isinstance(value, list):
        return _INVALID
    return [
        (entry[0], entry[1])
        for entry in value
        if isinstance(entry, list | tuple)
        and len(entry) == 2
        and all(isinstance(part, str) for part in entry)
    ]


def _page(value: Any) -> Any:
    return value if type(value) is int and value >= 0 else _INVALID


_READERS: dict[str, Any] = {
    "step": _enum(Step, optional=False),
    "cart": _cart,
    "category": _optional(str),
    "query": _optional(str),
    "results": _strings,
    "page": _page,
    "sku": _optional(str),
    "fulfilment": _enum(Fulfilment, optional=True),
    "address": _optional(str),
    "latitude": _optional(float),
    "longitude": _optional(float),
    "order_number": _optional(int),
    "options": _options,
}
