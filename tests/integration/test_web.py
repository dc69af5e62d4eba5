"""The web app in-process: health, readiness naming what failed, errors as JSON, request ids."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from litestar.testing import AsyncTestClient

from app.main import create_app
from app.resources import Resources
from app.settings import Settings
from tests.conftest import database_refusing_connections, make_settings


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    async with AsyncTestClient(app=create_app(settings)) as test_client:
        yield test_client


async def test_live_and_ready(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    live = await client.get("/health/live")
    assert live.status_code == 200
    assert live.json() == {"status": "ok"}
    ready = await client.get("/health/ready")
    assert ready.status_code == 200
    body = ready.json()
    assert body["status"] == "ok"
    assert body["checks"]["postgres"]["ok"] is True
    assert body["checks"]["redis"]["ok"] is True


async def test_ready_names_redis_when_it_is_down(settings: Settings) -> None:
    broken = make_settings(settings.database_url or "", "redis://127.0.0.1:1/0")
    async with AsyncTestClient(app=create_app(broken)) as client:
        response = await client.get("/health/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["failed"] == ["redis"]
    assert body["checks"]["postgres"]["ok"] is True
    assert body["checks"]["redis"]["ok"] is False
    assert body["checks"]["redis"]["error"]


async def test_ready_names_postgres_when_it_refuses_connections_and_recovers(
    client: AsyncTestClient,  # type: ignore[type-arg]
    settings: Settings,
    db: Resources,
) -> None:
    async with database_refusing_connections(settings):
        down = await client.get("/health/ready")
        assert down.status_code == 503
        assert down.json()["failed"] == ["postgres"]
    # Pooled connections that were cut are replaced as they are found broken; within a
    # moment readiness is back without restarting anything.
    for _ in range(50):
        back = await client.get("/health/ready")
        if back.status_code == 200:
            break
        await asyncio.sleep(0.1)
    assert back.status_code == 200
    # The session's own pool lost its connections too; it must recover by itself.
    await db.engine.run_ddl("SELECT 1")


async def test_unknown_path_is_a_json_404_with_a_request_id(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    response = await client.get("/no/such/page")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"
    assert len(response.headers["x-request-id"]) == 32


async def test_a_sane_request_id_is_echoed_and_a_hostile_one_replaced(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    echoed = await client.get("/health/live", headers={"X-Request-ID": "abc-123"})
    assert echoed.headers["x-request-id"] == "abc-123"
    hostile = await client.get("/health/live", headers={"X-Request-ID": "a\tb" + "x" * 300})
    assert hostile.headers["x-request-id"] != "a\tb" + "x" * 300
    assert len(hostile.headers["x-request-id"]) == 32


async def test_wrong_method_is_a_json_405(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    response = await client.post("/health/live")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "METHOD_NOT_ALLOWED"


async def test_graphql_reads_nothing_without_a_token(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    response = await client.post("/graphql", json={"query": "{ shop { name currency } }"})
    assert response.status_code == 200
    body = response.json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}


async def test_graphql_rejects_malformed_queries(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    response = await client.post("/graphql", json={"query": "{ shop { "})
    assert response.status_code == 200
    assert response.json()["errors"][0]["message"].startswith("Syntax Error")
    mutation_by_get = await client.get("/graphql", params={"query": "mutation { x }"})
    assert mutation_by_get.status_code in (400, 405)
