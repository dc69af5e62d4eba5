"""The durable inbox: store what a webhook delivered, in one transaction, before answering.

Inbound messages are keyed by their WhatsApp id, so a redelivered webhook stores
nothing twice. Status updates move an outbound message forward only
(sent → delivered → read); a late "delivered" after "read" changes nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta

import structlog

from app.customers.service import checked_identity, register_customer
from app.db.reads import fetch
from app.errors import InvalidInput
from app.whatsapp.tables import InboundMessage, OutboundStatus
from app.whatsapp.transport import RETRYABLE_CODES
from app.whatsapp.updates import ReceivedMessage, StatusUpdate, WebhookBatch

log = structlog.get_logger(__name__)

RETRY_AFTER_FAILED_STATUS = timedelta(seconds=30)

_RANK = {
    OutboundStatus.QUEUED: 0,
    OutboundStatus.SENT: 1,
    OutboundStatus.DELIVERED: 2,
    OutboundStatus.READ: 3,
}


@dataclass
class StoredBatch:
    new_messages: int = 0
    duplicates: int = 0
    statuses_applied: int = 0
    unusable: int = 0
    customers: set[int] = field(default_factory=set)


async def store_batch(batch: WebhookBatch) -> StoredBatch:
    """Write every message and status of ``batch``; return which customers have new work."""
    if len(batch.messages) == 1 and not batch.statuses:
        known = await _store_from_known_sender(batch.messages[0])
        if known is not None:
            return known
    stored = StoredBatch()
    async with InboundMessage._meta.db.transaction():
        for message in batch.messages:
            try:
                customer = await register_customer(
                    user_id=message.user_id,
                    wa_id=message.wa_id,
                    profile_name=message.profile_name,
                )
            except InvalidInput as refused:
                # Kept for the record, never processed: we could not reply to it anyway.
                await _store_unusable(message, refused.message)
                stored.unusable += 1
                continue
            rows = await InboundMessage.raw(
                "INSERT INTO inbound_message (wamid, customer, type, payload, sent_at) "
                "VALUES ({}, {}, {}, {}::jsonb, {}) ON CONFLICT (wamid) DO NOTHING RETURNING id",
                message.wamid,
                customer.id,
                message.type[:32],
                _json(message.payload),
                message.sent_at,
            )
            await InboundMessage.raw(
                "UPDATE customer SET last_inbound_at = GREATEST(last_inbound_at, {}) WHERE id = {}",
                message.sent_at,
                customer.id,
            )
            if rows:
                stored.new_messages += 1
                stored.customers.add(customer.id)
            else:
                stored.duplicates += 1
        for status in batch.statuses:
            stored.statuses_applied += await _apply_status(status)
    return stored


# The usual delivery: one message from a customer we know, whose ids and name have not
# changed. One statement stores it and notes when they last wrote; anything else (a new
# customer, a changed name, two customers to merge) takes the general path.
_KNOWN_SENDER = """
WITH sender AS (
  UPDATE customer SET last_inbound_at = GREATEST(last_inbound_at, {sent_at})
  WHERE {match} AND ({{}}::text IS NULL OR wa_id = {{}}::text)
    AND ({{}}::text = '' OR profile_name = {{}}::text)
  RETURNING id
), message AS (
  INSERT INTO inbound_message (wamid, customer, type, payload, sent_at)
  SELECT {{}}, id, {{}}, {{}}::jsonb, {sent_at} FROM sender
  ON CONFLICT (wamid) DO NOTHING RETURNING id
)
SELECT (SELECT id FROM sender) AS customer, (SELECT id FROM message) AS message
"""
_BY_USER_ID = _KNOWN_SENDER.format(match="user_id = {}", sent_at="{}::timestamptz")
_BY_PHONE = _KNOWN_SENDER.format(match="wa_id = {}", sent_at="{}::timestamptz")


async def _store_from_known_sender(message: ReceivedMessage) -> StoredBatch | None:
    """Store ``message`` in one statement if its sender is known and unchanged, else None."""
    try:
        user_id, wa_id = checked_identity(message.user_id, message.wa_id)
    except InvalidInput:
        return None
    sql, key = (_BY_USER_ID, user_id) if user_id is not None else (_BY_PHONE, wa_id)
    name = message.profile_name or ""
    rows = await fetch(
        sql, message.sent_at, key, wa_id, wa_id, name, name,
        message.wamid, message.type[:32], _json(message.payload), message.sent_at,
    )  # fmt: skip
    customer, stored = rows[0]["customer"], rows[0]["message"]
    if customer is None:
        return None
    if stored is None:
        return StoredBatch(duplicates=1)
    return StoredBatch(new_messages=1, customers={customer})


async def _store_unusable(message: ReceivedMessage, reason: str) -> None:
    log.warning("inbound message from an unusable sender", wamid=message.wamid, reason=reason)
    await InboundMessage.raw(
        "INSERT INTO inbound_message (wamid, type, payload, sent_at, status, error) "
        "VALUES ({}, {}, {}::jsonb, {}, 'failed', {}) ON CONFLICT (wamid) DO NOTHING",
        message.wamid,
        message.type[:32],
        _json(message.payload),
        message.sent_at,
        reason,
    )


async def _apply_status(status: StatusUpdate) -> int:
    if status.status == "failed" and status.error_code in RETRYABLE_CODES:
        # Meta accepted the send, then could not deliver it for a passing reason (rate
        # limits): queue it again; the sweep delivers it after the pause.
        rows = await InboundMessage.raw(
            "UPDATE outbound_message SET status = 'queued', wamid = NULL, error_code = {}, "
            "last_error = {}, next_attempt_at = now() + make_interval(secs => {}), "
            "updated_at = now() WHERE wamid = {} AND status IN ('sent', 'delivered') "
            "RETURNING id",
            status.error_code,
            status.error_text or "failed",
            RETRY_AFTER_FAILED_STATUS.total_seconds(),
            status.wamid,
        )
        return len(rows)
    if status.status == "failed":
        rows = await InboundMessage.raw(
            "UPDATE outbound_message SET status = 'failed', error_code = {}, last_error = {}, "
            "updated_at = now() WHERE wamid = {} AND status IN ('queued', 'sent', 'delivered') "
            "RETURNING id",
            status.error_code,
            status.error_text or "failed",
            status.wamid,
        )
        return len(rows)
    target = OutboundStatus(status.status)
    lower = [state.value for state, rank in _RANK.items() if rank < _RANK[target]]
    rows = await InboundMessage.raw(
        "UPDATE outbound_message SET status = {}, updated_at = now() "
        "WHERE wamid = {} AND status = ANY({}) RETURNING id",
        target.value,
        status.wamid,
        lower,
    )
    return len(rows)


def _json(payload: object) -> str:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
