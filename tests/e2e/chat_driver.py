"""Drive the shop the way WhatsApp does: signed webhook posts in, sandbox outbox out."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from app.whatsapp.outgoing import (
    ListMessage,
    OutgoingMessage,
    choices,
    from_cloud_body,
    render_plain,
)
from app.whatsapp.signature import sign


def webhook_body(sender: str, message: dict[str, Any], *, name: str = "Ada") -> dict[str, Any]:
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550000000", "phone_number_id": "123"},
        "contacts": [{"profile": {"name": name}, "wa_id": sender}],
        "messages": [{"from": sender, **message}],
    }
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "waba", "changes": [{"field": "messages", "value": value}]}],
    }


@dataclass
class ChatDriver:
    client: httpx.AsyncClient
    secret: str
    wa_id: str
    last_seen: int = 0
    transcript: list[str] = field(default_factory=list)
    last: OutgoingMessage | None = None
    clock: int = field(default_factory=lambda: int(time.time()))

    async def post_body(self, body: dict[str, Any]) -> Any:
        raw = json.dumps(body).encode()
        return await self.client.post(
            "/webhooks/whatsapp",
            content=raw,
            headers={"X-Hub-Signature-256": sign(raw, self.secret)},
        )

    def message(self, content: dict[str, Any]) -> dict[str, Any]:
        self.clock += 1
        return {"id": f"wamid.{uuid.uuid4().hex}", "timestamp": str(self.clock), **content}

    async def send(self, content: dict[str, Any]) -> list[OutgoingMessage]:
        response = await self.post_body(webhook_body(self.wa_id, self.message(content)))
        assert response.status_code == 200, response.text
        return await self.replies()

    async def say(self, text: str) -> OutgoingMessage:
        self.transcript.append(f"customer> {text}")
        return self._one(await self.send({"type": "text", "text": {"body": text}}))

    async def tap(self, title: str) -> OutgoingMessage:
        return self._one(await self.send(self.tap_content(title)))

    def tap_content(self, title: str) -> dict[str, Any]:
        """The interactive reply WhatsApp sends when the choice titled ``title`` is tapped."""
        assert self.last is not None, "nothing to tap yet"
        options = choices(self.last)
        matches = [(cid, t) for cid, t in options if title.casefold() in t.casefold()]
        assert matches, f"no choice like {title!r} in {options}"
        choice_id, choice_title = matches[0]
        self.transcript.append(f"customer> [taps {choice_title}]")
        kind = "list_reply" if isinstance(self.last, ListMessage) else "button_reply"
        return {
            "type": "interactive",
            "interactive": {"type": kind, kind: {"id": choice_id, "title": choice_title}},
        }

    async def share_location(self, latitude: float, longitude: float) -> OutgoingMessage:
        self.transcript.append(f"customer> [shares location {latitude},{longitude}]")
        location = {"latitude": latitude, "longitude": longitude, "name": "Home"}
        return self._one(await self.send({"type": "location", "location": location}))

    async def replies(self, *, within: float = 15.0) -> list[OutgoingMessage]:
        received: list[OutgoingMessage] = []
        deadline = asyncio.get_running_loop().time() + within
        while asyncio.get_running_loop().time() < deadline:
            response = await self.client.get(
                "/sandbox/messages", params={"to": self.wa_id, "after": self.last_seen}
            )
            items = response.json()["messages"]
            for item in items:
                self.last_seen = item["id"]
                message = from_cloud_body(item["body"])
                received.append(message)
                self.transcript.append("shop> " + render_plain(message))
            if received and not items:
                break
            await asyncio.sleep(0.1 if received else 0.05)
        if received:
            self.last = received[-1]
        return received

    def _one(self, replies: list[OutgoingMessage]) -> OutgoingMessage:
        assert len(replies) == 1, f"expected exactly one reply, got {len(replies)}: {replies}"
        return replies[0]
