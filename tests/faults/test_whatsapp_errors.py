"""Drill: WhatsApp's Graph API fails for a while (500, 429, 131056), and for good.

Replies are retried with backoff and reach each customer in the order they were
written; an error no retry can fix ends the message ``failed``, one that never stops
ends it ``dead`` after the last attempt; both are listed for staff and counted in the
metrics. The Graph API is the only thing faked, at its HTTP address.
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import respx

from app.catalog.seed import seed_demo_catalog
from app.resources import Resources
from app.settings import Settings
from app.staff.service import create_staff
from app.staff.tables import Role
from app.whatsapp.tables import OutboundMessage
from tests.conftest import app_client
from tests.e2e.chat_driver import ChatDriver, webhook_body
from tests.e2e.test_chat_cloud import MESSAGES_URL, cloud_settings
from tests.integration.graphql.test_auth import PASSWORD, gql, log_in

SECRET = "graph-drill-secret"
ADA, BOB, CY = "15557000001", "15557000002", "15557000003"


def graph_error(status: int, code: int, message: str) -> httpx.Response:
    return httpx.Response(status, json={"error": {"code": code, "message": message}})


class FlakyGraph:
    """The Graph API: Ada's first sends hit a rate limit, a server error and throttling;
    Bob's first message is refused for good; every send to Cy fails with a 500."""

    def __init__(self) -> None:
        self.accepted: dict[str, list[str]] = defaultdict(list)  # to → texts, in order
        self.calls: dict[str, list[float]] = defaultdict(list)  # to → when it was called
        self.ada_failures = [
            graph_error(400, 131056, "(#131056) Pair rate limit hit"),
            httpx.Response(500, text="Internal Server Error"),
            graph_error(429, 130429, "(#130429) Rate limit hit"),
        ]
        self.bob_refused = False

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if body.get("status") == "read":
            return httpx.Response(200, json={"success": True})
        to = body["to"]
        self.calls[to].append(asyncio.get_running_loop().time())
        if to == ADA and self.ada_failures:
            return self.ada_failures.pop(0)
        if to == BOB and not self.bob_refused:
            self.bob_refused = True
            return graph_error(400, 131026, "(#131026) Message undeliverable")
        if to == CY:
            return httpx.Response(500, text="Internal Server Error")
        self.accepted[to].append(json.dumps(body, sort_keys=True))
        n = sum(len(sent) for sent in self.accepted.values())
        return httpx.Response(200, json={"messages": [{"id": f"wamid.out.{n}"}]})


@pytest.fixture
async def cloud(db: Resources, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    await seed_demo_catalog()
    await create_staff("ops@shop.example", "Ops", Role.STAFF, PASSWORD)
    configured = cloud_settings(settings, SECRET, outbound_max_attempts=4)
    async with app_client(configured, run_worker=True) as client:
        yield client


async def settled(within: float) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while asyncio.get_running_loop().time() < deadline:
        if await OutboundMessage.count().where(OutboundMessage.status == "queued") == 0:
            return
        await asyncio.sleep(0.2)
    rows = await OutboundMessage.select(OutboundMessage.status, OutboundMessage.attempts)
    pytest.fail(f"messages still queued after {within} s: {rows}")


async def test_graph_api_errors_are_retried_in_order_and_permanent_ones_end_visible(
    cloud: httpx.AsyncClient, respx_mock: respx.MockRouter
) -> None:
    graph = FlakyGraph()
    respx_mock.post(MESSAGES_URL).mock(side_effect=graph)
    ada, bob, cy = (ChatDriver(cloud, SECRET, wa_id) for wa_id in (ADA, BOB, CY))
    for driver, lines in ((ada, ["hi", "croissant", "cart"]), (bob, ["hi", "help"]), (cy, ["hi"])):
        for line in lines:
            message = driver.message({"type": "text", "text": {"body": line}})
            response = await driver.post_body(webhook_body(driver.wa_id, message))
            assert response.status_code == 200

    await settled(within=90)

    rows = await OutboundMessage.raw(
        "SELECT c.wa_id, o.status, o.attempts, o.error_code, o.payload::text AS body "
        "FROM outbound_message o JOIN customer c ON c.id = o.customer ORDER BY o.id"
    )
    by_customer: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_customer[row["wa_id"]].append(row)

    # Ada: every reply delivered, in the order queued, after the retries.
    assert {row["status"] for row in by_customer[ADA]} == {"sent"}
    queued_order = [json.dumps(json.loads(row["body"]), sort_keys=True) for row in by_customer[ADA]]
    assert graph.accepted[ADA] == queued_order
    assert by_customer[ADA][0]["attempts"] == 4  # 131056, 500, 429, then sent
    gaps = [b - a for a, b in zip(graph.calls[ADA], graph.calls[ADA][1:], strict=False)][:3]
    # Backoff counts from just before each send, so allow for the send's own time: at
    # least half of 1 s (131056: 4^0), of 2-4 s and of 4-8 s (2^n with jitter).
    assert gaps[0] >= 0.5
    assert gaps[1] >= 1.0
    assert gaps[2] >= 2.0

    # Bob: the refused message ends failed with its code, and the next one still goes.
    first, *rest = by_customer[BOB]
    assert (first["status"], first["error_code"]) == ("failed", 131026)
    assert {row["status"] for row in rest} == {"sent"}

    # Cy: retried up to the limit, then dead.
    assert (by_customer[CY][0]["status"], by_customer[CY][0]["attempts"]) == ("dead", 4)
    assert len(graph.calls[CY]) >= 4

    token = await log_in(cloud, "ops@shop.example")
    page = "{ outboundMessages(status: %s) { totalCount edges { node { status errorCode } } } }"
    dead = (await gql(cloud, page % "DEAD", token))["data"]["outboundMessages"]
    failed = (await gql(cloud, page % "FAILED", token))["data"]["outboundMessages"]
    assert dead["totalCount"] >= 1
    assert {edge["node"]["status"] for edge in dead["edges"]} == {"dead"}
    assert failed["edges"][0]["node"] == {"status": "failed", "errorCode": 131026}
    metrics = (await cloud.get("/metrics")).text
    for line in (
        'chatcart_outbound_attempts_total{code="131056",result="retry"}',
        'chatcart_outbound_attempts_total{code="130429",result="retry"}',
        'chatcart_outbound_attempts_total{code="131026",result="failed"}',
        'chatcart_outbound_attempts_total{code="",result="dead"}',
    ):
        assert line in metrics, line
