"""Catalog use cases. Each runs in one transaction and records a ``product_event``."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import asyncpg

from app.catalog.models import (
    ProductChanges,
    ProductDraft,
    ProductRecord,
    validate_stock_level,
    validate_text,
)
from app.catalog.tables import Product, ProductEvent
from app.db.jsonb import to_jsonb
from app.errors import Duplicate, InvalidInput, NotFound, StaleVersion, Unavailable


class ProductEventType(StrEnum):
    CREATED = "ProductCreated"
    UPDATED = "ProductUpdated"
    ARCHIVED = "ProductArchived"
    AVAILABILITY_CHANGED = "ProductAvailabilityChanged"
    STOCK_ADJUSTED = "StockAdjusted"
    STOCK_SET = "StockSet"


async def create_product(draft: ProductDraft, *, actor: str) -> ProductRecord:
    draft = draft.validated()
    async with Product._meta.db.transaction():
        try:
            rows = await Product.insert(
                Product(
                    sku=draft.sku,
                    name=draft.name.strip(),
                    category=draft.category.strip(),
                    price=draft.price,
                    description=draft.description,
                    tax_rate_bp=draft.tax_rate_bp,
                    stock=draft.stock,
                    available=draft.available,
                    image_url=draft.image_url,
                )
            ).returning(*Product.all_columns())
        except asyncpg.UniqueViolationError:
            raise Duplicate(
                f"A product with SKU {draft.sku!r} already exists.", field="sku"
            ) from None
        product = ProductRecord.from_row(rows[0])
        await _record(product, ProductEventType.CREATED, actor, data={"sku": product.sku})
    return product


async def update_product(
    product_id: int, changes: ProductChanges, *, expected_version: int, actor: str
) -> ProductRecord:
    """Apply staff edits if nobody changed the product since ``expected_version``."""
    columns = changes.as_columns()
    async with Product._meta.db.transaction():
        current = await _get_for_update(product_id)
        _refuse_archived(current)
        _check_version(current, expected_version)
        product = await _write(product_id, columns, bump_version=True)
        diff = {k: [getattr(current, k), v] for k, v in columns.items() if getattr(current, k) != v}
        await _record(product, ProductEventType.UPDATED, actor, data={"changes": diff})
    return product


async def archive_product(
    product_id: int, *, actor: str, expected_version: int | None = None
) -> ProductRecord:
    """Withdraw a product for good. Past orders keep their snapshot of it."""
    async with Product._meta.db.transaction():
        current = await _get_for_update(product_id)
        if current.archived:
            return current
        if expected_version is not None:
            _check_version(current, expected_version)
        product = await _write(
            product_id, {"archived_at": _now(), "available": False}, bump_version=True
        )
        await _record(product, ProductEventType.ARCHIVED, actor)
    return product


async def set_availability(product_id: int, available: bool, *, actor: str) -> ProductRecord:
    async with Product._meta.db.transaction():
        current = await _get_for_update(product_id)
        _refuse_archived(current)
        if current.available == available:
            return current
        product = await _write(product_id, {"available": available}, bump_version=True)
        await _record(
            product, ProductEventType.AVAILABILITY_CHANGED, actor, data={"available": available}
        )
    return product


async def adjust_stock(product_id: int, delta: int, *, reason: str, actor: str) -> ProductRecord:
    """Add (delivery, return) or remove (damage, count correction) units, with a reason."""
    if isinstance(delta, bool) or not isinstance(delta, int) or delta == 0:
        raise InvalidInput("Adjust stock by a whole number of units other than 0.", field="delta")
    validate_text("reason", reason, 500)
    async with Product._meta.db.transaction():
        current = await _get_for_update(product_id)
        _refuse_archived(current)
        if current.stock is None:
            raise InvalidInput(
                f"Stock of {current.name} ({current.sku}) is not tracked; set a stock level first.",
                field="delta",
            )
        new_stock = current.stock + delta
        if new_stock < 0:
            raise InvalidInput(
                f"Only {current.stock} of {current.name} ({current.sku}) in stock; "
                f"cannot remove {-delta}.",
                field="delta",
            )
        validate_stock_level(new_stock)
        product = await _write(product_id, {"stock": new_stock}, bump_version=False)
        await _record(
            product,
            ProductEventType.STOCK_ADJUSTED,
            actor,
            stock_delta=delta,
            reason=reason.strip(),
        )
    return product


async def set_stock(
    product_id: int, stock: int | None, *, reason: str, actor: str
) -> ProductRecord:
    """Set the counted stock level, or stop tracking stock with ``None``."""
    if stock is not None:
        validate_stock_level(stock)
    validate_text("reason", reason, 500)
    async with Product._meta.db.transaction():
        current = await _get_for_update(product_id)
        _refuse_archived(current)
        product = await _write(product_id, {"stock": stock}, bump_version=False)
        delta = None if stock is None or current.stock is None else stock - current.stock
        await _record(
            product,
            ProductEventType.STOCK_SET,
            actor,
            stock_delta=delta,
            reason=reason.strip(),
            data={"previous": current.stock},
        )
    return product


async def get_product(product_id: int) -> ProductRecord:
    row = await Product.select().where(Product.id == product_id).first()
    if row is None:
        raise NotFound(f"No product with id {product_id}.", field="id")
    return ProductRecord.from_row(row)


async def get_product_by_sku(sku: str) -> ProductRecord:
    row = await Product.select().where(Product.sku == sku).first()
    if row is None:
        raise NotFound(f"No product with SKU {sku!r}.", field="sku")
    return ProductRecord.from_row(row)


async def list_products(
    *, category: str | None = None, include_archived: bool = False
) -> list[ProductRecord]:
    query = Product.select().order_by(Product.category).order_by(Product.name)
    if category is not None:
        query = query.where(Product.category == category)
    if not include_archived:
        query = query.where(Product.archived_at.is_null())
    return [ProductRecord.from_row(row) for row in await query]


async def product_history(product_id: int) -> list[dict[str, Any]]:
    return list(
        await ProductEvent.select()
        .where(ProductEvent.product == product_id)
        .order_by(ProductEvent.id)
        .output(load_json=True)
    )


async def _get_for_update(product_id: int) -> ProductRecord:
    rows = await Product.raw("SELECT * FROM product WHERE id = {} FOR UPDATE", product_id)
    if not rows:
        raise NotFound(f"No product with id {product_id}.", field="id")
    return ProductRecord.from_row(rows[0])


def _check_version(product: ProductRecord, expected_version: int) -> None:
    if product.version != expected_version:
        raise StaleVersion(
            f"{product.name} ({product.sku}) was changed by someone else "
            f"(version {product.version}, you edited {expected_version}). Reload and try again.",
            field="version",
        )


def _refuse_archived(product: ProductRecord) -> None:
    if product.archived:
        raise Unavailable(f"{product.name} ({product.sku}) is archived.", field="id")


async def _write(product_id: int, columns: dict[str, Any], *, bump_version: bool) -> ProductRecord:
    values: dict[Any, Any] = {**columns, Product.updated_at: _now()}
    if bump_version:
        values[Product.version] = Product.version + 1
    rows = (
        await Product.update(values)
        .where(Product.id == product_id)
        .returning(*Product.all_columns())
    )
    return ProductRecord.from_row(rows[0])


async def _record(
    product: ProductRecord,
    event_type: ProductEventType,
    actor: str,
    *,
    data: dict[str, Any] | None = None,
    stock_delta: int | None = None,
    reason: str | None = None,
) -> None:
    await ProductEvent.insert(
        ProductEvent(
            product=product.id,
            type=event_type.value,
            data=to_jsonb(data or {}),
            stock_delta=stock_delta,
            stock_after=product.stock,
            reason=reason,
            actor=actor,
        )
    )


def _now() -> datetime:
    return datetime.now(UTC)
