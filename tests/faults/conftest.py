"""Fixtures of the fault drills: each drill gets its own database and its own Redis."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import clean_env, empty_database, run_cli  # noqa: F401 (fixture)
from tests.faults.drills import SECRET, CuttableProxy, Database, RestartableRedis, Shop


@pytest.fixture
def drill_redis(tmp_path: Path) -> Iterator[RestartableRedis]:
    server = RestartableRedis(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def postgres_proxy(empty_database: str) -> Iterator[CuttableProxy]:  # noqa: F811
    proxy = CuttableProxy(empty_database)
    proxy.start()
    yield proxy
    proxy.close()


def open_shop(database_url: str, direct_url: str, redis_url: str, workdir: Path) -> Shop:
    """A migrated shop with the demo catalog, its processes not started yet."""
    env = clean_env(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        CHATCART_EMBEDDED="0",
        WHATSAPP_APP_SECRET=SECRET,
        STARTUP_WAIT_SECONDS="5",
        WORKER_CONCURRENCY="8",
    )
    for command in (["migrate"], ["seed", "--demo"]):
        done = run_cli(*command, env=env, cwd=workdir)
        assert done.returncode == 0, done.stderr
    return Shop(env=env, workdir=workdir, db=Database(direct_url))


@pytest.fixture
def shop(
    empty_database: str,  # noqa: F811
    drill_redis: RestartableRedis,
    tmp_path: Path,
) -> Iterator[Shop]:
    opened = open_shop(empty_database, empty_database, drill_redis.url, tmp_path)
    yield opened
    opened.stop_all()
    opened.db.close()


@pytest.fixture
def proxied_shop(
    empty_database: str,  # noqa: F811
    postgres_proxy: CuttableProxy,
    drill_redis: RestartableRedis,
    tmp_path: Path,
) -> Iterator[Shop]:
    """A shop that reaches PostgreSQL only through a proxy the drill can cut."""
    opened = open_shop(postgres_proxy.url, empty_database, drill_redis.url, tmp_path)
    yield opened
    opened.stop_all()
    opened.db.close()
