"""Cloud API webhook bodies for the WhatsApp integration tests."""

from __future__ import annotations

import json
from typing import Any

from app.whatsapp.signature import sign

SECRET = "test-secret"
VERIFY_TOKEN = "verify-me"
TS = 1767225600  # 2026-01-01T00:00:00Z


def text_message(
    wamid: str,
    text: str = "hi",
    *,
    wa_id: str | None = "15551234567",
    user_id: str | None = None,
    timestamp: int = TS,
    type_: str = "text",
    content: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """One message and the contact it comes with."""
    message: dict[str, Any] = {"id": wamid, "timestamp": str(timestamp), "type": type_}
    message.update(content if content is not None else {"text": {"body": text}})
    contact: dict[str, Any] = {"profile": {"name": f"Customer {wa_id or user_id}"}}
    if wa_id is not None:
        message["from"] = wa_id
        contact["wa_id"] = wa_id
    if user_id is not None:
        message["from_user_id"] = user_id
        contact["user_id"] = user_id
    return message, contact


def envelope(
    pairs: list[tuple[dict[str, Any], dict[str, Any]]] | None = None,
    statuses: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550000000", "phone_number_id": "106540352242922"},
    }
    if pairs:
        contacts: list[dict[str, Any]] = []
        for _, contact in pairs:
            if contact not in contacts:
                contacts.append(contact)
        value["contacts"] = contacts
        value["messages"] = [message for message, _ in pairs]
    if statuses:
        value["statuses"] = statuses
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"value": value, "field": "messages"}]}],
    }


def status(wamid: str, state: str, *, errors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {
        "id": wamid,
        "status": state,
        "timestamp": str(TS),
        "recipient_id": "15551234567",
    }
    if errors is not None:
        found["errors"] = errors
    return found


def encode(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":")).encode()


def signed_headers(raw: bytes, secret: str = SECRET) -> dict[str, str]:
    return {"X-Hub-Signature-256": sign(raw, secret), "Content-Type": "application/json"}
