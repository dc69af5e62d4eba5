"""Apply the database migrations in ``migrations/`` (Piccolo's runner, with our logging)."""

from __future__ import annotations

import contextlib
import io

import structlog
from piccolo.apps.migrations.commands.forwards import run_forwards

from app.db import piccolo_conf

log = structlog.get_logger(__name__)


class MigrationFailed(RuntimeError):
    pass


# Any constant shared by every chatcart process: two processes migrating at once queue up.
_MIGRATION_LOCK = 0x63686174  # "chat"


async def apply_migrations() -> None:
    """Run every migration not yet applied. Safe to call on every start-up, from many replicas."""
    engine = piccolo_conf.DB
    output = io.StringIO()
    lock = await engine.get_new_connection()
    try:
        await lock.execute("SELECT pg_advisory_lock($1)", _MIGRATION_LOCK)
        with contextlib.redirect_stdout(output):
            result = await run_forwards(app_name="chatcart")
    finally:
        await lock.close()
    for line in output.getvalue().splitlines():
        if line.strip():
            log.info("migrate", detail=line.strip())
    if not result.success:
        raise MigrationFailed(result.message or "migrations failed")
