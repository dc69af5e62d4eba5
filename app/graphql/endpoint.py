"""Mount the schema at ``/graphql`` on Litestar: HTTP, and WebSocket (graphql-transport-ws).

A WebSocket must authenticate in ``connection_init`` (``{"authorization": "Bearer …"}``)
within a few seconds; a missing, invalid or expired token closes it with 4403.
"""

from __future__ import annotations

from datetime import timedelta

from litestar.datastructures import State
from litestar.types import ControllerRouterHandler
from strawberry.exceptions import ConnectionRejectionError
from strawberry.litestar import make_graphql_controller
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.unset import UnsetType

from app.graphql.context import Context
from app.graphql.guards import MAX_BODY_BYTES
from app.graphql.schema import schema
from app.settings import Settings

CONNECTION_INIT_TIMEOUT = timedelta(seconds=3)


async def _context(state: State) -> Context:
    return Context(
        settings=state.settings,
        resources=state.resources,
        runtime=state.runtime,
        channels=state.get("channels"),
        shared_reads=state.get("shared_reads"),
    )


def graphql_controller(settings: Settings) -> ControllerRouterHandler:
    base = make_graphql_controller(
        schema,
        path="/graphql",
        graphql_ide="graphiql" if settings.graphiql else None,
        allow_queries_via_get=True,
        context_getter=_context,
        subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
        connection_init_wait_timeout=CONNECTION_INIT_TIMEOUT,
    )

    class GraphQLController(base):  # type: ignore[valid-type,misc]
        request_max_body_size = MAX_BODY_BYTES

        async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
            staff = await context.staff()
            if staff is None:
                raise ConnectionRejectionError
            return {"staff": {"id": str(staff.id), "role": staff.role.value}}

    return GraphQLController
