"""The catalog for staff: list and find products; ADMINs create, edit and archive them,
STAFF set availability and stock. Every change is a ``product_event`` (the use cases'
audit trail)."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime
from typing import Any

import strawberry
from graphql import GraphQLError

from app import actors
from app.catalog import service
from app.catalog.models import ProductChanges, ProductDraft, ProductRecord
from app.catalog.tables import Product as ProductTable
from app.db.patterns import contains
from app.db.reads import fetch
from app.errors import DomainError
from app.graphql.context import Info
from app.graphql.errors import UserError, user_errors
from app.graphql.paging import (
    INVALID,
    Count,
    PageInfo,
    check_page_size,
    counting,
    cursor,
    cursor_key,
    page_info,
    parse_id,
)
from app.graphql.permissions import ADMIN, STAFF, STAFF_THROTTLED


@strawberry.type(description="Something the shop sells.")
class Product:
    id: strawberry.ID = strawberry.field(description="Product id")
    sku: str = strawberry.field(description="Stock keeping unit, unique regardless of case")
    name: str = strawberry.field(description="Name customers see")
    description: str = strawberry.field(description="Shown on the product screen")
    category: str = strawberry.field(description="Browsing category")
    price: int = strawberry.field(description="Minor units of the shop currency")
    tax_rate_bp: int = strawberry.field(description="Tax rate in basis points (1600 = 16 %)")
    stock: int | None = strawberry.field(description="Units on the shelf; null: not tracked")
    available: bool = strawberry.field(description="Offered in the chat")
    archived: bool = strawberry.field(description="Withdrawn for good")
    image_url: str | None = strawberry.field(description="Picture")
    version: int = strawberry.field(description="Pass to updateProduct: changes since refuse")
    updated_at: datetime = strawberry.field(description="Last change")

    @classmethod
    def of(cls, record: ProductRecord) -> Product:
        return cls(
            id=strawberry.ID(str(record.id)),
            sku=record.sku,
            name=record.name,
            description=record.description,
            category=record.category,
            price=record.price,
            tax_rate_bp=record.tax_rate_bp,
            stock=record.stock,
            available=record.available,
            archived=record.archived,
            image_url=record.image_url,
            version=record.version,
            updated_at=record.updated_at,
        )


@strawberry.type(description="A product and its cursor.")
class ProductEdge:
    cursor: str = strawberry.field(description="Opaque position in the list")
    node: Product = strawberry.field(description="The product")


@strawberry.type(description="A page of products, by name.")
class ProductConnection:
    edges: list[ProductEdge] = strawberry.field(description="The products of this page")
    page_info: PageInfo = strawberry.field(description="Where the next page starts")
    count: strawberry.Private[Count]

    @strawberry.field(description="Products matching the filter")
    async def total_count(self) -> int:
        return await self.count()


@strawberry.type(description="A browsing category.")
class Category:
    name: str = strawberry.field(description="Category name")
    product_count: int = strawberry.field(description="Products in it (not archived)")


@strawberry.input(description="Which products to list.")
class ProductFilter:
    search: str | None = strawberry.field(default=None, description="In the name or SKU")
    category: str | None = strawberry.field(default=None, description="This category")
    active: bool | None = strawberry.field(
        default=None, description="true: not archived (the default); false: archived only"
    )
    in_stock: bool | None = strawberry.field(
        default=None, description="true: can be sold now; false: sold out"
    )


@strawberry.input(description="A new product.")
class ProductInput:
    sku: str = strawberry.field(description="Unique SKU")
    name: str = strawberry.field(description="Name")
    category: str = strawberry.field(description="Category")
    price: int = strawberry.field(description="Minor units")
    description: str = strawberry.field(default="", description="Description")
    tax_rate_bp: int = strawberry.field(default=0, description="Basis points")
    stock: int | None = strawberry.field(default=None, description="null: not tracked")
    available: bool = strawberry.field(default=True, description="Offered in the chat")
    image_url: str | None = strawberry.field(default=None, description="Picture")


@strawberry.input(description="Fields to change; leave out what stays.")
class ProductChangesInput:
    name: str | None = strawberry.field(default=None, description="Name")
    category: str | None = strawberry.field(default=None, description="Category")
    price: int | None = strawberry.field(default=None, description="Minor units")
    description: str | None = strawberry.field(default=None, description="Description")
    tax_rate_bp: int | None = strawberry.field(default=None, description="Basis points")
    image_url: str | None = strawberry.field(default=None, description="Picture")


@strawberry.type(description="The result of a catalog change.")
class ProductPayload:
    product: Product | None = strawberry.field(default=None, description="The product now")
    errors: list[UserError] = strawberry.field(default_factory=list, description="Why not")


async def list_products(
    filter: ProductFilter | None, first: int, after: str | None
) -> ProductConnection:
    """Products by name (case-insensitive), then id: a keyset page read in one statement."""
    check_page_size(first)
    clauses: list[str] = []
    args: list[Any] = []

    def where(clause: str, *values: Any) -> None:
        clauses.append(clause)
        args.extend(values)

    active = True if filter is None or filter.active is None else filter.active
    where("archived_at IS NULL" if active else "archived_at IS NOT NULL")
    if filter is not None:
        if filter.search and filter.search.strip():
            pattern = contains(filter.search.strip())
            where("(name ILIKE {} OR sku ILIKE {})", pattern, pattern)
        if filter.category:
            where("category = {}", filter.category)
        if filter.in_stock is True:
            where("available AND (stock IS NULL OR stock > 0)")
        elif filter.in_stock is False:
            where("stock = 0")
    # Only fixed clauses are joined into the SQL; every value is a bound parameter.
    count_sql = f"SELECT count(*) AS n FROM product WHERE {' AND '.join(clauses)}"  # noqa: S608
    count = counting(count_sql, *args)
    if after is not None:
        name, product_id = _decode_product_cursor(after)
        where("(lower(name), id) > ({}, {})", name, product_id)
    rows = await fetch(
        f"SELECT *, lower(name) AS sort_name FROM product WHERE {' AND '.join(clauses)} "  # noqa: S608
        "ORDER BY lower(name), id LIMIT {}",
        *args,
        first + 1,
    )
    page = rows[:first]
    edges = [
        ProductEdge(
            cursor=cursor(row["id"], row["sort_name"]),
            node=Product.of(ProductRecord.from_row(dict(row))),
        )
        for row in page
    ]
    return ProductConnection(
        edges=edges,
        page_info=page_info([edge.cursor for edge in edges], more=len(rows) > first),
        count=count,
    )


def _decode_product_cursor(value: str) -> tuple[str, int]:
    product_id, name = cursor_key(value, 2)
    if not product_id.isdigit():
        raise GraphQLError("`after` is not a cursor from this list.", extensions=INVALID)
    return name, int(product_id)


async def _actor(info: Info) -> str:
    staff = await info.context.staff()
    assert staff is not None  # the permission checked it
    return actors.staff(staff.id)


@strawberry.type
class CatalogQuery:
    @strawberry.field(
        description="Products by name, active ones by default.", permission_classes=STAFF_THROTTLED
    )
    async def products(
        self, filter: ProductFilter | None = None, first: int = 50, after: str | None = None
    ) -> ProductConnection:
        return await list_products(filter, first, after)

    @strawberry.field(description="One product, by `id` or `sku`.", permission_classes=STAFF)
    async def product(
        self, id: strawberry.ID | None = None, sku: str | None = None
    ) -> Product | None:
        if (id is None) == (sku is None):
            raise GraphQLError("Give either `id` or `sku`.", extensions=INVALID)
        try:
            record = (
                await service.get_product(parse_id(id, "id"))
                if id is not None
                else await service.get_product_by_sku(str(sku))
            )
        except DomainError:
            return None
        return Product.of(record)

    @strawberry.field(description="Categories with their product counts.", permission_classes=STAFF)
    async def categories(self) -> list[Category]:
        rows = await ProductTable.raw(
            "SELECT category, count(*) AS n FROM product WHERE archived_at IS NULL "
            "GROUP BY category ORDER BY lower(category)"
        )
        return [Category(name=row["category"], product_count=row["n"]) for row in rows]


async def _change(work: Awaitable[ProductRecord]) -> ProductPayload:
    try:
        record = await work
    except DomainError as error:
        return ProductPayload(errors=user_errors(error))
    return ProductPayload(product=Product.of(record))


@strawberry.type
class CatalogMutation:
    @strawberry.mutation(description="Add a product (ADMIN).", permission_classes=ADMIN)
    async def create_product(self, info: Info, input: ProductInput) -> ProductPayload:
        draft = ProductDraft(
            sku=input.sku,
            name=input.name,
            category=input.category,
            price=input.price,
            description=input.description,
            tax_rate_bp=input.tax_rate_bp,
            stock=input.stock,
            available=input.available,
            image_url=input.image_url,
        )
        return await _change(service.create_product(draft, actor=await _actor(info)))

    @strawberry.mutation(
        description="Edit a product (ADMIN). `version` must be the one you read: if someone "
        "changed it since, the edit is refused with STALE_VERSION.",
        permission_classes=ADMIN,
    )
    async def update_product(
        self, info: Info, id: strawberry.ID, version: int, input: ProductChangesInput
    ) -> ProductPayload:
        changes = ProductChanges(
            name=input.name,
            category=input.category,
            price=input.price,
            description=input.description,
            tax_rate_bp=input.tax_rate_bp,
            image_url=input.image_url,
        )
        return await _change(
            service.update_product(
                parse_id(id, "id"), changes, expected_version=version, actor=await _actor(info)
            )
        )

    @strawberry.mutation(
        description="Withdraw a product for good (ADMIN); past orders keep it.",
        permission_classes=ADMIN,
    )
    async def archive_product(
        self, info: Info, id: strawberry.ID, version: int | None = None
    ) -> ProductPayload:
        return await _change(
            service.archive_product(
                parse_id(id, "id"), actor=await _actor(info), expected_version=version
            )
        )

    @strawberry.mutation(
        description="Offer or withdraw a product in the chat.", permission_classes=STAFF
    )
    async def set_product_availability(
        self, info: Info, id: strawberry.ID, available: bool
    ) -> ProductPayload:
        return await _change(
            service.set_availability(parse_id(id, "id"), available, actor=await _actor(info))
        )

    @strawberry.mutation(
        description="Add (delivery) or remove (damage, count) units, with a reason.",
        permission_classes=STAFF,
    )
    async def adjust_stock(
        self, info: Info, id: strawberry.ID, delta: int, reason: str
    ) -> ProductPayload:
        return await _change(
            service.adjust_stock(parse_id(id, "id"), delta, reason=reason, actor=await _actor(info))
        )

    @strawberry.mutation(
        description="Set the counted stock level, or null to stop tracking stock.",
        permission_classes=STAFF,
    )
    async def set_stock(
        self, info: Info, id: strawberry.ID, stock: int | None, reason: str
    ) -> ProductPayload:
        return await _change(
            service.set_stock(parse_id(id, "id"), stock, reason=reason, actor=await _actor(info))
        )
