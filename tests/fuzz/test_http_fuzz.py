"""Generated requests against every HTTP endpoint and the whole GraphQL schema: whatever
arrives, the answer is a clear 2xx/4xx, never a 500 or an internal error.

Bounded: a fixed number of examples per operation, no example database, so a run costs
seconds and is the same size every time.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from graphql import build_schema
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis_graphql import mutations, nodes, queries
from litestar.testing import TestClient

from app.graphql.sdl import schema_sdl
from app.main import create_app
from app.resources import Resources
from app.settings import Settings
from app.staff.service import create_staff
from app.staff.tables import Role
from tests.integration.whatsapp.test_webhook import webhook_settings

EXAMPLES = int(os.environ.get("CHATCART_FUZZ_EXAMPLES", "25"))
BOUNDED = hypothesis_settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture
def client(db: Resources, settings: Settings) -> Any:
    with TestClient(create_app(webhook_settings(settings), run_worker=False)) as running:
        yield running


def test_no_http_endpoint_answers_500_to_generated_requests(client: TestClient[Any]) -> None:
    schema = schemathesis.openapi.from_dict(client.get("/schema/openapi.json").json())
    checked = 0
    for found in schema.get_all_operations():
        operation = found.ok()

        @BOUNDED
        @given(case=operation.as_strategy())
        def answers_clearly(case: Any) -> None:
            request = case.as_transport_kwargs(base_url=str(client.base_url))
            request.pop("base_url", None)
            request.pop("cookies", None)  # the API uses none
            response = client.request(**request)
            assert response.status_code < 500, (case.method, case.formatted_path, response.text)

        answers_clearly()
        checked += 1
    assert checked >= 8  # every documented endpoint was exercised


def test_no_generated_graphql_operation_fails_internally(client: TestClient[Any]) -> None:
    token = _staff_token(client)
    sdl = build_schema(schema_sdl())
    # Our own scalars, with well-formed and malformed values alike.
    scalars = {
        "Date": st.one_of(st.dates().map(str), st.text(max_size=12)).map(nodes.String),
        "DateTime": st.one_of(st.datetimes().map(str), st.text(max_size=30)).map(nodes.String),
        "JSON": st.text(max_size=20).map(nodes.String),
    }
    documents = st.one_of(
        queries(sdl, custom_scalars=scalars), mutations(sdl, custom_scalars=scalars)
    )

    @BOUNDED
    @given(document=documents)
    def answers_clearly(document: str) -> None:
        response = client.post(
            "/graphql", json={"query": document}, headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 200, (document, response.text)
        for error in response.json().get("errors") or []:
            assert (error.get("extensions") or {}).get("code") != "INTERNAL", (document, error)

    answers_clearly()


LOGIN = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }"


def _staff_token(client: TestClient[Any]) -> str:
    """An ADMIN's token: generated operations reach the resolvers, not only the guards."""
    email, password = "fuzz@shop.example", "fuzz password 1"
    client.blocking_portal.call(create_staff, email, "Fuzz", Role.ADMIN, password)
    login = client.post("/graphql", json={"query": LOGIN, "variables": {"e": email, "p": password}})
    return str(login.json()["data"]["login"]["token"])
