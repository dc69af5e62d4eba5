"""Piccolo's PostgreSQL engine, minus the work it does when it is constructed."""

from __future__ import annotations

from piccolo.engine.postgres import PostgresEngine


class Engine(PostgresEngine):
    """A ``PostgresEngine`` that does not connect when it is created.

    Piccolo's constructor synchronously connects to check the server version and to
    create the ``uuid-ossp`` extension. chatcart needs no extension, and connecting at
    import time would fail wherever the database is not up yet (the CLI, image builds).
    """

    def __init__(self, dsn: str) -> None:
        super().__init__(config={"dsn": dsn}, extensions=())

    async def check_version(self) -> None:
        return None
