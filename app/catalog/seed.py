"""Load the demo catalog; products whose SKU already exists are left untouched."""

from __future__ import annotations

from app import actors
from app.catalog.demo import demo_catalog
from app.catalog.service import create_product
from app.catalog.tables import Product
from app.errors import Duplicate


async def seed_demo_catalog() -> int:
    """Create the demo products that are missing; return how many were created."""
    created = 0
    for draft in demo_catalog():
        try:
            await create_product(draft, actor=actors.SYSTEM)
        except Duplicate:
            continue
        created += 1
    return created


async def catalog_is_empty() -> bool:
    return bool(await Product.count() == 0)
