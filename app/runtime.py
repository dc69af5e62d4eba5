"""What a process needs to run tasks and send messages: broker, tasks, transport, handler."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import structlog
from taskiq import AsyncBroker

from app.metrics import TaskMetrics
from app.payments.card import StripeProvider
from app.payments.gateway import GatewayGuard
from app.payments.methods import PaymentMethods
from app.payments.notices import Notices
from app.payments.providers import STRIPE, ManualProvider
from app.payments.stripe import StripeClient
from app.queue import build_broker
from app.resources import Resources
from app.settings import Settings
from app.tasks import Tasks, register_tasks
from app.whatsapp.processing import GiveUpHandler, MessageHandler, PendingMessage
from app.whatsapp.transport import CloudTransport, SandboxTransport, Transport

log = structlog.get_logger(__name__)

GRAPH_TIMEOUT = httpx.Timeout(10.0, connect=5.0)


@dataclass
class Runtime:
    resources: Resources
    broker: AsyncBroker
    tasks: Tasks
    transport: Transport
    handler: MessageHandler
    payment_methods: PaymentMethods
    give_up: GiveUpHandler | None = None  # told of a message set aside as failed

    @property
    def notices(self) -> Notices:
        return Notices(self.resources.settings)

    async def handle_message(self, message: PendingMessage) -> None:
        await self.handler(message)
        # Blue ticks are a courtesy: a failure here must not make the message fail.
        try:
            await self.transport.mark_read(message.wamid)
        except Exception as exc:
            log.warning("mark as read failed", wamid=message.wamid, error=repr(exc))


def build_transport(settings: Settings, client: httpx.AsyncClient) -> Transport:
    if settings.whatsapp_transport == "sandbox":
        return SandboxTransport()
    assert settings.whatsapp_access_token is not None
    assert settings.whatsapp_phone_number_id is not None
    return CloudTransport(
        client=client,
        base_url=settings.whatsapp_graph_url,
        api_version=settings.whatsapp_api_version,
        phone_number_id=settings.whatsapp_phone_number_id,
        access_token=settings.whatsapp_access_token.get_secret_value(),
    )


def build_payment_methods(
    settings: Settings, resources: Resources, client: httpx.AsyncClient
) -> PaymentMethods:
    """Manual always; Stripe when both its keys are set."""
    if settings.stripe_secret_key is None or not settings.stripe_enabled:
        return PaymentMethods(ManualProvider())
    guard = GatewayGuard(
        resources.redis,
        STRIPE,
        threshold=settings.payment_gateway_failure_threshold,
        reset_after=settings.payment_gateway_reset_seconds,
        timeout=settings.payment_gateway_timeout_seconds,
    )
    stripe = StripeClient(
        client, settings.stripe_secret_key.get_secret_value(), base_url=settings.stripe_api_url
    )
    card = StripeProvider(
        stripe,
        guard,
        webhook_secrets=settings.stripe_webhook_secrets,
        return_url=f"{settings.base_url}/payments/return",
    )
    return PaymentMethods(ManualProvider(), card)


@contextlib.asynccontextmanager
async def open_runtime(
    resources: Resources,
    handler: MessageHandler,
    *,
    payment_methods: PaymentMethods,
    transport: Transport | None = None,
    http_client: httpx.AsyncClient | None = None,
    consume: bool = True,
    on_give_up: GiveUpHandler | None = None,
) -> AsyncIterator[Runtime]:
    """``consume``: this process runs tasks, so the broker declares its consumer group at
    start-up (which needs Redis). A web process that only enqueues does not."""
    client = http_client or httpx.AsyncClient(timeout=GRAPH_TIMEOUT)
    broker = build_broker(resources.settings)
    broker.add_middlewares(TaskMetrics())
    tasks = register_tasks(broker)
    runtime = Runtime(
        resources=resources,
        broker=broker,
        tasks=tasks,
        transport=transport or build_transport(resources.settings, client),
        handler=handler,
        payment_methods=payment_methods,
        give_up=on_give_up,
    )
    broker.state.runtime = runtime
    if consume:
        await broker.startup()
    try:
        yield runtime
    finally:
        await broker.shutdown()
        if http_client is None:
            await client.aclose()
