"""`chatcart serve` on a machine with no database configured: the embedded default."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.e2e.conftest import Served, clean_env, processes_using, run_cli


def log_events(served: Served) -> list[dict[str, object]]:
    events = []
    for line in served.output().splitlines():
        if line.startswith("{"):
            events.append(json.loads(line))
    return events


def wait_gone(data_dir: Path, timeout: float = 20) -> list[object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        left = processes_using(data_dir)
        if not left:
            return []
        time.sleep(0.2)
    return list(processes_using(data_dir))


def test_serve_runs_restarts_and_keeps_its_data(
    serve: Callable[..., Served], tmp_path: Path
) -> None:
    data_dir = tmp_path / ".chatcart"
    env = clean_env()

    first = serve(env=env)
    ready = first.wait_ready()
    assert ready.json()["checks"]["postgres"]["ok"] is True
    events = log_events(first)
    using = next(e for e in events if e["event"] == "using embedded services")
    assert using["data_dir"] == str(data_dir)
    assert any(e["event"] == "demo catalog loaded" and e["products"] == 28 for e in events)

    # Other commands attach to the running servers instead of starting their own.
    seeded = run_cli("seed", "--demo", env=env, cwd=tmp_path)
    assert seeded.returncode == 0, seeded.stderr
    assert "0 products added" in seeded.stdout
    migrated = run_cli("migrate", env=env, cwd=tmp_path)
    assert migrated.returncode == 0, migrated.stderr
    assert httpx.get(f"{first.url}/health/ready").status_code == 200

    assert first.terminate() == 0
    assert wait_gone(data_dir) == [], "SIGTERM must stop the embedded PostgreSQL and Redis"

    second = serve(env=env)
    second.wait_ready()
    events = log_events(second)
    assert not any(e["event"] == "demo catalog loaded" for e in events), "seeded only once"
    again = run_cli("seed", "--demo", env=env, cwd=tmp_path)
    assert "0 products added" in again.stdout  # the 28 products survived the restart
    assert second.interrupt() == 0  # Ctrl-C stops everything as SIGTERM does
    assert wait_gone(data_dir) == []


def test_serve_recovers_after_a_crash_left_the_servers_running(
    serve: Callable[..., Served], tmp_path: Path
) -> None:
    data_dir = tmp_path / ".chatcart"
    env = clean_env()
    crashed = serve(env=env)
    crashed.wait_ready()
    crashed.kill_hard()
    assert processes_using(data_dir), "a crash leaves the embedded servers behind"

    restarted = serve(env=env)
    restarted.wait_ready()
    events = log_events(restarted)
    ready = next(e for e in events if e["event"] == "embedded services ready")
    assert ready["postgres"] == "attached"
    assert ready["redis"] == "attached"
    assert restarted.terminate() == 0
    assert wait_gone(data_dir) == []
