"""Every new ``order_event`` wakes the event relay, only once its transaction commits.

PostgreSQL delivers ``NOTIFY`` at commit (never for a rolled-back change), which is the
outbox guarantee the live subscriptions rely on.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from app.db.sql_migration import sql_migration

ID = "2026-11-28T19:20:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "notify the event relay when an order event is committed"

FORWARDS = [
    """CREATE OR REPLACE FUNCTION chatcart_order_event_notify() RETURNS trigger AS $$
BEGIN
  PERFORM pg_notify('chatcart_order_events', NEW.id::text);
  RETURN NULL;
END;
$$ LANGUAGE plpgsql""",
    "CREATE TRIGGER order_event_notify AFTER INSERT ON order_event "
    "FOR EACH ROW EXECUTE FUNCTION chatcart_order_event_notify()",
]

BACKWARDS = [
    "DROP TRIGGER IF EXISTS order_event_notify ON order_event",
    "DROP FUNCTION IF EXISTS chatcart_order_event_notify()",
]


async def forwards() -> MigrationManager:
    return sql_migration(ID, DESCRIPTION, FORWARDS, BACKWARDS)
