"""Where the tests find PostgreSQL and Redis.

In order: TEST_DATABASE_URL / TEST_REDIS_URL; the local servers on 127.0.0.1 when they
answer; testcontainers when a Docker engine answers; the embedded servers. The tests
never skip for want of a database: if none of these works the session fails.

``TEST_SERVICES=embedded`` (or ``containers``) skips the earlier steps, to prove a
fallback works on a machine that has the earlier ones.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
LOCAL_REDIS_BASE = "redis://127.0.0.1:6379"
LEASE_KEY = "chatcart:test-lease"


@dataclass(frozen=True)
class ServiceUrls:
    database_url: str  # a database the tests may create other databases from
    redis_url: str
    source: str


def _port_open(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
        return True
    return False


def _docker_answers() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        result = subprocess.run(
            ["docker", "info", "--format", "{{.ServerVersion}}"],
            capture_output=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0 and bool(result.stdout.strip())


@contextlib.contextmanager
def locate_services() -> Iterator[ServiceUrls]:
    forced = os.environ.get("TEST_SERVICES", "auto")
    if forced not in ("auto", "containers", "embedded"):
        raise RuntimeError(f"TEST_SERVICES must be auto, containers or embedded, not {forced!r}")
    database_url = os.environ.get("TEST_DATABASE_URL") if forced == "auto" else None
    redis_url = os.environ.get("TEST_REDIS_URL") if forced == "auto" else None
    local = forced == "auto"
    source = []
    with contextlib.ExitStack() as stack:
        if local and not database_url and _port_open("127.0.0.1", 5432):
            database_url, _ = LOCAL_POSTGRES, source.append("postgres: local 127.0.0.1:5432")
        if local and not redis_url and _port_open("127.0.0.1", 6379):
            db = stack.enter_context(_leased_redis_db())
            redis_url = f"{LOCAL_REDIS_BASE}/{db}"
            source.append(f"redis: local 127.0.0.1:6379 db {db}")
        containers_allowed = forced in ("auto", "containers")
        if (not database_url or not redis_url) and containers_allowed and _docker_answers():
            if not database_url:
                database_url = stack.enter_context(_postgres_container())
                source.append("postgres: testcontainers")
            if not redis_url:
                redis_url = stack.enter_context(_redis_container())
                source.append("redis: testcontainers")
        if not database_url or not redis_url:
            embedded_db, embedded_redis = stack.enter_context(_embedded())
            if not database_url:
                database_url = embedded_db
                source.append("postgres: embedded")
            if not redis_url:
                redis_url = embedded_redis
                source.append("redis: embedded")
        if forced == "auto" and "TEST_DATABASE_URL" in os.environ:
            source.insert(0, "postgres: TEST_DATABASE_URL")
        if forced == "auto" and "TEST_REDIS_URL" in os.environ:
            source.insert(0, "redis: TEST_REDIS_URL")
        yield ServiceUrls(database_url, redis_url, ", ".join(source))


@contextlib.contextmanager
def _leased_redis_db() -> Iterator[int]:
    """Claim a Redis database (15 down to 1) no other test run is using: tests flush it."""
    import redis

    token = f"{os.getpid()}:{uuid.uuid4().hex}"
    for db in range(15, 0, -1):
        client = redis.Redis.from_url(f"{LOCAL_REDIS_BASE}/{db}")
        if client.set(LEASE_KEY, token, nx=True, ex=4 * 3600):
            try:
                yield db
            finally:
                if client.get(LEASE_KEY) == token.encode():
                    client.delete(LEASE_KEY)
                client.close()
            return
        client.close()
    raise RuntimeError("every Redis database 1-15 on 127.0.0.1:6379 is leased by a test run")


@contextlib.contextmanager
def _postgres_container() -> Iterator[str]:
    from testcontainers.community.postgres import PostgresContainer

    with PostgresContainer("postgres:16-alpine", driver=None) as container:
        yield container.get_connection_url()


@contextlib.contextmanager
def _redis_container() -> Iterator[str]:
    from testcontainers.community.redis import RedisContainer

    with RedisContainer("redis:7-alpine") as container:
        host = container.get_container_host_ip()
        port = container.get_exposed_port(6379)
        yield f"redis://{host}:{port}/0"


@contextlib.contextmanager
def _embedded() -> Iterator[tuple[str, str]]:
    from app import embedded

    data_dir = Path(tempfile.mkdtemp(prefix="chatcart-test-"))
    services = embedded.start(data_dir, owner=True)
    try:
        yield services.database_url.replace("/chatcart?", "/postgres?"), services.redis_url
    finally:
        services.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
