"""The session cart against the current catalog: pricing, problems, and filling it in bulk."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from app.conversation.session import CartItem
from app.conversation.view import CatalogSnapshot, ProductView
from app.ordering.pricing import CartTotals, LineInput, price_cart
from app.ordering.values import MAX_LINES, CartLine, Fulfilment, ShopTerms


class Problem(StrEnum):
    GONE = "gone"  # archived or deleted: no longer in the catalog
    SOLD_OUT = "sold_out"  # not available or no stock
    SHORT = "short"  # fewer in stock than the cart holds


@dataclass(frozen=True, slots=True)
class CartEntry:
    item: CartItem
    product: ProductView | None
    problem: Problem | None

    @property
    def name(self) -> str:
        return self.product.name if self.product else self.item.sku


@dataclass(frozen=True, slots=True)
class PricedCart:
    entries: tuple[CartEntry, ...]
    totals: CartTotals  # the lines that can be ordered

    @property
    def problems(self) -> tuple[CartEntry, ...]:
        return tuple(entry for entry in self.entries if entry.problem)

    @property
    def ready(self) -> bool:
        return bool(self.entries) and not self.problems


def problem_of(item: CartItem, product: ProductView | None) -> Problem | None:
    if product is None:
        return Problem.GONE
    if not product.sellable:
        return Problem.SOLD_OUT
    if item.quantity > product.max_quantity:
        return Problem.SHORT
    return None


def price(
    cart: Sequence[CartItem],
    catalog: CatalogSnapshot,
    terms: ShopTerms,
    fulfilment: Fulfilment | None,
) -> PricedCart:
    entries = tuple(
        CartEntry(item, catalog.get(item.sku), problem_of(item, catalog.get(item.sku)))
        for item in cart
    )
    lines = [
        LineInput(
            e.item.sku, e.product.name, e.product.price, e.product.tax_rate_bp, e.item.quantity
        )
        for e in entries
        if e.product is not None and e.problem is None
    ]
    fee = terms.delivery_fee if fulfilment is Fulfilment.DELIVERY else 0
    totals = price_cart(
        lines,
        currency=terms.currency,
        prices_include_tax=terms.prices_include_tax,
        delivery_fee=fee,
    )
    return PricedCart(entries, totals)


def order_lines(cart: Sequence[CartItem]) -> tuple[CartLine, ...]:
    return tuple(CartLine(item.sku, item.quantity) for item in cart)


def room_for(cart: Sequence[CartItem], product: ProductView) -> int:
    """How many more of ``product`` the cart may take."""
    in_cart = next((item.quantity for item in cart if item.sku == product.sku), 0)
    return product.max_quantity - in_cart


def add(cart: list[CartItem], sku: str, quantity: int) -> None:
    for item in cart:
        if item.sku == sku:
            item.quantity += quantity
            return
    cart.append(CartItem(sku, quantity))


def set_quantity(cart: list[CartItem], sku: str, quantity: int) -> None:
    for item in cart:
        if item.sku == sku:
            item.quantity = quantity


def remove(cart: list[CartItem], sku: str) -> None:
    cart[:] = [item for item in cart if item.sku != sku]


def is_full(cart: Sequence[CartItem], sku: str) -> bool:
    """True when adding ``sku`` would need one line more than an order may hold."""
    return len(cart) >= MAX_LINES and all(item.sku != sku for item in cart)


def fix(cart: list[CartItem], catalog: CatalogSnapshot) -> None:
    """Drop what cannot be sold and reduce quantities to what is in stock."""
    fixed: list[CartItem] = []
    for item in cart:
        product = catalog.get(item.sku)
        if product is not None and product.sellable:
            fixed.append(CartItem(item.sku, min(item.quantity, product.max_quantity)))
    cart[:] = fixed


class NoteKind(StrEnum):
    UNKNOWN = "unknown"
    UNSELLABLE = "unsellable"
    CAPPED = "capped"
    BAD_QUANTITY = "bad_quantity"
    FULL = "full"


@dataclass(frozen=True, slots=True)
class Note:
    """Why an item did not go into the cart as asked."""

    kind: NoteKind
    sku: str
    name: str
    quantity: int = 0
    count: int = 0


def fill(
    cart: list[CartItem],
    wanted: Iterable[tuple[str, str | None, int]],
    catalog: CatalogSnapshot,
) -> list[Note]:
    """Add ``(sku, name or None, quantity)`` items to ``cart`` as far as the catalog allows.

    Unknown and unsellable items are skipped, quantities capped at stock and
    ``MAX_QUANTITY``, lines beyond ``MAX_LINES`` left out; each gets a note.
    """
    notes: list[Note] = []
    for sku, name, quantity in _merged(wanted):
        product = catalog.get(sku)
        label = product.name if product else (name or sku)
        if product is None:
            notes.append(Note(NoteKind.UNKNOWN, sku, label))
        elif quantity < 1:
            notes.append(Note(NoteKind.BAD_QUANTITY, sku, label, quantity=quantity))
        elif not product.sellable:
            notes.append(Note(NoteKind.UNSELLABLE, sku, label))
        elif is_full(cart, sku):
            if all(note.kind is not NoteKind.FULL for note in notes):
                notes.append(Note(NoteKind.FULL, sku, label))
        else:
            notes.extend(_add_capped(cart, product, quantity))
    return notes


def _add_capped(cart: list[CartItem], product: ProductView, quantity: int) -> list[Note]:
    room = room_for(cart, product)
    if quantity <= room:
        add(cart, product.sku, quantity)
        return []
    if room > 0:
        add(cart, product.sku, room)
    return [Note(NoteKind.CAPPED, product.sku, product.name, quantity, product.max_quantity)]


def _merged(wanted: Iterable[tuple[str, str | None, int]]) -> list[tuple[str, str | None, int]]:
    """One entry per SKU, quantities summed (a catalog cart may repeat one)."""
    merged: dict[str, tuple[str | None, int]] = {}
    for sku, name, quantity in wanted:
        previous_name, previous = merged.get(sku, (name, 0))
        merged[sku] = (previous_name or name, previous + quantity)
    return [(sku, name, quantity) for sku, (name, quantity) in merged.items()]
