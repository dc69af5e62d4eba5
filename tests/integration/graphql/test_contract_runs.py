"""Every operation in frontend-contract/ runs against a seeded shop without a GraphQL error.

Validation against schema.graphql is a unit test; this one executes the documents, so a
resolver that breaks on real data is caught too. Subscriptions are exercised over
WebSocket in test_live.py and the e2e tests; here they are only validated.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import OperationDefinitionNode, OperationType, parse, print_ast

from app.catalog.seed import seed_demo_catalog
from app.catalog.service import get_product_by_sku
from app.customers.tables import Customer
from app.payments.tables import Payment
from app.resources import Resources
from app.settings import Settings
from app.staff.service import create_staff
from app.staff.tables import Role
from tests.conftest import app_client
from tests.integration.graphql.test_auth import PASSWORD, gql, log_in
from tests.integration.graphql.test_desk import an_order

ROOT = Path(__file__).resolve().parents[3]
# Last: logging out ends the session the others use.
LAST = ("Logout",)


def operations() -> list[tuple[str, str]]:
    found = []
    for path in sorted((ROOT / "frontend-contract").glob("*.graphql")):
        for definition in parse(path.read_text(encoding="utf-8")).definitions:
            if (
                isinstance(definition, OperationDefinitionNode)
                and definition.name
                and definition.operation is not OperationType.SUBSCRIPTION
            ):
                found.append((definition.name.value, print_ast(definition)))
    return sorted(found, key=lambda op: op[0] in LAST)


@pytest.fixture
async def api(db: Resources, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    await seed_demo_catalog()
    await create_staff("boss@shop.example", "Boss", Role.ADMIN, PASSWORD)
    async with app_client(settings) as client:
        yield client


async def sample_variables(settings: Settings) -> dict[str, dict[str, Any]]:
    paid_id, customer_id = await an_order(1, paid=True, settings=settings)
    unpaid_id, _ = await an_order(2, paid=False, settings=settings)
    claimed = await Payment.select(Payment.id).where(Payment.order == paid_id).first()
    assert claimed is not None
    product = await get_product_by_sku("BRD-SOUR")
    await Customer.update({Customer.handover_since: Customer.last_inbound_at}).where(
        Customer.id == customer_id
    )
    return {
        "Login": {"email": "boss@shop.example", "password": PASSWORD},
        "OrderDetail": {"number": 1001},
        "ConfirmPayment": {"id": str(claimed["id"])},
        "RejectPayment": {"id": str(claimed["id"]), "reason": "test"},
        "UpdateProduct": {"id": str(product.id), "version": product.version, "input": {}},
        "AdjustStock": {"id": str(product.id), "delta": 1, "reason": "delivery"},
        "SetAvailability": {"id": str(product.id), "available": True},
        "UpdateOrderStatus": {"id": str(paid_id), "status": "PREPARING"},
        "CancelOrder": {"id": str(unpaid_id), "reason": "test"},
        "ResendReceipt": {"orderId": str(paid_id)},
        "RetryOutbound": {"id": "1"},
        "ReplyToCustomer": {"customerId": str(customer_id), "text": "Hello"},
        "EndHandover": {"customerId": str(customer_id)},
        "SalesReport": {"from": "2026-01-01", "to": "2026-12-31"},
    }


async def test_every_contract_operation_runs(api: httpx.AsyncClient, settings: Settings) -> None:
    token = await log_in(api, "boss@shop.example")
    variables = await sample_variables(settings)
    ran = []
    for name, document in operations():
        body = await gql(api, document, token, **variables.get(name, {}))
        assert "errors" not in body, (name, body)
        ran.append(name)
    assert "OrdersBoard" in ran
    assert ran[-1] == "Logout"
