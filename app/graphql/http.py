"""``POST /graphql``: one JSON operation in, one JSON result out, with nothing in between.

Strawberry's generic view also serves GET, GraphiQL, uploads, batches and streamed
subscriptions, and resolves five dependencies per request to do it. The admin API's
POSTs need none of that, and every staff screen polls through here, so this handler
reads the body, runs the operation and writes the result directly. GET and the
WebSocket stay on strawberry's controller (``app.graphql.endpoint``).

Bad requests get the same answers strawberry gives: 400 for a body that is not one JSON
operation, 413 (Litestar) for a body over the size limit, 415 for another content type.
"""

from __future__ import annotations

import json
import time
from typing import Any

import orjson
from litestar import Request, Response, post
from litestar.datastructures import State
from litestar.enums import MediaType
from litestar.status_codes import (
    HTTP_200_OK,
    HTTP_400_BAD_REQUEST,
    HTTP_415_UNSUPPORTED_MEDIA_TYPE,
)
from strawberry.http import process_result
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types.graphql import OperationType

from app.graphql.context import Context
from app.graphql.guards import MAX_BODY_BYTES, operation_type
from app.graphql.schema import schema
from app.metrics import GRAPHQL_ERRORS, GRAPHQL_SECONDS

OVER_POST = frozenset({OperationType.QUERY, OperationType.MUTATION})


def context_for(state: State, request: Request[Any, Any, Any] | None = None) -> Context:
    return Context(
        settings=state.settings,
        resources=state.resources,
        runtime=state.runtime,
        channels=state.get("channels"),
        shared_reads=state.get("shared_reads"),
        request=request,
    )


def _observe(query: str, name: str | None, errors: list[Any] | None, seconds: float) -> None:
    GRAPHQL_SECONDS.labels(operation_type(query, name)).observe(seconds)
    for error in errors or ():
        code = (error.extensions or {}).get("code", "GRAPHQL")
        GRAPHQL_ERRORS.labels(str(code)).inc()


def _refuse(status: int, reason: str) -> Response[str]:
    return Response(reason, status_code=status, media_type=MediaType.TEXT)


def encode(data: object) -> bytes:
    try:
        return orjson.dumps(data)
    except TypeError:  # an integer beyond 64 bits inside a JSON value
        return json.dumps(data, separators=(",", ":")).encode()


@post(
    "/graphql",
    status_code=HTTP_200_OK,
    request_max_body_size=MAX_BODY_BYTES,
    include_in_schema=False,
)
async def graphql_post(request: Request[Any, Any, Any], state: State) -> Response[Any]:
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        return _refuse(HTTP_415_UNSUPPORTED_MEDIA_TYPE, "Send the operation as application/json.")
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        return _refuse(HTTP_400_BAD_REQUEST, "Unable to parse request body as JSON")
    if isinstance(body, list):
        return _refuse(HTTP_400_BAD_REQUEST, "Batching is not enabled")
    if not isinstance(body, dict):
        return _refuse(HTTP_400_BAD_REQUEST, "Send one operation as a JSON object.")
    query, variables = body.get("query"), body.get("variables")
    operation_name, extensions = body.get("operationName"), body.get("extensions")
    if not isinstance(query, str) or not query:
        return _refuse(HTTP_400_BAD_REQUEST, "No GraphQL query found in the request")
    if not isinstance(variables, dict | None):
        return _refuse(
            HTTP_400_BAD_REQUEST,
            "The GraphQL operation's `variables` must be an object or null, if provided.",
        )
    if not isinstance(operation_name, str | None) or not isinstance(extensions, dict | None):
        return _refuse(
            HTTP_400_BAD_REQUEST,
            "`operationName` must be a string and `extensions` an object, if provided.",
        )
    started = time.perf_counter()
    try:
        result = await schema.execute(
            query,
            variable_values=variables,
            context_value=context_for(state, request),
            operation_name=operation_name,
            allowed_operation_types=OVER_POST,
            operation_extensions=extensions,
        )
    except CannotGetOperationTypeError as error:
        return _refuse(HTTP_400_BAD_REQUEST, error.as_http_error_reason())
    except InvalidOperationTypeError as error:
        return _refuse(HTTP_400_BAD_REQUEST, error.as_http_error_reason("POST"))
    _observe(query, operation_name, result.errors, time.perf_counter() - started)
    return Response(
        encode(process_result(result)), status_code=HTTP_200_OK, media_type=MediaType.JSON
    )
