"""How every Redis client of the app behaves when Redis drops a connection."""

from __future__ import annotations

from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff


def redis_retry() -> Retry:
    """Retry a command a few times on a fresh connection when Redis dropped it (a restart
    or a failover), instead of failing the task or the request that sent it."""
    return Retry(ExponentialBackoff(cap=1.0, base=0.05), retries=3)
