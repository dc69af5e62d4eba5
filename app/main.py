"""The composition root: build the Litestar app and wire its resources."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import structlog
from litestar import Litestar

from app.graphql.endpoint import graphql_controller
from app.logs import configure_logging
from app.resources import open_resources
from app.settings import Settings, get_settings
from app.web.errors import EXCEPTION_HANDLERS
from app.web.health import live, ready
from app.web.request_id import request_id_middleware

log = structlog.get_logger(__name__)


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or get_settings()
    configure_logging(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        async with open_resources(settings) as resources:
            app.state.resources = resources
            log.info(
                "web ready",
                mode=settings.chatcart_services,
                shop=settings.shop_name,
            )
            yield

    app = Litestar(
        route_handlers=[live, ready, graphql_controller(settings)],
        lifespan=[lifespan],
        exception_handlers=EXCEPTION_HANDLERS,
        debug=False,
        logging_config=None,
    )
    # Outermost, so 404s and 405s raised by the router carry a request id too.
    app.asgi_handler = request_id_middleware(app.asgi_handler)
    return app
