"""The database refuses statuses and roles the code does not know, and SKUs that differ
only by case.

Piccolo's ``choices`` are checked in Python only; these constraints make PostgreSQL
hold the line too.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from app.db.sql_migration import sql_migration

ID = "2026-11-28T16:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "check constraints on statuses and roles; SKUs unique regardless of case"

_CHECKS = {
    ("orders", "orders_status_known"): "status IN ('pending_payment', 'paid', 'preparing', "
    "'ready', 'out_for_delivery', 'completed', 'cancelled', 'expired', 'refunded')",
    ("orders", "orders_fulfilment_known"): "fulfilment IN ('delivery', 'pickup')",
    ("payment", "payment_status_known"): "status IN ('pending', 'awaiting_verification', "
    "'confirmed', 'failed', 'expired')",
    ("staff_user", "staff_role_known"): "role IN ('ADMIN', 'STAFF')",
    ("inbound_message", "inbound_status_known"): "status IN ('pending', 'processed', 'failed')",
    ("outbound_message", "outbound_status_known"): "status IN ('queued', 'sent', 'delivered', "
    "'read', 'failed', 'dead')",
}

FORWARDS = [
    *(
        f"ALTER TABLE {table} ADD CONSTRAINT {name} CHECK ({condition})"
        for (table, name), condition in _CHECKS.items()
    ),
    "CREATE UNIQUE INDEX IF NOT EXISTS product_sku_lower_key ON product (lower(sku))",
]

BACKWARDS = [
    "DROP INDEX IF EXISTS product_sku_lower_key",
    *(f"ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {name}" for table, name in _CHECKS),
]


async def forwards() -> MigrationManager:
    return sql_migration(ID, DESCRIPTION, FORWARDS, BACKWARDS)
