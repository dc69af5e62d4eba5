"""Payments that must be refunded are a status of their own; the lookups payments need.

A receipt's number comes from ``receipt_number_seq`` (m0002); the unique ``receipt.payment``
column (m0001) is what makes concurrent confirmations issue exactly one receipt.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from app.db.sql_migration import sql_migration

ID = "2026-11-28T18:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "refund_due payment status; indexes for provider ids, reminders and receipts"

FORWARDS = [
    "ALTER TABLE payment DROP CONSTRAINT IF EXISTS payment_status_known",
    "ALTER TABLE payment ADD CONSTRAINT payment_status_known CHECK (status IN ('pending', "
    "'awaiting_verification', 'confirmed', 'failed', 'expired', 'refund_due'))",
    # At most one payment in flight per order and method: asking again finds it, even when
    # two requests race.
    "CREATE UNIQUE INDEX IF NOT EXISTS payment_one_open_per_method ON payment "
    "(\"order\", provider) WHERE status IN ('pending', 'awaiting_verification')",
    "CREATE INDEX IF NOT EXISTS orders_pending_reminder_idx ON orders (expires_at) "
    "WHERE status = 'pending_payment' AND reminded_at IS NULL",
    "CREATE INDEX IF NOT EXISTS payment_confirmed_idx ON payment (confirmed_at) "
    "WHERE status = 'confirmed'",
]

BACKWARDS = [
    "DROP INDEX IF EXISTS payment_confirmed_idx",
    "DROP INDEX IF EXISTS orders_pending_reminder_idx",
    "DROP INDEX IF EXISTS payment_one_open_per_method",
    "ALTER TABLE payment DROP CONSTRAINT IF EXISTS payment_status_known",
    "ALTER TABLE payment ADD CONSTRAINT payment_status_known CHECK (status IN ('pending', "
    "'awaiting_verification', 'confirmed', 'failed', 'expired'))",
]


async def forwards() -> MigrationManager:
    return sql_migration(ID, DESCRIPTION, FORWARDS, BACKWARDS)
