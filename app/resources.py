"""The connections a process holds: the PostgreSQL engine (pool) and the Redis client."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import redis.asyncio as aioredis
import structlog
from piccolo.engine.postgres import PostgresEngine

from app.db.engine import bind_engine, open_pool
from app.settings import Settings

log = structlog.get_logger(__name__)

# A pool's close() waits for every borrowed connection to come back; a task left running
# past shut-down must not keep the process from exiting.
POOL_CLOSE_TIMEOUT = 10.0


@dataclass(frozen=True)
class Resources:
    settings: Settings
    engine: PostgresEngine
    redis: aioredis.Redis
    lock_pool: asyncpg.Pool


@contextlib.asynccontextmanager
async def open_resources(settings: Settings) -> AsyncIterator[Resources]:
    """Open the pool and the Redis client; close both however the block ends."""
    if settings.database_url is None or settings.redis_url is None:
        raise RuntimeError("DATABASE_URL and REDIS_URL must be resolved before opening resources")
    engine = bind_engine(settings.database_url)
    await open_pool(
        engine, min_size=settings.database_pool_min, max_size=settings.database_pool_max
    )
    client = aioredis.Redis.from_url(settings.redis_url, decode_responses=False)
    lock_pool = await asyncpg.create_pool(
        settings.database_url, min_size=0, max_size=settings.worker_concurrency + 2
    )
    try:
        yield Resources(settings=settings, engine=engine, redis=client, lock_pool=lock_pool)
    finally:
        await client.aclose()
        await _close(lock_pool)
        if engine.pool is not None:
            await _close(engine.pool)
            engine.pool = None
        log.debug("resources closed")


async def _close(pool: asyncpg.Pool) -> None:
    try:
        await asyncio.wait_for(pool.close(), timeout=POOL_CLOSE_TIMEOUT)
    except TimeoutError:
        log.warning("database connections still in use at shut-down; closing them")
        pool.terminate()
