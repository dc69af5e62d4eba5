"""Customers for staff: who ordered, how often, and for how much; receipts by number."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry

from app.customers.tables import Customer as CustomerTable
from app.db.patterns import contains
from app.graphql.orders import Order, OrderFilter, Receipt, list_orders
from app.graphql.paging import (
    Count,
    PageInfo,
    check_page_size,
    counting,
    decode_id_cursor,
    id_cursor,
    page_info,
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

    @strawberry.field(description="Their latest orders, newest first (at most 20).")
    async def orders(self, first: int = 10) -> list[Order]:
        page = await list_orders(OrderFilter(customer_id=self.id), min(max(first, 1), 20), None)
        return [edge.node for edge in page.edges]


@strawberry.type(description="A customer and their cursor.")
class CustomerEdge:
    cursor: str = strawberry.field(description="Opaque position in the list")
    node: CustomerProfile = strawberry.field(description="The customer")


@strawberry.type(description="A page of customers, newest first.")
class CustomerConnection:
    edges: list[CustomerEdge] = strawberry.field(description="The customers of this page")
    page_info: PageInfo = strawberry.field(description="Where the next page starts")
    count: strawberry.Private[Count]

    @strawberry.field(description="Customers matching the search")
    async def total_count(self) -> int:
        return await self.count()


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
        description="Customers, newest first; `search` matches name or phone.",
        permission_classes=STAFF_THROTTLED,
    )
    async def customers(
        self, search: str | None = None, first: int = 50, after: str | None = None
    ) -> CustomerConnection:
        check_page_size(first)
        clauses: list[str] = []
        args: list[object] = []
        if search and search.strip():
            clauses.append("(c.profile_name ILIKE {} OR c.wa_id LIKE {})")
            pattern = contains(search.strip())
            args += [pattern, pattern]
        matching = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        count_sql = f"SELECT count(*) AS n FROM customer c{matching}"  # noqa: S608
        count = counting(count_sql, *args)
        if after is not None:
            clauses.append("c.id < {}")
            args.append(decode_id_cursor(after))
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        page_sql = f"{_PROFILE_SQL}{where} GROUP BY c.id ORDER BY c.id DESC LIMIT {{}}"
        rows = await CustomerTable.raw(page_sql, *args, first + 1)
        edges = [
            CustomerEdge(cursor=id_cursor(row["id"]), node=_profile(row)) for row in rows[:first]
        ]
        return CustomerConnection(
            edges=edges,
            page_info=page_info([edge.cursor for edge in edges], more=len(rows) > first),
            count=count,
        )

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
