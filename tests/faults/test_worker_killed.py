"""Drill: the worker is killed (SIGKILL), or stopped (SIGTERM, as in a deploy), while
100 inbound messages are in flight.

After a new worker starts, every message has been handled exactly once: each customer
got exactly the replies a customer who was never interrupted gets, in the same order,
and each confirmed order was placed once, with its stock taken once. Stopped with
SIGTERM, the worker finishes the tasks it started, hands back the rest and exits 0.
"""

from __future__ import annotations

import json

import pytest

from app.whatsapp.outgoing import from_cloud_body, render_plain
from tests.faults.drills import Customer, Shop, post, wait_for

BUYERS = 10  # confirm an order while the worker dies
CHATTERS = 30  # three messages each
SCRIPT = ["hi", "croissant", "cart"]
TO_CONFIRM = ["hi", "baguette", "Add 1", "Checkout", "Pickup"]


def say_all(shop: Shop, customers: list[Customer], text: str) -> list[str]:
    wamids = []
    for customer in customers:
        wamid, body = customer.message(text)
        assert post(shop.url, body) == 200
        wamids.append(wamid)
    return wamids


def processed(shop: Shop, expected: int, *, within: float = 60) -> None:
    wait_for(
        lambda: shop.inbound("processed") >= expected,
        within=within,
        what=f"{expected} messages processed (now {shop.inbound('processed')})",
    )


def replies_to(shop: Shop, customer: Customer) -> list[str]:
    rows = shop.db.rows(
        "SELECT o.payload::text AS body FROM outbound_message o "
        "JOIN customer c ON c.id = o.customer WHERE c.wa_id = $1 ORDER BY o.id",
        customer.wa_id,
    )
    return [render_plain(from_cloud_body(json.loads(row["body"]))) for row in rows]


@pytest.mark.parametrize("stop", ["SIGKILL", "SIGTERM"])
def test_every_message_is_handled_once_after_the_worker_is_stopped_mid_flight(
    shop: Shop, stop: str
) -> None:
    shop.web()
    worker = shop.worker()
    buyers = [Customer(f"155510{n:05d}") for n in range(BUYERS)]
    sent = 0
    for line in TO_CONFIRM:
        sent += len(say_all(shop, buyers, line))
        processed(shop, sent)
    steps = shop.db.rows("SELECT current->>'step' AS step FROM conversation_session")
    assert [row["step"] for row in steps] == ["confirm"] * BUYERS
    control = Customer("15551999999")
    for line in SCRIPT:
        sent += len(say_all(shop, [control], line))
        processed(shop, sent)
    shop.outbox_sent(within=30)
    uninterrupted = replies_to(shop, control)
    assert len(uninterrupted) >= len(SCRIPT)
    assert worker.terminate() == 0, worker.output()

    # 100 messages wait in the queue with no worker running.
    chatters = [Customer(f"155520{n:05d}") for n in range(CHATTERS)]
    say_all(shop, buyers, "Confirm")
    for line in SCRIPT:
        say_all(shop, chatters, line)
    total = sent + BUYERS + CHATTERS * len(SCRIPT)
    assert total - sent == 100

    doomed = shop.worker()
    processed(shop, sent + 10)
    if stop == "SIGKILL":
        doomed.kill9()
    else:
        assert doomed.terminate(timeout=40) == 0, doomed.output()
        assert "worker stopped" in doomed.output()
    at_kill = shop.inbound("processed")
    assert at_kill < total, "the worker finished before it was stopped: nothing was proved"

    shop.worker()
    processed(shop, total, within=120)
    shop.outbox_sent(within=60)

    assert shop.inbound("failed") == 0
    assert shop.inbound("pending") == 0
    for chatter in chatters:
        assert replies_to(shop, chatter) == uninterrupted, chatter.wa_id
    orders = shop.db.rows(
        "SELECT c.wa_id, count(*) AS orders FROM orders o JOIN customer c ON c.id = o.customer "
        "GROUP BY c.wa_id"
    )
    assert {row["wa_id"]: row["orders"] for row in orders} == {b.wa_id: 1 for b in buyers}
    assert shop.db.value("SELECT stock FROM product WHERE sku = 'BRD-BAGU'") == 30 - BUYERS
    assert shop.db.value("SELECT count(*) FROM payment") == BUYERS
    started = "SELECT count(*) FROM order_event WHERE type = 'PaymentStarted'"
    assert shop.db.value(started) == BUYERS
    for buyer in buyers:
        placed = [text for text in replies_to(shop, buyer) if "is placed" in text]
        assert len(placed) == 1, (buyer.wa_id, placed)
    print(f"{stop} with {total - at_kill} of 100 messages not yet processed")
