"""Queries built to exhaust the server are refused before they run; internal errors are masked."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from app.graphql import orders as orders_module
from app.resources import Resources
from app.settings import Settings
from app.staff.service import create_staff
from app.staff.tables import Role
from tests.conftest import app_client, make_settings
from tests.integration.graphql.test_auth import PASSWORD, gql, log_in


@pytest.fixture
async def api(db: Resources, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(settings) as client:
        yield client


@pytest.fixture
async def token(api: httpx.AsyncClient) -> str:
    await create_staff("ada@shop.example", "Ada", Role.STAFF, PASSWORD)
    return await log_in(api, "ada@shop.example")


async def test_too_deep_is_refused(api: httpx.AsyncClient, token: str) -> None:
    board = "{ orders(first: 1) { edges { node { payments { id } customer { id } } } } }"
    assert "errors" not in await gql(api, board, token)
    very = "{ " + "me { " * 12 + "email" + " }" * 12 + " }"
    refused = await gql(api, very, token)
    assert refused["data"] is None
    assert "exceeds maximum operation depth" in refused["errors"][0]["message"]


async def test_too_many_aliases_is_refused(api: httpx.AsyncClient, token: str) -> None:
    query = "{ " + " ".join(f"a{i}: shop {{ name }}" for i in range(30)) + " }"
    body = await gql(api, query, token)
    assert body["data"] is None
    assert "aliases" in body["errors"][0]["message"]


async def test_too_many_tokens_is_refused(api: httpx.AsyncClient, token: str) -> None:
    query = "{ shop { " + "name " * 4000 + "} }"
    body = await gql(api, query, token)
    assert body["data"] is None
    assert "token" in body["errors"][0]["message"].lower()


async def test_an_oversized_body_is_refused(api: httpx.AsyncClient) -> None:
    response = await api.post("/graphql", json={"query": "{ shop { name } }", "x": "y" * 300_000})
    assert response.status_code == 413


async def test_unknown_fields_and_wrong_types_get_clear_errors(
    api: httpx.AsyncClient, token: str
) -> None:
    unknown = await gql(api, "{ shop { nope } }", token)
    assert "Cannot query field 'nope'" in unknown["errors"][0]["message"]
    wrong = await gql(api, "query($n: Int) { order(number: $n) { id } }", token, n="abc")
    assert "Int cannot represent" in wrong["errors"][0]["message"]


async def test_an_internal_error_is_masked_with_an_id(
    api: httpx.AsyncClient, token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*_: object) -> None:
        raise RuntimeError("password=hunter2 leaked in a stack trace")

    monkeypatch.setattr(orders_module, "find_order", broken)
    body = await gql(api, "{ order(number: 1) { id } }", token)
    error = body["errors"][0]
    assert "hunter2" not in str(body)
    assert error["extensions"]["code"] == "INTERNAL"
    assert error["extensions"]["errorId"] in error["message"]


async def test_expensive_reads_are_limited_per_token(db: Resources, settings: Settings) -> None:
    limited = make_settings(
        settings.database_url or "", settings.redis_url or "", graphql_list_rate_per_minute=3
    )
    await create_staff("bo@shop.example", "Bo", Role.STAFF, PASSWORD)
    async with app_client(limited) as api:
        token = await log_in(api, "bo@shop.example")
        await _rate_checks(api, token)


async def _rate_checks(api: httpx.AsyncClient, token: str) -> None:
    answers = [await gql(api, "{ orders(first: 1) { totalCount } }", token) for _ in range(4)]
    assert all("errors" not in body for body in answers[:3])
    assert answers[3]["errors"][0]["extensions"] == {"code": "RATE_LIMITED"}
    # Cheap reads are not counted.
    assert "errors" not in await gql(api, "{ me { email } }", token)


@pytest.mark.parametrize(
    ("body", "content_type", "status", "reason"),
    [
        (b'{"query": ', "application/json", 400, "Unable to parse request body as JSON"),
        (b'[{"query": "{ shop { name } }"}]', "application/json", 400, "Batching is not enabled"),
        (b'"{ shop { name } }"', "application/json", 400, "one operation"),
        (b'{"variables": {}}', "application/json", 400, "No GraphQL query"),
        (b'{"query": "{ shop { name } }", "variables": [1]}', "application/json", 400, "variables"),
        (
            b'{"query": "{ shop { name } }", "operationName": 5}',
            "application/json",
            400,
            "operationName",
        ),
        (
            b"query=%7Bshop%7Bname%7D%7D",
            "application/x-www-form-urlencoded",
            415,
            "application/json",
        ),
        (
            b'{"query": "subscription { orderEvents { id } }"}',
            "application/json",
            400,
            "subscriptions",
        ),
    ],
)
async def test_a_post_that_is_not_one_json_operation_is_refused(
    api: httpx.AsyncClient, token: str, body: bytes, content_type: str, status: int, reason: str
) -> None:
    headers = {"content-type": content_type, "authorization": f"Bearer {token}"}
    response = await api.post("/graphql", content=body, headers=headers)
    assert response.status_code == status, response.text
    assert reason.lower() in response.text.lower()


async def test_queries_also_answer_over_get_but_mutations_do_not(
    api: httpx.AsyncClient, token: str
) -> None:
    headers = {"authorization": f"Bearer {token}"}
    answer = await api.get("/graphql", params={"query": "{ shop { currency } }"}, headers=headers)
    assert answer.status_code == 200
    assert answer.json()["data"]["shop"]["currency"]
    refused = await api.get(
        "/graphql", params={"query": "mutation { logout { ok } }"}, headers=headers
    )
    assert refused.status_code in {400, 405}
    assert "errors" not in await gql(api, "{ me { email } }", token)  # still logged in


async def test_a_post_answers_json_with_the_result(api: httpx.AsyncClient, token: str) -> None:
    response = await api.post(
        "/graphql",
        json={"query": "query Shop { shop { currency } }", "operationName": "Shop"},
        headers={"authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {"data": {"shop": {"currency": "USD"}}}


async def test_several_operations_need_an_operation_name(
    api: httpx.AsyncClient, token: str
) -> None:
    document = "query A { me { email } } query B { shop { name } }"
    unnamed = await gql(api, document, token)
    assert unnamed["data"] is None
    assert "operation name" in unnamed["errors"][0]["message"]
    named = await api.post(
        "/graphql",
        json={"query": document, "operationName": "B"},
        headers={"authorization": f"Bearer {token}"},
    )
    assert set(named.json()["data"]) == {"shop"}


async def test_only_staff_may_read_the_schema_of_a_running_shop(
    api: httpx.AsyncClient, token: str
) -> None:
    introspection = "{ __schema { queryType { name } } }"
    anonymous = await gql(api, introspection)
    assert anonymous["data"] is None
    assert anonymous["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}
    by_type = await gql(api, '{ __type(name: "Order") { name } }')
    assert by_type["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}
    staff = await gql(api, introspection, token)
    assert staff["data"] == {"__schema": {"queryType": {"name": "Query"}}}
    # Login itself still works without a token.
    login = await gql(api, 'mutation { login(email: "x@y.example", password: "p") { token } }')
    assert "data" in login
