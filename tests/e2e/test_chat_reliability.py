"""Nothing a customer sends is lost or applied twice: redelivery, crashes, many at once."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from app.catalog.seed import seed_demo_catalog
from app.conversation.handler import ConversationHandler, session_store
from app.ordering.tables import Order
from app.payments.tables import Payment
from app.resources import Resources
from app.settings import Settings
from app.whatsapp.outgoing import render_plain
from app.whatsapp.processing import (
    MessageHandler,
    PendingMessage,
    customers_with_stale_messages,
    drain_inbox,
)
from app.whatsapp.tables import InboundMessage, OutboundMessage
from tests.conftest import app_client, make_settings
from tests.e2e.chat_driver import ChatDriver, webhook_body

SECRET = "reliability-secret"


def configured(settings: Settings) -> Settings:
    return make_settings(
        settings.database_url or "", settings.redis_url or "", whatsapp_app_secret=SECRET
    )


@pytest.fixture
async def shop(db: Resources, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    await seed_demo_catalog()
    async with app_client(configured(settings), run_worker=True) as client:
        yield client


async def wait_until_processed(expected: int, *, within: float = 60.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while asyncio.get_running_loop().time() < deadline:
        done = await InboundMessage.count().where(InboundMessage.status == "processed")
        if done >= expected:
            return
        await asyncio.sleep(0.1)
    pytest.fail(f"only {done} of {expected} messages processed in {within}s")


async def test_a_webhook_delivered_five_times_is_handled_once(shop: httpx.AsyncClient) -> None:
    ada = ChatDriver(shop, SECRET, "15550001111")
    body = webhook_body(ada.wa_id, ada.message({"type": "text", "text": {"body": "hi"}}))
    answers = [await ada.post_body(body) for _ in range(5)]
    assert [a.status_code for a in answers] == [200] * 5
    assert [a.json()["messages"] for a in answers] == [1, 0, 0, 0, 0]
    assert [a.json()["duplicates"] for a in answers] == [0, 1, 1, 1, 1]
    replies = await ada.replies()
    assert len(replies) == 1
    await asyncio.sleep(0.5)  # nothing else trickles in
    assert await ada.replies(within=0.5) == []
    assert await InboundMessage.count() == 1
    assert await OutboundMessage.count() == 1


async def test_two_hundred_messages_from_twenty_customers_each_handled_once_in_order(
    shop: httpx.AsyncClient,
) -> None:
    customers = [ChatDriver(shop, SECRET, f"1555020{n:04d}") for n in range(20)]
    words = ["hi", "help", "menu", "cart", "status", "help", "menu", "cart", "hi", "menu"]

    async def chatter(customer: ChatDriver, pace: random.Random) -> list[int]:
        codes = []
        for word in words:
            body = webhook_body(
                customer.wa_id, customer.message({"type": "text", "text": {"body": word}})
            )
            codes.append((await customer.post_body(body)).status_code)
            await asyncio.sleep(pace.uniform(0, 0.02))
        return codes

    # Twenty customers at once, each typing in their own rhythm: their messages interleave
    # at the webhook and in the queue, while each customer's arrive in the order sent.
    pace = random.Random(4)
    results = await asyncio.gather(*(chatter(c, random.Random(pace.random())) for c in customers))
    assert all(code == 200 for codes in results for code in codes)

    await wait_until_processed(200)
    rows = await InboundMessage.select(
        InboundMessage.customer,
        InboundMessage.sent_at,
        InboundMessage.processed_at,
        InboundMessage.attempts,
    ).order_by(InboundMessage.sent_at)
    assert len(rows) == 200
    assert {row["attempts"] for row in rows} == {1}
    by_customer: dict[int, list[datetime]] = {}
    for row in rows:
        by_customer.setdefault(row["customer"], []).append(row["processed_at"])
    assert len(by_customer) == 20
    for processed in by_customer.values():
        assert processed == sorted(processed), "a customer's messages overtook each other"
    for customer in customers:
        assert len(await customer.replies()) == 10


class CrashAfterWork:
    """Does all the work of a message, then dies before the message is marked done."""

    def __init__(self, real: ConversationHandler) -> None:
        self.real = real
        self.crashed = False

    async def __call__(self, message: PendingMessage) -> None:
        await self.real(message)
        if not self.crashed:
            self.crashed = True
            raise RuntimeError("worker killed")


async def test_a_message_whose_worker_died_after_the_work_is_redone_exactly_once(
    db: Resources, settings: Settings
) -> None:
    await seed_demo_catalog()
    handler = ConversationHandler(settings, session_store(settings), db.redis)
    async with app_client(configured(settings)) as client:  # no worker: we drain by hand
        ada = ChatDriver(client, SECRET, "15550003333")

        async def step(content: dict[str, object], work: MessageHandler = handler) -> int | None:
            await ada.post_body(webhook_body(ada.wa_id, ada.message(content)))
            customer_id = await InboundMessage.select(InboundMessage.customer).first()
            assert customer_id is not None
            report = await drain_inbox(customer_id["customer"], work, lock_pool=db.lock_pool)
            await ada.replies(within=2)
            return report.stopped_at

        await step({"type": "text", "text": {"body": "hi"}})
        await step({"type": "text", "text": {"body": "sourdough"}})
        for title in ("Add 1", "Checkout", "Pickup"):
            await step(ada.tap_content(title))
        # The confirmation: the order is placed and the reply queued, then the worker dies.
        stopped = await step(ada.tap_content("Confirm"), CrashAfterWork(handler))
        assert stopped is not None
        assert await Order.count() == 1
        outbound_before = await OutboundMessage.count()

        customer = await InboundMessage.select(InboundMessage.customer).first()
        assert customer is not None
        later = datetime.now(UTC) + timedelta(seconds=61)
        assert await customers_with_stale_messages(later) == [customer["customer"]]
        retry = await drain_inbox(customer["customer"], handler, lock_pool=db.lock_pool)
        assert retry.processed == 1

    assert await Order.count() == 1
    assert await Payment.count() == 1
    assert await OutboundMessage.count() == outbound_before
    assert await InboundMessage.count().where(InboundMessage.status != "processed") == 0
    thanks = ada.transcript[-1]
    assert "1001" in thanks


async def test_the_worker_recovers_when_redis_loses_the_task_stream(
    shop: httpx.AsyncClient, db: Resources
) -> None:
    ada = ChatDriver(shop, SECRET, "15550009999")
    await ada.say("hi")
    # What a Redis restart without persistence does to the queue: stream and group gone.
    await db.redis.delete("chatcart:tasks")
    help_message = ada.message({"type": "text", "text": {"body": "help"}})
    await ada.post_body(webhook_body(ada.wa_id, help_message))
    replies = await ada.replies(within=30)
    assert len(replies) == 1


class AlwaysCrashes:
    """Does the work of every message, then dies: the message can never be finished."""

    def __init__(self, real: ConversationHandler) -> None:
        self.real = real

    async def __call__(self, message: PendingMessage) -> None:
        await self.real(message)
        raise RuntimeError("worker killed")


async def test_a_message_that_keeps_failing_is_undone_and_the_customer_is_told(
    db: Resources, settings: Settings
) -> None:
    await seed_demo_catalog()
    handler = ConversationHandler(settings, session_store(settings), db.redis)
    async with app_client(configured(settings)) as client:
        ada = ChatDriver(client, SECRET, "15550001212")

        async def post(content: dict[str, object]) -> int:
            await ada.post_body(webhook_body(ada.wa_id, ada.message(content)))
            row = await InboundMessage.select(InboundMessage.customer).first()
            assert row is not None
            return int(row["customer"])

        customer_id = await post({"type": "text", "text": {"body": "sourdough"}})
        await drain_inbox(customer_id, handler, lock_pool=db.lock_pool)
        await ada.replies(within=2)
        await post(ada.tap_content("Add 1"))
        for _ in range(5):
            await drain_inbox(
                customer_id,
                AlwaysCrashes(handler),
                lock_pool=db.lock_pool,
                on_give_up=handler.gave_up,
            )
        failed = await InboundMessage.select(InboundMessage.status, InboundMessage.attempts).where(
            InboundMessage.status == "failed"
        )
        assert [(row["status"], row["attempts"]) for row in failed] == [("failed", 5)]
        told = [render_plain(m) for m in await ada.replies(within=2)]
        assert any("went wrong" in text for text in told), told

        await post({"type": "text", "text": {"body": "cart"}})
        await drain_inbox(customer_id, handler, lock_pool=db.lock_pool)
        (cart,) = await ada.replies(within=2)
    assert "Sourdough" not in render_plain(cart)  # the failed "Add 1" left no trace
