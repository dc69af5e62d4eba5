"""Conversation sessions in Redis, expiring after a spell of inactivity.

Each record keeps the session *before* the last message was applied, and that message's
id. When a message is handled again (its worker died half way), the machine is re-run
from the earlier session, so the same step is not applied twice; its effects are
idempotent, so they are not repeated either.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta

import redis.asyncio as aioredis

from app.conversation.session import Session

KEY = "chatcart:session:{}"
# Remembers that a customer had a session, so an expired one can be told apart from a
# first visit (the greeting then says the cart was cleared).
SEEN_KEY = "chatcart:session-seen:{}"
SEEN_FOR = timedelta(days=90)


@dataclass(frozen=True)
class Loaded:
    session: Session
    expired: bool  # a session existed and timed out


class SessionStore:
    def __init__(self, redis: aioredis.Redis, ttl: timedelta) -> None:
        self.redis = redis
        self.ttl = ttl

    async def load(self, customer_id: int, wamid: str) -> Loaded:
        """The session to apply message ``wamid`` to."""
        raw = await self.redis.get(KEY.format(customer_id))
        if raw is None:
            seen = await self.redis.exists(SEEN_KEY.format(customer_id))
            return Loaded(Session.new(), expired=bool(seen))
        record = json.loads(raw)
        base = record["before"] if record.get("applied") == wamid else record["current"]
        return Loaded(Session.from_json(base), expired=False)

    async def save(self, customer_id: int, wamid: str, before: Session, current: Session) -> None:
        record = {"applied": wamid, "before": before.to_json(), "current": current.to_json()}
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(KEY.format(customer_id), json.dumps(record), ex=self.ttl)
            pipe.set(SEEN_KEY.format(customer_id), "1", ex=SEEN_FOR)
            await pipe.execute()

    async def undo(self, customer_id: int, wamid: str) -> None:
        """Forget what message ``wamid`` did to the session (it failed for good)."""
        raw = await self.redis.get(KEY.format(customer_id))
        if raw is None:
            return
        record = json.loads(raw)
        if record.get("applied") != wamid:
            return
        record["current"] = record["before"]
        await self.redis.set(KEY.format(customer_id), json.dumps(record), ex=self.ttl)

    async def reset(self, customer_id: int) -> None:
        """Start the customer afresh (e.g. after a handover), keeping their cart."""
        raw = await self.redis.get(KEY.format(customer_id))
        session = Session.new()
        if raw is not None:
            previous = Session.from_json(json.loads(raw)["current"])
            session.cart = previous.cart
        fresh = session.to_json()
        record = {"applied": None, "before": fresh, "current": fresh}
        await self.redis.set(KEY.format(customer_id), json.dumps(record), ex=self.ttl)
