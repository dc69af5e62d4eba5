"""Live subscriptions for staff screens: order and payment events as they are committed.

A subscription first replays the events after ``after`` (an event id) from the table, then
follows the relay's Redis notifications; each notification makes it read the table again
from the last event it sent, so events arrive in id order, without gaps or repeats, on any
web instance, and a reconnecting screen passes the last id it saw to resume.
"""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

import strawberry
from graphql import GraphQLError
from litestar.channels import ChannelsPlugin
from strawberry.scalars import JSON

from app.conversation.handler import HANDOVER_CHANNEL
from app.events.relay import CHANNEL
from app.graphql.context import Info
from app.graphql.orders import Order, OrderStatus, Payment, find_order, payment_by_id
from app.graphql.paging import INVALID, parse_id
from app.graphql.permissions import STAFF
from app.metrics import open_subscription
from app.ordering.tables import OrderEvent as OrderEventTable
from app.whatsapp.tables import InboundMessage

BATCH = 200
PAYMENT_TYPES = ("Payment", "Receipt")


@strawberry.type(description="One committed change of an order, with the order as it is now.")
class OrderEventMessage:
    id: strawberry.ID = strawberry.field(description="Event id: pass as `after` to resume")
    type: str = strawberry.field(description="e.g. OrderPlaced, PaymentConfirmed")
    actor: str = strawberry.field(description="Who made the change")
    created_at: datetime = strawberry.field(description="When")
    data: JSON = strawberry.field(description="What changed")
    order: Order = strawberry.field(description="The order now")


@strawberry.type(description="One payment step, with the payment and the order as they are now.")
class PaymentEventMessage:
    id: strawberry.ID = strawberry.field(description="Event id: pass as `after` to resume")
    type: str = strawberry.field(description="e.g. PaymentClaimed, PaymentConfirmed")
    actor: str = strawberry.field(description="Who made the change")
    created_at: datetime = strawberry.field(description="When")
    data: JSON = strawberry.field(description="What changed")
    payment: Payment | None = strawberry.field(description="The payment now")
    order: Order = strawberry.field(description="The order now")


@strawberry.input(description="Which order events to receive.")
class OrderEventFilter:
    statuses: list[OrderStatus] | None = strawberry.field(
        default=None, description="Only orders now in one of these statuses"
    )
    order_id: strawberry.ID | None = strawberry.field(default=None, description="Only this order")


@strawberry.input(description="Which payment events to receive.")
class PaymentEventFilter:
    provider: str | None = strawberry.field(default=None, description="manual or stripe")
    order_id: strawberry.ID | None = strawberry.field(default=None, description="Only this order")


class SharedReads:
    """What many subscribers of one process read about the same event, read once.

    Every screen following the feed wakes for the same new event; the first one reads it
    (and the order as it is then) from the database, the others share the result. An
    empty read is never kept: the next event must be seen.
    """

    def __init__(self, size: int = 512) -> None:
        self.size = size
        self.rows: OrderedDict[int, asyncio.Task[list[dict[str, Any]]]] = OrderedDict()
        self.orders: OrderedDict[int, asyncio.Task[Order | None]] = OrderedDict()

    def next_rows(self, last: int) -> asyncio.Task[list[dict[str, Any]]]:
        task = self.rows.get(last)
        if task is None or (task.done() and (task.exception() or not task.result())):
            task = asyncio.ensure_future(_rows_after(last, None))
            self.rows[last] = task
            task.add_done_callback(lambda done: self._forget_empty(last, done))
            self._trim(self.rows)
        return task

    def order_at(self, event_id: int, order_id: int) -> asyncio.Task[Order | None]:
        task = self.orders.get(event_id)
        if task is None or (task.done() and task.exception() is not None):
            task = asyncio.ensure_future(find_order(strawberry.ID(str(order_id)), None))
            self.orders[event_id] = task
            self._trim(self.orders)
        return task

    def _forget_empty(self, last: int, done: asyncio.Task[list[dict[str, Any]]]) -> None:
        useless = done.cancelled() or done.exception() is not None or not done.result()
        if useless and self.rows.get(last) is done:
            del self.rows[last]

    def _trim(self, cache: OrderedDict[int, Any]) -> None:
        while len(cache) > self.size:
            cache.popitem(last=False)


async def _follow(
    channels: ChannelsPlugin,
    channel: str,
    start: Callable[[], Awaitable[int]],
    read: Callable[[int], Awaitable[Sequence[Any]]],
    wanted: Callable[[dict[str, Any], int], bool],
) -> AsyncIterator[Any]:
    """Rows after ``start()`` in id order, forever: read from the table until caught up,
    then wait on ``channel`` for a note that ``wanted(note, last)`` calls new, and read
    again. Subscribing comes first, so nothing committed meanwhile is missed."""
    async with channels.start_subscription([channel]) as subscriber:
        with open_subscription():
            notes = subscriber.iter_events()
            last = await start()
            while True:
                rows = await read(last)
                for row in rows:
                    last = row["id"]
                    yield row
                if len(rows) == BATCH:
                    continue
                while not wanted(json.loads(await anext(notes)), last):
                    pass


def _committed(
    channels: ChannelsPlugin, shared: SharedReads, after: strawberry.ID | None, order_id: int | None
) -> AsyncIterator[dict[str, Any]]:
    """Event rows after ``after`` (or from now), in id order, forever."""

    async def start() -> int:
        return parse_id(after, "after") if after is not None else await _latest()

    async def read(last: int) -> Sequence[Any]:
        if order_id is None:
            # Shielded: one subscriber leaving must not cancel the read the others share.
            return await asyncio.shield(shared.next_rows(last))
        return await _rows_after(last, order_id)

    def wanted(note: dict[str, Any], last: int) -> bool:
        return note["id"] > last and (order_id is None or note.get("order_id") == order_id)

    return _follow(channels, CHANNEL, start, read, wanted)


async def _order_now(shared: SharedReads, row: dict[str, Any]) -> Order | None:
    """The order as it was just after this event (shared by the process's subscribers)."""
    return await asyncio.shield(shared.order_at(row["id"], row["order"]))


async def _latest_inbound(customer_id: int) -> int:
    rows = await InboundMessage.raw(
        "SELECT COALESCE(MAX(id), 0) AS id FROM inbound_message WHERE customer = {}", customer_id
    )
    return int(rows[0]["id"])


async def _latest() -> int:
    rows = await OrderEventTable.raw("SELECT COALESCE(MAX(id), 0) AS id FROM order_event")
    return int(rows[0]["id"])


async def _rows_after(last: int, order_id: int | None) -> list[dict[str, Any]]:
    query = OrderEventTable.select().where(OrderEventTable.id > last)
    if order_id is not None:
        query = query.where(OrderEventTable.order == order_id)
    return list(await query.order_by(OrderEventTable.id).limit(BATCH).output(load_json=True))


async def _still_allowed(info: Info) -> None:
    """End a feed whose token was revoked, expired or whose account was deactivated."""
    if await info.context.staff() is None:
        raise GraphQLError(
            "The session ended: log in again.", extensions={"code": "UNAUTHENTICATED"}
        )


def _channels(info: Info) -> ChannelsPlugin:
    channels = info.context.channels
    if channels is None:
        raise GraphQLError("Live updates are not available here.", extensions=INVALID)
    return channels


@strawberry.type(description="A message from a customer who is talking to a person.")
class HandoverMessage:
    id: strawberry.ID = strawberry.field(description="Message id: pass as `after` to resume")
    customer_id: strawberry.ID = strawberry.field(description="Who wrote")
    type: str = strawberry.field(description="text, interactive, image, …")
    text: str | None = strawberry.field(description="What they wrote, when it is text")
    sent_at: datetime = strawberry.field(description="When they sent it")


def _customer_messages(
    channels: ChannelsPlugin, customer_id: int, after: int
) -> AsyncIterator[dict[str, Any]]:
    """The customer's inbound messages after ``after``, in order, forever."""

    async def start() -> int:
        return after

    async def read(last: int) -> Sequence[Any]:
        rows: list[dict[str, Any]] = await InboundMessage.raw(
            "SELECT id, type, sent_at, payload->'message'->'text'->>'body' AS text "
            "FROM inbound_message WHERE customer = {} AND id > {} ORDER BY id LIMIT {}",
            customer_id,
            last,
            BATCH,
        )
        return rows

    def wanted(note: dict[str, Any], last: int) -> bool:
        return bool(note["customer_id"] == customer_id and note["message_id"] > last)

    return _follow(channels, HANDOVER_CHANNEL, start, read, wanted)


@strawberry.type(description="Follow the shop live over WebSocket (graphql-transport-ws).")
class Subscription:
    @strawberry.subscription(
        description="Every order change as it is committed. With `after` (the id of the last "
        "event seen), the missed ones come first.",
        permission_classes=STAFF,
    )
    async def order_events(
        self,
        info: Info,
        filter: OrderEventFilter | None = None,
        after: strawberry.ID | None = None,
    ) -> AsyncGenerator[OrderEventMessage, None]:
        order_id = parse_id(filter.order_id, "orderId") if filter and filter.order_id else None
        statuses = {s.value for s in filter.statuses} if filter and filter.statuses else None
        shared = info.context.shared_reads or SharedReads()
        async for row in _committed(_channels(info), shared, after, order_id):
            await _still_allowed(info)
            order = await _order_now(shared, row)
            if order is None or (statuses and order.status.value not in statuses):
                continue
            yield OrderEventMessage(
                id=strawberry.ID(str(row["id"])),
                type=row["type"],
                actor=row["actor"],
                created_at=row["created_at"],
                data=row["data"],
                order=order,
            )

    @strawberry.subscription(
        description="What a customer in handover writes, as it arrives; with `after` (a "
        "message id) the ones since come first.",
        permission_classes=STAFF,
    )
    async def handover_messages(
        self, info: Info, customer_id: strawberry.ID, after: strawberry.ID | None = None
    ) -> AsyncGenerator[HandoverMessage, None]:
        customer = parse_id(customer_id, "customerId")
        start = parse_id(after, "after") if after is not None else await _latest_inbound(customer)
        async for row in _customer_messages(_channels(info), customer, start):
            await _still_allowed(info)
            yield HandoverMessage(
                id=strawberry.ID(str(row["id"])),
                customer_id=customer_id,
                type=row["type"],
                text=row["text"],
                sent_at=row["sent_at"],
            )

    @strawberry.subscription(
        description="Every payment step (and receipt) as it is committed; resumable with "
        "`after` like orderEvents.",
        permission_classes=STAFF,
    )
    async def payment_events(
        self,
        info: Info,
        filter: PaymentEventFilter | None = None,
        after: strawberry.ID | None = None,
    ) -> AsyncGenerator[PaymentEventMessage, None]:
        order_id = parse_id(filter.order_id, "orderId") if filter and filter.order_id else None
        shared = info.context.shared_reads or SharedReads()
        async for row in _committed(_channels(info), shared, after, order_id):
            await _still_allowed(info)
            if not row["type"].startswith(PAYMENT_TYPES):
                continue
            payment_id = (row["data"] or {}).get("payment_id")
            payment = await payment_by_id(int(payment_id)) if payment_id else None
            if (
                filter
                and filter.provider
                and (payment is None or payment.provider != filter.provider)
            ):
                continue
            order = await _order_now(shared, row)
            if order is None:
                continue
            yield PaymentEventMessage(
                id=strawberry.ID(str(row["id"])),
                type=row["type"],
                actor=row["actor"],
                created_at=row["created_at"],
                data=row["data"],
                payment=payment,
                order=order,
            )
