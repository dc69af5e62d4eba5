"""Reads on the hot paths, straight through asyncpg.

Piccolo's ``raw`` builds a query-string object, renders it and turns every record into a
dict on each call: small costs that add up to a third of the CPU of the busiest API
requests (the orders board, one order, the token behind every request). ``fetch`` takes
the same ``{}`` placeholders, numbers them once per statement text, and runs it on the
pool (or inside the transaction the caller is in).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any, Protocol

import asyncpg

from app.db import piccolo_conf


class Row(Protocol):
    """A result row (an asyncpg record, or a dict decoded from JSON), read by column."""

    def __getitem__(self, key: str, /) -> Any: ...


@functools.lru_cache(maxsize=512)
def numbered(sql: str) -> tuple[str, int]:
    """``{}`` placeholders as asyncpg's ``$1, $2, …``, and how many there are."""
    parts = sql.split("{}")
    text = parts[0] + "".join(f"${n}{part}" for n, part in enumerate(parts[1:], start=1))
    return text, len(parts) - 1


async def fetch(sql: str, *args: Any) -> Sequence[asyncpg.Record]:
    text, expected = numbered(sql)
    if expected != len(args):
        raise ValueError(f"The statement has {expected} placeholders but got {len(args)} values.")
    engine = piccolo_conf.DB
    transaction = engine.current_transaction.get()
    if transaction is not None:
        rows: list[asyncpg.Record] = await transaction.connection.fetch(text, *args)
        return rows
    if engine.pool is None:
        connection = await engine.get_new_connection()
        try:
            return await connection.fetch(text, *args)
        finally:
            await connection.close()
    async with engine.pool.acquire() as pooled:
        return await pooled.fetch(text, *args)
