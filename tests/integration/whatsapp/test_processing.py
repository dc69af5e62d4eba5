"""Draining a customer's inbox: in WhatsApp's order, one worker per customer, errors held."""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from app.customers.service import CustomerRecord, register_customer
from app.resources import Resources
from app.whatsapp.processing import (
    STALE_AFTER,
    PendingMessage,
    customers_with_stale_messages,
    drain_inbox,
)
from app.whatsapp.tables import InboundMessage

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


async def a_customer(n: int) -> CustomerRecord:
    return await register_customer(user_id=f"US.{n:020d}", profile_name=f"Customer {n}")


async def an_inbound(
    customer: CustomerRecord,
    wamid: str,
    *,
    sent_at: datetime,
    received_at: datetime | None = None,
    status: str = "pending",
) -> int:
    payload = {"message": {"id": wamid, "type": "text", "text": {"body": wamid}}, "contact": {}}
    rows = await InboundMessage.raw(
        "INSERT INTO inbound_message (wamid, customer, type, payload, sent_at, received_at, "
        "status) VALUES ({}, {}, 'text', {}::jsonb, {}, {}, {}) RETURNING id",
        wamid,
        customer.id,
        json.dumps(payload),
        sent_at,
        received_at or datetime.now(UTC),
        status,
    )
    return int(rows[0]["id"])


async def inbound(wamid: str) -> dict[str, Any]:
    row = await InboundMessage.select().where(InboundMessage.wamid == wamid).first()
    assert row is not None
    return row


class Recorder:
    """A handler that records what it handled, and fails on the messages it is told to."""

    def __init__(self, *, fail_on: set[str] | None = None, pause: float = 0.0) -> None:
        self.handled: list[str] = []
        self.fail_on = fail_on or set()
        self.pause = pause
        self.active: dict[int, int] = defaultdict(int)
        self.most_at_once: dict[int, int] = defaultdict(int)

    async def __call__(self, message: PendingMessage) -> None:
        self.active[message.customer_id] += 1
        self.most_at_once[message.customer_id] = max(
            self.most_at_once[message.customer_id], self.active[message.customer_id]
        )
        try:
            await asyncio.sleep(self.pause)
            if message.wamid in self.fail_on:
                raise RuntimeError(f"boom on {message.wamid}")
            self.handled.append(message.wamid)
        finally:
            self.active[message.customer_id] -= 1


async def test_pending_messages_are_handled_in_whatsapp_timestamp_order(db: Resources) -> None:
    customer = await a_customer(1)
    # Stored out of order: WhatsApp's timestamps decide, then arrival (id) on a tie.
    for wamid, offset in [("m3", 30), ("m1", 10), ("m5", 50), ("m2", 20), ("m4", 40)]:
        await an_inbound(customer, wamid, sent_at=T0 + timedelta(seconds=offset))
    await an_inbound(customer, "m5b", sent_at=T0 + timedelta(seconds=50))
    handler = Recorder()

    report = await drain_inbox(customer.id, handler, lock_pool=db.lock_pool)

    assert handler.handled == ["m1", "m2", "m3", "m4", "m5", "m5b"]
    assert (report.processed, report.failed, report.stopped_at) == (6, 0, None)
    for wamid in handler.handled:
        row = await inbound(wamid)
        assert row["status"] == "processed"
        assert row["processed_at"] is not None
        assert row["attempts"] == 1
        assert row["error"] is None


async def test_the_handler_gets_the_stored_message(db: Resources) -> None:
    customer = await a_customer(1)
    message_id = await an_inbound(customer, "wamid.x", sent_at=T0)
    seen: list[PendingMessage] = []

    async def handler(message: PendingMessage) -> None:
        seen.append(message)

    await drain_inbox(customer.id, handler, lock_pool=db.lock_pool)
    [message] = seen
    assert message.id == message_id
    assert message.customer_id == customer.id
    assert message.type == "text"
    assert message.sent_at == T0
    assert message.attempts == 0
    assert message.payload["message"]["text"]["body"] == "wamid.x"


async def test_only_that_customers_pending_messages_are_handled(db: Resources) -> None:
    ann = await a_customer(1)
    bob = await a_customer(2)
    await an_inbound(ann, "ann.1", sent_at=T0)
    await an_inbound(ann, "ann.done", sent_at=T0, status="processed")
    await an_inbound(ann, "ann.failed", sent_at=T0, status="failed")
    await an_inbound(bob, "bob.1", sent_at=T0)
    handler = Recorder()
    await drain_inbox(ann.id, handler, lock_pool=db.lock_pool)
    assert handler.handled == ["ann.1"]
    assert (await inbound("bob.1"))["status"] == "pending"


async def test_an_error_leaves_the_message_pending_and_stops_the_drain(db: Resources) -> None:
    customer = await a_customer(1)
    for n in (1, 2, 3):
        await an_inbound(customer, f"m{n}", sent_at=T0 + timedelta(seconds=n))
    handler = Recorder(fail_on={"m2"})

    report = await drain_inbox(customer.id, handler, lock_pool=db.lock_pool)

    assert handler.handled == ["m1"]
    assert report.processed == 1
    assert report.stopped_at == (await inbound("m2"))["id"]
    assert (await inbound("m1"))["status"] == "processed"
    failed = await inbound("m2")
    assert (failed["status"], failed["attempts"]) == ("pending", 1)
    assert failed["error"] == "RuntimeError: boom on m2"
    assert failed["processed_at"] is None
    untouched = await inbound("m3")
    assert (untouched["status"], untouched["attempts"], untouched["error"]) == (
        "pending",
        0,
        None,
    )

    # The next drain (the sweep's retry) picks up where it stopped, once.
    handler.fail_on.clear()
    again = await drain_inbox(customer.id, handler, lock_pool=db.lock_pool)
    assert handler.handled == ["m1", "m2", "m3"]
    assert again.processed == 2
    retried = await inbound("m2")
    assert (retried["status"], retried["attempts"], retried["error"]) == ("processed", 2, None)


async def test_after_max_attempts_the_message_fails_and_the_drain_moves_on(
    db: Resources,
) -> None:
    customer = await a_customer(1)
    for n in (1, 2, 3):
        await an_inbound(customer, f"m{n}", sent_at=T0 + timedelta(seconds=n))
    handler = Recorder(fail_on={"m2"})

    for attempt in (1, 2):
        report = await drain_inbox(customer.id, handler, lock_pool=db.lock_pool, max_attempts=3)
        assert report.failed == 0
        assert (await inbound("m2"))["attempts"] == attempt
        assert (await inbound("m3"))["status"] == "pending"

    report = await drain_inbox(customer.id, handler, lock_pool=db.lock_pool, max_attempts=3)

    assert (report.processed, report.failed, report.stopped_at) == (1, 1, None)
    given_up = await inbound("m2")
    assert (given_up["status"], given_up["attempts"]) == ("failed", 3)
    assert "boom on m2" in given_up["error"]
    assert (await inbound("m3"))["status"] == "processed"
    assert handler.handled == ["m1", "m3"]

    # A failed message is not tried again.
    handler.fail_on.clear()
    assert (await drain_inbox(customer.id, handler, lock_pool=db.lock_pool)).processed == 0


async def test_two_drains_of_one_customer_never_overlap(db: Resources) -> None:
    customer = await a_customer(1)
    wamids = [f"m{n:02d}" for n in range(12)]
    for n, wamid in enumerate(wamids):
        await an_inbound(customer, wamid, sent_at=T0 + timedelta(seconds=n))
    handler = Recorder(pause=0.01)

    reports = await asyncio.gather(
        *(drain_inbox(customer.id, handler, lock_pool=db.lock_pool) for _ in range(3))
    )

    assert handler.most_at_once[customer.id] == 1
    assert handler.handled == wamids  # each once, in order
    assert sum(r.processed for r in reports) == len(wamids)


async def test_different_customers_are_handled_at_the_same_time(db: Resources) -> None:
    ann = await a_customer(1)
    bob = await a_customer(2)
    await an_inbound(ann, "ann.1", sent_at=T0)
    await an_inbound(bob, "bob.1", sent_at=T0)
    arrived = {ann.id: asyncio.Event(), bob.id: asyncio.Event()}
    other = {ann.id: bob.id, bob.id: ann.id}
    handled: list[str] = []

    async def handler(message: PendingMessage) -> None:
        # Each waits until the other customer's handler is running too.
        arrived[message.customer_id].set()
        await arrived[other[message.customer_id]].wait()
        handled.append(message.wamid)

    await asyncio.wait_for(
        asyncio.gather(
            drain_inbox(ann.id, handler, lock_pool=db.lock_pool),
            drain_inbox(bob.id, handler, lock_pool=db.lock_pool),
        ),
        timeout=10,
    )
    assert sorted(handled) == ["ann.1", "bob.1"]


async def test_many_customers_concurrently_each_message_once_and_in_order(
    db: Resources,
) -> None:
    customers = [await a_customer(n) for n in range(1, 6)]
    expected: dict[int, list[str]] = {}
    for customer in customers:
        wamids = [f"c{customer.id}.m{n}" for n in range(6)]
        expected[customer.id] = wamids
        for n, wamid in reversed(list(enumerate(wamids))):
            await an_inbound(customer, wamid, sent_at=T0 + timedelta(seconds=n))
    per_customer: dict[int, list[str]] = defaultdict(list)
    handler = Recorder(pause=0.002)

    async def recording(message: PendingMessage) -> None:
        await handler(message)
        per_customer[message.customer_id].append(message.wamid)

    await asyncio.gather(
        *(
            drain_inbox(customer.id, recording, lock_pool=db.lock_pool)
            for customer in customers
            for _ in range(2)
        )
    )
    assert dict(per_customer) == expected
    assert max(handler.most_at_once.values()) == 1


async def test_stale_messages_are_the_ones_pending_longer_than_a_minute(db: Resources) -> None:
    now = datetime.now(UTC)
    stale = await a_customer(1)
    fresh = await a_customer(2)
    done = await a_customer(3)
    given_up = await a_customer(4)
    both = await a_customer(5)
    old = now - STALE_AFTER - timedelta(seconds=5)
    await an_inbound(stale, "stale", sent_at=T0, received_at=old)
    await an_inbound(fresh, "fresh", sent_at=T0, received_at=now - timedelta(seconds=30))
    await an_inbound(done, "done", sent_at=T0, received_at=old, status="processed")
    await an_inbound(given_up, "given-up", sent_at=T0, received_at=old, status="failed")
    await an_inbound(both, "both.old", sent_at=T0, received_at=old)
    await an_inbound(both, "both.new", sent_at=T0, received_at=now)

    assert timedelta(seconds=60) == STALE_AFTER
    assert sorted(await customers_with_stale_messages(now)) == sorted([stale.id, both.id])
    assert await customers_with_stale_messages(now, limit=1) in ([stale.id], [both.id])
    # A minute later the fresh one is stale too.
    later = now + timedelta(seconds=61)
    assert sorted(await customers_with_stale_messages(later)) == sorted(
        [stale.id, fresh.id, both.id]
    )
