"""Staff keep the catalog through GraphQL: ADMINs edit, STAFF change stock and availability."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from app.catalog.seed import seed_demo_catalog
from app.catalog.service import get_product_by_sku, product_history
from app.resources import Resources
from app.settings import Settings
from app.staff.service import create_staff
from app.staff.tables import Role
from tests.conftest import app_client
from tests.integration.graphql.test_auth import PASSWORD, gql, log_in

PRODUCTS = """query($filter: ProductFilter, $first: Int!, $after: String) {
  products(filter: $filter, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { sku name stock available } } } }"""
UPDATE = """mutation($id: ID!, $version: Int!, $input: ProductChangesInput!) {
  updateProduct(id: $id, version: $version, input: $input) {
    product { price version } errors { field code message } } }"""


@pytest.fixture
async def api(db: Resources, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    await seed_demo_catalog()
    await create_staff("boss@shop.example", "Boss", Role.ADMIN, PASSWORD)
    await create_staff("ada@shop.example", "Ada", Role.STAFF, PASSWORD)
    async with app_client(settings) as client:
        yield client


async def test_products_page_by_name_and_filter(api: httpx.AsyncClient) -> None:
    staff = await log_in(api, "ada@shop.example")
    first = (await gql(api, PRODUCTS, staff, first=10))["data"]["products"]
    assert first["totalCount"] == 28
    names = [edge["node"]["name"] for edge in first["edges"]]
    assert names == sorted(names, key=str.casefold)
    rest = await gql(api, PRODUCTS, staff, first=100, after=first["pageInfo"]["endCursor"])
    assert len(rest["data"]["products"]["edges"]) == 18
    found = await gql(api, PRODUCTS, staff, first=10, filter={"search": "sourd"})
    assert [e["node"]["sku"] for e in found["data"]["products"]["edges"]] == ["BRD-SOUR"]
    sold_out = await gql(api, PRODUCTS, staff, first=50, filter={"inStock": False})
    assert all(e["node"]["stock"] == 0 for e in sold_out["data"]["products"]["edges"])
    categories = await gql(api, "{ categories { name productCount } }", staff)
    assert sum(c["productCount"] for c in categories["data"]["categories"]) == 28


async def test_staff_change_stock_and_availability_with_an_audit_trail(
    api: httpx.AsyncClient,
) -> None:
    staff = await log_in(api, "ada@shop.example")
    product = await get_product_by_sku("BRD-SOUR")
    adjust = """mutation($id: ID!, $delta: Int!, $reason: String!) {
      adjustStock(id: $id, delta: $delta, reason: $reason) {
        product { stock } errors { code } } }"""
    added = await gql(api, adjust, staff, id=str(product.id), delta=5, reason="delivery")
    assert added["data"]["adjustStock"]["product"]["stock"] == (product.stock or 0) + 5
    too_many = await gql(api, adjust, staff, id=str(product.id), delta=-1000, reason="count")
    assert too_many["data"]["adjustStock"]["errors"] == [{"code": "INVALID"}]
    hide = """mutation($id: ID!) { setProductAvailability(id: $id, available: false) {
      product { available } } }"""
    hidden = await gql(api, hide, staff, id=str(product.id))
    assert hidden["data"]["setProductAvailability"]["product"] == {"available": False}
    history = await product_history(product.id)
    assert [event["actor"] for event in history[-2:]] == ["staff:2", "staff:2"]


async def test_only_admins_edit_and_stale_edits_are_refused(api: httpx.AsyncClient) -> None:
    staff = await log_in(api, "ada@shop.example")
    admin = await log_in(api, "boss@shop.example")
    product = await get_product_by_sku("BRD-BAGU")
    changes = {"id": str(product.id), "version": product.version, "input": {"price": 299}}
    refused = await gql(api, UPDATE, staff, **changes)
    assert refused["errors"][0]["extensions"] == {"code": "FORBIDDEN"}
    done = await gql(api, UPDATE, admin, **changes)
    assert done["data"]["updateProduct"]["product"] == {
        "price": 299,
        "version": product.version + 1,
    }
    stale = await gql(api, UPDATE, admin, **changes)
    assert stale["data"]["updateProduct"]["errors"][0]["code"] == "STALE_VERSION"
    negative = await gql(
        api, UPDATE, admin, id=str(product.id), version=product.version + 1, input={"price": -3}
    )
    assert negative["data"]["updateProduct"]["errors"][0]["code"] == "INVALID"
    assert (await get_product_by_sku("BRD-BAGU")).price == 299


async def test_admins_create_and_archive_products(api: httpx.AsyncClient) -> None:
    admin = await log_in(api, "boss@shop.example")
    create = """mutation($input: ProductInput!) { createProduct(input: $input) {
      product { id sku } errors { field code } } }"""
    new = {"sku": "HRB-LEMON", "name": "Lemon balm", "category": "Drinks", "price": 350}
    made = await gql(api, create, admin, input=new)
    assert made["data"]["createProduct"]["errors"] == [], made
    product_id = made["data"]["createProduct"]["product"]["id"]
    duplicate = await gql(api, create, admin, input={**new, "sku": "hrb-lemon"})
    assert duplicate["data"]["createProduct"]["errors"][0]["code"] == "DUPLICATE"
    archive = """mutation($id: ID!) { archiveProduct(id: $id) { product { archived } } }"""
    archived = await gql(api, archive, admin, id=product_id)
    assert archived["data"]["archiveProduct"]["product"] == {"archived": True}
    listed = await gql(api, PRODUCTS, admin, first=100, filter={"search": "lemon balm"})
    assert listed["data"]["products"]["edges"] == []


async def test_search_text_is_matched_literally_and_pages_hold_under_inserts(
    api: httpx.AsyncClient,
) -> None:
    admin = await log_in(api, "boss@shop.example")
    create = """mutation($input: ProductInput!) { createProduct(input: $input) {
      product { id } errors { code } } }"""
    for sku, name in (("TEA-50", "Tea 50% off"), ("TEA-500", "Tea 500 g"), ("MUG-A_B", "Mug a_b")):
        new = {"sku": sku, "name": name, "category": "Drinks", "price": 100}
        made = await gql(api, create, admin, input=new)
        assert made["data"]["createProduct"]["errors"] == [], made

    async def skus(search: str) -> list[str]:
        found = await gql(api, PRODUCTS, admin, first=50, filter={"search": search})
        return [edge["node"]["sku"] for edge in found["data"]["products"]["edges"]]

    assert await skus("50%") == ["TEA-50"]  # % is a character here, not "anything"
    assert await skus("a_b") == ["MUG-A_B"]  # and _ is not "any one character"
    assert await skus("%") == ["TEA-50"]
    assert await skus("\\") == []
    # A page boundary does not move when a product sorting before it is added.
    first = (await gql(api, PRODUCTS, admin, first=5))["data"]["products"]
    seen = [edge["node"]["sku"] for edge in first["edges"]]
    first_product = {"sku": "AAA-1", "name": "Aaa first", "category": "Drinks", "price": 1}
    made = await gql(api, create, admin, input=first_product)
    assert made["data"]["createProduct"]["errors"] == []
    after = first["pageInfo"]["endCursor"]
    rest = await gql(api, PRODUCTS, admin, first=100, after=after)
    later = [edge["node"]["sku"] for edge in rest["data"]["products"]["edges"]]
    assert not set(seen) & set(later)
    assert "AAA-1" not in later
    assert len(seen) + len(later) == 28 + 3  # every product once; the new one sorts first
