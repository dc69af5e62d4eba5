"""The same chat over the Cloud API transport, with Meta's Graph API faked at the HTTP seam."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import respx

from app.catalog.seed import seed_demo_catalog
from app.customers.tables import Customer
from app.db.reads import fetch
from app.resources import Resources
from app.settings import Settings
from app.whatsapp.tables import OutboundMessage
from tests.conftest import app_client, make_settings
from tests.e2e.chat_driver import ChatDriver, webhook_body

SECRET = "cloud-secret"
GRAPH = "https://graph.example.test"
MESSAGES_URL = f"{GRAPH}/v26.0/PHONE-ID/messages"


def cloud_settings(settings: Settings, secret: str = SECRET, **overrides: Any) -> Settings:
    """The test services, with replies sent to the Graph API at ``GRAPH``."""
    return make_settings(
        settings.database_url or "",
        settings.redis_url or "",
        whatsapp_transport="cloud",
        whatsapp_access_token="EAAG-test-token",
        whatsapp_phone_number_id="PHONE-ID",
        whatsapp_app_secret=secret,
        whatsapp_verify_token="verify",
        whatsapp_graph_url=GRAPH,
        **overrides,
    )


@pytest.fixture
async def cloud_shop(db: Resources, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    await seed_demo_catalog()
    async with app_client(cloud_settings(settings), run_worker=True) as client:
        yield client


async def wait_for(condition: Any, within: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while asyncio.get_running_loop().time() < deadline:
        if await condition():
            return
        await asyncio.sleep(0.05)
    pytest.fail("condition not met in time")


@respx.mock(assert_all_mocked=True)
async def test_replies_go_to_the_graph_api_and_statuses_come_back(
    cloud_shop: httpx.AsyncClient, respx_mock: respx.MockRouter
) -> None:
    sent: list[dict[str, Any]] = []

    def graph(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if body.get("status") == "read":
            return httpx.Response(200, json={"success": True})
        sent.append(body)
        if len(sent) == 1:  # Meta is busy once: the send is retried, not lost
            return httpx.Response(
                400, json={"error": {"code": 130429, "message": "(#130429) Rate limit hit"}}
            )
        return httpx.Response(200, json={"messages": [{"id": f"wamid.out.{len(sent)}"}]})

    route = respx_mock.post(MESSAGES_URL).mock(side_effect=graph)
    ada = ChatDriver(cloud_shop, SECRET, "15550007777")
    await ada.post_body(
        webhook_body(ada.wa_id, ada.message({"type": "text", "text": {"body": "hi"}}))
    )

    async def delivered() -> bool:
        return bool(await OutboundMessage.count().where(OutboundMessage.status == "sent"))

    await wait_for(delivered, within=30)
    assert route.calls[0].request.headers["authorization"] == "Bearer EAAG-test-token"
    assert sent[-1]["to"] == "15550007777"
    assert sent[-1]["messaging_product"] == "whatsapp"
    assert sent[-1]["type"] == "interactive"
    row = await OutboundMessage.select().first()
    assert row is not None
    assert row["attempts"] == 2
    assert row["wamid"] == "wamid.out.2"

    statuses = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "waba",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {"phone_number_id": "PHONE-ID"},
                            "statuses": [
                                {"id": "wamid.out.2", "status": "read", "timestamp": "1"},
                                {"id": "wamid.out.2", "status": "delivered", "timestamp": "1"},
                            ],
                        },
                    }
                ],
            }
        ],
    }
    answer = await ada.post_body(statuses)
    assert answer.status_code == 200
    stored = await OutboundMessage.select(OutboundMessage.status).first()
    assert stored is not None
    assert stored["status"] == "read"  # a late "delivered" never moves it back


async def test_an_expired_session_starts_over_and_says_the_cart_was_cleared(
    db: Resources, settings: Settings
) -> None:
    await seed_demo_catalog()
    configured = make_settings(
        settings.database_url or "", settings.redis_url or "", whatsapp_app_secret=SECRET
    )
    async with app_client(configured, run_worker=True) as client:
        ada = ChatDriver(client, SECRET, "15550008888")
        await ada.say("hi")
        await ada.say("sourdough")
        await ada.tap("Add 1")
        customer = await Customer.select(Customer.id).first()
        assert customer is not None
        ttl = "SELECT extract(epoch FROM expires_at - now()) AS left FROM conversation_session"
        left = (await fetch(ttl))[0]["left"]
        assert 23 * 3600 < left <= 24 * 3600  # SESSION_TTL_HOURS, renewed by every message
        # What 24 idle hours do:
        await fetch("UPDATE conversation_session SET expires_at = now() - interval '1 second'")
        greeting = await ada.say("hi")
    text = str(greeting)
    assert "cleared" in text.lower() or "expired" in text.lower()
    assert "Sourdough" not in text
