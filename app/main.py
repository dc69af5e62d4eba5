"""The composition root: build the Litestar app and wire its resources."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncIterator

import httpx
import redis.asyncio as aioredis
import structlog
from litestar import Litestar
from litestar.channels import ChannelsPlugin
from litestar.channels.backends.redis import RedisChannelsPubSubBackend
from litestar.types import ControllerRouterHandler

from app.conversation.handler import ConversationHandler, session_store
from app.events.relay import relay_in_background
from app.graphql.endpoint import graphql_handlers
from app.graphql.live import SharedReads
from app.logs import configure_logging
from app.metrics import metrics
from app.payments.methods import PaymentMethods
from app.payments.webhook import payment_return, receive_payment_event
from app.queue import in_process_worker
from app.receipts.web import download_receipt
from app.redis_clients import redis_retry
from app.resources import Resources, open_resources
from app.runtime import Runtime, build_payment_methods, open_runtime
from app.settings import Settings, get_settings
from app.tasks import requeue_waiting_work
from app.web.errors import EXCEPTION_HANDLERS
from app.web.going_away import take_stop_signals, track_websockets
from app.web.health import live, ready
from app.web.request_id import request_id_middleware
from app.whatsapp.sandbox_api import sandbox_messages
from app.whatsapp.webhook import receive_updates, verify_subscription

log = structlog.get_logger(__name__)

# Per attempt; the gateway guard retries and bounds the whole call.
GATEWAY_TIMEOUT = httpx.Timeout(30.0, connect=5.0)


def conversation_handler(
    resources: Resources, payment_methods: PaymentMethods | None = None
) -> ConversationHandler:
    return ConversationHandler(
        resources.settings,
        session_store(resources.settings, earlier=resources.redis),
        resources.redis,
        payment_methods,
    )


@contextlib.asynccontextmanager
async def open_worker_runtime(
    resources: Resources, *, consume: bool = True
) -> AsyncIterator[Runtime]:
    """The runtime of a process that handles or enqueues messages."""
    async with httpx.AsyncClient(timeout=GATEWAY_TIMEOUT) as gateway_client:
        methods = build_payment_methods(resources.settings, resources, gateway_client)
        handler = conversation_handler(resources, methods)
        async with open_runtime(
            resources,
            handler,
            payment_methods=methods,
            consume=consume,
            on_give_up=handler.gave_up,
        ) as runtime:
            yield runtime


def _channels(settings: Settings) -> tuple[ChannelsPlugin | None, aioredis.Redis | None]:
    """Live updates fan out through Redis pub/sub, so any web instance serves any screen."""
    if settings.redis_url is None:
        return None, None
    client = aioredis.Redis.from_url(settings.redis_url, retry=redis_retry())
    backend = RedisChannelsPubSubBackend(redis=client)
    return ChannelsPlugin(backend=backend, arbitrary_channels_allowed=True), client


def _database_url(settings: Settings) -> str:
    assert settings.database_url is not None  # resolved before the app starts
    return settings.database_url


def create_app(settings: Settings | None = None, *, run_worker: bool | None = None) -> Litestar:
    """Build the web app. ``run_worker`` runs the task worker and scheduler in this process
    too; by default it does so when chatcart started its embedded servers."""
    settings = settings or get_settings()
    configure_logging(settings)
    in_process = settings.chatcart_services == "embedded" if run_worker is None else run_worker

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        async with (
            open_resources(settings) as resources,
            open_worker_runtime(resources, consume=in_process) as runtime,
        ):
            app.state.resources = resources
            app.state.runtime = runtime
            app.state.settings = settings
            app.state.channels = channels
            app.state.shared_reads = SharedReads()
            worker = (
                in_process_worker(
                    runtime.broker,
                    concurrency=settings.worker_concurrency,
                    on_attach=functools.partial(requeue_waiting_work, runtime.tasks),
                )
                if in_process
                else contextlib.nullcontext()
            )
            relay = relay_in_background(_database_url(settings), resources.redis)
            closing = contextlib.AsyncExitStack()
            if channels_client is not None:
                closing.push_async_callback(channels_client.aclose)
            async with closing, worker, relay:
                log.info(
                    "web ready",
                    mode=settings.chatcart_services,
                    shop=settings.shop_name,
                    worker="in-process" if in_process else "separate",
                    whatsapp=settings.whatsapp_transport,
                )
                yield

    channels, channels_client = _channels(settings)
    handlers: list[ControllerRouterHandler] = [
        live,
        ready,
        verify_subscription,
        receive_updates,
        receive_payment_event,
        payment_return,
        download_receipt,
        metrics,
        *graphql_handlers(settings),
    ]
    if settings.whatsapp_transport == "sandbox":
        handlers.append(sandbox_messages)
    app = Litestar(
        route_handlers=handlers,
        plugins=[channels] if channels is not None else [],
        lifespan=[lifespan],
        exception_handlers=EXCEPTION_HANDLERS,
        debug=False,
        logging_config=None,
    )
    # Outermost, so 404s and 405s raised by the router carry a request id too.
    app.asgi_handler = track_websockets(request_id_middleware(app.asgi_handler))
    take_stop_signals()
    return app
