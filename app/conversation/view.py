"""Read-only data the handler loads for each turn: the catalog, the orders, the shop's terms."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from rapidfuzz import fuzz, process, utils

from app.ordering.states import OrderStatus
from app.ordering.values import MAX_QUANTITY, ShopTerms
from app.payments.providers import Method

# An order in one of these has been paid. A refunded one was too, but counts as paid only
# when it has a receipt to resend.
PAID_STATUSES = frozenset(
    {
        OrderStatus.PAID,
        OrderStatus.PREPARING,
        OrderStatus.READY,
        OrderStatus.OUT_FOR_DELIVERY,
        OrderStatus.COMPLETED,
    }
)

# WRatio scores 0–100. Typos score 79 ("croisant" in "Butter croissant") to 96 ("choclate
# cake"), a word inside a longer name ("milk" in "Oat milk 1 l") 90; unrelated words stay
# at 60 or below.
SEARCH_CUTOFF = 75
MIN_QUERY = 2


@dataclass(frozen=True, slots=True)
class ProductView:
    sku: str
    name: str
    category: str
    price: int  # minor units of the shop currency
    description: str = ""
    stock: int | None = None  # None: not tracked
    available: bool = True
    tax_rate_bp: int = 0

    @property
    def sellable(self) -> bool:
        return self.available and self.stock != 0

    @property
    def max_quantity(self) -> int:
        """The most one order may hold: the stock left, and never over MAX_QUANTITY."""
        return MAX_QUANTITY if self.stock is None else max(0, min(self.stock, MAX_QUANTITY))


@dataclass(frozen=True, slots=True)
class CatalogSnapshot:
    """The active products (archived ones are simply absent)."""

    products: tuple[ProductView, ...]
    _by_sku: dict[str, ProductView] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_sku", {p.sku: p for p in self.products})

    def get(self, sku: str) -> ProductView | None:
        return self._by_sku.get(sku)

    def categories(self) -> list[str]:
        """Categories with at least one available product, sorted."""
        return sorted({p.category for p in self.products if p.available}, key=str.casefold)

    def in_category(self, name: str) -> list[ProductView]:
        """The category's available products (sold-out ones included), sorted by name."""
        found = [p for p in self.products if p.category == name and p.available]
        return sorted(found, key=lambda p: (p.name.casefold(), p.sku))

    def search(self, query: str, limit: int = 10) -> list[ProductView]:
        """Available products whose name or category resembles ``query``, best first."""
        candidates = [p for p in self.products if p.available]
        # One letter resembles half the catalog; it is not a search.
        if len(utils.default_process(query)) < MIN_QUERY or not candidates:
            return []
        by_name = _scores(query, [p.name for p in candidates])
        # A category hit ("bakery") finds its products, ranked just below name hits.
        by_category = _scores(query, [p.category for p in candidates])
        ranked = sorted(
            (
                (-max(by_name.get(i, 0.0), by_category.get(i, 0.0) - 1), p.name.casefold(), i)
                for i, p in enumerate(candidates)
                if i in by_name or i in by_category
            ),
        )
        return [candidates[i] for _, _, i in ranked[:limit]]

    def alternatives(self, sku: str, limit: int = 3) -> list[ProductView]:
        """Sellable products of the same category, offered when ``sku`` cannot be sold."""
        product = self.get(sku)
        if product is None:
            return []
        return [p for p in self.in_category(product.category) if p.sellable and p.sku != sku][
            :limit
        ]


def _scores(query: str, texts: list[str]) -> dict[int, float]:
    found = process.extract(
        query,
        texts,
        scorer=fuzz.WRatio,
        processor=utils.default_process,
        score_cutoff=SEARCH_CUTOFF,
        limit=None,
    )
    return {index: score for _, score, index in found}


@dataclass(frozen=True, slots=True)
class OrderView:
    id: int
    number: int
    status: str  # an OrderStatus value
    total: int
    currency: str
    placed_at: datetime
    items: tuple[tuple[str, str, int], ...]  # (sku, name, quantity)
    payment_reference: str | None = None  # of the latest manual attempt
    references: tuple[str, ...] = ()  # of every attempt, to find the order by one
    payment_status: str | None = None  # of the latest attempt (a PaymentStatus value)
    checkout_url: str | None = None  # of an open card attempt
    expires_at: datetime | None = None
    receipt: str | None = None  # the receipt number once paid

    @property
    def is_paid(self) -> bool:
        return self.receipt is not None or self.status in PAID_STATUSES


@dataclass(frozen=True, slots=True)
class Context:
    """Everything the machine may read in one turn besides the session and the input."""

    catalog: CatalogSnapshot
    orders: tuple[OrderView, ...]  # the customer's recent orders, newest first
    terms: ShopTerms
    locale: str
    shop_name: str
    payment_instructions: str
    now: datetime
    payment_methods: tuple[Method, ...] = (Method.MANUAL,)
    manual_label: str = "Bank transfer"
    manual_account: str | None = None
    # The customer had a session that expired (the greeting says the cart was cleared).
    session_expired: bool = False

    def order(self, number: int) -> OrderView | None:
        return next((order for order in self.orders if order.number == number), None)

    def order_by_reference(self, reference: str) -> OrderView | None:
        return next((order for order in self.orders if reference in order.references), None)

    def pending_order(self) -> OrderView | None:
        """The newest order still waiting for payment."""
        return next((o for o in self.orders if o.status == OrderStatus.PENDING_PAYMENT), None)

    @property
    def card_payments(self) -> bool:
        return Method.CARD in self.payment_methods
