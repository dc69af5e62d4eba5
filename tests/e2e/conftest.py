"""Run the real `chatcart` command in a subprocess, as an operator would."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import psutil
import pytest

from app.settings import Settings
from tests.conftest import database_url_for
from tests.services import ServiceUrls

CHATCART = str(Path(sys.executable).with_name("chatcart"))
START_TIMEOUT = 90.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clean_env(**overrides: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DATABASE_", "REDIS_", "CHATCART_", "SHOP_", "PYTEST_"))
    }
    env.update({"LOG_FORMAT": "json", "LOG_LEVEL": "INFO", "HOST": "127.0.0.1"})
    env.update(overrides)
    return env


def services_env(settings: Settings, **overrides: str) -> dict[str, str]:
    """``clean_env`` for a process on the test session's own PostgreSQL and Redis."""
    return clean_env(
        DATABASE_URL=settings.database_url or "",
        REDIS_URL=settings.redis_url or "",
        CHATCART_EMBEDDED="0",
        **overrides,
    )


@dataclass
class Served:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_ready(self, timeout: float = START_TIMEOUT) -> httpx.Response:
        deadline = time.monotonic() + timeout
        last: Exception | httpx.Response | None = None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"chatcart serve exited early:\n{self.output()[-4000:]}")
            try:
                last = httpx.get(f"{self.url}/health/ready", timeout=2)
                if last.status_code == 200:
                    return last
            except httpx.HTTPError as exc:
                last = exc
            time.sleep(0.2)
        pytest.fail(f"not ready after {timeout}s ({last!r}):\n{self.output()[-4000:]}")

    def terminate(self, timeout: float = 30) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def interrupt(self, timeout: float = 30) -> int:
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout=timeout)

    def kill_hard(self) -> None:
        """Simulate a crash: SIGKILL the whole process group, no clean-up runs."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[callable]:  # type: ignore[valid-type]
    started: list[Served] = []

    def start(*args: str, env: dict[str, str]) -> Served:
        port = free_port()
        log = tmp_path / f"serve-{len(started)}.log"
        process = subprocess.Popen(
            [CHATCART, "serve", *args],
            env={**env, "PORT": str(port)},
            cwd=tmp_path,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        served = Served(process, port, log)
        started.append(served)
        return served

    yield start
    for served in started:
        if served.process.poll() is None:
            served.terminate()


def processes_using(path: Path) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        if str(path) in cmdline:
            found.append(process)
    return found


def run_cli(
    *args: str, env: dict[str, str], cwd: Path, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CHATCART, *args],
        env=env,
        cwd=cwd,
        input=input,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
async def empty_database(services: ServiceUrls) -> AsyncIterator[str]:
    """A fresh, empty database on the test server, dropped afterwards."""
    name = f"chatcart_e2e_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(services.database_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield database_url_for(services.database_url, name)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
