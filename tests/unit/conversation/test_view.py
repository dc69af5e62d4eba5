"""The catalog snapshot: categories, typo-tolerant search, alternatives."""

from __future__ import annotations

import pytest

from app.conversation.view import CatalogSnapshot, ProductView
from app.ordering.values import MAX_QUANTITY

from .conftest import CATALOG, PENDING, make_ctx, product

SEARCHABLE = CatalogSnapshot(
    (
        *CATALOG.products,
        product("CHEESE", "Cheddar cheese", "Dairy", 500),
        product("COFFEE", "Coffee beans 500 g", "Drinks", 900),
    )
)


def names(found: list[ProductView]) -> set[str]:
    return {p.name for p in found}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("choclate cake", {"Chocolate cake"}),
        ("Chocolate Cake", {"Chocolate cake"}),
        ("croisant", {"Butter croissant"}),
        ("milk", {"Whole milk 1 l", "Oat milk 1 l"}),
        ("coffe", {"Coffee beans 500 g"}),
        ("xyzzy", set()),
        ("", set()),
        ("a", set()),
    ],
)
def test_search_tolerates_typos(query: str, expected: set[str]) -> None:
    assert names(SEARCHABLE.search(query)) == expected


def test_search_finds_a_category_s_products() -> None:
    assert names(SEARCHABLE.search("drinks")) == {"Green tea", "Coffee beans 500 g"}


def test_search_leaves_out_unavailable_products_and_respects_the_limit() -> None:
    assert "Carrot cake" not in names(SEARCHABLE.search("carrot cake"))
    assert len(SEARCHABLE.search("milk", limit=1)) == 1


def test_categories_only_with_available_products() -> None:
    catalog = CatalogSnapshot(
        (
            product("A", "A", "Hidden", 1, available=False),
            product("B", "B", "shown", 1),
            product("C", "C", "Also", 1),
        )
    )
    assert catalog.categories() == ["Also", "shown"]


def test_in_category_is_sorted_by_name_and_includes_sold_out() -> None:
    assert [p.sku for p in CATALOG.in_category("Bakery")] == ["CROISSANT", "CAKE-CHOC", "BREAD"]


def test_alternatives_are_sellable_products_of_the_same_category() -> None:
    assert [p.sku for p in CATALOG.alternatives("BREAD")] == ["CROISSANT", "CAKE-CHOC"]
    assert [p.sku for p in CATALOG.alternatives("BREAD", limit=1)] == ["CROISSANT"]
    assert CATALOG.alternatives("NOPE") == []


def test_sellable_and_max_quantity() -> None:
    assert product("A", "A", "C", 1).max_quantity == MAX_QUANTITY
    assert product("A", "A", "C", 1, stock=3).max_quantity == 3
    assert product("A", "A", "C", 1, stock=10**6).max_quantity == MAX_QUANTITY
    assert not product("A", "A", "C", 1, stock=0).sellable
    assert not product("A", "A", "C", 1, available=False).sellable
    assert product("A", "A", "C", 1, stock=None).sellable


def test_get_and_order_lookup() -> None:
    assert CATALOG.get("TEA") is not None
    assert CATALOG.get("nope") is None
    ctx = make_ctx(orders=(PENDING,))
    assert ctx.order(1042) is PENDING
    assert ctx.order(1) is None
