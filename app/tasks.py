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

from app.conversation.store import forget_idle_sessions
from app.ordering.tables import Order
from app.payments.expiry import expire_due, send_reminders
from app.payments.methods import stop_superseded
from app.receipts import service as receipts
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
PAYMENT_CLOCK_SECONDS = 15
# Retries due sooner than this are waited for by the delivering task itself.
SHORT_RETRY = timedelta(seconds=5)


@dataclass(frozen=True)
class Tasks:
    process_inbox: AsyncTaskiqDecoratedTask[Any, Any]
    deliver_outbound: AsyncTaskiqDecoratedTask[Any, Any]
    sweep: AsyncTaskiqDecoratedTask[Any, Any]
    settle_payment: AsyncTaskiqDecoratedTask[Any, Any]
    payment_clock: AsyncTaskiqDecoratedTask[Any, Any]


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
        # Send the replies now, in this task: a second task would only add a trip
        # through the queue to every answer.
        await _deliver(runtime, customer_id)


async def deliver_outbound(customer_id: int, context: Annotated[Context, TaskiqDepends()]) -> None:
    await _deliver(_runtime(context), customer_id)


async def _deliver(runtime: Runtime, customer_id: int) -> None:
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


async def settle_payment(payment_id: int, context: Annotated[Context, TaskiqDepends()]) -> None:
    """Issue and send the receipt of a confirmed payment (once, however often it runs)."""
    runtime = _runtime(context)
    receipt = await receipts.settle(payment_id, runtime.resources.settings)
    if receipt is not None:
        await _deliver_for_order(runtime, receipt.order_id)
        await stop_superseded(receipt.order_id, runtime.payment_methods)


async def payment_clock(context: Annotated[Context, TaskiqDepends()]) -> None:
    """Remind customers of unpaid orders, then expire the ones past their deadline."""
    runtime = _runtime(context)
    settings = runtime.resources.settings
    now = datetime.now(UTC)
    notices = runtime.notices
    reminded = await send_reminders(
        notices, lead=timedelta(minutes=settings.payment_reminder_minutes), now=now
    )
    expired = await expire_due(runtime.payment_methods, notices, now=now)
    if reminded or expired:
        log.info("payment clock", reminded=reminded, expired=expired)
        # Their messages were queued with the change; deliver them now, not at the sweep.
        for customer_id in await customers_with_due_messages(datetime.now(UTC)):
            await runtime.tasks.deliver_outbound.kiq(customer_id)


async def requeue_waiting_work(tasks: Tasks) -> None:
    """Enqueue every customer with a pending inbound or a due outbound message, whatever
    their age: run when a worker attaches to the queue, which may have lost its tasks
    (Redis restarted without its data) while the messages waited in PostgreSQL. Tasks
    for work already under way find nothing to do."""
    now = datetime.now(UTC)
    waiting = await customers_with_stale_messages(now, older_than=timedelta(0))
    due = await customers_with_due_messages(now)
    for customer_id in waiting:
        await tasks.process_inbox.kiq(customer_id)
    for customer_id in due:
        await tasks.deliver_outbound.kiq(customer_id)
    if waiting or due:
        log.info("re-enqueued waiting work", inbox=len(waiting), outbox=len(due))


async def sweep(context: Annotated[Context, TaskiqDepends()]) -> None:
    """Re-enqueue stalled work: inbound messages pending > 60 s, outbound messages due,
    confirmed payments whose receipt was not issued or sent; and forget sessions idle
    for months."""
    runtime = _runtime(context)
    now = datetime.now(UTC)
    forgotten = await forget_idle_sessions()
    stale = await customers_with_stale_messages(now)
    due = await customers_with_due_messages(now)
    unsettled = await receipts.unsettled()
    for customer_id in stale:
        await runtime.tasks.process_inbox.kiq(customer_id)
    for customer_id in due:
        await runtime.tasks.deliver_outbound.kiq(customer_id)
    for payment_id in unsettled:
        await runtime.tasks.settle_payment.kiq(payment_id)
    if stale or due or unsettled or forgotten:
        log.info(
            "sweep",
            inbox=len(stale),
            outbox=len(due),
            receipts=len(unsettled),
            sessions_forgotten=forgotten,
        )


async def _deliver_for_order(runtime: Runtime, order_id: int) -> None:
    order = await Order.select(Order.customer).where(Order.id == order_id).first()
    if order is not None:
        await runtime.tasks.deliver_outbound.kiq(order["customer"])


def register_tasks(broker: AsyncBroker) -> Tasks:
    return Tasks(
        process_inbox=broker.register_task(process_inbox, task_name="process_inbox"),
        deliver_outbound=broker.register_task(deliver_outbound, task_name="deliver_outbound"),
        sweep=broker.register_task(
            sweep,
            task_name="sweep",
            schedule=[{"interval": SWEEP_INTERVAL_SECONDS, "schedule_id": "sweep"}],
        ),
        settle_payment=broker.register_task(settle_payment, task_name="settle_payment"),
        payment_clock=broker.register_task(
            payment_clock,
            task_name="payment_clock",
            schedule=[{"interval": PAYMENT_CLOCK_SECONDS, "schedule_id": "payment_clock"}],
        ),
    )
