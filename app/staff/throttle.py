"""Login attempts are limited per email and per client address, in Redis.

Every attempt is counted, atomically and before the password is checked, in a fixed
window; past the limit attempts are refused without checking the password, so guessing
is slow whichever of the two an attacker varies, and parallel bursts cannot slip through.
A successful login clears its email's count. Callers pass the normalised email, so
spelling variants of one address share one count.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

import redis.asyncio as aioredis

from app.errors import RateLimited

PREFIX = "chatcart:login-failures"


@dataclass(frozen=True)
class LoginThrottle:
    redis: aioredis.Redis
    per_email: int = 5
    per_address: int = 30
    window: timedelta = timedelta(minutes=15)

    async def attempt(self, email: str, address: str) -> None:
        """Count this attempt; ``RateLimited`` if it is over either limit."""
        seconds = int(self.window.total_seconds())
        async with self.redis.pipeline(transaction=True) as pipe:
            for key in (self._email(email), self._address(address)):
                # The window starts with the first attempt: SET NX gives a new count its
                # expiry and INCR keeps it (EXPIRE NX would need Redis 7; 6.2 is supported).
                pipe.set(key, 0, ex=seconds, nx=True)
                pipe.incr(key)
            _, by_email, _, by_address = await pipe.execute()
        if int(by_email) > self.per_email or int(by_address) > self.per_address:
            minutes = int(self.window.total_seconds() // 60)
            raise RateLimited(
                f"Too many login attempts; try again in {minutes} minutes.", field="email"
            )

    async def succeeded(self, email: str, address: str) -> None:
        """A good login: its email starts over, and it does not count against its address."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(self._email(email))
            pipe.decr(self._address(address))
            await pipe.execute()

    def _email(self, email: str) -> str:
        # Hashed: Redis keys show up in monitoring, email addresses should not.
        digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
        return f"{PREFIX}:email:{digest}"

    def _address(self, address: str) -> str:
        return f"{PREFIX}:address:{address[:64]}"
