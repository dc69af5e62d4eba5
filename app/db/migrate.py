"""Apply the database migrations in ``migrations/`` (Piccolo's runner, with our logging)."""

from __future__ import annotations

import contextlib
import io

import structlog
from piccolo.apps.migrations.commands.forwards import run_forwards

log = structlog.get_logger(__name__)


class MigrationFailed(RuntimeError):
    pass


async def apply_migrations() -> None:
    """Run every migration not yet applied. Safe to call on every start-up."""
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        result = await run_forwards(app_name="chatcart")
    for line in output.getvalue().splitlines():
        if line.strip():
            log.info("migrate", detail=line.strip())
    if not result.success:
        raise MigrationFailed(result.message or "migrations failed")
