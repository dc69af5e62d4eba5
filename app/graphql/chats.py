"""The chat side for staff: customers waiting for a person (reply, hand back to the bot),
and messages WhatsApp would not take (dead letters, retried by hand)."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

import orjson
import strawberry
from strawberry.scalars import JSON

from app.conversation.handler import session_store
from app.conversation.handover import end_handover, send_staff_reply
from app.customers.tables import Customer as CustomerTable
from app.errors import DomainError
from app.graphql.context import Info
from app.graphql.errors import UserError, user_errors
from app.graphql.orders import Customer
from app.graphql.paging import (
    MAX_PAGE,
    PageInfo,
    check_page_size,
    decode_id_cursor,
    id_cursor,
    page_info,
    parse_id,
)
from app.graphql.permissions import STAFF
from app.whatsapp.outbound import retry_message
from app.whatsapp.tables import InboundMessage, OutboundMessage

RECENT_MESSAGES = 10


@strawberry.enum(description="Outbound messages that need a person.")
class OutboundProblem(Enum):
    DEAD = "dead"  # retried until the last attempt
    FAILED = "failed"  # refused for good (e.g. outside the 24-hour window)


@strawberry.type(description="A message the shop sent or tried to send.")
class OutboundMessageNode:
    id: strawberry.ID = strawberry.field(description="Message id")
    customer_id: strawberry.ID = strawberry.field(description="To whom")
    kind: str = strawberry.field(description="text, interactive, document, template")
    status: str = strawberry.field(description="queued, sent, delivered, read, failed, dead")
    attempts: int = strawberry.field(description="Send attempts so far")
    last_error: str | None = strawberry.field(description="WhatsApp's last answer")
    error_code: int | None = strawberry.field(description="WhatsApp's error code")
    body: JSON = strawberry.field(description="The Cloud API request body")
    created_at: datetime = strawberry.field(description="When it was queued")


@strawberry.type(description="An outbound message and its cursor.")
class OutboundMessageEdge:
    cursor: str = strawberry.field(description="Opaque position in the list")
    node: OutboundMessageNode = strawberry.field(description="The message")


@strawberry.type(description="A page of outbound messages, newest first.")
class OutboundMessageConnection:
    edges: list[OutboundMessageEdge] = strawberry.field(description="The messages of this page")
    page_info: PageInfo = strawberry.field(description="Where the next page starts")
    total_count: int = strawberry.field(description="Messages in this status")


@strawberry.type(description="A message a customer sent.")
class InboundMessageNode:
    id: strawberry.ID = strawberry.field(description="Message id")
    type: str = strawberry.field(description="text, interactive, image, …")
    text: str | None = strawberry.field(description="What they wrote, when it is text")
    sent_at: datetime = strawberry.field(description="When they sent it")


@strawberry.type(description="A customer who asked for a person, with their latest messages.")
class Handover:
    customer: Customer = strawberry.field(description="Who is waiting")
    since: datetime = strawberry.field(description="When they asked for a person")
    last_inbound_at: datetime | None = strawberry.field(
        description="Their last message: replies are possible for 24 hours after it"
    )
    messages: list[InboundMessageNode] = strawberry.field(description="Latest first")


@strawberry.type(description="The result of a chat action.")
class ChatPayload:
    ok: bool = strawberry.field(default=False, description="It was done")
    errors: list[UserError] = strawberry.field(default_factory=list, description="Why not")


@strawberry.type(description="The result of retrying an outbound message.")
class RetryPayload:
    message: OutboundMessageNode | None = strawberry.field(default=None, description="Queued")
    errors: list[UserError] = strawberry.field(default_factory=list, description="Why not")


def _outbound(row: dict[str, Any]) -> OutboundMessageNode:
    return OutboundMessageNode(
        id=strawberry.ID(str(row["id"])),
        customer_id=strawberry.ID(str(row["customer"])),
        kind=row["kind"],
        status=row["status"],
        attempts=row["attempts"],
        last_error=row["last_error"],
        error_code=row["error_code"],
        body=row["payload"],
        created_at=row["created_at"],
    )


async def _kick(info: Info, customer_id: int) -> None:
    """Send now what was queued, rather than at the next sweep."""
    await info.context.runtime.tasks.deliver_outbound.kiq(customer_id)


@strawberry.type
class ChatsQuery:
    @strawberry.field(
        description="Messages WhatsApp did not take: DEAD (after every retry) or FAILED.",
        permission_classes=STAFF,
    )
    async def outbound_messages(
        self, status: OutboundProblem, first: int = 50, after: str | None = None
    ) -> OutboundMessageConnection:
        check_page_size(first)
        matching = OutboundMessage.status == status.value
        total = await OutboundMessage.count().where(matching)
        query = OutboundMessage.select().where(matching)
        if after is not None:
            query = query.where(OutboundMessage.id < decode_id_cursor(after))
        rows = (
            await query.order_by(OutboundMessage.id, ascending=False)
            .limit(first + 1)
            .output(load_json=True)
        )
        edges = [
            OutboundMessageEdge(cursor=id_cursor(row["id"]), node=_outbound(row))
            for row in rows[:first]
        ]
        return OutboundMessageConnection(
            edges=edges,
            page_info=page_info([edge.cursor for edge in edges], more=len(rows) > first),
            total_count=total,
        )

    @strawberry.field(
        description="Customers waiting for a person, longest waiting first.",
        permission_classes=STAFF,
    )
    async def handovers(self) -> list[Handover]:
        customers = (
            await CustomerTable.select()
            .where(CustomerTable.handover_since.is_not_null())
            .order_by(CustomerTable.handover_since)
            .limit(MAX_PAGE)
        )
        recent: dict[int, list[InboundMessageNode]] = {row["id"]: [] for row in customers}
        if recent:
            # Each waiting customer's latest messages, in one statement.
            rows = await InboundMessage.raw(
                "SELECT id, customer, type, sent_at, text FROM ("
                "  SELECT id, customer, type, sent_at, payload->'message'->'text'->>'body' AS text,"
                "  row_number() OVER (PARTITION BY customer ORDER BY sent_at DESC, id DESC) AS n"
                "  FROM inbound_message WHERE customer = ANY({})) m "
                "WHERE n <= {} ORDER BY customer, sent_at DESC, id DESC",
                list(recent),
                RECENT_MESSAGES,
            )
            for m in rows:
                recent[m["customer"]].append(
                    InboundMessageNode(
                        id=strawberry.ID(str(m["id"])),
                        type=m["type"],
                        text=m["text"],
                        sent_at=m["sent_at"],
                    )
                )
        return [
            Handover(
                customer=Customer(
                    id=strawberry.ID(str(row["id"])),
                    name=row["profile_name"],
                    phone=row["wa_id"],
                    user_id=row["user_id"],
                ),
                since=row["handover_since"],
                last_inbound_at=row["last_inbound_at"],
                messages=recent[row["id"]],
            )
            for row in customers
        ]


@strawberry.type
class ChatsMutation:
    @strawberry.mutation(
        description="Queue a dead or failed message again (it is sent at once).",
        permission_classes=STAFF,
    )
    async def retry_outbound_message(self, info: Info, id: strawberry.ID) -> RetryPayload:
        try:
            row = await retry_message(parse_id(id, "id"))
        except DomainError as error:
            return RetryPayload(errors=user_errors(error))
        await _kick(info, row["customer"])
        row["payload"] = (
            orjson.loads(row["payload"]) if isinstance(row["payload"], str) else row["payload"]
        )
        return RetryPayload(message=_outbound(row))

    @strawberry.mutation(
        description="Write to a customer who asked for a person (within 24 hours of their "
        "last message).",
        permission_classes=STAFF,
    )
    async def reply_to_customer(
        self, info: Info, customer_id: strawberry.ID, text: str
    ) -> ChatPayload:
        staff = await info.context.staff()
        assert staff is not None
        try:
            customer = parse_id(customer_id, "customerId")
            await send_staff_reply(customer, text, staff_id=staff.id)
        except DomainError as error:
            return ChatPayload(errors=user_errors(error))
        await _kick(info, customer)
        return ChatPayload(ok=True)

    @strawberry.mutation(
        description="Hand the customer back to the bot (their cart is kept).",
        permission_classes=STAFF,
    )
    async def end_handover(self, info: Info, customer_id: strawberry.ID) -> ChatPayload:
        staff = await info.context.staff()
        assert staff is not None
        settings = info.context.settings
        try:
            customer = parse_id(customer_id, "customerId")
            sent = await end_handover(
                customer,
                staff_id=staff.id,
                settings=settings,
                sessions=session_store(settings),
            )
        except DomainError as error:
            return ChatPayload(errors=user_errors(error))
        if sent is not None:
            await _kick(info, customer)
        return ChatPayload(ok=sent is not None)
