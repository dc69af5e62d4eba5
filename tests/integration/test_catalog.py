"""Catalog use cases against the real database: what a shop owner relies on.

Every test checks what is stored afterwards (the product row and its audit trail in
``product_event``), not only what the use case returned.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from app import actors
from app.catalog.models import ProductChanges, ProductDraft, ProductRecord
from app.catalog.service import (
    ProductEventType,
    adjust_stock,
    archive_product,
    create_product,
    get_product,
    get_product_by_sku,
    list_products,
    product_history,
    set_availability,
    set_stock,
    update_product,
)
from app.catalog.tables import Product, ProductEvent
from app.errors import Duplicate, InvalidInput, NotFound, StaleVersion, Unavailable
from tests.integration.factories import a_product

STAFF = actors.staff(7)
MISSING_ID = 999_999


def draft(**overrides: Any) -> ProductDraft:
    values: dict[str, Any] = {
        "sku": "TEA-001",
        "name": "Green tea",
        "category": "Drinks",
        "price": 450,
        "description": "Loose leaf, 100 g",
        "tax_rate_bp": 1600,
        "stock": 12,
        "available": True,
        "image_url": "https://example.com/tea.png",
    }
    values.update(overrides)
    return ProductDraft(**values)


async def event_types(product_id: int) -> list[str]:
    return [event["type"] for event in await product_history(product_id)]


async def stored_row(product_id: int) -> dict[str, Any]:
    row = await Product.select().where(Product.id == product_id).first()
    assert row is not None
    return row


# --------------------------------------------------------------------------- create


async def test_create_stores_product_with_version_1_and_created_event() -> None:
    product = await create_product(draft(name="  Green tea  "), actor=STAFF)

    stored = await get_product(product.id)
    assert stored == product
    assert stored.sku == "TEA-001"
    assert stored.name == "Green tea"  # trimmed
    assert stored.category == "Drinks"
    assert stored.price == 450
    assert stored.tax_rate_bp == 1600
    assert stored.stock == 12
    assert stored.available is True
    assert stored.archived_at is None
    assert stored.image_url == "https://example.com/tea.png"
    assert stored.version == 1
    assert await get_product_by_sku("TEA-001") == stored

    history = await product_history(product.id)
    assert len(history) == 1
    event = history[0]
    assert event["type"] == ProductEventType.CREATED == "ProductCreated"
    assert event["actor"] == STAFF
    assert event["product"] == product.id
    assert event["data"] == {"sku": "TEA-001"}
    assert event["stock_after"] == 12


async def test_create_with_untracked_stock_stores_null() -> None:
    product = await create_product(draft(stock=None), actor=actors.SYSTEM)
    assert (await stored_row(product.id))["stock"] is None
    assert (await product_history(product.id))[0]["actor"] == actors.SYSTEM


async def test_duplicate_sku_is_refused_and_nothing_else_is_written() -> None:
    first = await create_product(draft(), actor=STAFF)

    with pytest.raises(Duplicate) as caught:
        await create_product(draft(name="Another tea", price=999), actor=STAFF)
    assert caught.value.field == "sku"

    rows = await Product.select()
    assert [row["id"] for row in rows] == [first.id]
    assert rows[0]["name"] == "Green tea"
    assert await ProductEvent.count() == 1
    assert await event_types(first.id) == ["ProductCreated"]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"price": -1}, "price"),
        ({"tax_rate_bp": 10_001}, "tax_rate_bp"),
        ({"tax_rate_bp": -1}, "tax_rate_bp"),
        ({"name": "   "}, "name"),
        ({"name": ""}, "name"),
        ({"category": " "}, "category"),
        ({"sku": "TEA 001"}, "sku"),
        ({"sku": ""}, "sku"),
        ({"sku": "-TEA"}, "sku"),
        ({"stock": -1}, "stock"),
        ({"price": True}, "price"),
        ({"description": "x" * 4001}, "description"),
    ],
    ids=[
        "negative-price",
        "tax-10001",
        "tax-negative",
        "blank-name",
        "empty-name",
        "blank-category",
        "sku-with-space",
        "empty-sku",
        "sku-leading-dash",
        "stock-minus-1",
        "bool-price",
        "long-description",
    ],
)
async def test_create_refuses_bad_input_naming_the_field(
    overrides: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        await create_product(draft(**overrides), actor=STAFF)
    assert caught.value.field == field
    assert await Product.count() == 0
    assert await ProductEvent.count() == 0


async def test_create_accepts_boundary_values() -> None:
    product = await create_product(
        draft(sku="A", price=0, tax_rate_bp=10_000, stock=0), actor=STAFF
    )
    stored = await get_product(product.id)
    assert (stored.price, stored.tax_rate_bp, stored.stock) == (0, 10_000, 0)


async def test_get_unknown_product_is_not_found() -> None:
    with pytest.raises(NotFound):
        await get_product(MISSING_ID)
    with pytest.raises(NotFound):
        await get_product_by_sku("NOPE")


# --------------------------------------------------------------------------- update


async def test_update_with_right_version_changes_fields_and_records_diff() -> None:
    product = await create_product(draft(), actor=STAFF)

    updated = await update_product(
        product.id,
        ProductChanges(name="Jasmine tea", price=500, tax_rate_bp=800),
        expected_version=1,
        actor=actors.staff(8),
    )

    stored = await get_product(product.id)
    assert stored == updated
    assert stored.version == 2
    assert (stored.name, stored.price, stored.tax_rate_bp) == ("Jasmine tea", 500, 800)
    # Fields not mentioned stay as they were.
    assert (stored.category, stored.description, stored.sku) == (
        "Drinks",
        "Loose leaf, 100 g",
        "TEA-001",
    )
    assert stored.updated_at >= product.updated_at

    history = await product_history(product.id)
    assert [e["type"] for e in history] == ["ProductCreated", "ProductUpdated"]
    event = history[-1]
    assert event["actor"] == "staff:8"
    assert event["data"] == {
        "changes": {
            "name": ["Green tea", "Jasmine tea"],
            "price": [450, 500],
            "tax_rate_bp": [1600, 800],
        }
    }


async def test_update_records_only_fields_that_really_changed() -> None:
    product = await create_product(draft(), actor=STAFF)
    await update_product(
        product.id,
        ProductChanges(name="Green tea", category="Hot drinks"),
        expected_version=1,
        actor=STAFF,
    )
    event = (await product_history(product.id))[-1]
    assert event["data"] == {"changes": {"category": ["Drinks", "Hot drinks"]}}


async def test_update_with_stale_version_changes_nothing() -> None:
    product = await create_product(draft(), actor=STAFF)
    await update_product(product.id, ProductChanges(price=500), expected_version=1, actor=STAFF)

    with pytest.raises(StaleVersion) as caught:
        await update_product(
            product.id, ProductChanges(name="Lost edit"), expected_version=1, actor=STAFF
        )
    assert caught.value.field == "version"

    stored = await get_product(product.id)
    assert stored.version == 2
    assert stored.name == "Green tea"
    assert stored.price == 500
    assert await event_types(product.id) == ["ProductCreated", "ProductUpdated"]


async def test_concurrent_updates_with_same_version_only_one_wins() -> None:
    product = await create_product(draft(), actor=STAFF)
    names = [f"Edit {n}" for n in range(5)]

    results = await asyncio.gather(
        *(
            update_product(product.id, ProductChanges(name=name), expected_version=1, actor=STAFF)
            for name in names
        ),
        return_exceptions=True,
    )

    winners = [r for r in results if isinstance(r, ProductRecord)]
    losers = [r for r in results if not isinstance(r, ProductRecord)]
    assert len(winners) == 1
    assert len(losers) == 4
    assert all(isinstance(r, StaleVersion) for r in losers), losers

    stored = await get_product(product.id)
    assert stored.version == 2
    assert stored.name == winners[0].name
    history = await product_history(product.id)
    assert [e["type"] for e in history] == ["ProductCreated", "ProductUpdated"]
    assert history[-1]["data"] == {"changes": {"name": ["Green tea", winners[0].name]}}


async def test_update_with_nothing_to_change_is_invalid() -> None:
    product = await create_product(draft(), actor=STAFF)
    with pytest.raises(InvalidInput):
        await update_product(product.id, ProductChanges(), expected_version=1, actor=STAFF)
    assert (await get_product(product.id)).version == 1
    assert await event_types(product.id) == ["ProductCreated"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        (ProductChanges(price=-5), "price"),
        (ProductChanges(tax_rate_bp=10_001), "tax_rate_bp"),
        (ProductChanges(name="  "), "name"),
        (ProductChanges(category=""), "category"),
    ],
    ids=["negative-price", "tax-10001", "blank-name", "blank-category"],
)
async def test_update_refuses_bad_values(changes: ProductChanges, field: str) -> None:
    product = await create_product(draft(), actor=STAFF)
    with pytest.raises(InvalidInput) as caught:
        await update_product(product.id, changes, expected_version=1, actor=STAFF)
    assert caught.value.field == field
    assert await get_product(product.id) == product
    assert await event_types(product.id) == ["ProductCreated"]


async def test_update_refuses_description_longer_than_create_allows() -> None:
    product = await create_product(draft(), actor=STAFF)
    with pytest.raises(InvalidInput) as caught:
        await update_product(
            product.id, ProductChanges(description="x" * 4001), expected_version=1, actor=STAFF
        )
    assert caught.value.field == "description"
    assert (await get_product(product.id)).description == "Loose leaf, 100 g"


async def test_update_unknown_product_is_not_found() -> None:
    with pytest.raises(NotFound):
        await update_product(MISSING_ID, ProductChanges(price=1), expected_version=1, actor=STAFF)
    assert await ProductEvent.count() == 0


# --------------------------------------------------------------------------- archive


async def test_archive_hides_product_and_records_event() -> None:
    product = await create_product(draft(), actor=STAFF)
    other = await a_product(category="Drinks")

    archived = await archive_product(product.id, actor=STAFF)

    stored = await get_product(product.id)
    assert stored == archived
    assert stored.archived_at is not None
    assert stored.archived
    assert stored.available is False
    assert stored.sellable is False
    assert stored.version == 2
    assert await event_types(product.id) == ["ProductCreated", "ProductArchived"]
    assert (await product_history(product.id))[-1]["actor"] == STAFF

    assert [p.id for p in await list_products()] == [other.id]
    assert [p.id for p in await list_products(category="Drinks")] == [other.id]
    listed = {p.id for p in await list_products(include_archived=True)}
    assert listed == {product.id, other.id}


async def test_archiving_twice_is_harmless() -> None:
    product = await create_product(draft(), actor=STAFF)
    first = await archive_product(product.id, actor=STAFF)
    second = await archive_product(product.id, actor=STAFF)

    assert second == first
    stored = await get_product(product.id)
    assert stored.version == 2
    assert stored.archived_at == first.archived_at
    assert await event_types(product.id) == ["ProductCreated", "ProductArchived"]


async def test_archive_with_stale_version_changes_nothing() -> None:
    product = await create_product(draft(), actor=STAFF)
    await update_product(product.id, ProductChanges(price=1), expected_version=1, actor=STAFF)
    with pytest.raises(StaleVersion):
        await archive_product(product.id, actor=STAFF, expected_version=1)
    assert (await get_product(product.id)).archived_at is None


async def test_archive_unknown_product_is_not_found() -> None:
    with pytest.raises(NotFound):
        await archive_product(MISSING_ID, actor=STAFF)


async def test_archived_product_refuses_edits_and_stock_changes() -> None:
    product = await create_product(draft(), actor=STAFF)
    archived = await archive_product(product.id, actor=STAFF)

    with pytest.raises(Unavailable):
        await update_product(
            product.id, ProductChanges(price=1), expected_version=archived.version, actor=STAFF
        )
    with pytest.raises(Unavailable):
        await adjust_stock(product.id, 5, reason="delivery", actor=STAFF)
    with pytest.raises(Unavailable):
        await adjust_stock(product.id, -1, reason="damaged", actor=STAFF)
    with pytest.raises(Unavailable):
        await set_stock(product.id, 3, reason="count", actor=STAFF)
    with pytest.raises(Unavailable):
        await set_availability(product.id, True, actor=STAFF)

    assert await get_product(product.id) == archived
    assert await event_types(product.id) == ["ProductCreated", "ProductArchived"]


# --------------------------------------------------------------------------- availability


async def test_set_availability_records_an_event_only_on_change() -> None:
    product = await create_product(draft(), actor=STAFF)

    same = await set_availability(product.id, True, actor=STAFF)
    assert same == product
    assert await event_types(product.id) == ["ProductCreated"]

    off = await set_availability(product.id, False, actor=STAFF)
    assert (await get_product(product.id)).available is False
    assert off.version == 2
    assert off.sellable is False

    await set_availability(product.id, False, actor=STAFF)  # no change, no event
    on = await set_availability(product.id, True, actor=actors.staff(9))
    stored = await get_product(product.id)
    assert stored == on
    assert stored.available is True
    assert stored.version == 3

    history = await product_history(product.id)
    assert [e["type"] for e in history] == [
        "ProductCreated",
        "ProductAvailabilityChanged",
        "ProductAvailabilityChanged",
    ]
    assert [e["data"] for e in history[1:]] == [{"available": False}, {"available": True}]
    assert [e["actor"] for e in history[1:]] == [STAFF, "staff:9"]


async def test_unavailable_product_is_still_listed_for_staff() -> None:
    product = await create_product(draft(), actor=STAFF)
    await set_availability(product.id, False, actor=STAFF)
    assert [p.id for p in await list_products()] == [product.id]


async def test_set_availability_of_unknown_product_is_not_found() -> None:
    with pytest.raises(NotFound):
        await set_availability(MISSING_ID, False, actor=STAFF)


# --------------------------------------------------------------------------- stock


async def test_adjust_stock_records_delta_stock_after_and_reason() -> None:
    product = await create_product(draft(stock=10), actor=STAFF)

    after_delivery = await adjust_stock(product.id, 5, reason=" delivery ", actor=STAFF)
    assert after_delivery.stock == 15
    after_damage = await adjust_stock(product.id, -3, reason="damaged", actor=actors.staff(2))
    assert after_damage.stock == 12

    assert (await get_product(product.id)).stock == 12
    history = await product_history(product.id)
    assert [e["type"] for e in history] == ["ProductCreated", "StockAdjusted", "StockAdjusted"]
    moves = [(e["stock_delta"], e["stock_after"], e["reason"], e["actor"]) for e in history[1:]]
    assert moves == [(5, 15, "delivery", STAFF), (-3, 12, "damaged", "staff:2")]


async def test_adjust_stock_down_to_exactly_zero_is_allowed() -> None:
    product = await create_product(draft(stock=3), actor=STAFF)
    emptied = await adjust_stock(product.id, -3, reason="sold at market", actor=STAFF)
    assert emptied.stock == 0
    assert emptied.sellable is False
    assert (await get_product(product.id)).stock == 0


async def test_adjust_stock_below_zero_is_refused_and_stock_unchanged() -> None:
    product = await create_product(draft(stock=2), actor=STAFF)
    with pytest.raises(InvalidInput) as caught:
        await adjust_stock(product.id, -3, reason="damaged", actor=STAFF)
    assert caught.value.field == "delta"
    assert (await get_product(product.id)).stock == 2
    assert await event_types(product.id) == ["ProductCreated"]


@pytest.mark.parametrize(
    ("delta", "reason", "field"),
    [
        (0, "nothing", "delta"),
        (True, "bool is not a count", "delta"),
        (False, "bool is not a count", "delta"),
        (1.5, "fraction", "delta"),
        (5, "", "reason"),
        (5, "   ", "reason"),
    ],
    ids=["zero", "true", "false", "float", "empty-reason", "blank-reason"],
)
async def test_adjust_stock_refuses_bad_arguments(delta: Any, reason: str, field: str) -> None:
    product = await create_product(draft(stock=10), actor=STAFF)
    with pytest.raises(InvalidInput) as caught:
        await adjust_stock(product.id, delta, reason=reason, actor=STAFF)
    assert caught.value.field == field
    assert (await get_product(product.id)).stock == 10
    assert await event_types(product.id) == ["ProductCreated"]


async def test_adjust_untracked_stock_is_refused() -> None:
    product = await create_product(draft(stock=None), actor=STAFF)
    with pytest.raises(InvalidInput) as caught:
        await adjust_stock(product.id, 5, reason="delivery", actor=STAFF)
    assert caught.value.field == "delta"
    assert (await get_product(product.id)).stock is None
    assert await event_types(product.id) == ["ProductCreated"]


async def test_adjust_stock_of_unknown_product_is_not_found() -> None:
    with pytest.raises(NotFound):
        await adjust_stock(MISSING_ID, 1, reason="delivery", actor=STAFF)
    assert await ProductEvent.count() == 0


async def test_set_stock_to_a_level_and_to_untracked_is_recorded() -> None:
    product = await create_product(draft(stock=10), actor=STAFF)

    counted = await set_stock(product.id, 7, reason="stock take", actor=STAFF)
    assert counted.stock == 7
    assert (await get_product(product.id)).stock == 7

    untracked = await set_stock(product.id, None, reason="made to order", actor=STAFF)
    assert untracked.stock is None
    assert (await get_product(product.id)).stock is None
    assert untracked.sellable is True  # untracked stock never runs out

    tracked_again = await set_stock(product.id, 4, reason="started counting", actor=STAFF)
    assert tracked_again.stock == 4

    history = await product_history(product.id)
    assert [e["type"] for e in history] == ["ProductCreated", "StockSet", "StockSet", "StockSet"]
    recorded = [(e["stock_delta"], e["stock_after"], e["reason"], e["data"]) for e in history[1:]]
    assert recorded == [
        (-3, 7, "stock take", {"previous": 10}),
        (None, None, "made to order", {"previous": 7}),
        (None, 4, "started counting", {"previous": None}),
    ]


@pytest.mark.parametrize(
    ("stock", "reason", "field"),
    [(-1, "count", "stock"), (True, "count", "stock"), (5, " ", "reason")],
    ids=["negative", "bool", "blank-reason"],
)
async def test_set_stock_refuses_bad_arguments(stock: Any, reason: str, field: str) -> None:
    product = await create_product(draft(stock=10), actor=STAFF)
    with pytest.raises(InvalidInput) as caught:
        await set_stock(product.id, stock, reason=reason, actor=STAFF)
    assert caught.value.field == field
    assert (await get_product(product.id)).stock == 10
    assert await event_types(product.id) == ["ProductCreated"]


async def test_concurrent_stock_removals_never_go_below_zero() -> None:
    product = await create_product(draft(stock=10), actor=STAFF)

    results = await asyncio.gather(
        *(adjust_stock(product.id, -1, reason="sold", actor=STAFF) for _ in range(20)),
        return_exceptions=True,
    )

    succeeded = [r for r in results if isinstance(r, ProductRecord)]
    refused = [r for r in results if not isinstance(r, ProductRecord)]
    assert len(succeeded) == 10
    assert len(refused) == 10
    assert all(isinstance(r, InvalidInput) for r in refused), refused
    assert sorted(r.stock for r in succeeded) == list(range(10))

    assert (await get_product(product.id)).stock == 0
    moves = [e for e in await product_history(product.id) if e["type"] == "StockAdjusted"]
    assert len(moves) == 10
    assert all(e["stock_delta"] == -1 for e in moves)
    assert [e["stock_after"] for e in moves] == list(range(9, -1, -1))


async def test_concurrent_deliveries_all_count() -> None:
    product = await create_product(draft(stock=0), actor=STAFF)
    await asyncio.gather(
        *(adjust_stock(product.id, 2, reason="delivery", actor=STAFF) for _ in range(15))
    )
    assert (await get_product(product.id)).stock == 30
    assert (await event_types(product.id)).count("StockAdjusted") == 15


# --------------------------------------------------------------------------- listing


async def test_list_products_sorted_by_category_then_name_and_filtered() -> None:
    b = await a_product(category="Snacks", name="Crisps")
    a = await a_product(category="Drinks", name="Water")
    c = await a_product(category="Drinks", name="Juice")
    assert [p.id for p in await list_products()] == [c.id, a.id, b.id]
    assert [p.id for p in await list_products(category="Drinks")] == [c.id, a.id]
    assert await list_products(category="Bakery") == []


async def test_create_refuses_image_url_longer_than_the_column() -> None:
    with pytest.raises(InvalidInput) as caught:
        await create_product(draft(image_url="https://example.com/" + "a" * 500), actor=STAFF)
    assert caught.value.field == "image_url"
    assert await Product.count() == 0


async def test_skus_differing_only_by_case_are_duplicates() -> None:
    await create_product(draft(sku="TEA-1"), actor=STAFF)
    with pytest.raises(Duplicate):
        await create_product(draft(sku="tea-1"), actor=STAFF)
    assert await Product.count() == 1


async def test_absurd_prices_are_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        await create_product(draft(price=10**13), actor=STAFF)
    assert caught.value.field == "price"
    assert await Product.count() == 0
