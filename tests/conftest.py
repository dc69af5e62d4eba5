"""Shared fixtures: real PostgreSQL and Redis for every test that needs them.

Each test session creates its own database (migrated once) on the server found by
``tests.services``; every database test starts from empty tables and an empty Redis db.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest
import redis.asyncio as aioredis

from app.db.engine import bind_tables
from app.db.migrate import apply_migrations
from app.db.piccolo_app import TABLES
from app.resources import Resources, open_resources
from app.settings import Settings
from tests.services import LEASE_KEY, ServiceUrls, locate_services

_SERVICES: ServiceUrls | None = None


def pytest_report_header() -> str:
    return "chatcart test services: resolved at the first database test"


@pytest.fixture(scope="session")
def services() -> Iterator[ServiceUrls]:
    global _SERVICES
    with locate_services() as found:
        _SERVICES = found
        print(f"\nchatcart test services: {found.source}")
        yield found


def database_url_for(base_url: str, database: str) -> str:
    parts = urlsplit(base_url)
    return urlunsplit(parts._replace(path=f"/{database}"))


@pytest.fixture(scope="session")
async def test_database_url(services: ServiceUrls) -> AsyncIterator[str]:
    name = f"chatcart_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = await asyncpg.connect(services.database_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    yield database_url_for(services.database_url, name)
    admin = await asyncpg.connect(services.database_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def make_settings(database_url: str, redis_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url,
        "redis_url": redis_url,
        "environment": "test",
        "log_format": "console",
        "log_level": "WARNING",
        "startup_wait_seconds": 1.0,  # tests that start without a service need no long wait
        "shop_name": "Test Shop",
        "shop_currency": "USD",
        "shop_locale": "en_US",
        "shop_timezone": "UTC",
        "prices_include_tax": False,
        "delivery_fee": 0,
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture(scope="session")
def settings(test_database_url: str, services: ServiceUrls) -> Settings:
    return make_settings(test_database_url, services.redis_url)


@pytest.fixture(scope="session")
async def resources(settings: Settings) -> AsyncIterator[Resources]:
    async with open_resources(settings) as opened:
        await apply_migrations()
        yield opened


_TRUNCATE = "TRUNCATE {} RESTART IDENTITY CASCADE".format(
    ", ".join(f'"{table._meta.tablename}"' for table in TABLES)
)


@pytest.fixture
async def db(resources: Resources) -> AsyncIterator[Resources]:
    """Empty tables, fresh sequences and an empty Redis database for one test."""
    bind_tables(resources.engine)
    await resources.engine.run_ddl(_TRUNCATE)
    await resources.engine.run_ddl("ALTER SEQUENCE order_number_seq RESTART WITH 1001")
    await resources.engine.run_ddl("ALTER SEQUENCE receipt_number_seq RESTART WITH 1")
    lease = await resources.redis.get(LEASE_KEY)
    await resources.redis.flushdb()
    if lease is not None:  # keep our claim on this Redis database (tests.services)
        await resources.redis.set(LEASE_KEY, lease, ex=4 * 3600)
    yield resources
    # A test that built its own app rebinds the tables; give them back to the session engine.
    bind_tables(resources.engine)


@pytest.fixture
def redis_client(db: Resources) -> aioredis.Redis:
    return db.redis


@contextlib.asynccontextmanager
async def app_client(
    settings: Settings, *, run_worker: bool = False
) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan running in this event loop, and an HTTP client for it.

    Unlike Litestar's test clients (which run the app on a loop of their own), the app and
    the test share one loop, so a test may query the database while the app runs.
    """
    from app.main import create_app

    app = create_app(settings, run_worker=run_worker)
    started, stop = asyncio.Event(), asyncio.Event()

    async def run() -> None:
        # Start-up and shut-down in one task: the app's task groups insist on it.
        async with app.lifespan():
            started.set()
            await stop.wait()

    lifespan = asyncio.create_task(run())
    waiter = asyncio.create_task(started.wait())
    await asyncio.wait({lifespan, waiter}, return_when=asyncio.FIRST_COMPLETED)
    if lifespan.done():
        waiter.cancel()
        await lifespan  # start-up failed: raise its error here
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://shop.test") as client:
            yield client
    finally:
        stop.set()
        done, _ = await asyncio.wait({lifespan}, timeout=SHUTDOWN_LIMIT_SECONDS)
        if not done:
            stuck = _running_tasks()
            lifespan.cancel()
            raise AssertionError(
                f"the app did not shut down within {SHUTDOWN_LIMIT_SECONDS} s; "
                f"still running:\n{stuck}"
            )
        await lifespan


SHUTDOWN_LIMIT_SECONDS = 60


def _running_tasks() -> str:
    """Each unfinished task of this loop with where it waits, to tell what hangs."""
    described = []
    for task in asyncio.all_tasks():
        if task is asyncio.current_task() or task.done():
            continue
        stack = io.StringIO()
        task.print_stack(limit=8, file=stack)
        described.append(stack.getvalue())
    return "\n".join(described)


@contextlib.asynccontextmanager
async def database_refusing_connections(settings: Settings) -> AsyncIterator[None]:
    """The test database refuses new connections and its open ones are cut, then it is back."""
    database = urlsplit(settings.database_url or "").path.lstrip("/")
    admin_url = (settings.database_url or "").replace(f"/{database}", "/postgres", 1)
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false')
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = $1 AND pid <> pg_backend_pid()",
            database,
        )
        for _ in range(100):  # pg_terminate_backend only signals
            left = await admin.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = $1", database
            )
            if left == 0:
                break
            await asyncio.sleep(0.05)
        assert left == 0
        yield
    finally:
        await admin.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true')
        await admin.close()
