"""`chatcart` against real PostgreSQL and Redis given by DATABASE_URL / REDIS_URL."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import asyncpg
import httpx

from tests.e2e.conftest import Served, clean_env, run_cli
from tests.services import ServiceUrls


async def test_migrate_seed_and_serve_against_real_servers(
    serve: Callable[..., Served],
    tmp_path: Path,
    empty_database: str,
    services: ServiceUrls,
) -> None:
    env = clean_env(DATABASE_URL=empty_database, REDIS_URL=services.redis_url)

    migrated = run_cli("migrate", env=env, cwd=tmp_path)
    assert migrated.returncode == 0, migrated.stderr
    again = run_cli("migrate", env=env, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "No migrations need to be run" in again.stderr

    seeded = run_cli("seed", "--demo", env=env, cwd=tmp_path)
    assert "28 products added" in seeded.stdout
    connection = await asyncpg.connect(empty_database)
    try:
        categories = await connection.fetchval("SELECT count(DISTINCT category) FROM product")
        out_of_stock = await connection.fetchval("SELECT count(*) FROM product WHERE stock = 0")
        with_cents = await connection.fetchval("SELECT count(*) FROM product WHERE price % 100 > 0")
    finally:
        await connection.close()
    assert categories >= 4
    assert out_of_stock >= 1
    assert with_cents >= 20

    served = serve(env=env)
    served.wait_ready()
    assert not (tmp_path / ".chatcart").exists(), "no embedded servers with URLs configured"
    assert "using embedded services" not in served.output()
    async with httpx.AsyncClient(base_url=served.url) as http:
        response = await http.get("/health/live", headers={"X-Request-ID": "e2e-1"})
    assert response.headers["x-request-id"] == "e2e-1"
    assert served.terminate() == 0


def test_invalid_settings_stop_start_up_naming_the_variable(tmp_path: Path) -> None:
    env = clean_env(SHOP_CURRENCY="DOLLARS", PORT="99999")
    result = run_cli("serve", env=env, cwd=tmp_path)
    assert result.returncode != 0
    assert "SHOP_CURRENCY" in result.stderr
    assert "PORT" in result.stderr
    assert not (tmp_path / ".chatcart").exists()


def test_embedded_can_be_forbidden(tmp_path: Path) -> None:
    result = run_cli("migrate", env=clean_env(CHATCART_EMBEDDED="0"), cwd=tmp_path)
    assert result.returncode != 0
    assert "DATABASE_URL" in result.stderr
