"""Mount the schema at ``/graphql`` on Litestar: POST, GET (queries) and WebSocket.

POST is ``app.graphql.http`` (the hot path, without strawberry's generic view). GET, the
optional GraphiQL page and the WebSocket (graphql-transport-ws) are strawberry's
controller. A WebSocket must authenticate in ``connection_init``
(``{"authorization": "Bearer …"}``) within a few seconds; a missing, invalid or expired
token closes it with 4403.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, ClassVar

import orjson
from litestar import Response
from litestar.background_tasks import BackgroundTasks
from litestar.datastructures import State
from litestar.di import Provide
from litestar.types import ControllerRouterHandler, Dependencies
from strawberry.exceptions import ConnectionRejectionError
from strawberry.litestar import make_graphql_controller
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.unset import UnsetType

from app.graphql.context import Context
from app.graphql.http import context_for, encode, graphql_post
from app.graphql.schema import schema
from app.settings import Settings

CONNECTION_INIT_TIMEOUT = timedelta(seconds=3)
MAX_SUBSCRIPTIONS_PER_SOCKET = 20


async def _context(state: State) -> Context:
    return context_for(state)


def _response() -> Response[Any]:
    # Strawberry's own getter runs in a worker thread; this is cheap enough for the loop.
    return Response({}, background=BackgroundTasks([]))


def graphql_handlers(settings: Settings) -> list[ControllerRouterHandler]:
    base = make_graphql_controller(
        schema,
        path="/graphql",
        graphql_ide="graphiql" if settings.graphiql else None,
        allow_queries_via_get=True,
        context_getter=_context,
        subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
        connection_init_wait_timeout=CONNECTION_INIT_TIMEOUT,
        # A staff screen needs a handful of live feeds, not strawberry's default 100.
        max_subscriptions_per_connection=MAX_SUBSCRIPTIONS_PER_SOCKET,
    )

    class GraphQLController(base):  # type: ignore[valid-type,misc]
        dependencies: ClassVar[Dependencies] = {
            **base.dependencies,
            "response": Provide(_response, sync_to_thread=False),
        }
        handle_http_post = None  # POST is graphql_post

        def decode_json(self, data: str | bytes) -> object:
            # orjson's decode error is a json.JSONDecodeError, which strawberry answers
            # with 400 (HTTP) or closes the socket for (WebSocket).
            return orjson.loads(data)

        def encode_json(self, data: object) -> bytes:
            return encode(data)

        async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
            staff = await context.staff()
            if staff is None:
                raise ConnectionRejectionError
            return {"staff": {"id": str(staff.id), "role": staff.role.value}}

    return [GraphQLController, graphql_post]
