"""Advisory locks: one holder at a time, and never left held on a pooled connection."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest

from app.db.locks import LockSpace, advisory_lock
from app.resources import Resources


async def test_a_second_taker_is_turned_away_until_the_first_lets_go(db: Resources) -> None:
    async with advisory_lock(db.lock_pool, LockSpace.CUSTOMER_INBOX, 7) as first:
        async with advisory_lock(db.lock_pool, LockSpace.CUSTOMER_INBOX, 7) as second:
            assert (first, second) == (True, False)
        async with advisory_lock(db.lock_pool, LockSpace.CUSTOMER_OUTBOX, 7) as other_space:
            assert other_space is True
    async with advisory_lock(db.lock_pool, LockSpace.CUSTOMER_INBOX, 7) as again:
        assert again is True


async def test_a_holder_cancelled_while_holding_leaves_the_lock_free(db: Resources) -> None:
    holding = asyncio.Event()

    async def hold() -> None:
        async with advisory_lock(db.lock_pool, LockSpace.CUSTOMER_INBOX, 8):
            holding.set()
            await asyncio.sleep(60)

    holder = asyncio.create_task(hold())
    await holding.wait()
    holder.cancel()
    await asyncio.gather(holder, return_exceptions=True)
    assert await free_elsewhere(db, LockSpace.CUSTOMER_INBOX, 8)


async def test_no_pooled_connection_keeps_a_lock_after_use(db: Resources) -> None:
    for key in range(20):
        async with advisory_lock(db.lock_pool, LockSpace.CUSTOMER_OUTBOX, key):
            pass
    async with db.lock_pool.acquire() as connection:
        held = await connection.fetchval(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
        )
    assert held == 0


async def test_a_taker_cancelled_as_the_lock_is_granted_does_not_keep_it(
    db: Resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server granted the lock, but the task was cancelled before it saw the answer."""
    granted = asyncpg.Connection.fetchval

    async def granted_then_cancelled(self: asyncpg.Connection, query: str, *args: Any) -> Any:
        await granted(self, query, *args)
        raise asyncio.CancelledError

    with monkeypatch.context() as patch:
        patch.setattr(asyncpg.Connection, "fetchval", granted_then_cancelled)
        with pytest.raises(asyncio.CancelledError):
            async with advisory_lock(db.lock_pool, LockSpace.CUSTOMER_INBOX, 9):
                pass
    assert await free_elsewhere(db, LockSpace.CUSTOMER_INBOX, 9)


async def free_elsewhere(db: Resources, space: LockSpace, key: int) -> bool:
    """Whether another session can take the lock (the holder's own session always can)."""
    other = await asyncpg.connect(db.settings.database_url)
    try:
        taken = await other.fetchval("SELECT pg_try_advisory_lock($1, $2)", int(space), key)
        return bool(taken)
    finally:
        await other.close()
