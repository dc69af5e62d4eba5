"""Drain a customer's inbox: their pending messages, one at a time, in WhatsApp's order.

A per-customer advisory lock makes one worker at a time handle a customer, while other
customers are handled in parallel. A message that fails stays pending (and stops the
drain, so later messages never overtake it) until the stale-inbox sweep retries it; after
``max_attempts`` it is set aside as failed so the customer is not blocked for good.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import structlog

from app.db.locks import LockSpace, advisory_lock
from app.whatsapp.tables import InboundMessage

log = structlog.get_logger(__name__)

STALE_AFTER = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class PendingMessage:
    id: int
    wamid: str
    customer_id: int
    type: str
    payload: dict[str, Any]
    sent_at: datetime
    attempts: int


MessageHandler = Callable[[PendingMessage], Awaitable[None]]
GiveUpHandler = Callable[[PendingMessage], Awaitable[None]]


@dataclass
class DrainReport:
    processed: int = 0
    failed: int = 0
    stopped_at: int | None = None  # message left pending after an error


async def drain_inbox(
    customer_id: int,
    handle: MessageHandler,
    *,
    lock_pool: asyncpg.Pool,
    max_attempts: int = 5,
    on_give_up: GiveUpHandler | None = None,
) -> DrainReport:
    """Handle the customer's pending messages; ``on_give_up`` hears of one set aside."""
    report = DrainReport()
    while True:
        async with advisory_lock(lock_pool, LockSpace.CUSTOMER_INBOX, customer_id) as held:
            if not held:
                return report  # another worker is on this customer and will see our message
            await _drain(customer_id, handle, max_attempts, report, on_give_up)
        # A message that arrived while we held the lock had its task turned away: look
        # again now that the lock is free, unless we stopped on an error.
        if report.stopped_at is not None or await _next_pending(customer_id) is None:
            return report


async def _drain(
    customer_id: int,
    handle: MessageHandler,
    max_attempts: int,
    report: DrainReport,
    on_give_up: GiveUpHandler | None,
) -> None:
    while (message := await _next_pending(customer_id)) is not None:
        with structlog.contextvars.bound_contextvars(wamid=message.wamid, customer_id=customer_id):
            try:
                await handle(message)
            except Exception as exc:
                if await _record_error(message, exc, max_attempts):
                    report.failed += 1
                    if on_give_up is not None:
                        await _tell(on_give_up, message)
                    continue
                report.stopped_at = message.id
                return
        await _mark_processed(message)
        report.processed += 1


async def _tell(on_give_up: GiveUpHandler, message: PendingMessage) -> None:
    try:
        await on_give_up(message)
    except Exception:
        log.exception("could not tell the customer their message failed")


async def customers_with_stale_messages(
    now: datetime, *, older_than: timedelta = STALE_AFTER, limit: int = 500
) -> list[int]:
    """Customers whose oldest pending message has waited longer than ``older_than``."""
    rows = await InboundMessage.raw(
        "SELECT DISTINCT customer FROM inbound_message "
        "WHERE status = 'pending' AND received_at < {} AND customer IS NOT NULL LIMIT {}",
        now - older_than,
        limit,
    )
    return [row["customer"] for row in rows]


async def _next_pending(customer_id: int) -> PendingMessage | None:
    rows = await InboundMessage.raw(
        "SELECT id, wamid, customer, type, payload, sent_at, attempts FROM inbound_message "
        "WHERE customer = {} AND status = 'pending' ORDER BY sent_at, id LIMIT 1",
        customer_id,
    )
    if not rows:
        return None
    row = rows[0]
    payload = row["payload"] if isinstance(row["payload"], dict) else json.loads(row["payload"])
    return PendingMessage(
        id=row["id"],
        wamid=row["wamid"],
        customer_id=row["customer"],
        type=row["type"],
        payload=payload,
        sent_at=row["sent_at"],
        attempts=row["attempts"],
    )


async def _mark_processed(message: PendingMessage) -> None:
    await InboundMessage.raw(
        "UPDATE inbound_message SET status = 'processed', processed_at = {}, "
        "attempts = attempts + 1, error = NULL WHERE id = {} AND status = 'pending'",
        datetime.now(UTC),
        message.id,
    )


async def _record_error(message: PendingMessage, exc: Exception, max_attempts: int) -> bool:
    """Remember the error; True when the message is given up as failed."""
    attempts = message.attempts + 1
    given_up = attempts >= max_attempts
    log.exception("inbound message failed", attempts=attempts, given_up=given_up)
    await InboundMessage.raw(
        "UPDATE inbound_message SET attempts = {}, error = {}, status = {} WHERE id = {}",
        attempts,
        f"{type(exc).__name__}: {exc}"[:2000],
        "failed" if given_up else "pending",
        message.id,
    )
    return given_up
