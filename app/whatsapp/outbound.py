"""Outbound messages: queue a send as a row, then deliver each customer's queue in order.

A row is written first (``queued``) and a task delivers it, so a crash or an outage
delays a message but never loses it. Messages to one customer leave in the order they
were queued: delivery stops at the first one that must wait for a retry. Rate limits
and server errors are retried with exponential backoff and jitter; errors that no
retry can fix end ``failed`` with the reason; a message that keeps failing ends
``dead`` after the last attempt, visible to staff.
"""

from __future__ import annotations

import asyncio
import json
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import structlog

from app.db.locks import LockSpace, advisory_lock
from app.errors import IllegalTransition, NotFound
from app.metrics import OUTBOUND_ATTEMPTS
from app.whatsapp.tables import OutboundMessage, OutboundStatus
from app.whatsapp.transport import OUTSIDE_WINDOW, PAIR_RATE_LIMIT, SendError, Transport

log = structlog.get_logger(__name__)

SERVICE_WINDOW = timedelta(hours=24)
BACKOFF_BASE_SECONDS = 2.0
BACKOFF_CAP_SECONDS = 300.0


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    max_attempts: int
    template_name: str | None
    template_language: str


@dataclass
class DeliveryReport:
    sent: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    dead: list[int] = field(default_factory=list)
    waiting: int | None = None  # id of the message now waiting for a retry


async def queue_message(
    *,
    customer_id: int,
    body: dict[str, Any],
    kind: str,
    order_id: int | None = None,
    idempotency_key: str | None = None,
) -> int | None:
    """Queue one Cloud API message body; ``None`` if this idempotency key was queued before."""
    recipient = body.get("to") or body.get("recipient")
    if not recipient:
        raise ValueError("an outbound message body needs 'to' or 'recipient'")
    rows = await OutboundMessage.raw(
        'INSERT INTO outbound_message (customer, recipient, kind, payload, "order", '
        "idempotency_key) VALUES ({}, {}, {}, {}::jsonb, {}, {}) "
        "ON CONFLICT (idempotency_key) DO NOTHING RETURNING id",
        customer_id,
        str(recipient),
        kind,
        json.dumps(body, ensure_ascii=False),
        order_id,
        idempotency_key,
    )
    return int(rows[0]["id"]) if rows else None


async def retry_message(message_id: int, *, now: datetime | None = None) -> dict[str, Any]:
    """Queue a dead or failed message again, from its first attempt; returns the row.

    Refused (``IllegalTransition``) for a message that is queued or already went out.
    """
    rows = await OutboundMessage.raw(
        "UPDATE outbound_message SET status = 'queued', attempts = 0, next_attempt_at = {}, "
        "updated_at = {} WHERE id = {} AND status IN ('dead', 'failed') RETURNING *",
        now or datetime.now(UTC),
        now or datetime.now(UTC),
        message_id,
    )
    if rows:
        return dict(rows[0])
    current = (
        await OutboundMessage.select(OutboundMessage.status)
        .where(OutboundMessage.id == message_id)
        .first()
    )
    if current is None:
        raise NotFound(f"No outbound message with id {message_id}.", field="id")
    raise IllegalTransition("message", current["status"], OutboundStatus.QUEUED.value)


def backoff(attempt: int, code: int | None, *, rng: random.Random | None = None) -> timedelta:
    """Delay before retry number ``attempt`` (1-based), with full jitter.

    For the per-customer pair rate limit Meta advises waiting 4^X seconds.
    """
    rng = rng or random.Random()  # noqa: S311 - jitter, not security
    if code == PAIR_RATE_LIMIT:
        return timedelta(seconds=min(4.0 ** (attempt - 1), BACKOFF_CAP_SECONDS))
    ceiling = min(BACKOFF_BASE_SECONDS * 2 ** (attempt - 1), BACKOFF_CAP_SECONDS)
    return timedelta(seconds=rng.uniform(ceiling / 2, ceiling))


async def deliver_customer_queue(
    customer_id: int,
    *,
    transport: Transport,
    policy: DeliveryPolicy,
    lock_pool: asyncpg.Pool,
    now: datetime | None = None,
    max_wait: timedelta = timedelta(0),
) -> DeliveryReport:
    """Send this customer's due messages, oldest first, until one has to wait.

    A retry due within ``max_wait`` is waited for here rather than left to the sweep, so
    a short back-off (a rate limit, say) costs seconds, not a sweep interval.
    """
    report = DeliveryReport()
    while True:
        async with advisory_lock(lock_pool, LockSpace.CUSTOMER_OUTBOX, customer_id) as held:
            if not held:
                return report  # another worker is delivering to this customer
            await _deliver_due(customer_id, transport, policy, report, now, max_wait)
        # Messages queued while we held the lock had their task turned away: look again.
        if report.waiting is not None or not await _has_due(customer_id, now):
            return report


async def _deliver_due(
    customer_id: int,
    transport: Transport,
    policy: DeliveryPolicy,
    report: DeliveryReport,
    now: datetime | None,
    max_wait: timedelta,
) -> None:
    while True:
        moment = now or datetime.now(UTC)
        row = await _next_queued(customer_id)
        if row is None:
            return
        delay = row["next_attempt_at"] - moment
        if delay > timedelta(0) and now is None and delay <= max_wait:
            await asyncio.sleep(delay.total_seconds())
            continue
        if delay > timedelta(0):
            report.waiting = row["id"]
            return
        outcome = await _deliver_one(row, transport, policy, moment)
        if outcome == "waiting":
            if now is None and max_wait > timedelta(0):
                continue  # the top of the loop waits for a short back-off
            report.waiting = row["id"]
            return
        getattr(report, outcome).append(row["id"])


async def _has_due(customer_id: int, now: datetime | None) -> bool:
    return bool(
        await OutboundMessage.exists().where(
            (OutboundMessage.customer == customer_id)
            & (OutboundMessage.status == OutboundStatus.QUEUED)
            & (OutboundMessage.next_attempt_at <= (now or datetime.now(UTC)))
        )
    )


async def customers_with_due_messages(now: datetime, *, limit: int = 500) -> list[int]:
    rows = await OutboundMessage.raw(
        "SELECT DISTINCT customer FROM outbound_message "
        "WHERE status = 'queued' AND next_attempt_at <= {} LIMIT {}",
        now,
        limit,
    )
    return [row["customer"] for row in rows]


async def _next_queued(customer_id: int) -> dict[str, Any] | None:
    rows = await OutboundMessage.raw(
        "SELECT o.id, o.payload, o.kind, o.attempts, o.next_attempt_at, c.last_inbound_at "
        "FROM outbound_message o JOIN customer c ON c.id = o.customer "
        "WHERE o.customer = {} AND o.status = 'queued' ORDER BY o.id LIMIT 1",
        customer_id,
    )
    return dict(rows[0]) if rows else None


async def _deliver_one(
    row: dict[str, Any], transport: Transport, policy: DeliveryPolicy, now: datetime
) -> str:
    body = row["payload"] if isinstance(row["payload"], dict) else json.loads(row["payload"])
    attempts = row["attempts"] + 1
    if body.get("type") != "template" and _outside_window(row["last_inbound_at"], now):
        if policy.template_name is None:
            await _finish(
                row["id"],
                OutboundStatus.FAILED,
                attempts - 1,
                "Outside WhatsApp's 24-hour window and no WHATSAPP_TEMPLATE_NAME is configured.",
                OUTSIDE_WINDOW,
            )
            return "failed"
        body = _template_body(body, policy)
    try:
        wamid = await transport.send(body)
    except SendError as error:
        return await _record_failure(row["id"], attempts, error, policy, now)
    await OutboundMessage.raw(
        "UPDATE outbound_message SET status = 'sent', wamid = {}, attempts = {}, sent_at = {}, "
        "updated_at = {}, payload = {}::jsonb, last_error = NULL WHERE id = {}",
        wamid,
        attempts,
        now,
        now,
        json.dumps(body, ensure_ascii=False),
        row["id"],
    )
    OUTBOUND_ATTEMPTS.labels("sent", "").inc()
    return "sent"


async def _record_failure(
    message_id: int, attempts: int, error: SendError, policy: DeliveryPolicy, now: datetime
) -> str:
    code = str(error.code or "")
    if not error.retryable:
        await _finish(message_id, OutboundStatus.FAILED, attempts, error.message, error.code)
        log.warning("outbound failed", outbound_id=message_id, code=error.code)
        OUTBOUND_ATTEMPTS.labels("failed", code).inc()
        return "failed"
    if attempts >= policy.max_attempts:
        await _finish(message_id, OutboundStatus.DEAD, attempts, error.message, error.code)
        log.error("outbound dead", outbound_id=message_id, code=error.code, attempts=attempts)
        OUTBOUND_ATTEMPTS.labels("dead", code).inc()
        return "dead"
    OUTBOUND_ATTEMPTS.labels("retry", code).inc()
    retry_at = now + backoff(attempts, error.code)
    await OutboundMessage.raw(
        "UPDATE outbound_message SET attempts = {}, next_attempt_at = {}, last_error = {}, "
        "error_code = {}, updated_at = {} WHERE id = {}",
        attempts,
        retry_at,
        error.message,
        error.code,
        now,
        message_id,
    )
    log.info("outbound retry scheduled", outbound_id=message_id, code=error.code, at=retry_at)
    return "waiting"


async def _finish(
    message_id: int, status: OutboundStatus, attempts: int, reason: str, code: int | None
) -> None:
    await OutboundMessage.raw(
        "UPDATE outbound_message SET status = {}, attempts = {}, last_error = {}, "
        "error_code = {}, updated_at = now() WHERE id = {}",
        status.value,
        attempts,
        reason,
        code,
        message_id,
    )


def _outside_window(last_inbound_at: datetime | None, now: datetime) -> bool:
    return last_inbound_at is None or now - last_inbound_at > SERVICE_WINDOW


def _template_body(body: dict[str, Any], policy: DeliveryPolicy) -> dict[str, Any]:
    address: dict[str, Any] = {key: body[key] for key in ("to", "recipient") if key in body}
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        **address,
        "type": "template",
        "template": {"name": policy.template_name, "language": {"code": policy.template_language}},
    }
