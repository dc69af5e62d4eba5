"""Read a WhatsApp webhook body into the messages and status updates it carries.

One body may batch many entries, changes, messages and statuses (Meta documents up
to 1,000 updates). Every item is read on its own: an item that cannot be used is
reported in ``skipped`` and the rest of the body still counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

STATUS_ORDER = ("sent", "delivered", "read")
KNOWN_STATUSES = (*STATUS_ORDER, "failed")


@dataclass(frozen=True, slots=True)
class ReceivedMessage:
    wamid: str
    type: str
    sent_at: datetime
    user_id: str | None
    wa_id: str | None
    profile_name: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class StatusUpdate:
    wamid: str
    status: str
    at: datetime
    errors: tuple[dict[str, Any], ...]

    @property
    def error_code(self) -> int | None:
        for error in self.errors:
            code = error.get("code")
            if isinstance(code, int):
                return code
            if isinstance(code, str) and code.isdigit():
                return int(code)
        return None

    @property
    def error_text(self) -> str | None:
        if not self.errors:
            return None
        first = self.errors[0]
        details = (first.get("error_data") or {}).get("details")
        parts = [str(first.get("code", "")), str(first.get("title") or first.get("message") or "")]
        if details:
            parts.append(str(details))
        return " ".join(part for part in parts if part).strip() or None


@dataclass
class WebhookBatch:
    messages: list[ReceivedMessage] = field(default_factory=list)
    statuses: list[StatusUpdate] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def parse_webhook(body: Any, *, received_at: datetime | None = None) -> WebhookBatch:
    """Collect every message and status of a webhook body."""
    now = received_at or datetime.now(UTC)
    batch = WebhookBatch()
    body = storable(body)
    if not isinstance(body, dict):
        batch.skipped.append("body is not a JSON object")
        return batch
    for entry in _objects(body.get("entry")):
        for change in _objects(entry.get("changes")):
            value = change.get("value")
            if change.get("field", "messages") != "messages" or not isinstance(value, dict):
                batch.skipped.append(f"change field {change.get('field')!r} ignored")
                continue
            _read_value(value, batch, now)
    return batch


def _read_value(value: dict[str, Any], batch: WebhookBatch, now: datetime) -> None:
    contacts = list(_objects(value.get("contacts")))
    for name in ("messages", "statuses"):
        items = value.get(name)
        if isinstance(items, list) and len(_objects(items)) < len(items):
            batch.skipped.append(f"{len(items) - len(_objects(items))} {name} not JSON objects")
    for message in _objects(value.get("messages")):
        parsed = _message(message, contacts, now)
        if isinstance(parsed, str):
            batch.skipped.append(parsed)
        else:
            batch.messages.append(parsed)
    for status in _objects(value.get("statuses")):
        update = _status(status, now)
        if isinstance(update, str):
            batch.skipped.append(update)
        else:
            batch.statuses.append(update)


def _message(
    message: dict[str, Any], contacts: list[dict[str, Any]], now: datetime
) -> ReceivedMessage | str:
    wamid = _text(message.get("id"))
    if not wamid:
        return "message without an id"
    contact = _contact_for(message, contacts)
    user_id = _text(message.get("from_user_id")) or _text(contact.get("user_id"))
    wa_id = _text(message.get("from")) or _text(contact.get("wa_id"))
    if not user_id and not wa_id:
        return f"message {wamid} names no sender"
    profile = contact.get("profile")
    name = _text(profile.get("name")) if isinstance(profile, dict) else None
    payload = {"message": message, "contact": contact}
    return ReceivedMessage(
        wamid=wamid,
        type=_text(message.get("type")) or "unknown",
        sent_at=_timestamp(message.get("timestamp"), now),
        user_id=user_id,
        wa_id=_digits(wa_id),
        profile_name=(name or "")[:256],
        payload=payload,
    )


def _contact_for(message: dict[str, Any], contacts: list[dict[str, Any]]) -> dict[str, Any]:
    sender_phone = message.get("from")
    sender_user = message.get("from_user_id")
    for contact in contacts:
        if sender_user and contact.get("user_id") == sender_user:
            return contact
        if sender_phone and contact.get("wa_id") == sender_phone:
            return contact
    return contacts[0] if len(contacts) == 1 else {}


def _status(status: dict[str, Any], now: datetime) -> StatusUpdate | str:
    wamid = _text(status.get("id"))
    state = _text(status.get("status"))
    if not wamid or state not in KNOWN_STATUSES:
        return f"status {wamid!r} with state {state!r} ignored"
    errors = tuple(_objects(status.get("errors")))
    return StatusUpdate(wamid, state, _timestamp(status.get("timestamp"), now), errors)


def storable(value: Any) -> Any:
    """The same JSON with text PostgreSQL can store: no NUL characters, no lone surrogates.

    JSON may carry both (as \u0000 and \ud800 escapes); jsonb refuses them, and one such
    message must not make a whole batch fail.
    """
    if isinstance(value, str):
        if "\x00" in value:
            value = value.replace("\x00", "")
        return value.encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, dict):
        return {storable(key): storable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [storable(item) for item in value]
    return value


def _objects(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, dict)]


def _text(value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _digits(phone: str | None) -> str | None:
    if phone is None:
        return None
    digits = "".join(ch for ch in phone if ch.isdigit())
    return digits[:20] or None


def _timestamp(value: Any, fallback: datetime) -> datetime:
    try:
        seconds = int(str(value))
    except (TypeError, ValueError):
        return fallback
    if seconds <= 0:
        return fallback
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return fallback
