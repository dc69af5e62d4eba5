"""Customers for staff: who ordered, how often, and for how much; receipts by number."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from graphql import GraphQLError

from app.customers.tables import Customer as CustomerTable
from app.graphql.orders import (
    INVALID,
    MAX_PAGE,
    Order,
    OrderFilter,
    Receipt,
    list_orders,
    parse_id,
)
from app.graphql.permissions import STAFF, STAFF_THROTTLED
from app.receipts.tables import Receipt as ReceiptTable


@strawberry.type(description="A customer with what they bought.")
class CustomerProfile:
    id: strawberry.ID = strawberry.field(description="Customer id")
    name: str = strawberry.field(description="WhatsApp profile name")
    phone: str | None = strawberry.field(description="E.164 digits, when WhatsApp shared it")
    user_id: str | None = strawberry.field(description="WhatsApp business-scoped user id")
    last_inbound_at: datetime | None = strawberry.field(description="Their last message")
    waiting_for_person: bool = strawberry.field(description="Asked for a person (handover)")
    order_count: int = strawberry.field(description="Orders placed")
    spend: int = strawberry.field(description="Paid orders' totals, minor units")

    @strawberry.field(description="Their orders, newest first.")
    async def orders(self, first: int = 20) -> list[Order]:
        page = await list_orders(OrderFilter(customer_id=self.id), first, None)
        return [edge.node for edge in page.edges]


@strawberry.type(description="A receipt with the order it belongs to.")
class ReceiptDetail(Receipt):
    order_number: int = strawberry.field(description="The order it was issued for")
    text: str = strawberry.field(description="The summary sent in the chat")


_PROFILE_SQL = """
SELECT c.id, c.profile_name, c.wa_id, c.user_id, c.last_inbound_at, c.handover_since,
       count(o.id) AS order_count,
       COALESCE(sum(o.total) FILTER (WHERE o.paid_at IS NOT NULL
         AND o.status NOT IN ('refunded')), 0) AS spend
FROM customer c LEFT JOIN orders o ON o.customer = c.id
"""


def _profile(row: dict[str, Any]) -> CustomerProfile:
    return CustomerProfile(
        id=strawberry.ID(str(row["id"])),
        name=row["profile_name"] or "",
        phone=row["wa_id"],
        user_id=row["user_id"],
        last_inbound_at=row["last_inbound_at"],
        waiting_for_person=row["handover_since"] is not None,
        order_count=int(row["order_count"]),
        spend=int(row["spend"]),
    )


@strawberry.type
class CustomersQuery:
    @strawberry.field(
        description="Customers, most recent message first; `search` matches name or phone.",
        permission_classes=STAFF_THROTTLED,
    )
    async def customers(self, search: str | None = None, first: int = 50) -> list[CustomerProfile]:
        if not 1 <= first <= MAX_PAGE:
            raise GraphQLError(f"`first` must be between 1 and {MAX_PAGE}.", extensions=INVALID)
        where, args = "", list[str]()
        if search and search.strip():
            where = " WHERE c.profile_name ILIKE {} OR c.wa_id LIKE {}"
            pattern = f"%{search.strip()}%"
            args = [pattern, pattern]
        rows = await CustomerTable.raw(
            f"{_PROFILE_SQL}{where} GROUP BY c.id "
            "ORDER BY c.last_inbound_at DESC NULLS LAST, c.id DESC LIMIT {}",
            *args,
            first,
        )
        return [_profile(row) for row in rows]

    @strawberry.field(description="One customer.", permission_classes=STAFF)
    async def customer(self, id: strawberry.ID) -> CustomerProfile | None:
        rows = await CustomerTable.raw(
            f"{_PROFILE_SQL} WHERE c.id = {{}} GROUP BY c.id",
            parse_id(id, "id"),
        )
        return _profile(rows[0]) if rows else None

    @strawberry.field(
        description="A receipt by its number, e.g. R-2026-000042.", permission_classes=STAFF
    )
    async def receipt(self, number: str) -> ReceiptDetail | None:
        rows = await ReceiptTable.raw(
            "SELECT r.number, r.issued_at, r.sent_at, r.text_body, o.number AS order_number "
            'FROM receipt r JOIN orders o ON o.id = r."order" WHERE r.number = {}',
            number.strip().upper(),
        )
        if not rows:
            return None
        row = rows[0]
        return ReceiptDetail(
            number=row["number"],
            issued_at=row["issued_at"],
            sent_at=row["sent_at"],
            order_number=row["order_number"],
            text=row["text_body"],
        )
