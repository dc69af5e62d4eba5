"""The terminal simulator turns typed lines into the messages WhatsApp would send."""

from __future__ import annotations

import json

import httpx

from app.chat import ChatClient
from app.whatsapp.outgoing import Button, ButtonsMessage, ListMessage, Row, Section
from app.whatsapp.signature import is_valid_signature


def client(handler: httpx.MockTransport | None = None) -> ChatClient:
    http = httpx.Client(transport=handler or httpx.MockTransport(lambda r: httpx.Response(200)))
    return ChatClient(base_url="http://shop", secret="s3cret", wa_id="15551234567", http=http)


def test_numbers_tap_choices_and_a_choice_titled_with_the_number_wins() -> None:
    chat = client()
    chat.last_message = ButtonsMessage(
        "How many?", (Button("add:X:2", "2"), Button("add:X:3", "3"), Button("back", "Back"))
    )
    assert chat.send_line("2")["interactive"]["button_reply"]["id"] == "add:X:2"
    assert chat.send_line("3")["interactive"]["button_reply"]["id"] == "add:X:3"
    chat.last_message = ListMessage(
        "Pick", "Choose", (Section("Bakery", (Row("prod:A", "Bread"), Row("prod:B", "Bun"))),)
    )
    assert chat.send_line("2")["interactive"]["list_reply"] == {"id": "prod:B", "title": "Bun"}
    assert chat.send_line("9") == {"type": "text", "text": {"body": "9"}}
    assert chat.send_line("sourdough") == {"type": "text", "text": {"body": "sourdough"}}


def test_location_command() -> None:
    chat = client()
    sent = chat.send_line("/location -1.29,36.82 Kimathi St")
    assert sent == {
        "type": "location",
        "location": {"latitude": -1.29, "longitude": 36.82, "address": "Kimathi St"},
    }
    assert chat.send_line("/location nowhere") is None


def test_photo_and_document_commands_send_media_by_id() -> None:
    chat = client()
    photo = chat.send_line("/photo transfer slip")
    assert photo is not None
    assert photo["type"] == "image"
    assert photo["image"]["caption"] == "transfer slip"
    assert photo["image"]["mime_type"] == "image/jpeg"
    assert photo["image"]["id"].startswith("sandbox-media-")
    document = chat.send_line("/document")
    assert document is not None
    assert document["type"] == "document"
    assert "caption" not in document["document"]
    assert chat.send_line("/photography") == {"type": "text", "text": {"body": "/photography"}}


def test_posts_are_signed_like_meta_does() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"messages": 1})

    chat = client(httpx.MockTransport(answer))
    chat.post({"type": "text", "text": {"body": "hi"}})
    request = seen[0]
    assert request.url.path == "/webhooks/whatsapp"
    assert is_valid_signature(request.content, request.headers["x-hub-signature-256"], "s3cret")
    value = json.loads(request.content)["entry"][0]["changes"][0]["value"]
    assert value["messages"][0]["from"] == "15551234567"
    assert value["messages"][0]["text"] == {"body": "hi"}
