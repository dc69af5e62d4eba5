"""A process started before its database waits for it, a bounded time, saying so."""

from __future__ import annotations

import asyncio

import pytest
import structlog
from structlog.testing import capture_logs

from app import resources as resources_module
from app.resources import ServiceUnavailable, until_up


async def test_a_service_that_comes_up_is_waited_for(monkeypatch: pytest.MonkeyPatch) -> None:
    tries = 0

    async def connect() -> None:
        nonlocal tries
        tries += 1
        if tries < 3:
            raise ConnectionRefusedError("not yet")

    with capture_logs() as logs:
        # structlog caches a module's logger once used: a fresh one sees the capture.
        monkeypatch.setattr(resources_module, "log", structlog.get_logger("app.resources"))
        await until_up("postgres", connect, 10)
    assert tries == 3
    waiting = [entry for entry in logs if entry["event"] == "waiting for a service"]
    assert [entry["attempt"] for entry in waiting] == [1, 2]
    assert waiting[0]["service"] == "postgres"
    assert any(entry["event"] == "service answered" for entry in logs)


async def test_a_service_that_stays_down_ends_the_wait_with_a_clear_error() -> None:
    async def connect() -> None:
        raise ConnectionRefusedError("refused")

    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(ServiceUnavailable, match=r"postgres did not answer within 1\.5 s"):
        await until_up("postgres", connect, 1.5)
    assert 1.4 <= loop.time() - started < 5


async def test_other_errors_are_not_waited_out() -> None:
    async def connect() -> None:
        raise ValueError("a bad password is not an outage")

    with pytest.raises(ValueError, match="bad password"):
        await until_up("postgres", connect, 30)


def test_the_default_wait_is_bounded() -> None:
    assert resources_module.Settings.model_fields["startup_wait_seconds"].default == 30.0
