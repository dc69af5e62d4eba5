"""Drill: PostgreSQL is out of reach for 10 seconds.

The webhook answers 503 for the whole outage (WhatsApp delivers again later), stores
nothing half-way, and once the database is back the same processes (no restart) take
WhatsApp's redeliveries and answer every message once.
"""

from __future__ import annotations

import asyncio
import time

import httpx

from tests.faults.drills import Customer, CuttableProxy, Shop, post, wait_for
from tests.faults.screens import open_staff_screen, order_and_watch
from tests.faults.test_worker_killed import processed, replies_to, say_all

OUTAGE_SECONDS = 10


def test_a_database_outage_is_a_503_and_recovers_without_a_restart(
    proxied_shop: Shop, postgres_proxy: CuttableProxy
) -> None:
    shop = proxied_shop
    web = shop.web()
    worker = shop.worker()
    ada = Customer("15556000001")
    say_all(shop, [ada], "hi")
    processed(shop, 1)

    postgres_proxy.cut()
    cut_at = time.monotonic()
    newcomers = [Customer(f"155561{n:05d}") for n in range(3)]
    deliveries = [customer.message("hi") for customer in [ada, *newcomers]]
    answers: list[int] = []
    while time.monotonic() - cut_at < OUTAGE_SECONDS:
        answers += [post(shop.url, body, timeout=10) for _, body in deliveries]
        time.sleep(1)
    ready = httpx.get(f"{shop.url}/health/ready", timeout=10)
    postgres_proxy.restore()

    assert set(answers) == {503}, answers
    assert ready.status_code == 503
    assert "postgres" in ready.json()["failed"]
    wamids = [wamid for wamid, _ in deliveries]
    stored = "SELECT count(*) FROM inbound_message WHERE wamid = ANY($1::text[])"
    assert shop.db.value(stored, wamids) == 0  # nothing was half-written
    wa_ids = [customer.wa_id for customer in newcomers]
    assert shop.db.value("SELECT count(*) FROM customer WHERE wa_id = ANY($1)", wa_ids) == 0

    # WhatsApp delivers again: the same bodies, to the same processes.
    wait_for(shop.ready, within=30, what="ready again once PostgreSQL is back")
    for _, body in deliveries:
        assert post(shop.url, body) == 200
        assert post(shop.url, body) == 200  # and a duplicate redelivery changes nothing
    processed(shop, 1 + len(deliveries), within=60)
    shop.outbox_sent(within=30)
    assert shop.db.value(stored, wamids) == len(deliveries)
    assert shop.inbound("failed") == 0
    for customer in newcomers:
        welcome = replies_to(shop, customer)
        assert len(welcome) == 1, (customer.wa_id, welcome)
    assert len(replies_to(shop, ada)) == 2
    assert web.alive()
    assert worker.alive()


async def test_staff_screens_keep_receiving_events_after_a_database_outage(
    proxied_shop: Shop, postgres_proxy: CuttableProxy
) -> None:
    shop = proxied_shop
    await asyncio.to_thread(shop.web)
    shop.worker()
    screen = await open_staff_screen(shop)
    await order_and_watch(shop, screen, "15556900001")
    postgres_proxy.cut()
    await asyncio.sleep(OUTAGE_SECONDS)
    postgres_proxy.restore()
    await asyncio.to_thread(wait_for, shop.ready, within=30, what="ready again")
    await order_and_watch(shop, screen, "15556900002")
