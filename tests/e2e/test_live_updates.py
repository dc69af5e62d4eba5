"""Live updates across processes: a chat order placed through one web instance (and a
separate worker) reaches a staff screen subscribed on another instance, through Redis."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

from app.catalog.seed import seed_demo_catalog
from app.payments.tables import Payment
from app.resources import Resources
from app.settings import Settings
from app.staff.service import create_staff
from app.staff.tables import Role
from tests.e2e.chat_driver import ChatDriver
from tests.e2e.conftest import CHATCART, Served, services_env

SECRET = "live-secret"
PASSWORD = "correct horse battery"
LOGIN = """mutation($email: String!, $password: String!) {
  login(email: $email, password: $password) { token } }"""
CREDENTIALS = {"email": "ada@shop.example", "password": PASSWORD}
CONFIRM = "mutation($id: ID!) { confirmPayment(id: $id) { errors { code } } }"
SUBSCRIPTION = """subscription {
  orderEvents { id type actor order { number status payments { status } } } }"""


async def next_event(ws: ClientConnection) -> dict[str, Any]:
    message = json.loads(await asyncio.wait_for(ws.recv(), 20))
    assert message["type"] == "next", message
    return dict(message["payload"]["data"]["orderEvents"])


async def test_a_chat_order_and_its_confirmation_reach_a_screen_on_another_instance(
    serve: Callable[..., Served], db: Resources, settings: Settings, tmp_path: Path
) -> None:
    await seed_demo_catalog()
    await create_staff("ada@shop.example", "Ada", Role.STAFF, PASSWORD)
    env = services_env(settings, WHATSAPP_APP_SECRET=SECRET)
    front, back = serve(env=env), serve(env=env)
    worker = await asyncio.create_subprocess_exec(
        CHATCART,
        "worker",
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        await asyncio.to_thread(front.wait_ready)
        await asyncio.to_thread(back.wait_ready)
        async with httpx.AsyncClient(base_url=front.url, timeout=20) as http:
            login = await http.post("/graphql", json={"query": LOGIN, "variables": CREDENTIALS})
            token = login.json()["data"]["login"]["token"]
            url = back.url.replace("http://", "ws://") + "/graphql"
            async with connect(url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
                await ws.send(
                    json.dumps(
                        {
                            "type": "connection_init",
                            "payload": {"authorization": f"Bearer {token}"},
                        }
                    )
                )
                assert json.loads(await ws.recv())["type"] == "connection_ack"
                await ws.send(
                    json.dumps(
                        {
                            "id": "1",
                            "type": "subscribe",
                            "payload": {"query": SUBSCRIPTION},
                        }
                    )
                )

                ada = ChatDriver(http, SECRET, "15553330001")
                await ada.say("sourdough")
                await ada.tap("Add 1")
                await ada.tap("Checkout")
                await ada.tap("Pickup")
                await ada.tap("Confirm")
                placed = await next_event(ws)
                assert (placed["type"], placed["actor"]) == ("OrderPlaced", "customer")
                assert placed["order"]["status"] == "PENDING_PAYMENT"
                assert (await next_event(ws))["type"] == "PaymentStarted"

                payment = await Payment.select(Payment.id).first()
                assert payment is not None
                confirm = await http.post(
                    "/graphql",
                    json={"query": CONFIRM, "variables": {"id": str(payment["id"])}},
                    headers={"Authorization": f"Bearer {token}"},
                )
                assert confirm.json()["data"]["confirmPayment"]["errors"] == []
                seen = [await next_event(ws) for _ in range(2)]
                assert [e["type"] for e in seen] == [
                    "PaymentVerificationAttempted",
                    "PaymentConfirmed",
                ]
                paid = await next_event(ws)
                assert paid["type"] == "OrderStatusChanged"
                assert paid["order"]["status"] == "PAID"
    finally:
        worker.terminate()
        await worker.wait()
