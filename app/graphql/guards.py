"""Guard rails on every GraphQL operation: size, depth, width, and masked internal errors.

Limits are generous for the admin frontend's own documents (frontend-contract/) and stop
queries built to exhaust the server. An unexpected exception is logged with an error id
and the client sees only that id; expected failures (bad input, permissions, domain
errors) keep their message.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterator
from typing import Any

import structlog
from graphql import (
    ASTValidationRule,
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    parse,
)
from strawberry.extensions import MaskErrors, MaxAliasesLimiter, QueryDepthLimiter
from strawberry.schema.schema import validate_document

from app.errors import DomainError

log = structlog.get_logger(__name__)

MAX_DEPTH = 10
MAX_TOKENS = 3000
MAX_ALIASES = 20
MAX_BODY_BYTES = 256 * 1024


def _expected(error: GraphQLError) -> bool:
    original = error.original_error
    return original is None or isinstance(original, GraphQLError | DomainError)


# The depth and alias rules are classes made once, so that validation results can be
# cached: rules made afresh for every operation would never hit the cache.
SHAPE_RULES: tuple[type[ASTValidationRule], ...] = (
    *QueryDepthLimiter(max_depth=MAX_DEPTH).validation_rules,
    *MaxAliasesLimiter(max_alias_count=MAX_ALIASES).validation_rules,
)
CACHED_DOCUMENTS = 256


@functools.lru_cache(maxsize=CACHED_DOCUMENTS)
def _parsed(query: str) -> DocumentNode | None:
    """The document, or ``None`` when it does not parse (strawberry then reports why)."""
    try:
        return parse(query, max_tokens=MAX_TOKENS)
    except GraphQLError:
        return None


@functools.lru_cache(maxsize=CACHED_DOCUMENTS)
def _validated(
    schema: GraphQLSchema, query: str, rules: tuple[type[ASTValidationRule], ...]
) -> tuple[GraphQLError, ...]:
    document = _parsed(query)
    assert document is not None  # validation runs on parsed documents only
    return tuple(validate_document(schema, document, rules))


class GuardRails(MaskErrors):
    """Every guard in one extension, for one set of hooks per operation instead of six.

    - size: at most ``MAX_TOKENS`` tokens (checked while parsing);
    - shape: at most ``MAX_DEPTH`` levels and ``MAX_ALIASES`` aliases (validation rules);
    - parsing and validation are cached by query text: an admin screen sends the same
      few documents all day;
    - a domain error keeps its message and gets its code;
    - any other exception is logged with an error id, and the client sees only the id.
    """

    def __init__(self) -> None:
        super().__init__(should_mask_error=lambda error: not _expected(error))

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        context.parse_options["max_tokens"] = MAX_TOKENS
        context.validation_rules = context.validation_rules + SHAPE_RULES
        for _ in super().on_operation():
            yield
        for error in getattr(context.result, "errors", None) or []:
            original = error.original_error
            if isinstance(original, DomainError) and not error.extensions:
                error.extensions = {"code": original.code.value}

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        if context.query:
            context.graphql_document = _parsed(context.query)
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if context.query and document is _parsed(context.query):
            errors = _validated(context.schema._schema, context.query, context.validation_rules)
            context.pre_execution_errors = list(errors)
        # strawberry names the first operation when the client named none.
        if document is not None and context._provided_operation_name is None:
            operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
            if len(operations) > 1:  # the spec's GetOperation; strawberry would run the first
                context.pre_execution_errors = [
                    *(context.pre_execution_errors or []),
                    GraphQLError(
                        "Must provide operation name if query contains multiple operations."
                    ),
                ]
        yield

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


# Strawberry builds a fresh extension for every operation.
EXTENSIONS: list[Any] = [GuardRails]
