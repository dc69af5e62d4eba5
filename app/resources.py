"""The connections a process holds: the PostgreSQL engine (pool) and the Redis client."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import redis.asyncio as aioredis
import structlog
from piccolo.engine.postgres import PostgresEngine

from app.db.engine import bind_engine, close_pool, open_pool
from app.settings import Settings

log = structlog.get_logger(__name__)


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
        await lock_pool.close()
        await close_pool(engine)
        log.debug("resources closed")
