"""Guard rails on every GraphQL operation: size, depth, width, and masked internal errors.

Limits are generous for the admin frontend's own documents (frontend-contract/) and stop
queries built to exhaust the server. An unexpected exception is logged with an error id
and the client sees only that id; expected failures (bad input, permissions, domain
errors) keep their message.
"""

from __future__ import annotations

import uuid
from typing import Any

import structlog
from graphql import GraphQLError
from strawberry.extensions import (
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)

from app.errors import DomainError

log = structlog.get_logger(__name__)

MAX_DEPTH = 10
MAX_TOKENS = 3000
MAX_ALIASES = 20
MAX_BODY_BYTES = 256 * 1024


def _expected(error: GraphQLError) -> bool:
    original = error.original_error
    return original is None or isinstance(original, GraphQLError | DomainError)


class MaskInternalErrors(MaskErrors):
    def __init__(self) -> None:
        super().__init__(should_mask_error=lambda error: not _expected(error))

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        error_id = uuid.uuid4().hex[:12]
        log.error(
            "graphql resolver failed",
            error_id=error_id,
            path=error.path,
            exc_info=error.original_error,
        )
        return GraphQLError(
            message=f"Something went wrong on our side (error id {error_id}).",
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            extensions={"code": "INTERNAL", "errorId": error_id},
        )


class DomainErrorCodes(SchemaExtension):
    """A domain error raised by a query keeps its message and gets its code."""

    def on_operation(self) -> Any:
        yield
        result = self.execution_context.result
        for error in getattr(result, "errors", None) or []:
            original = error.original_error
            if isinstance(original, DomainError) and not error.extensions:
                error.extensions = {"code": original.code.value}


# Classes or factories: strawberry builds a fresh extension for every operation.
EXTENSIONS: list[Any] = [
    lambda: ParserCache(maxsize=256),
    lambda: ValidationCache(maxsize=256),
    lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
    lambda: QueryDepthLimiter(max_depth=MAX_DEPTH),
    lambda: MaxAliasesLimiter(max_alias_count=MAX_ALIASES),
    DomainErrorCodes,
    MaskInternalErrors,
]
