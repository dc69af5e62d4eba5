"""Production layout: separate `serve`, `worker` and `scheduler` processes on real servers."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import redis

from app.chat import ChatClient
from app.resources import Resources
from app.whatsapp.outgoing import render_plain
from tests.e2e.conftest import CHATCART, Served, clean_env, run_cli
from tests.services import ServiceUrls

SECRET = "topology-secret"


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [CHATCART, *args], env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT
    )


def test_web_worker_and_scheduler_serve_a_customer_and_stop_on_sigterm(
    db: Resources,  # an empty Redis database: sessions are keyed by customer id
    serve: Callable[..., Served],
    tmp_path: Path,
    empty_database: str,
    services: ServiceUrls,
) -> None:
    env = clean_env(
        DATABASE_URL=empty_database,
        REDIS_URL=services.redis_url,
        CHATCART_EMBEDDED="0",
        WHATSAPP_APP_SECRET=SECRET,
    )
    assert run_cli("migrate", env=env, cwd=tmp_path).returncode == 0
    assert run_cli("seed", "--demo", env=env, cwd=tmp_path).returncode == 0
    web = serve(env=env)
    web.wait_ready()
    worker = start(["worker"], env, tmp_path / "worker.log")
    scheduler = start(["scheduler"], env, tmp_path / "scheduler.log")
    try:
        client = ChatClient(base_url=web.url, secret=SECRET, wa_id="15550006666")
        assert client.post(client.send_line("hi") or {}).status_code == 200
        replies = client.replies(wait=20)
        assert replies, (tmp_path / "worker.log").read_text()[-3000:]
        assert "Welcome" in render_plain(replies[0])
        assert "in-process" not in web.output()
    finally:
        stopped = {}
        for name, process in (("worker", worker), ("scheduler", scheduler)):
            process.send_signal(signal.SIGTERM)
            started = time.monotonic()
            try:
                code = process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                process.kill()
                code = None
            stopped[name] = (code, round(time.monotonic() - started, 1))
    assert stopped["worker"][0] == 0, (stopped, (tmp_path / "worker.log").read_text()[-2000:])
    assert stopped["scheduler"][0] == 0, (tmp_path / "scheduler.log").read_text()[-2000:]
    assert web.terminate() == 0
    print(f"stop times: {stopped}", file=sys.stderr)


def test_a_second_scheduler_stands_by_and_takes_over_when_the_first_stops(
    db: Resources, tmp_path: Path, empty_database: str, services: ServiceUrls
) -> None:
    env = clean_env(
        DATABASE_URL=empty_database, REDIS_URL=services.redis_url, CHATCART_EMBEDDED="0"
    )
    assert run_cli("migrate", env=env, cwd=tmp_path).returncode == 0
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    first = start(["scheduler"], env, first_log)
    try:
        wait_for_line(first_log, "scheduler lock taken")
        second = start(["scheduler"], env, second_log)
        try:
            wait_for_line(second_log, "standing by")
            assert "scheduler lock taken" not in second_log.read_text()
            first.send_signal(signal.SIGTERM)
            assert first.wait(timeout=30) == 0
            assert "scheduler lock released" in first_log.read_text()
            wait_for_line(second_log, "scheduler lock taken", within=20)  # not the 30 s expiry
            second.send_signal(signal.SIGTERM)
            assert second.wait(timeout=30) == 0
        finally:
            second.kill()
    finally:
        first.kill()
    holder = redis.Redis.from_url(services.redis_url).get("chatcart:scheduler")
    assert holder is None  # released, not left to expire


def wait_for_line(log: Path, text: str, *, within: float = 60) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if log.exists() and text in log.read_text(errors="replace"):
            return
        time.sleep(0.1)
    raise AssertionError(f"{text!r} not logged within {within} s:\n{log.read_text()[-2000:]}")
