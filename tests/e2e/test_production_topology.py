"""Production layout: separate `serve`, `worker` and `scheduler` processes on real servers."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

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
