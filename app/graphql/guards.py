"""Guard rails on every GraphQL operation: size, depth, width, and masked internal errors.

Limits are generous for the admin frontend's own documents (frontend-contract/) and stop
queries built to exhaust the server. An unexpected exception is logged with an error id
and the client sees only that id; expected failures (bad input, permissions, domain
errors) keep their message.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import structlog
from graphql import (
    ASTValidationRule,
    DocumentNode,
    FieldNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    Visitor,
    parse,
    visit,
)
from strawberry.extensions import MaskErrors, MaxAliasesLimiter, QueryDepthLimiter
from strawberry.schema.schema import validate_document

from app.errors import DomainError, ErrorCode

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


_SEVERAL_OPERATIONS = "Must provide operation name if query contains multiple operations."
_LOG_IN_FIRST = "Log in to read the schema: send Authorization: Bearer <token>."
_UNAUTHENTICATED = {"code": ErrorCode.UNAUTHENTICATED.value}


@functools.lru_cache(maxsize=CACHED_DOCUMENTS)
def _introspects(query: str) -> bool:
    """Whether the (parsed) document asks about the schema: ``__schema`` or ``__type``."""
    found = False

    class Finder(Visitor):
        def enter_field(self, node: FieldNode, *_: object) -> None:
            nonlocal found
            found = found or node.name.value in {"__schema", "__type"}

    document = _parsed(query)
    if document is not None:
        visit(document, Finder())
    return found


@functools.lru_cache(maxsize=CACHED_DOCUMENTS)
def operation_type(query: str, operation_name: str | None) -> str:
    """``query``, ``mutation`` or ``subscription``: what the document asks to run."""
    document = _parsed(query)
    for definition in document.definitions if document is not None else ():
        if isinstance(definition, OperationDefinitionNode) and (
            operation_name is None
            or (definition.name is not None and definition.name.value == operation_name)
        ):
            return definition.operation.value
    return "query"


@functools.lru_cache(maxsize=CACHED_DOCUMENTS)
def _operations(query: str) -> int:
    document = _parsed(query)
    definitions = document.definitions if document is not None else ()
    return sum(isinstance(d, OperationDefinitionNode) for d in definitions)


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

    async def on_validate(self) -> AsyncIterator[None]:
        context = self.execution_context
        query, document = context.query, context.graphql_document
        if not query or document is None or document is not _parsed(query):
            yield  # not one of ours: strawberry validates it itself
            return
        errors = list(_validated(context.schema._schema, query, context.validation_rules))
        # strawberry names the first operation when the client named none.
        if context._provided_operation_name is None and _operations(query) > 1:
            errors.append(GraphQLError(_SEVERAL_OPERATIONS))  # the spec's GetOperation
        # The schema is public in the repository (schema.graphql); a running shop tells it
        # only to its staff.
        if _introspects(query):
            staff = await context.context.staff() if context.context is not None else None
            if staff is None:
                errors.append(GraphQLError(_LOG_IN_FIRST, extensions=_UNAUTHENTICATED))
        context.pre_execution_errors = errors
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
