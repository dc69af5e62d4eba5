"""Prometheus metrics at ``/metrics``: what an operator watches and alerts on.

Counters and histograms are kept by each process. With ``PROMETHEUS_MULTIPROC_DIR`` set
(several web workers), prometheus-client keeps them in files in that folder and
``/metrics`` adds up every process's figures. Figures that live in the database (the
inbound backlog and its age, outbound messages by status, orders by status) are read when
``/metrics`` is scraped, so every instance reports the same, current values.

``docs/operations.md`` lists each metric with the alert to set on it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

from litestar import Response, get
from litestar.datastructures import State
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from taskiq import TaskiqMessage, TaskiqMiddleware, TaskiqResult

from app.db.errors import DATABASE_UNAVAILABLE
from app.db.reads import fetch
from app.payments.card import StripeProvider
from app.queue import CONSUMER_GROUP, QUEUE_NAME

# Meta expects a webhook to answer in well under a second (median under 250 ms).
_FAST = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

WEBHOOK_REQUESTS = Counter(
    "chatcart_webhook_requests",
    "WhatsApp webhook deliveries, by outcome (stored, unsigned, malformed, unavailable)",
    ["outcome"],
)
WEBHOOK_SECONDS = Histogram(
    "chatcart_webhook_seconds",
    "Time to answer a WhatsApp webhook delivery, by outcome",
    ["outcome"],
    buckets=_FAST,
)
GRAPHQL_SECONDS = Histogram(
    "chatcart_graphql_seconds",
    "Time to answer a GraphQL query or mutation over HTTP, by operation type",
    ["operation"],
    buckets=_FAST,
)
GRAPHQL_ERRORS = Counter(
    "chatcart_graphql_errors",
    "GraphQL errors returned, by code (INTERNAL is a bug or an outage)",
    ["code"],
)
OUTBOUND_ATTEMPTS = Counter(
    "chatcart_outbound_attempts",
    "Sends to WhatsApp by result (sent, retry, failed, dead) and WhatsApp error code",
    ["result", "code"],
)
TASK_RUNS = Counter(
    "chatcart_task_runs", "Task runs by task and outcome (ok, error)", ["task", "outcome"]
)
TASK_SECONDS = Histogram(
    "chatcart_task_seconds",
    "Task run time by task",
    ["task"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
)
ORDER_EVENTS = Counter(
    "chatcart_order_events",
    "Order and payment changes by event type (OrderPlaced, PaymentConfirmed, …)",
    ["type"],
)
SUBSCRIPTIONS = Gauge(
    "chatcart_graphql_subscriptions",
    "Live GraphQL subscriptions open now",
    multiprocess_mode="livesum",
)


@contextlib.contextmanager
def open_subscription() -> Iterator[None]:
    """Count a live subscription while it is open."""
    SUBSCRIPTIONS.inc()
    try:
        yield
    finally:
        SUBSCRIPTIONS.dec()


_BACKLOG_SQL = """
SELECT count(*) AS n,
       COALESCE(EXTRACT(EPOCH FROM now() - min(received_at)), 0) AS oldest
FROM inbound_message WHERE status = 'pending'
"""
_OUTBOUND_SQL = "SELECT status, count(*) AS n FROM outbound_message GROUP BY status"
_ORDERS_SQL = "SELECT status, count(*) AS n FROM orders GROUP BY status"


class TaskMetrics(TaskiqMiddleware):
    """Counts and times every task a worker runs."""

    def post_execute(self, message: TaskiqMessage, result: TaskiqResult[Any]) -> None:
        outcome = "error" if result.is_err else "ok"
        TASK_RUNS.labels(message.task_name, outcome).inc()
        TASK_SECONDS.labels(message.task_name).observe(result.execution_time)


def serve_metrics(host: str, port: int) -> None:
    """``/metrics`` of a worker or scheduler process, on a port of its own."""
    start_http_server(port, addr=host)


class _Snapshot(Collector):
    """Database figures read for one scrape."""

    def __init__(self, families: list[GaugeMetricFamily]) -> None:
        self.families = families

    def collect(self) -> Any:
        return iter(self.families)


async def _database_figures() -> list[GaugeMetricFamily]:
    backlog = GaugeMetricFamily(
        "chatcart_inbound_backlog", "Inbound WhatsApp messages stored but not yet handled"
    )
    oldest = GaugeMetricFamily(
        "chatcart_inbound_oldest_seconds", "Age of the oldest inbound message not yet handled"
    )
    outbound = GaugeMetricFamily(
        "chatcart_outbound_messages", "Outbound WhatsApp messages by status", labels=["status"]
    )
    orders = GaugeMetricFamily("chatcart_orders", "Orders by status", labels=["status"])
    up = GaugeMetricFamily("chatcart_database_up", "1 when /metrics could read the database")
    try:
        pending = (await fetch(_BACKLOG_SQL))[0]
        by_status = await fetch(_OUTBOUND_SQL)
        by_order_status = await fetch(_ORDERS_SQL)
    except DATABASE_UNAVAILABLE:
        up.add_metric([], 0)
        return [up]
    up.add_metric([], 1)
    backlog.add_metric([], int(pending["n"]))
    oldest.add_metric([], float(pending["oldest"]))
    for row in by_status:
        outbound.add_metric([row["status"]], int(row["n"]))
    for row in by_order_status:
        orders.add_metric([row["status"]], int(row["n"]))
    return [up, backlog, oldest, outbound, orders]


def _process_figures() -> bytes:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return bytes(generate_latest(registry))
    return bytes(generate_latest(REGISTRY))


async def _queue_figures(state: State) -> list[GaugeMetricFamily]:
    depth = GaugeMetricFamily("chatcart_queue_depth", "Task messages in the queue's stream")
    waiting = GaugeMetricFamily(
        "chatcart_queue_unacknowledged", "Task messages handed to a worker and not yet done"
    )
    circuit = GaugeMetricFamily(
        "chatcart_payment_circuit_open",
        "1 while the card gateway's circuit breaker is open (manual payments only)",
        labels=["gateway"],
    )
    redis = state.resources.redis
    figures = [depth, circuit]
    try:
        depth.add_metric([], int(await redis.xlen(QUEUE_NAME)))
        card = state.runtime.payment_methods.card
        if isinstance(card, StripeProvider):
            breaker = await card.guard.state()
            circuit.add_metric([card.name], 1 if breaker.get("state") == "opened" else 0)
    except Exception:  # Redis is down: /health/ready says so
        return []
    try:
        pending = await redis.xpending(QUEUE_NAME, CONSUMER_GROUP)
    except Exception:  # no worker has created the consumer group yet
        return figures
    waiting.add_metric([], int(pending.get("pending", 0)))
    return [*figures, waiting]


@get("/metrics", include_in_schema=False, media_type=CONTENT_TYPE_LATEST)
async def metrics(state: State) -> Response[bytes]:
    snapshot = CollectorRegistry()
    figures = await _database_figures() + await _queue_figures(state)
    snapshot.register(_Snapshot(figures))
    body = _process_figures() + bytes(generate_latest(snapshot))
    return Response(body, media_type=CONTENT_TYPE_LATEST)
