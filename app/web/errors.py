"""The one mapping from exceptions to HTTP responses."""

from __future__ import annotations

from typing import Any

import structlog
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException
from litestar.types import ExceptionHandlersMap

from app.errors import DomainError

log = structlog.get_logger(__name__)


def domain_error(_: Request[Any, Any, Any], exc: DomainError) -> Response[object]:
    return Response(
        {"error": exc.as_dict()}, status_code=exc.http_status, media_type=MediaType.JSON
    )


def http_error(_: Request[Any, Any, Any], exc: HTTPException) -> Response[object]:
    body: dict[str, object] = {"code": _code_for(exc.status_code), "message": exc.detail}
    if exc.extra:
        body["detail"] = exc.extra
    return Response(
        {"error": body},
        status_code=exc.status_code,
        media_type=MediaType.JSON,
        headers=exc.headers,
    )


def unexpected_error(request: Request[Any, Any, Any], exc: Exception) -> Response[object]:
    log.exception("unhandled error", path=request.url.path, method=request.method)
    return Response(
        {"error": {"code": "INTERNAL", "message": "Something went wrong on our side."}},
        status_code=500,
        media_type=MediaType.JSON,
    )


def _code_for(status: int) -> str:
    return {
        400: "BAD_REQUEST",
        401: "UNAUTHORIZED",
        403: "FORBIDDEN",
        404: "NOT_FOUND",
        405: "METHOD_NOT_ALLOWED",
        413: "PAYLOAD_TOO_LARGE",
        429: "RATE_LIMITED",
        503: "UNAVAILABLE",
    }.get(status, "ERROR")


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    DomainError: domain_error,
    HTTPException: http_error,
    Exception: unexpected_error,
}
