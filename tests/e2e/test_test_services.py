"""The test suite's own fallback: with no servers around it runs on the embedded ones."""

from __future__ import annotations

import asyncpg
import pytest
import redis.asyncio as aioredis

from tests import services


async def test_without_local_servers_or_docker_the_embedded_servers_are_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("TEST_DATABASE_URL", raising=False)
    monkeypatch.delenv("TEST_REDIS_URL", raising=False)
    monkeypatch.delenv("TEST_SERVICES", raising=False)
    monkeypatch.setattr(services, "_port_open", lambda host, port: False)
    monkeypatch.setattr(services, "_docker_answers", lambda: False)

    with services.locate_services() as found:
        assert found.source == "postgres: embedded, redis: embedded"
        connection = await asyncpg.connect(found.database_url)
        try:
            assert await connection.fetchval("SELECT 1") == 1
        finally:
            await connection.close()
        client = aioredis.Redis.from_url(found.redis_url)
        try:
            assert await client.ping()
        finally:
            await client.aclose()


def test_explicit_urls_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TEST_SERVICES", raising=False)
    monkeypatch.setenv("TEST_DATABASE_URL", "postgresql://u@db.example/x")
    monkeypatch.setenv("TEST_REDIS_URL", "redis://cache.example/3")
    with services.locate_services() as found:
        assert found.database_url == "postgresql://u@db.example/x"
        assert found.redis_url == "redis://cache.example/3"
        assert found.source == "redis: TEST_REDIS_URL, postgres: TEST_DATABASE_URL"
