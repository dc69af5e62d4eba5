"""One PostgreSQL engine per process, bound to every table and to Piccolo's migration runner."""

from __future__ import annotations

import os

import asyncpg
from piccolo.apps.migrations.tables import Migration
from piccolo.engine.postgres import PostgresEngine

from app.db import piccolo_conf
from app.db.piccolo_app import TABLES
from app.db.postgres import Engine

PICCOLO_CONF_MODULE = "app.db.piccolo_conf"


def bind_engine(database_url: str) -> PostgresEngine:
    """Create the engine for ``database_url`` and make every table and migration use it."""
    engine = Engine(database_url)
    bind_tables(engine)
    return engine


def bind_tables(engine: PostgresEngine) -> None:
    os.environ["PICCOLO_CONF"] = PICCOLO_CONF_MODULE
    piccolo_conf.DB = engine
    for table in [*TABLES, Migration]:
        table._meta.db = engine


async def open_pool(engine: PostgresEngine, *, min_size: int, max_size: int) -> None:
    await engine.start_connection_pool(min_size=min_size, max_size=max_size, reset=_reset)


async def _reset(connection: asyncpg.Connection) -> None:
    """Hand a connection back to the pool in a clean state, without a round trip per query.

    asyncpg's default reset runs ``RESET ALL``, ``UNLISTEN *``, ``CLOSE ALL`` and unlocks
    session advisory locks on every release. The pool's connections never change session
    settings, listen or hold session locks (those use their own pool, ``app.db.locks``), so
    the only state to undo is a transaction a failed request left open.
    """
    if connection.is_in_transaction():
        await connection.execute("ROLLBACK")
