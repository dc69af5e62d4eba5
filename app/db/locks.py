"""Per-key PostgreSQL advisory locks, held on their own connections.

A lock is held for as long as a worker drains one customer's queue, which spans several
transactions. Holding it on a connection of the main pool could starve the queries run
under it, so locks come from a small pool of their own. If a worker dies, its
connection closes and PostgreSQL releases the lock.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from enum import IntEnum

import asyncpg


class LockSpace(IntEnum):
    """First half of the two-int advisory lock key: what is being locked."""

    CUSTOMER_INBOX = 1
    CUSTOMER_OUTBOX = 2


@contextlib.asynccontextmanager
async def advisory_lock(pool: asyncpg.Pool, space: LockSpace, key: int) -> AsyncIterator[None]:
    """Wait for and hold the lock on (space, key) until the block ends."""
    async with pool.acquire() as connection:
        await connection.execute("SELECT pg_advisory_lock($1, $2)", int(space), key)
        try:
            yield
        finally:
            await connection.execute("SELECT pg_advisory_unlock($1, $2)", int(space), key)
