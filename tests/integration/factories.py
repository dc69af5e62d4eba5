"""Small builders for test data, going through the real use cases."""

from __future__ import annotations

import itertools

from app import actors
from app.catalog.models import ProductDraft, ProductRecord
from app.catalog.service import create_product
from app.customers.service import CustomerRecord, register_customer
from app.ordering.values import ShopTerms

_counter = itertools.count(1)

TERMS = ShopTerms(currency="USD", prices_include_tax=False, delivery_fee=0, payment_minutes=30)


async def a_product(
    sku: str | None = None,
    *,
    price: int = 1000,
    stock: int | None = 10,
    tax_rate_bp: int = 0,
    category: str = "General",
    name: str | None = None,
    available: bool = True,
) -> ProductRecord:
    n = next(_counter)
    return await create_product(
        ProductDraft(
            sku=sku or f"SKU-{n}",
            name=name or f"Product {n}",
            category=category,
            price=price,
            stock=stock,
            tax_rate_bp=tax_rate_bp,
            available=available,
        ),
        actor=actors.SYSTEM,
    )


async def a_customer(user_id: str | None = None) -> CustomerRecord:
    n = next(_counter)
    return await register_customer(user_id=user_id or f"US.{n:012d}", profile_name=f"Customer {n}")
