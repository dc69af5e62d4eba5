"""The connections a process holds: the PostgreSQL engine (pool) and the Redis client."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import asyncpg
import redis.asyncio as aioredis
import structlog
from piccolo.engine.postgres import PostgresEngine
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from app.db.engine import bind_engine, open_pool
from app.db.errors import DATABASE_UNAVAILABLE
from app.db.locks import open_lock_pool
from app.redis_clients import redis_retry
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
    wait = settings.startup_wait_seconds
    await until_up(
        "postgres",
        lambda: open_pool(
            engine, min_size=settings.database_pool_min, max_size=settings.database_pool_max
        ),
        wait,
    )
    client = aioredis.Redis.from_url(
        settings.redis_url, decode_responses=False, retry=redis_retry(), health_check_interval=30
    )
    try:
        await until_up("redis", client.ping, wait)
    except ServiceUnavailable as exc:
        # Without Redis the web still stores what WhatsApp delivers (the sweep enqueues it
        # later) and /health/ready reports it; a worker fails when it starts consuming.
        log.error("starting without redis", error=str(exc))
    lock_pool = await open_lock_pool(
        settings.database_url, max_size=settings.worker_concurrency + 2
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


class ServiceUnavailable(RuntimeError):
    """PostgreSQL or Redis did not answer within ``STARTUP_WAIT_SECONDS``."""


_UNREACHABLE: tuple[type[BaseException], ...] = (
    *DATABASE_UNAVAILABLE,
    RedisConnectionError,
    RedisTimeoutError,
)


async def until_up(name: str, connect: Callable[[], Awaitable[object]], seconds: float) -> None:
    """Call ``connect`` until it works, for at most ``seconds``: a process started with (or
    just before) its database waits for it instead of failing. Each failed try is logged."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    delay, attempt = 0.5, 1
    while True:
        try:
            await connect()
        except _UNREACHABLE as exc:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise ServiceUnavailable(
                    f"{name} did not answer within {seconds:g} s (STARTUP_WAIT_SECONDS): {exc!r}"
                ) from exc
            pause = min(delay, remaining)
            log.warning(
                "waiting for a service", service=name, attempt=attempt, retry_in_s=round(pause, 1),
                error=repr(exc),
            )  # fmt: skip
            await asyncio.sleep(pause)
            delay, attempt = min(delay * 2, 5.0), attempt + 1
        else:
            if attempt > 1:
                log.info("service answered", service=name, attempts=attempt)
            return


async def _close(pool: asyncpg.Pool) -> None:
    try:
        await asyncio.wait_for(pool.close(), timeout=POOL_CLOSE_TIMEOUT)
    except TimeoutError:
        log.warning("database connections still in use at shut-down; closing them")
        pool.terminate()
