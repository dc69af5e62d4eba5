"""The scheduler lock: one scheduler at a time, released on stop, taken back after a crash
of the scheduler loop."""

from __future__ import annotations

import asyncio

import pytest
from taskiq import AsyncBroker

from app import queue
from app.resources import Resources


async def test_a_crashed_scheduler_loop_is_started_again_and_the_lock_released_on_stop(
    db: Resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs: list[str] = []

    async def flaky_scheduler(broker: AsyncBroker) -> None:
        runs.append("run")
        if len(runs) == 1:
            raise RuntimeError("the schedule source broke")
        await asyncio.sleep(3600)

    monkeypatch.setattr(queue, "run_scheduler", flaky_scheduler)
    monkeypatch.setattr(queue, "SCHEDULER_LOCK_SECONDS", 1)
    monkeypatch.setattr(queue, "RESTART_PAUSE_SECONDS", 0.1)
    stop = asyncio.Event()
    alone = asyncio.create_task(queue.run_scheduler_alone(None, db.redis, stop))  # type: ignore[arg-type]
    for _ in range(100):
        if len(runs) == 2:
            break
        await asyncio.sleep(0.05)
    assert runs == ["run", "run"]
    assert await db.redis.get(queue.SCHEDULER_LOCK) is not None  # held by the second run

    stop.set()
    await asyncio.wait_for(alone, 10)
    assert await db.redis.get(queue.SCHEDULER_LOCK) is None


async def test_a_second_scheduler_waits_while_the_first_holds_the_lock(
    db: Resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[int] = []

    def scheduler(n: int):  # type: ignore[no-untyped-def]
        async def run(broker: AsyncBroker) -> None:
            started.append(n)
            await asyncio.sleep(3600)

        return run

    monkeypatch.setattr(queue, "SCHEDULER_LOCK_SECONDS", 1)
    first_stop, second_stop = asyncio.Event(), asyncio.Event()
    monkeypatch.setattr(queue, "run_scheduler", scheduler(1))
    first = asyncio.create_task(queue.run_scheduler_alone(None, db.redis, first_stop))  # type: ignore[arg-type]
    await asyncio.sleep(0.3)
    monkeypatch.setattr(queue, "run_scheduler", scheduler(2))
    second = asyncio.create_task(queue.run_scheduler_alone(None, db.redis, second_stop))  # type: ignore[arg-type]
    await asyncio.sleep(1.5)  # longer than the lock's life: the first keeps renewing it
    assert started == [1]

    first_stop.set()
    await asyncio.wait_for(first, 10)
    for _ in range(40):
        if started == [1, 2]:
            break
        await asyncio.sleep(0.05)
    assert started == [1, 2]
    second_stop.set()
    await asyncio.wait_for(second, 10)
