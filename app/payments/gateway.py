"""The guard every payment gateway call goes through: bounded attempts, retries, a breaker.

Retries (stamina, exponential backoff with jitter) absorb a blip: a dropped connection,
a 502, a 429. The circuit breaker (purgatory) is for an outage: once ``threshold`` calls
in a row have failed even after their retries, calls fail at once for ``reset_after``
seconds instead of making every customer wait through the timeouts. Its state lives in
Redis so every web and worker process agrees.

Only transient errors are retried and counted. Anything else (a 400 from Stripe is our
bug or bad input) is re-raised as-is: retrying cannot help, and the gateway plainly
answered, so purgatory treats it as a success (it resets the failure count, and closes a
half-open breaker).

Behaviour inherited from purgatory 3: the failure count is read, bumped and compared per
process, so racing failures may open the breaker a call or two late; and while half-open
every call is let through, not a single trial.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, Final, TypeVar

import httpx
import redis.asyncio as aioredis
import stamina
import structlog
from purgatory import AsyncAbstractUnitOfWork, AsyncCircuitBreakerFactory, ContextChanged, Event
from purgatory.domain.model import Context, OpenedState
from purgatory.service._async.repository import AsyncRedisRepository

from app.payments.stripe import StripeError

log = structlog.get_logger(__name__)

T = TypeVar("T")

# purgatory keeps two keys per circuit: "<prefix><name>" (JSON: state, opened_at, ...)
# and "<prefix><name>::failure_count".
KEY_PREFIX: Final = "chatcart:breaker:"

_STATE_MESSAGES: Final = {
    "opened": "payment gateway circuit opened",
    "half-opened": "payment gateway circuit half-opened",
    "closed": "payment gateway circuit closed",
}


class TransientError(Exception):
    """Raise (or subclass) for a gateway failure worth another try that no rule here knows."""


class GatewayUnavailable(Exception):
    """The gateway cannot be used now: the breaker is open, or the call failed after retries."""

    def __init__(self, reason: str, *, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after  # seconds until the breaker lets a call through


def is_transient_error(exc: BaseException) -> bool:
    """Worth another try: the gateway may well answer the same request next time."""
    if isinstance(exc, StripeError):
        return exc.transient
    # httpx.TimeoutException is a TransportError; TimeoutError is our per-attempt bound.
    return isinstance(exc, TransientError | httpx.TransportError | TimeoutError)


class _RedisContexts(AsyncRedisRepository):
    """purgatory's Redis repository, on the process's client instead of one of its own."""

    def __init__(self, redis: aioredis.Redis, *, threshold: int, ttl: float) -> None:
        # Not super().__init__(): it would open a second connection pool from a URL.
        self.redis = redis
        self.messages = []
        self.prefix = KEY_PREFIX
        self._threshold = threshold
        self._ttl = ttl

    async def initialize(self) -> None:
        """Nothing to do: app.resources opens and closes the client."""

    async def get(self, name: str) -> Context | None:
        context = await super().get(name)
        if context is not None:
            # The stored copy keeps the settings of whoever created the circuit; the
            # keys never expire, so let this deploy's settings win.
            context.threshold, context.ttl = self._threshold, self._ttl
        return context


class _RedisUnitOfWork(AsyncAbstractUnitOfWork):
    def __init__(self, contexts: _RedisContexts) -> None:
        self.contexts = contexts

    async def commit(self) -> None:
        """Nothing to do: every change is written to Redis as it happens."""

    async def rollback(self) -> None:
        """Nothing to undo, for the same reason."""


class GatewayGuard:
    def __init__(
        self,
        redis: aioredis.Redis,
        name: str,
        *,
        threshold: int = 5,
        reset_after: float = 30.0,
        attempts: int = 3,
        timeout: float = 10.0,
        wait_initial: float = 0.2,
        wait_max: float = 2.0,
        is_transient: Callable[[BaseException], bool] = is_transient_error,
    ) -> None:
        self.name = name
        self._reset_after = reset_after
        self._timeout = timeout
        self._is_transient = is_transient
        self._contexts = _RedisContexts(redis, threshold=threshold, ttl=reset_after)
        self._breakers = AsyncCircuitBreakerFactory(
            default_threshold=threshold,
            default_ttl=reset_after,
            exclude=[(BaseException, self._is_permanent)],
            uow=_RedisUnitOfWork(self._contexts),
        )
        self._breakers.add_listener(self._log_state_change)
        # The attempts bound the whole call (attempts x timeout + waits), so no overall
        # timeout. Jitter as large as the first wait spreads out processes retrying
        # together without keeping the customer waiting much longer.
        self._retrying = stamina.AsyncRetryingCaller(
            attempts=attempts,
            timeout=None,
            wait_initial=wait_initial,
            wait_max=wait_max,
            wait_jitter=wait_initial,
        ).on(self._is_transient)
        self._attempts = attempts

    def __repr__(self) -> str:
        return f"GatewayGuard({self.name!r})"

    async def call(self, operation: Callable[[], Awaitable[T]]) -> T:
        """Run ``operation`` under the breaker, retrying transient failures.

        Raises ``GatewayUnavailable`` without calling it while the breaker is open, or
        from the last error once the attempts are spent; any other error as it came.
        """
        try:
            breaker = await self._breakers.get_breaker(self.name)
            async with breaker:
                return await self._retrying(self._bounded, operation)
        except OpenedState as opened:
            retry_after = max(0.0, opened.opened_at + self._reset_after - time.time())
            raise GatewayUnavailable(
                f"{self.name} circuit is open", retry_after=retry_after
            ) from None
        except Exception as exc:
            if not self._is_transient(exc):
                raise
            cause = (
                f"no answer within {self._timeout:g} s" if isinstance(exc, TimeoutError) else exc
            )
            raise GatewayUnavailable(
                f"{self.name} failed after {self._attempts} attempts: {cause}"
            ) from exc

    async def state(self) -> dict[str, Any]:
        """The breaker as every process sees it, for readiness checks."""
        context = await self._contexts.get(self.name)
        if context is None:
            return {"state": "closed", "failures": 0, "opened_at": None}
        state: str = context.state
        opened_at = context.opened_at
        if (
            state == "opened"
            and opened_at is not None
            and time.time() > opened_at + self._reset_after
        ):
            state = "half-opened"  # stored as opened until the next call tries; it will pass
        return {"state": state, "failures": context.failure_count or 0, "opened_at": opened_at}

    async def _bounded(self, operation: Callable[[], Awaitable[T]]) -> T:
        async with asyncio.timeout(self._timeout):
            return await operation()

    def _is_permanent(self, exc: BaseException) -> bool:
        return not self._is_transient(exc)

    def _log_state_change(self, name: str, kind: str, event: Event) -> None:
        if not isinstance(event, ContextChanged):
            return
        message = _STATE_MESSAGES.get(event.state, "payment gateway circuit changed")
        if event.state == "opened":
            log.warning(message, circuit=name, state=event.state, reset_after=self._reset_after)
        else:
            log.info(message, circuit=name, state=event.state)
