"""The task queue: one taskiq broker on Redis Streams, its worker loop and its scheduler.

The queue carries ids only; the database says what is still to do. A task message lost
with a crashed worker delays work until the sweep re-enqueues it, it never loses it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import structlog
from redis.asyncio import Redis
from redis.asyncio.lock import Lock
from redis.exceptions import LockError, LockNotOwnedError, RedisError
from taskiq import AsyncBroker, BrokerMessage, TaskiqScheduler
from taskiq.acks import AcknowledgeType
from taskiq.cli.scheduler.run import SchedulerLoop
from taskiq.receiver import Receiver
from taskiq.schedule_sources import LabelScheduleSource
from taskiq_redis import RedisStreamBroker

from app.redis_clients import redis_retry
from app.settings import Settings

log = structlog.get_logger(__name__)

QUEUE_NAME = "chatcart:tasks"
CONSUMER_GROUP = "chatcart-workers"
# A task message not acknowledged within this time (its worker died) is handed to
# another worker.
REDELIVER_AFTER_MS = 60_000
# One scheduler kicks the periodic tasks; others stand by. A holder that dies without
# releasing the lock blocks the standby for at most this long.
SCHEDULER_LOCK = "chatcart:scheduler"
SCHEDULER_LOCK_SECONDS = 30
RESTART_PAUSE_SECONDS = 5


class StreamBroker(RedisStreamBroker):
    """taskiq-redis's stream broker, sending and acknowledging through one Redis client.

    The stock broker builds a new redis-py client for every message it sends and every
    acknowledgement, which costs more CPU than the XADD itself: it was over half of what a
    webhook delivery cost the web process. The client shares the broker's connection pool.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._client: Redis | None = None

    def _redis(self) -> Redis:
        if self._client is None:
            self._client = Redis(connection_pool=self.connection_pool)
        return self._client

    async def kick(self, message: BrokerMessage) -> None:
        queue_name = message.labels.get("queue_name") or self.queue_name
        await self._redis().xadd(
            queue_name, {b"data": message.message}, maxlen=self.maxlen, approximate=self.approximate
        )

    def _ack_generator(self, id: str, queue_name: str) -> Callable[[], Awaitable[None]]:
        async def ack() -> None:
            await self._redis().xack(queue_name, self.consumer_group_name, id)

        return ack

    async def shutdown(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        await super().shutdown()


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    """Wait ``seconds``, or less if ``stop`` is set meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


def build_broker(settings: Settings) -> AsyncBroker:
    if settings.redis_url is None:
        raise RuntimeError("REDIS_URL must be resolved before building the broker")
    return StreamBroker(
        url=settings.redis_url,
        queue_name=QUEUE_NAME,
        consumer_group_name=CONSUMER_GROUP,
        idle_timeout=REDELIVER_AFTER_MS,
        # Without it a worker killed while holding the reclaim lock blocks reclaiming.
        unacknowledged_lock_timeout=30,
        xread_block=1000,
        # A consumer group created after tasks were queued still reads them ("$" would
        # skip everything queued before the first worker started).
        consumer_id="0",
        # Bound the stream; work it drops is still pending in PostgreSQL for the sweep.
        maxlen=100_000,
        retry=redis_retry(),
        health_check_interval=30,
    )


async def run_worker(
    broker: AsyncBroker,
    stop: asyncio.Event,
    *,
    concurrency: int,
    on_attach: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Run tasks until ``stop`` is set; tasks already started are finished first.

    If listening fails (Redis restarted without its data, so the stream and consumer
    group are gone; or the connection dropped), the worker declares the group again and
    goes on listening, with a growing pause: a worker that silently stops would leave the
    shop answering webhooks but never replying. ``on_attach`` runs each time it starts
    listening, to enqueue again the work a lost queue may have held.
    """
    broker.is_worker_process = True
    pause = 1.0
    while not stop.is_set():
        if on_attach is not None:
            try:
                await on_attach()
            except Exception as exc:
                log.warning("could not re-enqueue waiting work", error=repr(exc))
        receiver = Receiver(
            broker=broker,
            executor=None,
            max_async_tasks=concurrency,
            ack_type=AcknowledgeType.WHEN_EXECUTED,
            run_startup=False,
            wait_tasks_timeout=30,
        )
        log.info("worker listening", queue=QUEUE_NAME, concurrency=concurrency)
        try:
            await receiver.listen(stop)
        except Exception as exc:
            log.error("worker lost the queue; listening again", error=repr(exc), pause=pause)
            await _pause(stop, pause)
            pause = min(pause * 2, 30.0)
            with contextlib.suppress(Exception):
                await broker.startup()  # declares the consumer group (and stream) again
            continue
        pause = 1.0
    log.info("worker stopped")


async def run_scheduler(broker: AsyncBroker) -> None:
    """Kick the periodic tasks (the sweeps) on their schedule until cancelled."""
    scheduler = TaskiqScheduler(broker, sources=[LabelScheduleSource(broker)])
    broker.is_scheduler_process = True
    for source in scheduler.sources:
        await source.startup()
    log.info("scheduler running")
    try:
        await SchedulerLoop(scheduler).run(
            update_interval=timedelta(seconds=60),
            loop_interval=timedelta(seconds=1),
        )
    finally:
        for source in scheduler.sources:
            await source.shutdown()
        log.info("scheduler stopped")


async def run_scheduler_alone(broker: AsyncBroker, redis: Redis, stop: asyncio.Event) -> None:
    """Run the scheduler while this process holds the scheduler lock in Redis, until
    ``stop`` is set; then release the lock so a standby scheduler takes over at once.

    A second scheduler waits for the lock instead of kicking the sweeps twice; if the
    holder dies without releasing it, the lock expires after ``SCHEDULER_LOCK_SECONDS``.
    """
    lock = redis.lock(SCHEDULER_LOCK, timeout=SCHEDULER_LOCK_SECONDS, thread_local=False)
    while not stop.is_set():
        if not await _acquire(lock, stop):
            return
        log.info("scheduler lock taken", lock=SCHEDULER_LOCK)
        running = asyncio.create_task(run_scheduler(broker))
        try:
            await _hold(lock, stop, running)
        finally:
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)  # an error was logged
            with contextlib.suppress(LockError, RedisError):
                await lock.release()
                log.info("scheduler lock released", lock=SCHEDULER_LOCK)


async def _acquire(lock: Lock, stop: asyncio.Event) -> bool:
    """Wait for the lock; False if told to stop first."""
    waiting = False
    while not stop.is_set():
        try:
            if await lock.acquire(blocking=False):
                return True
        except RedisError as exc:
            log.warning("scheduler lock unavailable", error=repr(exc))
        if not waiting:
            log.info("another scheduler is running; standing by", lock=SCHEDULER_LOCK)
            waiting = True
        await _pause(stop, SCHEDULER_LOCK_SECONDS / 3)
    return False


async def _hold(lock: Lock, stop: asyncio.Event, running: asyncio.Task[None]) -> None:
    """Keep the lock alive while the scheduler runs, until ``stop`` is set. Return early if
    the lock is lost (it expired while Redis was unreachable and another scheduler took
    it, or Redis lost its data), or if the scheduler itself died: the lock then goes back
    and is taken again, so a broken loop does not keep the standby out."""
    stopped = asyncio.ensure_future(stop.wait())
    try:
        while True:
            done, _ = await asyncio.wait({stopped, running}, timeout=SCHEDULER_LOCK_SECONDS / 3)
            if stopped in done:
                return
            if running in done:
                error = None if running.cancelled() else running.exception()
                log.error("scheduler loop ended; starting again", error=repr(error))
                await _pause(stop, RESTART_PAUSE_SECONDS)
                return
            try:
                await lock.reacquire()
            except LockNotOwnedError:
                log.warning("scheduler lock lost; standing by", lock=SCHEDULER_LOCK)
                return
            except RedisError as exc:
                log.warning("could not renew the scheduler lock", error=repr(exc))
    finally:
        stopped.cancel()


@contextlib.asynccontextmanager
async def in_process_worker(
    broker: AsyncBroker,
    *,
    concurrency: int,
    with_scheduler: bool = True,
    on_attach: Callable[[], Awaitable[None]] | None = None,
) -> AsyncIterator[None]:
    """Run the worker (and the scheduler) inside this process, e.g. for the embedded shop."""
    stop = asyncio.Event()
    worker = asyncio.create_task(
        run_worker(broker, stop, concurrency=concurrency, on_attach=on_attach)
    )
    scheduler = asyncio.create_task(run_scheduler(broker)) if with_scheduler else None
    try:
        yield
    finally:
        stop.set()
        if scheduler is not None:
            scheduler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await scheduler
        try:
            await asyncio.wait_for(worker, timeout=35)
        except TimeoutError:
            log.warning("in-process worker did not stop in time")
