"""Number sequences and the composite and partial indexes the lookups need.

Piccolo's auto-migrations cover tables, columns, single-column indexes and
constraints; what they cannot express lives here as SQL.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from app.db.sql_migration import sql_migration

ID = "2026-11-28T16:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "order and receipt number sequences, composite and partial indexes"

FORWARDS = [
    # Order numbers are short and human: 1001, 1002, ...
    "CREATE SEQUENCE IF NOT EXISTS order_number_seq START WITH 1001 MINVALUE 1",
    "CREATE SEQUENCE IF NOT EXISTS receipt_number_seq START WITH 1 MINVALUE 1",
    # Orders board: newest first, filtered by status; a customer's history.
    "CREATE INDEX IF NOT EXISTS orders_status_placed_idx ON orders (status, placed_at DESC)",
    "CREATE INDEX IF NOT EXISTS orders_placed_idx ON orders (placed_at DESC)",
    "CREATE INDEX IF NOT EXISTS orders_customer_placed_idx ON orders (customer, placed_at DESC)",
    # Expiry sweep: unpaid orders by deadline.
    "CREATE INDEX IF NOT EXISTS orders_pending_expiry_idx ON orders (expires_at)"
    " WHERE status = 'pending_payment'",
    # Outbox relay: events not yet published.
    "CREATE INDEX IF NOT EXISTS order_event_unpublished_idx ON order_event (id)"
    " WHERE published_at IS NULL",
    # Payment review queue and expiry.
    "CREATE INDEX IF NOT EXISTS payment_status_created_idx ON payment (status, created_at)",
    "CREATE INDEX IF NOT EXISTS payment_open_expiry_idx ON payment (expires_at)"
    " WHERE status IN ('pending', 'awaiting_verification')",
    # Durable inbox: a customer's pending messages in WhatsApp order; the stale sweep.
    "CREATE INDEX IF NOT EXISTS inbound_pending_customer_idx"
    " ON inbound_message (customer, sent_at, id) WHERE status = 'pending'",
    "CREATE INDEX IF NOT EXISTS inbound_pending_received_idx"
    " ON inbound_message (received_at) WHERE status = 'pending'",
    # Outbound queue: due sends, and per-customer ordering.
    "CREATE INDEX IF NOT EXISTS outbound_queued_due_idx ON outbound_message (next_attempt_at)"
    " WHERE status = 'queued'",
    "CREATE INDEX IF NOT EXISTS outbound_customer_idx ON outbound_message (customer, id)",
    "CREATE INDEX IF NOT EXISTS outbound_status_idx ON outbound_message (status)",
    # Catalog browsing: active products by category and name.
    "CREATE INDEX IF NOT EXISTS product_category_name_idx ON product (category, name)"
    " WHERE archived_at IS NULL",
    "CREATE INDEX IF NOT EXISTS staff_token_expiry_idx ON staff_token (expires_at)",
]

BACKWARDS = [
    "DROP INDEX IF EXISTS staff_token_expiry_idx",
    "DROP INDEX IF EXISTS product_category_name_idx",
    "DROP INDEX IF EXISTS outbound_status_idx",
    "DROP INDEX IF EXISTS outbound_customer_idx",
    "DROP INDEX IF EXISTS outbound_queued_due_idx",
    "DROP INDEX IF EXISTS inbound_pending_received_idx",
    "DROP INDEX IF EXISTS inbound_pending_customer_idx",
    "DROP INDEX IF EXISTS payment_open_expiry_idx",
    "DROP INDEX IF EXISTS payment_status_created_idx",
    "DROP INDEX IF EXISTS order_event_unpublished_idx",
    "DROP INDEX IF EXISTS orders_pending_expiry_idx",
    "DROP INDEX IF EXISTS orders_customer_placed_idx",
    "DROP INDEX IF EXISTS orders_placed_idx",
    "DROP INDEX IF EXISTS orders_status_placed_idx",
    "DROP SEQUENCE IF EXISTS receipt_number_seq",
    "DROP SEQUENCE IF EXISTS order_number_seq",
]


async def forwards() -> MigrationManager:
    return sql_migration(ID, DESCRIPTION, FORWARDS, BACKWARDS)
