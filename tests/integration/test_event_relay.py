"""The outbox relay publishes each committed order event to Redis once, and outlives outages."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import asyncpg
import redis.asyncio as aioredis

from app import actors
from app.customers.service import register_customer
from app.events.relay import CHANNEL, publish_pending, relay_in_background
from app.metrics import ORDER_EVENTS
from app.ordering import events
from app.ordering.tables import Order, OrderEvent
from app.resources import Resources
from app.settings import Settings
from tests.conftest import database_refusing_connections


async def an_order_id() -> int:
    customer = await register_customer(wa_id="15554440001", profile_name="Ria")
    rows = await Order.raw(
        "INSERT INTO orders (number, customer, status, fulfilment, currency, subtotal, tax, "
        "delivery_fee, total) VALUES (nextval('order_number_seq'), {}, 'pending_payment', "
        "'pickup', 'USD', 100, 0, 0, 100) RETURNING id",
        customer.id,
    )
    return int(rows[0]["id"])


async def received(pubsub: Any, within: float = 10.0) -> list[dict[str, Any]]:
    notes = []
    deadline = asyncio.get_running_loop().time() + within
    while asyncio.get_running_loop().time() < deadline:
        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.2)
        if message is not None:
            notes.append(json.loads(message["data"]))
        elif notes:
            break
    return notes


async def test_committed_events_are_published_once_in_order(
    redis_client: aioredis.Redis, settings: Settings
) -> None:
    order_id = await an_order_id()
    async with redis_client.pubsub() as pubsub:
        await pubsub.subscribe(CHANNEL)
        first = await events.record(order_id, "OrderPlaced", actors.CUSTOMER, {})
        second = await events.record(order_id, "PaymentStarted", actors.CUSTOMER, {})
        placed = ORDER_EVENTS.labels("OrderPlaced")._value.get()
        connection = await asyncpg.connect(settings.database_url)
        try:
            assert await publish_pending(redis_client, connection) == 2
            assert await publish_pending(redis_client, connection) == 0
        finally:
            await connection.close()
        assert ORDER_EVENTS.labels("OrderPlaced")._value.get() == placed + 1  # counted once
        notes = await received(pubsub)
    assert [(n["id"], n["type"]) for n in notes] == [
        (first, "OrderPlaced"),
        (second, "PaymentStarted"),
    ]
    assert await OrderEvent.count().where(OrderEvent.published_at.is_null()) == 0


async def test_the_relay_outlives_a_database_outage(
    db: Resources, settings: Settings, redis_client: aioredis.Redis
) -> None:
    order_id = await an_order_id()
    assert settings.database_url is not None
    async with redis_client.pubsub() as pubsub:
        await pubsub.subscribe(CHANNEL)
        async with relay_in_background(settings.database_url, redis_client):
            await asyncio.sleep(0.3)
            async with database_refusing_connections(settings):
                await asyncio.sleep(1.0)  # the relay loses its connections and retries
            for _ in range(50):  # the app's pool reconnects on its own
                try:
                    event_id = await events.record(order_id, "OrderCancelled", actors.SYSTEM, {})
                    break
                except Exception:
                    await asyncio.sleep(0.1)
            notes = await received(pubsub, within=15)
    assert [n["id"] for n in notes] == [event_id]
