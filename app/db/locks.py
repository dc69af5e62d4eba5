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
from typing import Any

import asyncpg
from asyncpg.pool import PoolConnectionProxy


class LockSpace(IntEnum):
    """First half of the two-int advisory lock key: what is being locked."""

    CUSTOMER_INBOX = 1
    CUSTOMER_OUTBOX = 2
    RECEIPT_NUMBERS = 3  # held for one transaction: one receipt is numbered at a time


@contextlib.asynccontextmanager
async def advisory_lock(pool: asyncpg.Pool, space: LockSpace, key: int) -> AsyncIterator[bool]:
    """Try to take the lock on (space, key) without waiting; yield whether we hold it.

    Callers that find it taken return at once instead of queueing behind the holder (a
    queue of waiting tasks would fill every worker slot with one busy customer); the
    holder looks for new work after letting go, so nothing is left behind.
    """
    async with pool.acquire() as connection:
        try:
            held = bool(
                await connection.fetchval("SELECT pg_try_advisory_lock($1, $2)", int(space), key)
            )
        except BaseException:
            # Cancelled (or cut off) waiting for the answer: the server may have granted the
            # lock all the same. Ending the session is the only sure way to let it go.
            connection.terminate()
            raise
        try:
            yield held
        finally:
            if held:
                await _unlock(connection, space, key)


async def _unlock(connection: PoolConnectionProxy[Any], space: LockSpace, key: int) -> None:
    try:
        await connection.execute("SELECT pg_advisory_unlock($1, $2)", int(space), key)
    except BaseException:
        # Not unlocked (cancelled, or the connection broke): end the session, which
        # releases the lock, rather than pool a connection that still holds it.
        connection.terminate()
        raise


async def open_lock_pool(database_url: str, *, max_size: int) -> asyncpg.Pool:
    """The pool the locks are held on. Every lock is released before its connection goes
    back (or the connection is closed), so releasing skips asyncpg's reset round trip."""
    return await asyncpg.create_pool(database_url, min_size=0, max_size=max_size, reset=_kept)


async def _kept(connection: asyncpg.Connection) -> None:
    """Nothing to reset: no transaction, setting or lock outlives its use here."""
