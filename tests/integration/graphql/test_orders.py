"""Staff read the orders board and an order's audit trail, and decide payments, through GraphQL."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import httpx
import pytest

from app import actors
from app.catalog.seed import seed_demo_catalog
from app.customers.service import register_customer
from app.ordering.service import PlaceOrder, place_order
from app.ordering.values import CartLine, Fulfilment, ShopTerms
from app.payments.providers import MANUAL
from app.payments.service import claim_payment, open_payment
from app.receipts.tables import Receipt
from app.resources import Resources
from app.settings import Settings
from app.staff.service import create_staff
from app.staff.tables import Role
from app.whatsapp.tables import OutboundMessage
from tests.conftest import app_client
from tests.integration.graphql.test_auth import PASSWORD, gql, log_in

TERMS = ShopTerms("USD", prices_include_tax=False, delivery_fee=0, payment_minutes=30)
BOARD = """
query Board($first: Int!, $after: String, $filter: OrderFilter) {
  orders(first: $first, after: $after, filter: $filter) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node {
      number status total
      customer { name phone }
      items { sku quantity gross }
      payments { reference status }
      receipt { number }
    } }
  }
}"""


@pytest.fixture
async def api(db: Resources, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    await seed_demo_catalog()
    async with app_client(settings, run_worker=True) as client:
        yield client


@pytest.fixture
async def token(api: httpx.AsyncClient) -> str:
    await create_staff("ada@shop.example", "Ada", Role.STAFF, PASSWORD)
    return await log_in(api, "ada@shop.example")


async def an_order(n: int, *, claimed: bool = False) -> tuple[int, int]:
    customer = await register_customer(wa_id=f"1555000{n:04d}", profile_name=f"Buyer {n}")
    placed = await place_order(
        PlaceOrder(customer.id, [CartLine("BRD-BAGU", 1 + n % 3)], Fulfilment.PICKUP),
        TERMS,
        actor=actors.CUSTOMER,
    )
    payment, _ = await open_payment(placed.id, MANUAL, actor=actors.CUSTOMER)
    if claimed:
        await claim_payment(placed.id, customer_id=customer.id)
    return placed.number, payment.id


_WATCHED: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("watched", default=None)


@contextlib.contextmanager
def statements() -> Iterator[list[str]]:
    """Every SQL statement sent to PostgreSQL from this task while the block runs (counted
    at asyncpg's public methods, which Piccolo and the direct reads both go through). The
    app's background jobs run in tasks of their own and are not counted."""
    seen: list[str] = []

    def counting(method: Any) -> Any:
        async def run(self: asyncpg.Connection, query: str, *args: Any, **kwargs: Any) -> Any:
            watched = _WATCHED.get()
            if watched is not None:
                watched.append(query)
            return await method(self, query, *args, **kwargs)

        return run

    watching = _WATCHED.set(seen)
    try:
        with pytest.MonkeyPatch.context() as patch:
            for name in ("fetch", "fetchrow", "fetchval", "execute", "executemany"):
                method = getattr(asyncpg.Connection, name)
                patch.setattr(asyncpg.Connection, name, counting(method))
            yield seen
    finally:
        _WATCHED.reset(watching)


async def test_the_board_pages_newest_first_with_everything_on_one_screen(
    api: httpx.AsyncClient, token: str
) -> None:
    numbers = [(await an_order(n))[0] for n in range(5)]
    first = await gql(api, BOARD, token, first=2)
    page = first["data"]["orders"]
    assert page["totalCount"] == 5
    assert [edge["node"]["number"] for edge in page["edges"]] == numbers[::-1][:2]
    node = page["edges"][0]["node"]
    assert node["status"] == "PENDING_PAYMENT"
    assert node["customer"] == {"name": "Buyer 4", "phone": "15550000004"}
    assert node["items"][0]["sku"] == "BRD-BAGU"
    assert node["payments"][0]["status"] == "PENDING"
    assert node["receipt"] is None
    rest = await gql(api, BOARD, token, first=10, after=page["pageInfo"]["endCursor"])
    assert [e["node"]["number"] for e in rest["data"]["orders"]["edges"]] == numbers[::-1][2:]
    assert rest["data"]["orders"]["pageInfo"]["hasNextPage"] is False
    only = await gql(api, BOARD, token, first=10, filter={"number": numbers[1]})
    assert [e["node"]["number"] for e in only["data"]["orders"]["edges"]] == [numbers[1]]


async def test_a_page_costs_the_same_statements_whatever_its_size(
    api: httpx.AsyncClient, token: str
) -> None:
    for n in range(12):
        await an_order(n)
    counts = []
    for size in (1, 12):
        with statements() as seen:
            body = await gql(api, BOARD, token, first=size)
        assert len(body["data"]["orders"]["edges"]) == size
        counts.append(len(seen))
    assert counts[0] == counts[1]
    # The count and the page; the token was read at login and is remembered for a while.
    assert 1 < counts[1] <= 3


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"first": 500}, "between 1 and 100"),
        ({"first": 0}, "between 1 and 100"),
        ({"first": 5, "after": "not-a-cursor"}, "not a cursor"),
        ({"first": 5, "filter": {"customerId": "abc"}}, "not a valid id"),
    ],
)
async def test_bad_paging_gets_a_clear_error(
    api: httpx.AsyncClient, token: str, variables: dict[str, Any], message: str
) -> None:
    body = await gql(api, BOARD, token, **variables)
    assert body["data"] is None
    assert message in body["errors"][0]["message"]


async def test_staff_confirm_a_claimed_payment_and_the_receipt_follows(
    api: httpx.AsyncClient, token: str
) -> None:
    number, payment_id = await an_order(1, claimed=True)
    queue = await gql(
        api, "{ payments { totalCount edges { node { id status orderNumber } } } }", token
    )
    assert queue["data"]["payments"]["totalCount"] == 1
    assert [edge["node"] for edge in queue["data"]["payments"]["edges"]] == [
        {"id": str(payment_id), "status": "AWAITING_VERIFICATION", "orderNumber": number}
    ]
    confirm = """mutation($id: ID!) { confirmPayment(id: $id, note: "in the bank") {
      payment { status verifiedBy verificationNote } errors { code message } } }"""
    done = await gql(api, confirm, token, id=str(payment_id))
    payment = done["data"]["confirmPayment"]["payment"]
    assert payment["status"] == "CONFIRMED"
    assert payment["verificationNote"] == "in the bank"
    assert payment["verifiedBy"].startswith("staff:")

    for _ in range(100):
        if await Receipt.count() and await OutboundMessage.count().where(
            OutboundMessage.kind == "document"
        ):
            break
        await asyncio.sleep(0.1)
    detail = await gql(
        api,
        "query($n: Int) { order(number: $n) { status receipt { number } events { type actor } } }",
        token,
        n=number,
    )
    order = detail["data"]["order"]
    assert order["status"] == "PAID"
    assert order["receipt"]["number"].startswith("R-")
    types = [event["type"] for event in order["events"]]
    assert types[:3] == ["OrderPlaced", "PaymentStarted", "PaymentClaimed"]
    assert "PaymentConfirmed" in types
    assert "ReceiptSent" in types

    again = await gql(api, confirm, token, id=str(payment_id))
    assert again["data"]["confirmPayment"]["payment"]["status"] == "CONFIRMED"
    assert await Receipt.count() == 1


async def test_rejecting_needs_a_reason_and_unknown_payments_are_not_found(
    api: httpx.AsyncClient, token: str
) -> None:
    _, payment_id = await an_order(1, claimed=True)
    reject = """mutation($id: ID!, $reason: String!) { rejectPayment(id: $id, reason: $reason) {
      payment { status failureReason } errors { field code } } }"""
    empty = await gql(api, reject, token, id=str(payment_id), reason="  ")
    assert empty["data"]["rejectPayment"] == {
        "payment": None,
        "errors": [{"field": "reason", "code": "INVALID"}],
    }
    missing = await gql(api, reject, token, id="999999", reason="no money")
    assert missing["data"]["rejectPayment"]["errors"][0]["code"] == "NOT_FOUND"
    done = await gql(api, reject, token, id=str(payment_id), reason="no transfer arrived")
    assert done["data"]["rejectPayment"]["payment"] == {
        "status": "FAILED",
        "failureReason": "no transfer arrived",
    }


async def test_without_a_token_orders_and_payments_stay_closed(api: httpx.AsyncClient) -> None:
    number, payment_id = await an_order(1, claimed=True)
    for query in (
        "{ orders(first: 5) { totalCount } }",
        f"{{ order(number: {number}) {{ status }} }}",
        "{ payments { totalCount } }",
        f'mutation {{ confirmPayment(id: "{payment_id}") {{ errors {{ code }} }} }}',
    ):
        body = await gql(api, query)
        assert body["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}, query
    assert await Receipt.count() == 0


async def test_the_review_queue_pages_oldest_first(api: httpx.AsyncClient, token: str) -> None:
    claimed = [(await an_order(n, claimed=True))[1] for n in range(3)]
    page = """query($after: String) { payments(first: 2, after: $after) {
      pageInfo { hasNextPage endCursor } edges { node { id } } } }"""
    first = (await gql(api, page, token))["data"]["payments"]
    rest = (await gql(api, page, token, after=first["pageInfo"]["endCursor"]))["data"]["payments"]
    ids = [int(e["node"]["id"]) for e in first["edges"] + rest["edges"]]
    assert ids == claimed
    assert (first["pageInfo"]["hasNextPage"], rest["pageInfo"]["hasNextPage"]) == (True, False)
