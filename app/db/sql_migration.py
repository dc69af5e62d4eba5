"""Migrations written as plain SQL, for what Piccolo's auto-migrations cannot express
(sequences, partial and expression indexes, check constraints on existing columns)."""

from __future__ import annotations

from collections.abc import Sequence

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder


def sql_migration(
    migration_id: str, description: str, forwards: Sequence[str], backwards: Sequence[str]
) -> MigrationManager:
    """A migration that runs ``forwards`` (or ``backwards``) in Piccolo's transaction."""
    manager = MigrationManager(
        migration_id=migration_id, app_name="chatcart", description=description
    )

    async def run() -> None:
        await _execute(forwards)

    async def run_backwards() -> None:
        await _execute(backwards)

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager


async def _execute(statements: Sequence[str]) -> None:
    engine = engine_finder()
    if engine is None:
        raise RuntimeError("no database engine configured for migrations")
    for statement in statements:
        await engine.run_ddl(statement)
