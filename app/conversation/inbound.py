"""Turn a stored WhatsApp message into the machine's input. Nothing here trusts the payload."""

from __future__ import annotations

from typing import Any

from app.conversation.inputs import (
    CatalogOrder,
    Choice,
    Input,
    Location,
    Media,
    Text,
    Unsupported,
)

MEDIA_TYPES = frozenset({"image", "document", "audio", "video", "sticker"})
MAX_TEXT = 4096


def to_input(payload: dict[str, Any]) -> Input:
    message = payload.get("message")
    if not isinstance(message, dict):
        return Unsupported("unknown")
    kind = str(message.get("type") or "unknown")
    reader = _READERS.get(kind)
    if reader is not None:
        parsed = reader(_object(message.get(kind)))
        if parsed is not None:
            return parsed
    if kind in MEDIA_TYPES:
        media = _object(message.get(kind))
        caption, media_id, mime = media.get("caption"), media.get("id"), media.get("mime_type")
        return Media(
            kind,
            caption[:MAX_TEXT] if isinstance(caption, str) else None,
            media_id[:255] if isinstance(media_id, str) else None,
            mime[:128] if isinstance(mime, str) else None,
        )
    return Unsupported(kind)


def _text(body: dict[str, Any]) -> Input | None:
    text = body.get("body")
    return Text(text[:MAX_TEXT]) if isinstance(text, str) else None


def _interactive(body: dict[str, Any]) -> Input | None:
    reply = _object(body.get("button_reply")) or _object(body.get("list_reply"))
    choice_id, title = reply.get("id"), reply.get("title")
    if isinstance(choice_id, str) and choice_id:
        return Choice(choice_id, title if isinstance(title, str) else "")
    return None


def _button(body: dict[str, Any]) -> Input | None:
    """A quick-reply button of a template message."""
    payload, text = body.get("payload"), body.get("text")
    if isinstance(payload, str) and payload:
        return Choice(payload, text if isinstance(text, str) else "")
    return Text(text) if isinstance(text, str) else None


def _location(body: dict[str, Any]) -> Input | None:
    try:
        latitude = float(body["latitude"])
        longitude = float(body["longitude"])
    except (KeyError, TypeError, ValueError):
        return None
    name, address = body.get("name"), body.get("address")
    return Location(
        latitude,
        longitude,
        name if isinstance(name, str) else None,
        address if isinstance(address, str) else None,
    )


def _order(body: dict[str, Any]) -> Input | None:
    items: list[tuple[str, int]] = []
    for item in body.get("product_items") or []:
        if not isinstance(item, dict):
            continue
        sku = item.get("product_retailer_id")
        try:
            quantity = int(item.get("quantity", 0))
        except (TypeError, ValueError):
            quantity = 0
        if isinstance(sku, str) and sku:
            items.append((sku, quantity))
    note = body.get("text")
    return CatalogOrder(tuple(items), note if isinstance(note, str) else "")


_READERS = {
    "text": _text,
    "interactive": _interactive,
    "button": _button,
    "location": _location,
    "order": _order,
}


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
