"""Login attempts are limited per email and per client address, in Redis.

Failed attempts are counted in a fixed window; past the limit further attempts are
refused without checking the password, so guessing is slow whichever of the two an
attacker varies. A successful login clears its email's count.
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

    async def check(self, email: str, address: str) -> None:
        by_email, by_address = await self.redis.mget(self._email(email), self._address(address))
        if int(by_email or 0) >= self.per_email or int(by_address or 0) >= self.per_address:
            minutes = int(self.window.total_seconds() // 60)
            raise RateLimited(
                f"Too many failed logins; try again in {minutes} minutes.", field="email"
            )

    async def failed(self, email: str, address: str) -> None:
        seconds = int(self.window.total_seconds())
        async with self.redis.pipeline(transaction=True) as pipe:
            for key in (self._email(email), self._address(address)):
                pipe.incr(key)
                pipe.expire(key, seconds, nx=True)
            await pipe.execute()

    async def succeeded(self, email: str) -> None:
        await self.redis.delete(self._email(email))

    def _email(self, email: str) -> str:
        # Hashed: Redis keys show up in monitoring, email addresses should not.
        digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
        return f"{PREFIX}:email:{digest}"

    def _address(self, address: str) -> str:
        return f"{PREFIX}:address:{address[:64]}"
