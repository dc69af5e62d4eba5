"""`/metrics` reports webhook deliveries, the inbound backlog, GraphQL latency and errors."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from taskiq import TaskiqMessage, TaskiqResult

from app.metrics import TASK_RUNS, TaskMetrics
from app.resources import Resources
from app.settings import Settings
from tests.conftest import app_client
from tests.integration.whatsapp.payloads import encode, envelope, signed_headers, text_message
from tests.integration.whatsapp.test_webhook import webhook_settings


@pytest.fixture
async def api(db: Resources, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    # No worker in this process: what arrives stays in the backlog for the test to see.
    async with app_client(webhook_settings(settings)) as client:
        yield client


async def scrape(api: httpx.AsyncClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = await api.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(
    figures: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    return figures.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_webhook_outcomes_and_the_backlog_are_counted(api: httpx.AsyncClient) -> None:
    before = await scrape(api)
    raw = encode(envelope([text_message("wamid.m1"), text_message("wamid.m2", "menu")]))
    assert (
        await api.post("/webhooks/whatsapp", content=raw, headers=signed_headers(raw))
    ).status_code == 200
    forged = await api.post(
        "/webhooks/whatsapp", content=raw, headers={"x-hub-signature-256": "sha256=00"}
    )
    assert forged.status_code == 401
    after = await scrape(api)
    stored = "chatcart_webhook_requests_total"
    assert value(after, stored, outcome="stored") == value(before, stored, outcome="stored") + 1
    assert value(after, stored, outcome="unsigned") == value(before, stored, outcome="unsigned") + 1
    timed = "chatcart_webhook_seconds_count"
    assert value(after, timed, outcome="stored") == value(before, timed, outcome="stored") + 1
    assert value(after, "chatcart_database_up") == 1
    assert value(after, "chatcart_inbound_backlog") == 2
    assert value(after, "chatcart_inbound_oldest_seconds") >= 0


async def test_graphql_latency_and_error_codes_are_counted(api: httpx.AsyncClient) -> None:
    before = await scrape(api)
    refused = await api.post("/graphql", json={"query": "{ me { email } }"})
    assert refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    await api.post("/graphql", json={"query": "mutation { logout { ok } }"})
    after = await scrape(api)
    count = "chatcart_graphql_seconds_count"
    assert value(after, count, operation="query") == value(before, count, operation="query") + 1
    assert (
        value(after, count, operation="mutation") == value(before, count, operation="mutation") + 1
    )
    errors = "chatcart_graphql_errors_total"
    assert (
        value(after, errors, code="UNAUTHENTICATED")
        == value(before, errors, code="UNAUTHENTICATED") + 2
    )
    assert ("chatcart_graphql_subscriptions", ()) in after


async def test_the_queue_is_measured(api: httpx.AsyncClient) -> None:
    raw = encode(envelope([text_message("wamid.q1")]))
    await api.post("/webhooks/whatsapp", content=raw, headers=signed_headers(raw))
    figures = await scrape(api)
    assert value(figures, "chatcart_queue_depth") >= 1  # the task that will handle it


def test_task_runs_are_counted_and_timed() -> None:
    message = TaskiqMessage(task_id="1", task_name="process_inbox", labels={}, args=[], kwargs={})
    ok = TaskiqResult(is_err=False, return_value=None, execution_time=0.2)
    failed = TaskiqResult(is_err=True, return_value=None, execution_time=0.1)
    runs = TASK_RUNS.labels("process_inbox", "ok")._value.get()
    errors = TASK_RUNS.labels("process_inbox", "error")._value.get()
    TaskMetrics().post_execute(message, ok)
    TaskMetrics().post_execute(message, failed)
    assert TASK_RUNS.labels("process_inbox", "ok")._value.get() == runs + 1
    assert TASK_RUNS.labels("process_inbox", "error")._value.get() == errors + 1
