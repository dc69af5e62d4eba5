"""Conversation sessions in PostgreSQL, expiring after a spell of inactivity.

Each record keeps the session *before* the last message was applied, and that message's
id. When a message is handled again (its worker died half way), the machine is re-run
from the earlier session, so the same step is not applied twice; its effects are
idempotent, so they are not repeated either.

An expired record is kept (its contents are not used) so the greeting can tell a
customer whose session timed out that their cart was cleared; the sweep deletes records
idle longer than ``FORGET_AFTER``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta

import redis.asyncio as aioredis
import structlog
from redis.exceptions import RedisError

from app.conversation.session import Session
from app.db.reads import fetch

log = structlog.get_logger(__name__)

EARLIER_KEY = "chatcart:session:{}"
# Long enough to tell "your cart was cleared" from a first visit.
FORGET_AFTER = timedelta(days=90)

_LOAD = (
    "SELECT applied, before::text, current::text, expires_at > now() AS live "
    "FROM conversation_session WHERE customer = {}"
)
_SAVE = (
    "INSERT INTO conversation_session (customer, applied, before, current, expires_at) "
    "VALUES ({}, {}, {}::jsonb, {}::jsonb, now() + {}::interval) "
    "ON CONFLICT (customer) DO UPDATE SET applied = excluded.applied, "
    "before = excluded.before, current = excluded.current, "
    "expires_at = excluded.expires_at, updated_at = now()"
)
_UNDO = (
    "UPDATE conversation_session SET current = before, updated_at = now() "
    "WHERE customer = {} AND applied = {}"
)
_CURRENT = (
    "SELECT current::text FROM conversation_session WHERE customer = {} AND expires_at > now()"
)
_FORGET = (
    "DELETE FROM conversation_session WHERE expires_at < now() - {}::interval RETURNING customer"
)


@dataclass(frozen=True)
class Loaded:
    session: Session
    expired: bool  # a session existed and timed out


class SessionStore:
    def __init__(self, ttl: timedelta, *, earlier: aioredis.Redis | None = None) -> None:
        self.ttl = ttl
        # Versions before sessions moved to PostgreSQL kept them in Redis; a conversation
        # under way during the upgrade is read from there once (they expire in a day).
        self.earlier = earlier

    async def load(self, customer_id: int, wamid: str) -> Loaded:
        """The session to apply message ``wamid`` to."""
        rows = await fetch(_LOAD, customer_id)
        if not rows:
            carried = await self._from_redis(customer_id, wamid)
            return Loaded(carried or Session.new(), expired=False)
        row = rows[0]
        if not row["live"]:
            return Loaded(Session.new(), expired=True)
        base = row["before"] if row["applied"] == wamid else row["current"]
        return Loaded(Session.from_json(base), expired=False)

    async def save(
        self, customer_id: int, wamid: str | None, before: Session, current: Session
    ) -> None:
        """Keep ``current``, and ``before`` as it was before message ``wamid`` (None: none)."""
        await fetch(_SAVE, customer_id, wamid, before.to_json(), current.to_json(), self.ttl)

    async def undo(self, customer_id: int, wamid: str) -> None:
        """Forget what message ``wamid`` did to the session (it failed for good)."""
        await fetch(_UNDO, customer_id, wamid)

    async def reset(self, customer_id: int) -> None:
        """Start the customer afresh (e.g. after a handover), keeping their cart."""
        rows = await fetch(_CURRENT, customer_id)
        session = Session.new()
        if rows:
            session.cart = Session.from_json(rows[0]["current"]).cart
        await self.save(customer_id, None, session, session)

    async def current(self, customer_id: int) -> Session | None:
        """The customer's live session, if any (what their next message starts from)."""
        rows = await fetch(_CURRENT, customer_id)
        return Session.from_json(rows[0]["current"]) if rows else None

    async def _from_redis(self, customer_id: int, wamid: str) -> Session | None:
        if self.earlier is None:
            return None
        try:
            raw = await self.earlier.get(EARLIER_KEY.format(customer_id))
            if raw is None:
                return None
            record = json.loads(raw)
            base = record["before"] if record.get("applied") == wamid else record["current"]
            return Session.from_json(base)
        except (RedisError, ValueError, KeyError, TypeError) as exc:
            log.warning("earlier session unreadable", customer_id=customer_id, error=repr(exc))
            return None


async def forget_idle_sessions() -> int:
    """Delete the records of sessions idle longer than ``FORGET_AFTER``; how many."""
    return len(await fetch(_FORGET, FORGET_AFTER))
