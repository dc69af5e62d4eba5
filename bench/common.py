"""What the benchmarks share: a fresh database, one `chatcart serve`, wrk, CPU and memory.

Every benchmark starts the app against the local PostgreSQL and Redis (BENCH_POSTGRES,
an admin URL, default postgresql://postgres@127.0.0.1:5432/postgres; BENCH_REDIS, default
redis://127.0.0.1:6379/13), drives it over loopback with a bounded count and time, and
prints its figures.
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import asyncpg
import httpx
import redis.asyncio as aioredis

CHATCART = str(Path(sys.executable).with_name("chatcart"))
ADMIN_URL = os.environ.get("BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/13")


def database_url(database: str) -> str:
    return ADMIN_URL.rsplit("/", 1)[0] + f"/{database}"


def environment(database: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url(database),
        "REDIS_URL": REDIS_URL,
        "CHATCART_EMBEDDED": "0",
        "LOG_LEVEL": "WARNING",
        **extra,
    }


async def fresh_database(database: str, env: dict[str, str]) -> None:
    """Drop and create ``database`` and empty the Redis database (queue, sessions), then
    migrate with the chatcart CLI."""
    redis = aioredis.from_url(REDIS_URL)
    try:
        await redis.flushdb()
    finally:
        await redis.aclose()
    admin = await asyncpg.connect(ADMIN_URL)
    await admin.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
    await admin.execute(f"CREATE DATABASE {database}")
    await admin.close()
    await asyncio.to_thread(
        subprocess.run, [CHATCART, "migrate"], env=env, check=True, capture_output=True
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [CHATCART, "serve", "--no-migrate", "--no-seed-demo"],
        env={**env, "PORT": str(port)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


async def wait_ready(url: str) -> None:
    async with httpx.AsyncClient() as http:
        for _ in range(600):
            try:
                if (await http.get(f"{url}/health/ready")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit("server did not become ready")


def run_wrk(url: str, script: str, env: dict[str, str], *, seconds: float, clients: int) -> str:
    """Run wrk with a Lua ``script`` against ``url``; its printed summary."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder, "load.lua")
        path.write_text(script)
        threads = min(2, clients)
        command = ["wrk", f"-t{threads}", f"-c{clients}", f"-d{max(1, round(seconds))}s",
                   "--latency", "-s", str(path), url]  # fmt: skip
        done = subprocess.run(command, env={**os.environ, **env}, capture_output=True, text=True)
    done.check_returncode()
    return done.stdout


def wrk_figures(out: str) -> dict[str, float]:
    def figure(pattern: str) -> float:
        found = re.search(pattern, out)
        return float(found.group(1)) if found else 0.0

    def millis(label: str) -> float:
        found = re.search(rf"{label}\s+([\d.]+)(us|ms|s)\b", out)
        if not found:
            return 0.0
        scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[found.group(2)]
        return float(found.group(1)) * scale

    return {
        "requests": figure(r"(\d+) requests in"),
        "errors": figure(r"Non-2xx or 3xx responses: (\d+)")
        + figure(r"Socket errors: connect (\d+)"),
        "req_per_s": figure(r"Requests/sec:\s+([\d.]+)"),
        "p50_ms": millis("50%"),
        "p99_ms": millis("99%"),
    }


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of these processes so far (from /proc; 0 where unreadable)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / ticks


def rss_mb(pids: list[int]) -> float:
    """Resident memory of these processes, in MiB."""
    total = 0
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        found = re.search(r"VmRSS:\s+(\d+) kB", status)
        total += int(found.group(1)) if found else 0
    return total / 1024


def postgres_pids() -> list[int]:
    found = subprocess.run(["pgrep", "-u", "postgres"], capture_output=True, text=True)
    return [int(pid) for pid in found.stdout.split()]


def server_pids(server: subprocess.Popen[bytes]) -> list[int]:
    found = subprocess.run(["pgrep", "-g", str(server.pid)], capture_output=True, text=True)
    return [int(pid) for pid in found.stdout.split()] or [server.pid]
