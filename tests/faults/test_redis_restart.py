"""Drill: Redis restarts and comes back empty (no persistence: the worst case).

Sessions and carts are in PostgreSQL, so a conversation goes on where it was. Task
messages queued in Redis are lost with it, but the messages they stood for wait in
PostgreSQL: the worker enqueues them again when it attaches to the new queue, so every
one is answered. Webhooks that arrive while Redis is down are stored and answered later.
"""

from __future__ import annotations

import asyncio

from tests.faults.drills import Customer, RestartableRedis, Shop, post, wait_for
from tests.faults.screens import open_staff_screen, order_and_watch
from tests.faults.test_worker_killed import processed, replies_to, say_all


def test_a_redis_restart_keeps_carts_and_loses_no_queued_message(
    shop: Shop, drill_redis: RestartableRedis
) -> None:
    web = shop.web()
    worker = shop.worker()
    shop.run("scheduler", "scheduler")
    ada = Customer("15553000001")
    sent = 0
    for line in ["hi", "croissant", "Add 1"]:
        sent += len(say_all(shop, [ada], line))
        processed(shop, sent)

    # Mid-conversation: Redis dies and comes back empty while web and worker run.
    drill_redis.crash()
    drill_redis.start()
    assert drill_redis.client().dbsize() == 0
    sent += len(say_all(shop, [ada], "cart"))
    processed(shop, sent, within=60)
    shop.outbox_sent(within=30)
    assert "1 × Butter croissant" in replies_to(shop, ada)[-1]  # the cart survived

    # While the queue holds messages: the worker is stopped, ten customers write, Redis
    # restarts empty, and three more write while it is down.
    assert worker.terminate() == 0, worker.output()
    queued = [Customer(f"155531{n:05d}") for n in range(10)]
    say_all(shop, queued, "hi")
    assert drill_redis.client().xlen("chatcart:tasks") >= 10
    drill_redis.crash()
    late = [Customer(f"155541{n:05d}") for n in range(3)]
    for customer in late:
        _, body = customer.message("hi")
        assert post(shop.url, body) == 200  # stored in PostgreSQL; Redis is not needed
    wait_for(lambda: not shop.ready(), within=10, what="readiness reports Redis down")
    drill_redis.start()
    wait_for(shop.ready, within=30, what="ready again once Redis is back")

    shop.worker()
    processed(shop, sent + len(queued) + len(late), within=60)
    shop.outbox_sent(within=30)
    assert shop.inbound("pending") == 0
    assert shop.inbound("failed") == 0
    for customer in [*queued, *late]:
        welcome = replies_to(shop, customer)
        assert len(welcome) == 1, (customer.wa_id, welcome)
        assert "Welcome" in welcome[0]
    assert web.alive()


async def test_staff_screens_keep_receiving_events_after_a_redis_restart(
    shop: Shop, drill_redis: RestartableRedis
) -> None:
    await asyncio.to_thread(shop.web)
    shop.worker()
    screen = await open_staff_screen(shop)
    await order_and_watch(shop, screen, "15553900001")  # the feed is live
    drill_redis.crash()
    drill_redis.start()
    await order_and_watch(shop, screen, "15553900002")  # and still live on the new Redis
