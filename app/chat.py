"""`chatcart chat`: hold a WhatsApp conversation with the running shop from a terminal.

It plays WhatsApp's part: each line you type becomes a signed webhook delivery, exactly
as Meta would post it, and the bot's replies are read back from the sandbox outbox
(`GET /sandbox/messages`) and shown with their choices numbered. Type a choice's number
to tap it, or anything else to send it as text.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from app.whatsapp.outgoing import (
    ButtonsMessage,
    ListMessage,
    OutgoingMessage,
    choices,
    from_cloud_body,
    render_plain,
)
from app.whatsapp.signature import sign

HELP = """Type a message, or the number of a choice to tap it.
  /location <lat>,<lon> [address]   share a location
  /photo [caption]                   send a photo (e.g. of a bank transfer)
  /document [caption]                send a PDF document
  /help                              this help
  /quit                              leave (Ctrl-D works too)"""


@dataclass
class ChatClient:
    base_url: str
    secret: str
    wa_id: str
    name: str = "Terminal customer"
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=10))
    last_seen: int = 0
    last_message: OutgoingMessage | None = None

    def catch_up(self) -> None:
        """Skip what the bot sent before; keep its last message so its numbers still work."""
        while batch := self._outbox():
            for item in batch:
                self.last_seen = max(self.last_seen, item["id"])
                self.last_message = from_cloud_body(item["body"])

    def send_line(self, line: str) -> dict[str, Any] | None:
        """Turn a typed line into a WhatsApp message object; None for a local command."""
        text = line.strip()
        if text.startswith("/location"):
            return _location(text.removeprefix("/location").strip())
        for command, kind, mime in (
            ("/photo", "image", "image/jpeg"),
            ("/document", "document", "application/pdf"),
        ):
            if text == command or text.startswith(command + " "):
                return _media(kind, mime, text.removeprefix(command).strip())
        tapped = self._tapped(text)
        if tapped is not None:
            return tapped
        return {"type": "text", "text": {"body": line}}

    def post(self, message: dict[str, Any]) -> httpx.Response:
        body = json.dumps(self._envelope(message)).encode()
        return self.http.post(
            f"{self.base_url}/webhooks/whatsapp",
            content=body,
            headers={
                "Content-Type": "application/json",
                "X-Hub-Signature-256": sign(body, self.secret),
            },
        )

    def replies(self, *, wait: float = 8.0, settle: float = 0.6) -> list[OutgoingMessage]:
        """Wait for the bot's replies: until some arrived and none followed for ``settle`` s."""
        received: list[OutgoingMessage] = []
        deadline = time.monotonic() + wait
        quiet_since: float | None = None
        while time.monotonic() < deadline:
            fresh = self._outbox()
            for item in fresh:
                self.last_seen = max(self.last_seen, item["id"])
                received.append(from_cloud_body(item["body"]))
            now = time.monotonic()
            if fresh:
                quiet_since = now
            elif received and quiet_since is not None and now - quiet_since >= settle:
                break
            time.sleep(0.15)
        if received:
            self.last_message = received[-1]
        return received

    def _outbox(self) -> list[dict[str, Any]]:
        response = self.http.get(
            f"{self.base_url}/sandbox/messages", params={"to": self.wa_id, "after": self.last_seen}
        )
        response.raise_for_status()
        return list(response.json()["messages"])

    def _tapped(self, text: str) -> dict[str, Any] | None:
        message = self.last_message
        if not text.isdigit() or message is None:
            return None
        options = choices(message)
        # A choice titled with the very number typed ("2" on a quantity button) wins over
        # the choice at that position.
        same = [option for option in options if option[1] == text]
        index = int(text) - 1
        if same:
            choice_id, title = same[0]
        elif 0 <= index < len(options):
            choice_id, title = options[index]
        else:
            return None
        if isinstance(message, ListMessage):
            reply = {"type": "list_reply", "list_reply": {"id": choice_id, "title": title}}
        elif isinstance(message, ButtonsMessage):
            reply = {"type": "button_reply", "button_reply": {"id": choice_id, "title": title}}
        else:
            return None
        return {"type": "interactive", "interactive": reply}

    def _envelope(self, message: dict[str, Any]) -> dict[str, Any]:
        wamid = f"wamid.chat.{uuid.uuid4().hex}"
        value = {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550000000", "phone_number_id": "sandbox"},
            "contacts": [{"profile": {"name": self.name}, "wa_id": self.wa_id}],
            "messages": [
                {"from": self.wa_id, "id": wamid, "timestamp": str(int(time.time())), **message}
            ],
        }
        return {
            "object": "whatsapp_business_account",
            "entry": [{"id": "sandbox", "changes": [{"field": "messages", "value": value}]}],
        }


def _media(kind: str, mime_type: str, caption: str) -> dict[str, Any]:
    """A media message as WhatsApp sends it: an id to download it by, never the bytes."""
    media: dict[str, Any] = {"id": f"sandbox-media-{uuid.uuid4().hex[:12]}", "mime_type": mime_type}
    if caption:
        media["caption"] = caption
    return {"type": kind, kind: media}


def _location(argument: str) -> dict[str, Any] | None:
    coordinates, _, address = argument.partition(" ")
    try:
        latitude, longitude = (float(part) for part in coordinates.split(","))
    except ValueError:
        return None
    location: dict[str, Any] = {"latitude": latitude, "longitude": longitude}
    if address.strip():
        location["address"] = address.strip()
    return {"type": "location", "location": location}


def run(client: ChatClient, read: Callable[[str], str], write: Callable[[str], None]) -> None:
    """The terminal loop: read a line, post it, print the replies."""
    write(f"Chatting with the shop at {client.base_url} as +{client.wa_id}. /help for help.")
    client.catch_up()
    while True:
        try:
            line = read("you> ")
        except EOFError:
            write("")
            return
        if line.strip() in ("/quit", "/exit"):
            return
        if line.strip() == "/help" or not line.strip():
            write(HELP)
            continue
        message = client.send_line(line)
        if message is None:
            write("Use /location <lat>,<lon> [address], e.g. /location -1.2921,36.8219 Kimathi St")
            continue
        response = client.post(message)
        if response.status_code != 200:
            write(f"(the shop answered {response.status_code}: {response.text[:200]})")
            continue
        replies = client.replies()
        if not replies:
            write("(no reply yet: is a worker running? `chatcart serve` runs one in-process)")
        for reply in replies:
            write("shop> " + render_plain(reply).replace("\n", "\n      "))
