"""The outbox relay: publish committed ``order_event`` rows to Redis, once each.

Each new event row wakes the relay through PostgreSQL ``NOTIFY`` (sent at commit, so
only committed changes are published); it then publishes every unpublished event in id
order to the ``chatcart:order-events`` Redis channel and marks them published. Several
relays (one per web process) share the work with ``SKIP LOCKED``; a poll every few
seconds catches anything a lost notification left behind. Subscribers read the events
themselves from the table, so a lost Redis message delays a live update, it never loses it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import redis.asyncio as aioredis
import structlog

from app.metrics import ORDER_EVENTS

log = structlog.get_logger(__name__)

CHANNEL = "chatcart:order-events"
NOTIFY_CHANNEL = "chatcart_order_events"
POLL_SECONDS = 2.0
BATCH = 500


async def publish_pending(redis: aioredis.Redis, connection: asyncpg.Connection) -> int:
    """Publish the unpublished events, oldest first; returns how many.

    It runs on the relay's own connection (the one that listens), not the pool: after an
    outage the relay opens a new one and nothing of the old one can linger.
    """
    async with connection.transaction():
        rows = await connection.fetch(
            'SELECT id, "order", type, actor, created_at FROM order_event '
            "WHERE published_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
            BATCH,
        )
        if not rows:
            return 0
        for row in rows:
            await redis.publish(CHANNEL, json.dumps(_note(row)))
            ORDER_EVENTS.labels(row["type"]).inc()
        await connection.execute(
            "UPDATE order_event SET published_at = $1 WHERE id = ANY($2::bigint[])",
            datetime.now(UTC),
            [row["id"] for row in rows],
        )
    return len(rows)


def _note(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "id": row["id"],
        "order_id": row["order"],
        "type": row["type"],
        "actor": row["actor"],
        "created_at": row["created_at"].isoformat(),
    }


async def run_relay(database_url: str, redis: aioredis.Redis, stop: asyncio.Event) -> None:
    """Relay until ``stop`` is set; survives database and Redis outages by retrying."""
    wake = asyncio.Event()
    while not stop.is_set():
        try:
            async with _listening(database_url, wake) as connection:
                while not stop.is_set():
                    while await publish_pending(redis, connection) == BATCH:
                        pass
                    await _first_of(wake, stop, seconds=POLL_SECONDS)
                    wake.clear()
        except Exception as exc:
            # Whatever a database or Redis outage throws (connection errors, a connection
            # left mid-operation by a cut, ...), the relay waits and starts over: it must
            # outlive every outage, and the table still holds what it has to publish.
            log.warning("event relay interrupted; retrying", error=repr(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), POLL_SECONDS)


async def _first_of(*events: asyncio.Event, seconds: float) -> None:
    """Wait until one of ``events`` is set, or ``seconds`` have passed."""
    waiters = [asyncio.create_task(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


@contextlib.asynccontextmanager
async def _listening(database_url: str, wake: asyncio.Event) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(database_url)

    def notified(*_: object) -> None:
        wake.set()

    try:
        await connection.add_listener(NOTIFY_CHANNEL, notified)
        wake.set()  # publish whatever waited while nobody listened
        yield connection
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(connection.close(), 5)


@contextlib.asynccontextmanager
async def relay_in_background(database_url: str, redis: aioredis.Redis) -> AsyncIterator[None]:
    stop = asyncio.Event()
    task = asyncio.create_task(run_relay(database_url, redis, stop), name="event-relay")
    try:
        yield
    finally:
        stop.set()
        try:
            await asyncio.wait_for(task, 5)
        except TimeoutError:
            task.cancel()
