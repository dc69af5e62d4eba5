"""Staff log in through GraphQL; roles decide what a token may do; WebSockets authenticate."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from functools import partial
from typing import Any

import httpx
import pytest
from litestar.exceptions import WebSocketDisconnect
from litestar.testing import AsyncTestClient

from app.graphql import context as context_module
from app.graphql import staff as staff_graphql
from app.main import create_app
from app.resources import Resources
from app.settings import Settings
from app.staff import service as staff_service
from app.staff.service import create_staff
from app.staff.tables import Role, StaffToken
from app.staff.throttle import LoginThrottle
from tests.conftest import app_client, make_settings

PASSWORD = "correct horse battery"
LOGIN = """
mutation Login($email: String!, $password: String!) {
  login(email: $email, password: $password) {
    token expiresAt staff { email role } errors { field message code }
  }
}"""


@pytest.fixture
async def api(db: Resources, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(settings) as client:
        yield client


async def gql(
    api: httpx.AsyncClient, query: str, token: str | None = None, **variables: Any
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await api.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


async def log_in(api: httpx.AsyncClient, email: str, password: str = PASSWORD) -> str:
    body = await gql(api, LOGIN, email=email, password=password)
    payload = body["data"]["login"]
    assert payload["errors"] == [], payload
    return str(payload["token"])


async def test_a_staff_member_logs_in_sees_who_they_are_and_logs_out(
    api: httpx.AsyncClient,
) -> None:
    await create_staff("Ada@Shop.example", "Ada", Role.STAFF, PASSWORD)
    body = await gql(api, LOGIN, email="ada@shop.example", password=PASSWORD)
    payload = body["data"]["login"]
    assert payload["staff"] == {"email": "ada@shop.example", "role": "STAFF"}
    token = payload["token"]
    stored = await StaffToken.select(StaffToken.token_hash).first()
    assert stored is not None
    assert token not in stored["token_hash"]  # only a digest is kept

    me = await gql(api, "{ me { email name role } shop { name } }", token)
    assert me["data"] == {
        "me": {"email": "ada@shop.example", "name": "Ada", "role": "STAFF"},
        "shop": {"name": "Test Shop"},
    }
    out = await gql(api, "mutation { logout { ok } }", token)
    assert out["data"] == {"logout": {"ok": True}}
    after = await gql(api, "{ me { email } }", token)
    assert after["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}


@pytest.mark.parametrize(
    ("email", "password"),
    [("ada@shop.example", "wrong password!"), ("nobody@shop.example", PASSWORD), ("x", "y")],
)
async def test_wrong_credentials_get_one_vague_error(
    api: httpx.AsyncClient, email: str, password: str
) -> None:
    await create_staff("ada@shop.example", "Ada", Role.STAFF, PASSWORD)
    body = await gql(api, LOGIN, email=email, password=password)
    assert body["data"]["login"]["token"] is None
    assert body["data"]["login"]["errors"] == [
        {"field": "password", "message": "Wrong email or password.", "code": "UNAUTHENTICATED"}
    ]
    assert await StaffToken.count() == 0


async def test_failed_logins_are_limited_per_email(api: httpx.AsyncClient) -> None:
    await create_staff("ada@shop.example", "Ada", Role.STAFF, PASSWORD)
    for _ in range(5):
        await gql(api, LOGIN, email="ada@shop.example", password="not the password")
    body = await gql(api, LOGIN, email="ada@shop.example", password=PASSWORD)
    assert body["data"]["login"]["errors"][0]["code"] == "RATE_LIMITED"
    assert await StaffToken.count() == 0


async def test_staff_cannot_do_admin_things_and_admins_can(api: httpx.AsyncClient) -> None:
    await create_staff("boss@shop.example", "Boss", Role.ADMIN, PASSWORD)
    await create_staff("ada@shop.example", "Ada", Role.STAFF, PASSWORD)
    staff = await log_in(api, "ada@shop.example")
    admin = await log_in(api, "boss@shop.example")
    create = """mutation($input: CreateStaffInput!) {
      createStaff(input: $input) { staff { email role } errors { field code } } }"""
    new = {"email": "bo@shop.example", "name": "Bo", "role": "STAFF", "password": PASSWORD}

    refused = await gql(api, create, staff, input=new)
    assert refused["errors"][0]["extensions"] == {"code": "FORBIDDEN"}
    listed = await gql(api, "{ staffMembers { email } }", staff)
    assert listed["errors"][0]["extensions"] == {"code": "FORBIDDEN"}

    made = await gql(api, create, admin, input=new)
    assert made["data"]["createStaff"] == {
        "staff": {"email": "bo@shop.example", "role": "STAFF"},
        "errors": [],
    }
    again = await gql(api, create, admin, input=new)
    assert again["data"]["createStaff"]["errors"] == [{"field": "email", "code": "DUPLICATE"}]


async def test_a_deactivated_account_loses_its_sessions(api: httpx.AsyncClient) -> None:
    await create_staff("boss@shop.example", "Boss", Role.ADMIN, PASSWORD)
    ada = await create_staff("ada@shop.example", "Ada", Role.STAFF, PASSWORD)
    staff = await log_in(api, "ada@shop.example")
    admin = await log_in(api, "boss@shop.example")
    closed = await gql(
        api,
        "mutation($id: ID!) { deactivateStaff(id: $id) { staff { active } } }",
        admin,
        id=str(ada.id),
    )
    assert closed["data"]["deactivateStaff"]["staff"] == {"active": False}
    gone = await gql(api, "{ me { email } }", staff)
    assert gone["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}
    body = await gql(api, LOGIN, email="ada@shop.example", password=PASSWORD)
    assert body["data"]["login"]["errors"][0]["code"] == "UNAUTHENTICATED"


async def test_without_a_token_only_login_answers(api: httpx.AsyncClient) -> None:
    for query in ("{ me { email } }", "{ shop { name } }", "{ staffMembers { email } }"):
        body = await gql(api, query)
        assert body["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}, query
    forged = await gql(api, "{ me { email } }", "not-a-token")
    assert forged["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}


async def test_websockets_must_authenticate_in_connection_init(
    db: Resources, settings: Settings
) -> None:
    await create_staff("ada@shop.example", "Ada", Role.STAFF, PASSWORD)
    async with AsyncTestClient(app=create_app(settings)) as client:
        response = await client.post(
            "/graphql",
            json={"query": LOGIN, "variables": {"email": "ada@shop.example", "password": PASSWORD}},
        )
        token = response.json()["data"]["login"]["token"]
        for params in ({}, {"authorization": "Bearer nope"}):
            with await client.websocket_connect(
                "/graphql", subprotocols=["graphql-transport-ws"]
            ) as ws:
                ws.send_json({"type": "connection_init", "payload": params})
                with pytest.raises(WebSocketDisconnect) as closed:
                    ws.receive_json()
                assert closed.value.code == 4403
        with await client.websocket_connect(
            "/graphql", subprotocols=["graphql-transport-ws"]
        ) as ws:
            ws.send_json(
                {"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}
            )
            ack = ws.receive_json()
            assert ack["type"] == "connection_ack"
            assert ack["payload"]["staff"]["role"] == "STAFF"


async def test_a_websocket_that_never_initialises_is_closed(
    db: Resources, settings: Settings
) -> None:
    async with AsyncTestClient(app=create_app(settings)) as client:
        with await client.websocket_connect(
            "/graphql", subprotocols=["graphql-transport-ws"]
        ) as ws:
            with pytest.raises(WebSocketDisconnect) as closed:
                ws.receive_json()  # nothing sent: the server gives up after 3 s
            assert closed.value.code == 4408


async def test_an_open_websocket_loses_its_rights_when_the_account_is_deactivated(
    db: Resources, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(context_module, "RECHECK_SECONDS", 0.0)
    await create_staff("ada@shop.example", "Ada", Role.STAFF, PASSWORD)
    async with AsyncTestClient(app=create_app(settings)) as client:
        variables = {"email": "ada@shop.example", "password": PASSWORD}
        response = await client.post("/graphql", json={"query": LOGIN, "variables": variables})
        token = response.json()["data"]["login"]["token"]
        with await client.websocket_connect(
            "/graphql", subprotocols=["graphql-transport-ws"]
        ) as ws:
            init = {"authorization": f"Bearer {token}"}
            ws.send_json({"type": "connection_init", "payload": init})
            assert ws.receive_json()["type"] == "connection_ack"
            me = {"query": "{ me { email } }"}
            ws.send_json({"id": "1", "type": "subscribe", "payload": me})
            assert ws.receive_json()["payload"]["data"] == {"me": {"email": "ada@shop.example"}}
            ws.receive_json()  # complete
            out = await client.post(
                "/graphql",
                json={"query": "mutation { logout { ok } }"},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert out.json()["data"] == {"logout": {"ok": True}}
            ws.send_json({"id": "2", "type": "subscribe", "payload": me})
            refused = ws.receive_json()
            assert refused["type"] == "next", refused
            assert refused["payload"]["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}


async def test_a_token_revoked_elsewhere_stops_working_within_the_remember_time(
    api: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process trusts what it read about a token for a few seconds; a revocation made by
    another instance (here: straight in the database) takes effect when that runs out."""
    monkeypatch.setattr(staff_service, "REMEMBER_SECONDS", 0.3)
    await create_staff("rem@shop.example", "Rem", Role.STAFF, PASSWORD)
    token = await log_in(api, "rem@shop.example")
    me = "{ me { email } }"
    assert (await gql(api, me, token))["data"]["me"] == {"email": "rem@shop.example"}
    await StaffToken.update({StaffToken.revoked_at: datetime.now(UTC)}).where(
        StaffToken.revoked_at.is_null()
    )
    assert (await gql(api, me, token))["data"]["me"] is not None  # still remembered
    await asyncio.sleep(0.4)
    refused = await gql(api, me, token)
    assert refused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_a_logout_takes_effect_at_once_in_the_same_process(api: httpx.AsyncClient) -> None:
    await create_staff("out@shop.example", "Out", Role.STAFF, PASSWORD)
    token = await log_in(api, "out@shop.example")
    assert "errors" not in await gql(api, "{ me { email } }", token)
    assert (await gql(api, "mutation { logout { ok } }", token))["data"]["logout"]["ok"] is True
    refused = await gql(api, "{ me { email } }", token)
    assert refused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_behind_a_trusted_proxy_logins_are_limited_per_forwarded_client(
    db: Resources, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Behind a load balancer every request comes from one address; the limit must count
    the clients the balancer names, or one noisy client would lock everybody out."""
    monkeypatch.setattr(staff_graphql, "LoginThrottle", partial(LoginThrottle, per_address=2))
    proxied = make_settings(
        settings.database_url or "", settings.redis_url or "", trusted_proxies="127.0.0.0/8"
    )

    async def attempt(api: httpx.AsyncClient, client: str) -> str | None:
        response = await api.post(
            "/graphql",
            json={"query": LOGIN, "variables": {"email": "x@shop.example", "password": "wrong"}},
            headers={"x-forwarded-for": client},
        )
        return response.json()["data"]["login"]["errors"][0]["code"]

    async with app_client(proxied) as api:
        assert [await attempt(api, "198.51.100.1") for _ in range(3)] == [
            "UNAUTHENTICATED",
            "UNAUTHENTICATED",
            "RATE_LIMITED",
        ]
        assert await attempt(api, "198.51.100.2") == "UNAUTHENTICATED"
        # A client cannot pick its own address: the left entry is not believed.
        assert await attempt(api, "198.51.100.9, 198.51.100.1") == "RATE_LIMITED"
