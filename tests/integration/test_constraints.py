"""The database itself refuses bad rows, even when the application code is bypassed.

Everything here is raw SQL on the test database's pool; each refusal is checked by its
asyncpg exception class and, where PostgreSQL names it, by the constraint at fault.
"""

from __future__ import annotations

import importlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from piccolo.apps.migrations.tables import Migration

from app.db import piccolo_conf

MIGRATION_MODULES = tuple(
    f"migrations.{path.stem}"
    for path in sorted((Path(__file__).resolve().parents[2] / "migrations").glob("m0*.py"))
)

# PostgreSQL 18 reports ON DELETE RESTRICT as its own error class; older servers as a plain
# foreign-key violation. Either way the row stays.
DELETE_REFUSED = (asyncpg.ForeignKeyViolationError, asyncpg.RestrictViolationError)


# --------------------------------------------------------------------------- raw SQL helpers


async def fetch(sql: str, *args: Any) -> list[asyncpg.Record]:
    """Run one statement on its own (autocommit) connection of the test engine's pool."""
    async with piccolo_conf.DB.pool.acquire() as connection:
        return list(await connection.fetch(sql, *args))


async def fetchval(sql: str, *args: Any) -> Any:
    async with piccolo_conf.DB.pool.acquire() as connection:
        return await connection.fetchval(sql, *args)


async def count(table: str) -> int:
    return int(await fetchval(f'SELECT count(*) FROM "{table}"'))


_n = 0


def unique(prefix: str) -> str:
    global _n
    _n += 1
    return f"{prefix}{_n}"


async def insert_customer(*, user_id: str | None = None, wa_id: str | None = None) -> int:
    if user_id is None and wa_id is None:
        user_id = unique("US.")
    return int(
        await fetchval(
            "INSERT INTO customer (user_id, wa_id) VALUES ($1, $2) RETURNING id", user_id, wa_id
        )
    )


async def insert_product(**overrides: Any) -> int:
    values: dict[str, Any] = {
        "sku": unique("SKU-"),
        "name": "Widget",
        "category": "General",
        "price": 1000,
        "tax_rate_bp": 0,
        "stock": 5,
        **overrides,
    }
    columns = ", ".join(f'"{c}"' for c in values)
    params = ", ".join(f"${i}" for i in range(1, len(values) + 1))
    return int(
        await fetchval(
            f"INSERT INTO product ({columns}) VALUES ({params}) RETURNING id", *values.values()
        )
    )


async def insert_order(customer_id: int | None = None, **overrides: Any) -> int:
    if customer_id is None:
        customer_id = await insert_customer()
    values: dict[str, Any] = {
        "customer": customer_id,
        "currency": "USD",
        "subtotal": 1000,
        "tax": 160,
        "delivery_fee": 0,
        "total": 1160,
        **overrides,
    }
    columns = ", ".join(f'"{c}"' for c in values)
    params = ", ".join(f"${i}" for i in range(1, len(values) + 1))
    number = "" if "number" in values else '"number", '
    number_value = "" if "number" in values else "nextval('order_number_seq'), "
    return int(
        await fetchval(
            f"INSERT INTO orders ({number}{columns}) VALUES ({number_value}{params}) RETURNING id",
            *values.values(),
        )
    )


async def insert_order_item(order_id: int, product_id: int | None = None, **overrides: Any) -> int:
    values: dict[str, Any] = {
        "order": order_id,
        "product": product_id,
        "sku": unique("SKU-"),
        "name": "Widget",
        "unit_price": 1000,
        "tax_rate_bp": 1600,
        "quantity": 1,
        "net": 1000,
        "tax": 160,
        "gross": 1160,
        **overrides,
    }
    columns = ", ".join(f'"{c}"' for c in values)
    params = ", ".join(f"${i}" for i in range(1, len(values) + 1))
    return int(
        await fetchval(
            f"INSERT INTO order_item ({columns}) VALUES ({params}) RETURNING id",
            *values.values(),
        )
    )


async def insert_payment(order_id: int, **overrides: Any) -> int:
    values: dict[str, Any] = {
        "order": order_id,
        "attempt": 1,
        # A closed attempt by default: only one attempt per method may be open at a time.
        "status": "failed",
        "provider": "manual",
        "reference": unique("REF"),
        "idempotency_key": unique("idem-"),
        "amount": 1160,
        "currency": "USD",
        **overrides,
    }
    columns = ", ".join(f'"{c}"' for c in values)
    params = ", ".join(f"${i}" for i in range(1, len(values) + 1))
    return int(
        await fetchval(
            f"INSERT INTO payment ({columns}) VALUES ({params}) RETURNING id", *values.values()
        )
    )


async def test_one_open_payment_per_order_and_method() -> None:
    order_id = await insert_order(await insert_customer())
    await insert_payment(order_id, attempt=1, status="pending")
    await insert_payment(order_id, attempt=2, status="pending", provider="stripe")
    with pytest.raises(asyncpg.UniqueViolationError) as caught:
        await insert_payment(order_id, attempt=3, status="awaiting_verification")
    assert caught.value.constraint_name == "payment_one_open_per_method"


async def insert_receipt(order_id: int, payment_id: int, **overrides: Any) -> int:
    values: dict[str, Any] = {
        "number": unique("R-2026-"),
        "order": order_id,
        "payment": payment_id,
        **overrides,
    }
    columns = ", ".join(f'"{c}"' for c in values)
    params = ", ".join(f"${i}" for i in range(1, len(values) + 1))
    sequence = "" if "sequence" in values else '"sequence", '
    sequence_value = "" if "sequence" in values else "nextval('receipt_number_seq'), "
    return int(
        await fetchval(
            f"INSERT INTO receipt ({sequence}{columns}) "
            f"VALUES ({sequence_value}{params}) RETURNING id",
            *values.values(),
        )
    )


async def insert_inbound(wamid: str | None, customer_id: int | None = None) -> int:
    return int(
        await fetchval(
            "INSERT INTO inbound_message (wamid, customer, type, payload, sent_at) "
            "VALUES ($1, $2, 'text', '{}'::jsonb, now()) RETURNING id",
            wamid,
            customer_id,
        )
    )


async def insert_outbound(customer_id: int, wamid: str | None) -> int:
    return int(
        await fetchval(
            "INSERT INTO outbound_message (customer, recipient, kind, payload, wamid) "
            "VALUES ($1, '14155552671', 'text', '{}'::jsonb, $2) RETURNING id",
            customer_id,
            wamid,
        )
    )


async def insert_staff(email: str) -> int:
    return int(
        await fetchval(
            "INSERT INTO staff_user (email, name, password_hash) "
            "VALUES ($1, 'Sam', 'argon2id$x') RETURNING id",
            email,
        )
    )


# --------------------------------------------------------------------------- unique


async def test_sku_is_unique() -> None:
    await insert_product(sku="TEA-1")
    with pytest.raises(asyncpg.UniqueViolationError) as caught:
        await insert_product(sku="TEA-1", name="Other")
    assert caught.value.constraint_name == "product_sku_key"
    assert await count("product") == 1


async def test_order_number_is_unique() -> None:
    await insert_order(number=5000)
    with pytest.raises(asyncpg.UniqueViolationError) as caught:
        await insert_order(number=5000)
    assert caught.value.constraint_name == "orders_number_key"
    assert await count("orders") == 1


async def test_payment_reference_is_unique() -> None:
    order_id = await insert_order()
    await insert_payment(order_id, reference="ABCD-1234")
    with pytest.raises(asyncpg.UniqueViolationError) as caught:
        await insert_payment(order_id, attempt=2, reference="ABCD-1234")
    assert caught.value.constraint_name == "payment_reference_key"
    assert await count("payment") == 1


async def test_payment_idempotency_key_is_unique() -> None:
    order_id = await insert_order()
    await insert_payment(order_id, idempotency_key="order-1-attempt-1")
    with pytest.raises(asyncpg.UniqueViolationError) as caught:
        await insert_payment(order_id, attempt=2, idempotency_key="order-1-attempt-1")
    assert caught.value.constraint_name == "payment_idempotency_key_key"
    assert await count("payment") == 1


async def test_one_payment_row_per_attempt() -> None:
    order_id = await insert_order()
    await insert_payment(order_id, attempt=1)
    with pytest.raises(asyncpg.UniqueViolationError) as caught:
        await insert_payment(order_id, attempt=1)
    assert caught.value.constraint_name == "payment_one_row_per_attempt"


async def test_receipt_number_is_unique() -> None:
    order_id = await insert_order()
    first_payment = await insert_payment(order_id, attempt=1)
    second_payment = await insert_payment(order_id, attempt=2)
    await insert_receipt(order_id, first_payment, number="R-2026-000001")
    with pytest.raises(asyncpg.UniqueViolationError) as caught:
        await insert_receipt(order_id, second_payment, number="R-2026-000001")
    assert caught.value.constraint_name == "receipt_number_key"
    assert await count("receipt") == 1


async def test_receipt_sequence_is_unique() -> None:
    order_id = await insert_order()
    first_payment = await insert_payment(order_id, attempt=1)
    second_payment = await insert_payment(order_id, attempt=2)
    await insert_receipt(order_id, first_payment, sequence=42)
    with pytest.raises(asyncpg.UniqueViolationError) as caught:
        await insert_receipt(order_id, second_payment, sequence=42)
    assert caught.value.constraint_name == "receipt_sequence_key"


async def test_one_receipt_per_payment() -> None:
    order_id = await insert_order()
    payment_id = await insert_payment(order_id)
    await insert_receipt(order_id, payment_id)
    with pytest.raises(asyncpg.UniqueViolationError) as caught:
        await insert_receipt(order_id, payment_id)
    assert caught.value.constraint_name == "receipt_payment_key"
    assert await count("receipt") == 1


async def test_inbound_wamid_is_unique() -> None:
    wamid = "wamid.HBgLMTQxNTU1NTI2NzEVAgASGBQzQTdGNUY1"
    await insert_inbound(wamid)
    with pytest.raises(asyncpg.UniqueViolationError) as caught:
        await insert_inbound(wamid)
    assert caught.value.constraint_name == "inbound_message_wamid_key"
    assert await count("inbound_message") == 1


async def test_outbound_wamid_is_unique_but_may_be_missing() -> None:
    customer_id = await insert_customer()
    await insert_outbound(customer_id, "wamid.OUT1")
    with pytest.raises(asyncpg.UniqueViolationError) as caught:
        await insert_outbound(customer_id, "wamid.OUT1")
    assert caught.value.constraint_name == "outbound_message_wamid_key"
    # Queued messages have no wamid yet: many NULLs are fine.
    await insert_outbound(customer_id, None)
    await insert_outbound(customer_id, None)
    assert await count("outbound_message") == 3


async def test_staff_email_is_unique() -> None:
    await insert_staff("sam@example.com")
    with pytest.raises(asyncpg.UniqueViolationError) as caught:
        await insert_staff("sam@example.com")
    assert caught.value.constraint_name == "staff_user_email_key"
    assert await count("staff_user") == 1


async def test_customer_user_id_is_unique() -> None:
    await insert_customer(user_id="US.1")
    with pytest.raises(asyncpg.UniqueViolationError) as caught:
        await insert_customer(user_id="US.1", wa_id="14155552671")
    assert caught.value.constraint_name == "customer_user_id_key"
    assert await count("customer") == 1


async def test_customer_wa_id_is_unique() -> None:
    await insert_customer(wa_id="14155552671")
    with pytest.raises(asyncpg.UniqueViolationError) as caught:
        await insert_customer(user_id="US.2", wa_id="14155552671")
    assert caught.value.constraint_name == "customer_wa_id_key"
    assert await count("customer") == 1


async def test_one_order_line_per_sku() -> None:
    order_id = await insert_order()
    await insert_order_item(order_id, sku="TEA-1")
    with pytest.raises(asyncpg.UniqueViolationError) as caught:
        await insert_order_item(order_id, sku="TEA-1")
    assert caught.value.constraint_name == "order_item_one_line_per_sku"


# --------------------------------------------------------------------------- checks


@pytest.mark.parametrize(
    ("overrides", "constraint"),
    [
        ({"price": -1}, "product_price_non_negative"),
        ({"stock": -1}, "product_stock_non_negative"),
        ({"tax_rate_bp": -1}, "product_tax_rate_range"),
        ({"tax_rate_bp": 10_001}, "product_tax_rate_range"),
        ({"name": "   "}, "product_name_not_blank"),
        ({"sku": " "}, "product_sku_not_blank"),
    ],
    ids=[
        "price-negative",
        "stock-negative",
        "tax-negative",
        "tax-10001",
        "blank-name",
        "blank-sku",
    ],
)
async def test_product_checks(overrides: dict[str, Any], constraint: str) -> None:
    with pytest.raises(asyncpg.CheckViolationError) as caught:
        await insert_product(**overrides)
    assert caught.value.constraint_name == constraint
    assert await count("product") == 0


async def test_product_boundaries_and_untracked_stock_are_allowed() -> None:
    await insert_product(price=0, stock=0, tax_rate_bp=0)
    await insert_product(stock=None, tax_rate_bp=10_000)
    assert await count("product") == 2


async def test_product_update_cannot_drive_stock_negative() -> None:
    product_id = await insert_product(stock=1)
    with pytest.raises(asyncpg.CheckViolationError) as caught:
        await fetch("UPDATE product SET stock = stock - 2 WHERE id = $1", product_id)
    assert caught.value.constraint_name == "product_stock_non_negative"
    assert await fetchval("SELECT stock FROM product WHERE id = $1", product_id) == 1


@pytest.mark.parametrize(
    ("overrides", "constraint"),
    [
        ({"quantity": 0}, "order_item_quantity_positive"),
        ({"quantity": -2}, "order_item_quantity_positive"),
        (
            {"unit_price": -1, "net": 0, "tax": 0, "gross": 0},
            "order_item_amounts_non_negative",
        ),
        ({"gross": 1161}, "order_item_gross_adds_up"),
    ],
    ids=["quantity-0", "quantity-negative", "negative-price", "gross-wrong"],
)
async def test_order_item_checks(overrides: dict[str, Any], constraint: str) -> None:
    order_id = await insert_order()
    with pytest.raises(asyncpg.CheckViolationError) as caught:
        await insert_order_item(order_id, **overrides)
    assert caught.value.constraint_name == constraint
    assert await count("order_item") == 0


@pytest.mark.parametrize(
    ("amounts", "constraint"),
    [
        ({"subtotal": -100, "tax": 0, "delivery_fee": 0, "total": -100}, "amounts"),
        ({"subtotal": 200, "tax": -100, "delivery_fee": 0, "total": 100}, "amounts"),
        ({"subtotal": 200, "tax": 0, "delivery_fee": -100, "total": 100}, "amounts"),
        ({"subtotal": 100, "tax": 16, "delivery_fee": 50, "total": 165}, "total"),
        ({"subtotal": 100, "tax": 16, "delivery_fee": 0, "total": 100}, "total"),
    ],
    ids=["negative-subtotal", "negative-tax", "negative-fee", "total-off-by-one", "total-no-tax"],
)
async def test_order_amount_checks(amounts: dict[str, int], constraint: str) -> None:
    expected = {
        "amounts": "orders_amounts_non_negative",
        "total": "orders_total_adds_up",
    }[constraint]
    customer_id = await insert_customer()
    with pytest.raises(asyncpg.CheckViolationError) as caught:
        await insert_order(customer_id, **amounts)
    assert caught.value.constraint_name == expected
    assert await count("orders") == 0


async def test_order_total_must_keep_adding_up_on_update() -> None:
    order_id = await insert_order()
    with pytest.raises(asyncpg.CheckViolationError) as caught:
        await fetch("UPDATE orders SET delivery_fee = 300 WHERE id = $1", order_id)
    assert caught.value.constraint_name == "orders_total_adds_up"
    await fetch("UPDATE orders SET delivery_fee = 300, total = total + 300 WHERE id = $1", order_id)
    assert await fetchval("SELECT total FROM orders WHERE id = $1", order_id) == 1460


async def test_delivery_order_needs_a_destination() -> None:
    customer_id = await insert_customer()
    with pytest.raises(asyncpg.CheckViolationError) as caught:
        await insert_order(customer_id, fulfilment="delivery")
    assert caught.value.constraint_name == "orders_delivery_has_destination"
    assert await count("orders") == 0

    await insert_order(customer_id, fulfilment="delivery", delivery_address="1 Main St")
    await insert_order(
        customer_id, fulfilment="delivery", delivery_latitude=-1.29, delivery_longitude=36.82
    )
    await insert_order(customer_id, fulfilment="pickup")
    assert await count("orders") == 3


async def test_staff_email_must_be_lower_case() -> None:
    with pytest.raises(asyncpg.CheckViolationError) as caught:
        await insert_staff("Sam@Example.com")
    assert caught.value.constraint_name == "staff_email_lower_case"
    assert await count("staff_user") == 0


async def test_customer_needs_user_id_or_wa_id() -> None:
    with pytest.raises(asyncpg.CheckViolationError) as caught:
        await fetch("INSERT INTO customer (profile_name) VALUES ('Ghost')")
    assert caught.value.constraint_name == "customer_has_identity"
    customer_id = await insert_customer(user_id="US.9")
    with pytest.raises(asyncpg.CheckViolationError):
        await fetch("UPDATE customer SET user_id = NULL WHERE id = $1", customer_id)
    assert await count("customer") == 1


@pytest.mark.parametrize(
    ("amount", "attempt", "constraint"),
    [(-1, 1, "payment_amount_non_negative"), (100, 0, "payment_attempt_positive")],
    ids=["negative-amount", "attempt-0"],
)
async def test_payment_checks(amount: int, attempt: int, constraint: str) -> None:
    order_id = await insert_order()
    with pytest.raises(asyncpg.CheckViolationError) as caught:
        await insert_payment(order_id, amount=amount, attempt=attempt)
    assert caught.value.constraint_name == constraint


# --------------------------------------------------------------------------- not null


@pytest.mark.parametrize(
    ("sql", "column"),
    [
        ("INSERT INTO product (sku, name, category, price) VALUES ('A', NULL, 'G', 1)", "name"),
        ("INSERT INTO product (sku, name, category, price) VALUES ('A', 'N', 'G', NULL)", "price"),
        (
            "INSERT INTO inbound_message (wamid, type, payload, sent_at) "
            "VALUES (NULL, 'text', '{}'::jsonb, now())",
            "wamid",
        ),
        ("INSERT INTO staff_user (email, name, password_hash) VALUES (NULL, 'S', 'h')", "email"),
    ],
    ids=["product-name", "product-price", "inbound-wamid", "staff-email"],
)
async def test_required_columns_refuse_null(sql: str, column: str) -> None:
    with pytest.raises(asyncpg.NotNullViolationError) as caught:
        await fetch(sql)
    assert caught.value.column_name == column


@pytest.mark.parametrize(
    ("table", "column"),
    [
        ("order_item", "order"),
        ("orders", "customer"),
        ("payment", "order"),
        ("receipt", "order"),
        ("receipt", "payment"),
        ("order_event", "order"),
        ("product_event", "product"),
        ("outbound_message", "customer"),
        ("staff_token", "staff"),
    ],
)
async def test_ownership_foreign_keys_refuse_null(table: str, column: str) -> None:
    order_id = await insert_order()
    payment_id = await insert_payment(order_id)
    customer_id = await insert_customer()
    product_id = await insert_product()
    staff_id = await insert_staff(unique("staff") + "@example.com")
    # A valid row of each table; the column under test is then set to NULL.
    rows: dict[str, dict[str, Any]] = {
        "order_item": {
            "order": order_id,
            "sku": "X",
            "name": "X",
            "unit_price": 1,
            "tax_rate_bp": 0,
            "quantity": 1,
            "net": 1,
            "tax": 0,
            "gross": 1,
        },
        "orders": {
            "number": 9999,
            "customer": customer_id,
            "currency": "USD",
            "subtotal": 1,
            "tax": 0,
            "delivery_fee": 0,
            "total": 1,
        },
        "payment": {
            "order": order_id,
            "attempt": 9,
            "provider": "manual",
            "reference": "NULLREF",
            "idempotency_key": "null-key",
            "amount": 1,
            "currency": "USD",
        },
        "receipt": {"number": "R-NULL", "sequence": 9999, "order": order_id, "payment": payment_id},
        "order_event": {"order": order_id, "type": "OrderPlaced", "actor": "system"},
        "product_event": {"product": product_id, "type": "ProductCreated"},
        "outbound_message": {
            "customer": customer_id,
            "recipient": "14155552671",
            "kind": "text",
            "payload": "{}",
        },
        "staff_token": {
            "staff": staff_id,
            "token_hash": "f" * 64,
            "expires_at": datetime.now(UTC),
        },
    }
    values = {**rows[table], column: None}
    columns = ", ".join(f'"{c}"' for c in values)
    params = ", ".join(f"${i}" for i in range(1, len(values) + 1))
    with pytest.raises(asyncpg.NotNullViolationError) as caught:
        await fetch(f'INSERT INTO "{table}" ({columns}) VALUES ({params})', *values.values())
    assert caught.value.column_name == column


# --------------------------------------------------------------------------- foreign keys


async def test_order_item_for_missing_order_is_refused() -> None:
    with pytest.raises(asyncpg.ForeignKeyViolationError) as caught:
        await insert_order_item(987_654)
    assert caught.value.constraint_name == "order_item_order_fkey"
    assert await count("order_item") == 0


async def test_order_item_for_missing_product_is_refused() -> None:
    order_id = await insert_order()
    with pytest.raises(asyncpg.ForeignKeyViolationError) as caught:
        await insert_order_item(order_id, 987_654)
    assert caught.value.constraint_name == "order_item_product_fkey"


async def test_payment_and_receipt_for_missing_parents_are_refused() -> None:
    with pytest.raises(asyncpg.ForeignKeyViolationError) as caught:
        await insert_payment(987_654)
    assert caught.value.constraint_name == "payment_order_fkey"
    order_id = await insert_order()
    with pytest.raises(asyncpg.ForeignKeyViolationError) as caught:
        await insert_receipt(order_id, 987_654)
    assert caught.value.constraint_name == "receipt_payment_fkey"


async def test_customer_with_orders_cannot_be_deleted() -> None:
    customer_id = await insert_customer()
    order_id = await insert_order(customer_id)

    with pytest.raises(DELETE_REFUSED) as caught:
        await fetch("DELETE FROM customer WHERE id = $1", customer_id)
    assert caught.value.constraint_name == "orders_customer_fkey"

    assert await count("customer") == 1
    assert await fetchval("SELECT customer FROM orders WHERE id = $1", order_id) == customer_id


async def test_customer_without_orders_can_be_deleted() -> None:
    customer_id = await insert_customer()
    await fetch("DELETE FROM customer WHERE id = $1", customer_id)
    assert await count("customer") == 0


async def test_product_on_an_order_cannot_be_deleted() -> None:
    product_id = await insert_product()
    order_id = await insert_order()
    await insert_order_item(order_id, product_id)

    with pytest.raises(DELETE_REFUSED) as caught:
        await fetch("DELETE FROM product WHERE id = $1", product_id)
    assert caught.value.constraint_name == "order_item_product_fkey"
    assert await count("product") == 1
    assert await count("order_item") == 1


async def test_product_with_history_cannot_be_deleted() -> None:
    product_id = await insert_product()
    await fetch(
        "INSERT INTO product_event (product, type, actor) VALUES ($1, 'ProductCreated', 'system')",
        product_id,
    )
    with pytest.raises(DELETE_REFUSED) as caught:
        await fetch("DELETE FROM product WHERE id = $1", product_id)
    assert caught.value.constraint_name == "product_event_product_fkey"


async def test_order_with_lines_or_payments_cannot_be_deleted() -> None:
    order_id = await insert_order()
    await insert_order_item(order_id)
    await insert_payment(order_id)
    with pytest.raises(DELETE_REFUSED):
        await fetch("DELETE FROM orders WHERE id = $1", order_id)
    assert await count("orders") == 1


# --------------------------------------------------------------------------- schema


async def test_every_migration_is_recorded() -> None:
    expected = {importlib.import_module(name).ID for name in MIGRATION_MODULES}
    ran = await Migration.select(Migration.name).where(Migration.app_name == "chatcart")
    assert {row["name"] for row in ran} == expected
    # Piccolo keeps its bookkeeping in a table named "migration".
    assert await fetchval("SELECT to_regclass('public.migration') IS NOT NULL") is True


async def test_order_number_sequence_starts_at_1001() -> None:
    assert await fetchval("SELECT nextval('order_number_seq')") == 1001
    assert await fetchval("SELECT nextval('order_number_seq')") == 1002


async def test_receipt_number_sequence_starts_at_1() -> None:
    assert await fetchval("SELECT nextval('receipt_number_seq')") == 1
    assert await fetchval("SELECT nextval('receipt_number_seq')") == 2


async def test_sequences_exist() -> None:
    rows = await fetch("SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'")
    names = {row["sequencename"] for row in rows}
    assert {"order_number_seq", "receipt_number_seq"} <= names


# index name -> (table, fragments its definition must contain)
EXPECTED_INDEXES: dict[str, tuple[str, tuple[str, ...]]] = {
    "orders_status_placed_idx": ("orders", ("(status, placed_at DESC)",)),
    "orders_placed_idx": ("orders", ("(placed_at DESC)",)),
    "orders_customer_placed_idx": ("orders", ("(customer, placed_at DESC)",)),
    "orders_pending_expiry_idx": ("orders", ("(expires_at)", "WHERE", "'pending_payment'")),
    "order_event_unpublished_idx": ("order_event", ("(id)", "WHERE (published_at IS NULL)")),
    "payment_status_created_idx": ("payment", ("(status, created_at)",)),
    "payment_open_expiry_idx": (
        "payment",
        ("(expires_at)", "WHERE", "'pending'", "'awaiting_verification'"),
    ),
    "inbound_pending_customer_idx": (
        "inbound_message",
        ("(customer, sent_at, id)", "WHERE", "'pending'"),
    ),
    "inbound_pending_received_idx": ("inbound_message", ("(received_at)", "WHERE", "'pending'")),
    "outbound_queued_due_idx": ("outbound_message", ("(next_attempt_at)", "WHERE", "'queued'")),
    "outbound_customer_idx": ("outbound_message", ("(customer, id)",)),
    "outbound_status_idx": ("outbound_message", ("(status)",)),
    "product_category_name_idx": ("product", ("(category, name)", "WHERE (archived_at IS NULL)")),
    "staff_token_expiry_idx": ("staff_token", ("(expires_at)",)),
}


async def test_indexes_from_the_second_migration_exist() -> None:
    rows = await fetch(
        "SELECT indexname, tablename, indexdef FROM pg_indexes WHERE schemaname = 'public'"
    )
    found = {row["indexname"]: (row["tablename"], row["indexdef"]) for row in rows}

    missing = set(EXPECTED_INDEXES) - set(found)
    assert not missing, f"missing indexes: {sorted(missing)}"
    for name, (table, fragments) in EXPECTED_INDEXES.items():
        actual_table, definition = found[name]
        assert actual_table == table, name
        for fragment in fragments:
            assert fragment in definition, f"{name}: {fragment!r} not in {definition!r}"


def test_expected_indexes_cover_the_migration() -> None:
    """Every index the migration creates is checked above (keeps the list honest)."""
    forwards = importlib.import_module(MIGRATION_MODULES[1]).FORWARDS
    created = {
        statement.split("IF NOT EXISTS ")[1].split()[0]
        for statement in forwards
        if statement.startswith("CREATE INDEX")
    }
    assert created == set(EXPECTED_INDEXES)


@pytest.mark.parametrize(
    ("table", "column", "value"),
    [
        ("orders", "status", "shipped"),
        ("orders", "fulfilment", "drone"),
        ("payment", "status", "maybe"),
        ("staff_user", "role", "OWNER"),
        ("inbound_message", "status", "lost"),
        ("outbound_message", "status", "vanished"),
    ],
)
async def test_unknown_statuses_are_refused_by_the_database(
    table: str, column: str, value: str
) -> None:
    order_id = await insert_order()
    await insert_payment(order_id)
    await insert_staff(unique("staff") + "@example.com")
    customer_id = await insert_customer()
    await fetch(
        "INSERT INTO inbound_message (wamid, customer, type, payload, sent_at) "
        "VALUES ($1, $2, 'text', '{}', now())",
        unique("wamid"),
        customer_id,
    )
    await fetch(
        "INSERT INTO outbound_message (customer, recipient, kind, payload) "
        "VALUES ($1, '1555', 'text', '{}')",
        customer_id,
    )
    with pytest.raises(asyncpg.CheckViolationError):
        await fetch(f'UPDATE "{table}" SET "{column}" = $1', value)
