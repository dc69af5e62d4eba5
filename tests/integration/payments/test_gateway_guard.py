"""The gateway guard against real Redis: retries, the shared breaker, and what it reports."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis
import structlog
from structlog.testing import capture_logs

from app.payments import gateway as gateway_module
from app.payments.gateway import GatewayGuard, GatewayUnavailable, TransientError
from app.payments.stripe import StripeError

NAME = "stripe"
CLOSED = {"state": "closed", "failures": 0, "opened_at": None}


def guard(
    redis: aioredis.Redis, *, attempts: int = 3, reset_after: float = 30.0, timeout: float = 1.0
) -> GatewayGuard:
    """A guard with the default threshold (5) and waits short enough for tests."""
    return GatewayGuard(
        redis,
        NAME,
        attempts=attempts,
        reset_after=reset_after,
        timeout=timeout,
        wait_initial=0.001,
        wait_max=0.002,
    )


class Gateway:
    """A fake gateway call that fails as told, then answers; counts how often it was called."""

    def __init__(self, *failures: BaseException) -> None:
        self.failures = list(failures)
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return "cs_test_1"


def down() -> StripeError:
    return StripeError("Stripe is down", status=503, transient=True)


def bad_request() -> StripeError:
    return StripeError("Invalid integer: abc", status=400, code="parameter_invalid_integer")


async def fail_calls(target: GatewayGuard, times: int = 5) -> None:
    """Calls that fail every attempt; five in a row open a default breaker."""
    for _ in range(times):
        with pytest.raises(GatewayUnavailable):
            await target.call(Gateway(*[down()] * 10))


async def test_transient_failures_are_retried_until_the_call_succeeds(
    redis_client: aioredis.Redis,
) -> None:
    gateway = Gateway(down(), TransientError("reset by peer"))
    assert await guard(redis_client).call(gateway) == "cs_test_1"
    assert gateway.calls == 3
    assert await guard(redis_client).state() == CLOSED


async def test_a_call_failing_every_attempt_is_unavailable_from_the_last_error(
    redis_client: aioredis.Redis,
) -> None:
    last = StripeError("still down", status=502, transient=True)
    gateway = Gateway(down(), down(), last)
    target = guard(redis_client)
    with pytest.raises(GatewayUnavailable) as caught:
        await target.call(gateway)
    assert gateway.calls == 3
    assert caught.value.__cause__ is last
    assert caught.value.retry_after is None
    assert (await target.state())["failures"] == 1  # one call, one failure, not three


async def test_an_attempt_that_hangs_is_cut_short_and_retried(
    redis_client: aioredis.Redis,
) -> None:
    calls = 0

    async def slow_then_fast() -> str:
        nonlocal calls
        calls += 1
        if calls == 1:
            await asyncio.sleep(10)
        return "cs_test_1"

    assert await guard(redis_client, timeout=0.05).call(slow_then_fast) == "cs_test_1"
    assert calls == 2


async def test_a_non_transient_error_is_raised_as_is_and_leaves_the_breaker_closed(
    redis_client: aioredis.Redis,
) -> None:
    target = guard(redis_client)
    for _ in range(7):
        error = bad_request()
        gateway = Gateway(error)
        with pytest.raises(StripeError) as caught:
            await target.call(gateway)
        assert caught.value is error
        assert gateway.calls == 1
    assert (await target.state())["state"] == "closed"
    assert await target.call(Gateway()) == "cs_test_1"


@pytest.fixture(autouse=True)
def _fresh_logger(monkeypatch: pytest.MonkeyPatch) -> None:
    # The app caches loggers on first use, which would bypass capture_logs once another
    # test has logged through the module's logger.
    monkeypatch.setattr(gateway_module, "log", structlog.get_logger(gateway_module.__name__))


async def test_five_failed_calls_open_the_breaker_and_the_sixth_is_not_made(
    redis_client: aioredis.Redis,
) -> None:
    target = guard(redis_client, attempts=1)
    with capture_logs() as logs:
        await fail_calls(target)

    state = await target.state()
    assert (state["state"], state["failures"]) == ("opened", 5)
    assert state["opened_at"] is not None
    assert {"event": "payment gateway circuit opened", "circuit": NAME} in [
        {"event": entry["event"], "circuit": entry.get("circuit")} for entry in logs
    ]

    sixth = Gateway()
    with pytest.raises(GatewayUnavailable) as caught:
        await target.call(sixth)
    assert sixth.calls == 0
    assert caught.value.retry_after is not None
    assert 29 < caught.value.retry_after <= 30


async def test_a_success_between_failures_starts_the_count_again(
    redis_client: aioredis.Redis,
) -> None:
    target = guard(redis_client, attempts=1)
    await fail_calls(target, times=4)
    assert await target.call(Gateway()) == "cs_test_1"
    await fail_calls(target, times=4)
    assert await target.state() == {"state": "closed", "failures": 4, "opened_at": None}


async def test_every_guard_on_the_same_redis_sees_the_breaker_open(
    redis_client: aioredis.Redis,
) -> None:
    web, worker = guard(redis_client, attempts=1), guard(redis_client, attempts=1)
    await fail_calls(web)

    assert (await worker.state())["state"] == "opened"
    gateway = Gateway()
    with pytest.raises(GatewayUnavailable):
        await worker.call(gateway)
    assert gateway.calls == 0


async def test_failures_from_different_processes_add_up(redis_client: aioredis.Redis) -> None:
    web, worker = guard(redis_client, attempts=1), guard(redis_client, attempts=1)
    await fail_calls(web, times=3)
    await fail_calls(worker, times=2)
    assert (await web.state())["state"] == "opened"


async def test_after_reset_after_one_success_closes_the_breaker(
    redis_client: aioredis.Redis,
) -> None:
    target = guard(redis_client, attempts=1, reset_after=0.5)
    await fail_calls(target)
    assert (await target.state())["state"] == "opened"

    await asyncio.sleep(0.6)
    assert (await target.state())["state"] == "half-opened"
    with capture_logs() as logs:
        assert await target.call(Gateway()) == "cs_test_1"

    assert await target.state() == CLOSED
    assert [entry["event"] for entry in logs if entry.get("circuit") == NAME] == [
        "payment gateway circuit half-opened",
        "payment gateway circuit closed",
    ]


async def test_a_failure_while_half_open_opens_the_breaker_again(
    redis_client: aioredis.Redis,
) -> None:
    target = guard(redis_client, attempts=1, reset_after=0.5)
    await fail_calls(target)
    await asyncio.sleep(0.6)

    with pytest.raises(GatewayUnavailable):
        await target.call(Gateway(down()))
    assert (await target.state())["state"] == "opened"
    gateway = Gateway()
    with pytest.raises(GatewayUnavailable):
        await target.call(gateway)
    assert gateway.calls == 0


async def test_what_counts_as_transient_can_be_chosen(redis_client: aioredis.Redis) -> None:
    def only_lookups(exc: BaseException) -> bool:
        return isinstance(exc, LookupError)

    target = GatewayGuard(
        redis_client, NAME, is_transient=only_lookups, wait_initial=0.001, wait_max=0.002
    )
    gateway = Gateway(KeyError("flaky"), KeyError("flaky"))
    assert await target.call(gateway) == "cs_test_1"
    with pytest.raises(StripeError):  # transient for Stripe, but not by this rule
        await target.call(Gateway(down()))


async def test_the_breaker_keys_are_namespaced(redis_client: aioredis.Redis) -> None:
    with pytest.raises(GatewayUnavailable):
        await guard(redis_client, attempts=1).call(Gateway(down()))
    keys = sorted(await redis_client.keys("*breaker*"))
    assert keys == [b"chatcart:breaker:stripe", b"chatcart:breaker:stripe::failure_count"]
