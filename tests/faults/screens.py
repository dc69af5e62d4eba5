"""A staff screen following the live order feed, for the drills that check it survives."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx

from tests.e2e.conftest import run_cli
from tests.e2e.test_graceful_stop import open_screen
from tests.e2e.test_live_updates import CREDENTIALS, LOGIN, PASSWORD
from tests.faults.drills import Customer, Shop
from tests.faults.test_worker_killed import say_all


async def open_staff_screen(shop: Shop) -> Any:
    """A staff member's WebSocket subscribed to the order feed of ``shop``'s web process."""
    made = await asyncio.to_thread(
        run_cli,
        "create-staff", "--email", CREDENTIALS["email"], "--name", "Ada", "--password-stdin",
        env=shop.env, cwd=shop.workdir, input=PASSWORD,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    async with httpx.AsyncClient(base_url=shop.url, timeout=20) as http:
        login = await http.post("/graphql", json={"query": LOGIN, "variables": CREDENTIALS})
        token = login.json()["data"]["login"]["token"]
    return await open_screen(shop.url.replace("http://", "ws://") + "/graphql", token)


async def order_and_watch(shop: Shop, screen: Any, wa_id: str) -> None:
    """A customer orders through the chat; the screen shows the order and its payment."""
    buyer = Customer(wa_id)
    for line in ["hi", "baguette", "Add 1", "Checkout", "Pickup", "Confirm"]:
        await asyncio.to_thread(say_all, shop, [buyer], line)
    types = []
    for _ in range(2):
        event = json.loads(await asyncio.wait_for(screen.recv(), 30))
        assert event["type"] == "next", event
        types.append(event["payload"]["data"]["orderEvents"]["type"])
    assert types == ["OrderPlaced", "PaymentStarted"]
