"""Conversation sessions (and so carts) move from Redis to PostgreSQL.

A Redis restart without persistence used to empty every cart without a word; the
sessions now live with the orders they turn into.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from app.db.sql_migration import sql_migration

ID = "2026-11-29T00:20:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "conversation sessions in PostgreSQL"

FORWARDS = [
    """CREATE TABLE conversation_session (
  customer integer PRIMARY KEY REFERENCES customer (id) ON DELETE CASCADE,
  applied varchar(128),
  before jsonb NOT NULL,
  current jsonb NOT NULL,
  expires_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
)""",
    "CREATE INDEX conversation_session_expires_at ON conversation_session (expires_at)",
]

BACKWARDS = ["DROP TABLE IF EXISTS conversation_session"]


async def forwards() -> MigrationManager:
    return sql_migration(ID, DESCRIPTION, FORWARDS, BACKWARDS)
