"""The background tasks. Thin: each receives ids only and calls a use case.

Every task is idempotent: the database row says what is still to do, so a task that
runs twice, or a sweep that re-enqueues work a lost task message left behind, changes
nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any

import structlog
from taskiq import AsyncBroker, AsyncTaskiqDecoratedTask, Context, TaskiqDepends

from app.whatsapp.outbound import (
    DeliveryPolicy,
    customers_with_due_messages,
    deliver_customer_queue,
)
from app.whatsapp.processing import customers_with_stale_messages, drain_inbox

if TYPE_CHECKING:
    from app.runtime import Runtime

log = structlog.get_logger(__name__)

SWEEP_INTERVAL_SECONDS = 15
# Retries due sooner than this are waited for by the delivering task itself.
SHORT_RETRY = timedelta(seconds=5)


@dataclass(frozen=True)
class Tasks:
    process_inbox: AsyncTaskiqDecoratedTask[Any, Any]
    deliver_outbound: AsyncTaskiqDecoratedTask[Any, Any]
    sweep: AsyncTaskiqDecoratedTask[Any, Any]


def _runtime(context: Context) -> Runtime:
    return context.state.runtime  # type: ignore[no-any-return]


async def process_inbox(customer_id: int, context: Annotated[Context, TaskiqDepends()]) -> None:
    """Handle the customer's pending messages in order, then send the replies."""
    runtime = _runtime(context)
    report = await drain_inbox(
        customer_id,
        runtime.handle_message,
        lock_pool=runtime.resources.lock_pool,
        on_give_up=runtime.give_up,
    )
    if report.processed or report.failed:
        await runtime.tasks.deliver_outbound.kiq(customer_id)


async def deliver_outbound(customer_id: int, context: Annotated[Context, TaskiqDepends()]) -> None:
    runtime = _runtime(context)
    settings = runtime.resources.settings
    await deliver_customer_queue(
        customer_id,
        transport=runtime.transport,
        policy=DeliveryPolicy(
            max_attempts=settings.outbound_max_attempts,
            template_name=settings.whatsapp_template_name,
            template_language=settings.whatsapp_template_language,
        ),
        lock_pool=runtime.resources.lock_pool,
        max_wait=SHORT_RETRY,
    )


async def sweep(context: Annotated[Context, TaskiqDepends()]) -> None:
    """Re-enqueue stalled work: inbound messages pending > 60 s, outbound messages due."""
    runtime = _runtime(context)
    now = datetime.now(UTC)
    stale = await customers_with_stale_messages(now)
    due = await customers_with_due_messages(now)
    for customer_id in stale:
        await runtime.tasks.process_inbox.kiq(customer_id)
    for customer_id in due:
        await runtime.tasks.deliver_outbound.kiq(customer_id)
    if stale or due:
        log.info("sweep re-enqueued work", inbox=len(stale), outbox=len(due))


def register_tasks(broker: AsyncBroker) -> Tasks:
    return Tasks(
        process_inbox=broker.register_task(process_inbox, task_name="process_inbox"),
        deliver_outbound=broker.register_task(deliver_outbound, task_name="deliver_outbound"),
        sweep=broker.register_task(
            sweep,
            task_name="sweep",
            schedule=[{"interval": SWEEP_INTERVAL_SECONDS, "schedule_id": "sweep"}],
        ),
    )
