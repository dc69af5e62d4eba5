"""Mount the schema at ``/graphql`` on Litestar."""

from __future__ import annotations

from typing import Any

from litestar.types import ControllerRouterHandler
from strawberry.litestar import make_graphql_controller

from app.graphql.schema import schema
from app.settings import Settings


def graphql_controller(settings: Settings) -> ControllerRouterHandler:
    async def context() -> dict[str, Any]:
        return {"settings": settings}

    return make_graphql_controller(
        schema,
        path="/graphql",
        graphql_ide="graphiql" if settings.graphiql else None,
        allow_queries_via_get=True,
        context_getter=context,
    )
