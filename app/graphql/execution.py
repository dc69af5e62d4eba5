"""A leaner execution of plain fields, for the hot read queries.

The orders board resolves a page that was read in one statement into plain objects, so
most of its ~2,500 fields are attributes holding a number, a string, an enum, an object
or a list of objects. graphql-core executes each of them the generic way: a path entry,
a resolve-info object, strawberry's resolver wrapper, an awaitable check, value
completion. ``LeanExecutor`` handles the fields strawberry itself marks as basic (no
resolver, no arguments, no permission or field extension):

- each selection set is compiled once per operation into a list of steps, so a list of
  100 orders looks its fields up once, not 100 times;
- a scalar or enum is read and serialized in place (the common types by a type check,
  the rest by the type's own serializer);
- an object or a list of objects is completed by running its steps on each value.

Everything else (resolvers, permissions, arguments, introspection) and every error case
(a null in a non-null field, a value a scalar refuses) takes graphql-core's own path, so
results and errors are exactly what the stock executor produces; the test suite runs
the same documents through both and compares.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, TypeGuard, cast

from graphql import (
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLField,
    GraphQLFloat,
    GraphQLInt,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    GraphQLString,
    Undefined,
    get_nullable_type,
    is_leaf_type,
)
from graphql.execution.collect_fields import FieldDetailsList, GroupedFieldSet
from graphql.pyutils import Path
from graphql.pyutils.gather_with_cancel import gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.base import StrawberryObjectDefinition
from strawberry.types.field import StrawberryField

# Types whose values are never awaitable: checked first, by identity, before the generic
# (and, for plain objects, slow) ``__await__`` lookup.
_PLAIN_TYPES: set[type] = {
    type(None),
    bool,
    int,
    float,
    str,
    bytes,
    list,
    tuple,
    dict,
    set,
    frozenset,
}
_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1  # GraphQL Int is 32-bit


class _Kind(Enum):
    STRING = "String"
    INT = "Int"
    BOOLEAN = "Boolean"
    FLOAT = "Float"
    ENUM = "enum"
    LEAF = "any other scalar"
    OBJECT = "object"
    OBJECT_LIST = "list of objects"


@dataclass(frozen=True, slots=True)
class _PlainField:
    """A field read as an attribute; its value completed without resolve info."""

    attribute: str
    kind: _Kind
    type: GraphQLOutputType  # the field's type, as declared
    non_null: bool
    leaf: GraphQLLeafType | None = None  # leaves
    # ENUM: id(member) → name. By identity: an ``Enum``'s own hash is Python code.
    enum_names: dict[int, str] = field(default_factory=dict)
    object_type: GraphQLObjectType | None = None  # OBJECT, OBJECT_LIST
    item_type: GraphQLOutputType | None = None  # OBJECT_LIST: the list's item type
    item_non_null: bool = False


def _leaf_kind(leaf: GraphQLLeafType) -> _Kind:
    if leaf is GraphQLString:
        return _Kind.STRING
    if leaf is GraphQLInt:
        return _Kind.INT
    if leaf is GraphQLBoolean:
        return _Kind.BOOLEAN
    if leaf is GraphQLFloat:
        return _Kind.FLOAT
    if isinstance(leaf, GraphQLEnumType) and isinstance(getattr(leaf, "wrapped_cls", None), type):
        return _Kind.ENUM
    return _Kind.LEAF


def _enum_names(leaf: GraphQLEnumType) -> dict[int, str]:
    """id(Python enum member) → GraphQL name, as strawberry's enum serializer maps them."""
    members = list(cast("type[Enum]", leaf.wrapped_cls))  # type: ignore[attr-defined]
    return {
        id(member): name
        for name, value in leaf.values.items()
        for member in members
        if member.value == value.value
    }


_plans: dict[int, tuple[GraphQLField, _PlainField | None]] = {}


def _plan_for(graphql_field: GraphQLField) -> _PlainField | None:
    """The field's plan, worked out once per schema field (fields are not hashable)."""
    known = _plans.get(id(graphql_field))
    if known is None or known[0] is not graphql_field:
        known = _plans[id(graphql_field)] = (graphql_field, _plain_field(graphql_field))
    return known[1]


def _plain_field(graphql_field: GraphQLField) -> _PlainField | None:
    definition = (graphql_field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    basic = getattr(graphql_field.resolve, "_is_default", False)
    if not isinstance(definition, StrawberryField) or not basic or graphql_field.args:
        return None
    if definition.default_resolver is not getattr:
        return None
    declared = graphql_field.type
    non_null = isinstance(declared, GraphQLNonNull)
    inner = get_nullable_type(declared)
    attribute = definition.python_name
    if is_leaf_type(inner):
        leaf: GraphQLLeafType = inner
        kind = _leaf_kind(leaf)
        enum = kind is _Kind.ENUM and isinstance(leaf, GraphQLEnumType)
        names = _enum_names(cast("GraphQLEnumType", leaf)) if enum else {}
        return _PlainField(attribute, kind, declared, non_null, leaf=leaf, enum_names=names)
    if isinstance(inner, GraphQLObjectType) and inner.is_type_of is None:
        return _PlainField(attribute, _Kind.OBJECT, declared, non_null, object_type=inner)
    if isinstance(inner, GraphQLList):
        item = inner.of_type
        item_inner = get_nullable_type(item)
        if isinstance(item_inner, GraphQLObjectType) and item_inner.is_type_of is None:
            return _PlainField(
                attribute,
                _Kind.OBJECT_LIST,
                declared,
                non_null,
                object_type=item_inner,
                item_type=item,
                item_non_null=isinstance(item, GraphQLNonNull),
            )
    return None


def _object_classes(schema: GraphQLSchema) -> set[type]:
    classes: set[type] = set()
    for named in schema.type_map.values():
        definition = (named.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
        if isinstance(definition, StrawberryObjectDefinition):
            classes.add(definition.origin)
    return classes


@functools.cache
def _awaitable_check(schema: GraphQLSchema) -> Callable[[Any], TypeGuard[Awaitable[Any]]]:
    """An awaitable check that knows builtins and the schema's own classes at a glance."""
    plain = frozenset(_PLAIN_TYPES | _object_classes(schema))

    def is_awaitable(value: Any) -> TypeGuard[Awaitable[Any]]:
        if type(value) in plain:
            return False
        return inspect.isawaitable(value)

    return is_awaitable


class _Step:
    """One field of a compiled selection set."""

    __slots__ = ("attribute", "details", "enum_names", "kind", "name", "plan", "sub", "sub_steps")

    def __init__(self, name: str, plan: _PlainField | None, details: FieldDetailsList) -> None:
        self.name = name  # the response key
        self.plan = plan  # None: graphql-core executes the field
        self.details = details  # graphql-core needs them for paths, errors, sub-selections
        self.kind = plan.kind if plan is not None else None
        self.attribute = plan.attribute if plan is not None else ""
        self.enum_names = plan.enum_names if plan is not None else {}
        # Objects: the sub-selection, collected and compiled on first use.
        self.sub: GroupedFieldSet | None = None
        self.sub_steps: list[_Step] | None = None


_GENERIC: Any = object()  # "not plain after all": let graphql-core execute the field
_STRING, _INT, _ENUM = _Kind.STRING, _Kind.INT, _Kind.ENUM
_OBJECT, _OBJECT_LIST = _Kind.OBJECT, _Kind.OBJECT_LIST
_SETTLED = (dict, list)  # an object or a list completed without waiting


class LeanExecutor(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's executor, with plain fields read and completed directly."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.is_awaitable = _awaitable_check(self.schema)
        manager = self.middleware_manager
        # An extension that wraps every resolver must see every field.
        self._lean = manager is None or not manager.middlewares
        self._compiled: dict[int, tuple[GroupedFieldSet, list[_Step] | None]] = {}

    def _steps(
        self, parent_type: GraphQLObjectType, grouped_field_set: GroupedFieldSet
    ) -> list[_Step] | None:
        compiled = self._compiled.get(id(grouped_field_set))
        if compiled is not None and compiled[0] is grouped_field_set:
            return compiled[1]
        steps: list[_Step] = []
        for response_name, field_details_list in grouped_field_set.items():
            node = field_details_list[0].node
            graphql_field = parent_type.fields.get(node.name.value)
            plan = None
            if graphql_field is not None and not node.arguments:
                plan = _plan_for(graphql_field)
            steps.append(_Step(response_name, plan, field_details_list))
        found = steps if any(step.plan is not None for step in steps) else None
        # The grouped field set is kept alive with its steps, so its id is not reused.
        self._compiled[id(grouped_field_set)] = (grouped_field_set, found)
        return found

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: GroupedFieldSet,
        position_context: Any,
    ) -> Any:
        steps = self._steps(parent_type, grouped_field_set) if self._lean else None
        if steps is None:
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        return self._run(steps, parent_type, source_value, path)

    def _run(
        self,
        steps: list[_Step],
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
    ) -> Any:
        """Execute a compiled selection set on one value, in the document's field order."""
        results: dict[str, Any] = {}
        pending: list[str] = []
        try:
            for step in steps:
                name = step.name
                if step.plan is not None:
                    value = getattr(source_value, step.attribute, _GENERIC)
                    kind = step.kind
                    if kind is _STRING:
                        if type(value) is str:
                            results[name] = value
                            continue
                    elif kind is _INT:
                        if type(value) is int and _INT_MIN <= value <= _INT_MAX:
                            results[name] = value
                            continue
                    elif kind is _ENUM:
                        known = step.enum_names.get(id(value))
                        if known is not None:
                            results[name] = known
                            continue
                    elif (kind is _OBJECT or kind is _OBJECT_LIST) and value is not None:
                        if value is not _GENERIC:
                            value = self._composite(step, value, parent_type, path)
                        if value is not _GENERIC:
                            results[name] = value
                            if value is not None and type(value) not in _SETTLED:
                                pending.append(name)  # an awaitable, completed later
                            continue
                    if value is not _GENERIC:
                        value = _leaf_or_null(step.plan, value)
                    if value is not _GENERIC:
                        results[name] = value
                        continue
                # graphql-core's own path, for this field only.
                field_path = Path(path, name, parent_type.name)
                result = self.execute_field(
                    parent_type, source_value, step.details, field_path, None
                )
                if result is Undefined:
                    continue
                results[name] = result
                if self.is_awaitable(result):
                    pending.append(name)
        except Exception:
            if pending:  # let what already started finish, as graphql-core does
                self.settle_in_background([results[name] for name in pending])
            raise
        if not pending:
            return results
        return self._settle(results, pending)

    def _composite(
        self, step: _Step, value: Any, parent_type: GraphQLObjectType, path: Path | None
    ) -> Any:
        """An object or a list of objects completed, or ``_GENERIC``."""
        plan: Any = step.plan
        if plan.kind is _OBJECT_LIST and type(value) is not list:
            return _GENERIC
        object_type: GraphQLObjectType = plan.object_type
        if step.sub is None:
            collected = self.collect_subfields(object_type, step.details)
            if collected.new_defer_usages:
                return _GENERIC
            step.sub = collected.grouped_field_set
            step.sub_steps = self._steps(object_type, step.sub)
        field_path = Path(path, step.name, parent_type.name)
        try:
            if plan.kind is _OBJECT:
                completed = self._complete_object(step, object_type, value, field_path)
            else:
                completed = self._object_list(
                    step, plan, object_type, value, field_path, parent_type.name
                )
        except Exception as error:
            self.handle_field_error(error, plan.type, step.details, field_path)
            return None
        if self.is_awaitable(completed):
            return self._awaited(completed, plan.type, step.details, field_path)
        return completed

    def _complete_object(
        self, step: _Step, object_type: GraphQLObjectType, value: Any, path: Path
    ) -> Any:
        if step.sub_steps is not None:
            return self._run(step.sub_steps, object_type, value, path)
        return super().execute_fields(object_type, value, path, step.sub or {}, None)

    def _object_list(
        self,
        step: _Step,
        plan: _PlainField,
        object_type: GraphQLObjectType,
        items: list[Any],
        path: Path,
        owner: str,
    ) -> Any:
        item_type: Any = plan.item_type
        completed: list[Any] = []
        pending = False
        for index, item in enumerate(items):
            item_path = Path(path, index, None)
            try:
                if item is None:
                    if plan.item_non_null:  # worded as graphql-core words it
                        field_name = step.details[0].node.name.value
                        raise TypeError(
                            f"Cannot return null for non-nullable field {owner}.{field_name}."
                        )
                    completed.append(None)
                    continue
                value = self._complete_object(step, object_type, item, item_path)
            except Exception as error:
                self.handle_field_error(error, item_type, step.details, item_path)
                value = None
            if value is not None and type(value) is not dict:
                value = self._awaited(value, item_type, step.details, item_path)
                pending = True
            completed.append(value)
        if not pending:
            return completed
        return self._gather_list(completed)

    async def _awaited(
        self,
        value: Awaitable[Any],
        return_type: GraphQLOutputType,
        field_details_list: FieldDetailsList,
        path: Path,
    ) -> Any:
        try:
            return await value
        except Exception as error:
            self.handle_field_error(error, return_type, field_details_list, path)
            return None

    async def _gather_list(self, values: list[Any]) -> list[Any]:
        awaitable = [index for index, value in enumerate(values) if self.is_awaitable(value)]
        settled = await gather_with_cancel(*(values[index] for index in awaitable))
        for index, value in zip(awaitable, settled, strict=True):
            values[index] = value
        return values

    async def _settle(self, results: dict[str, Any], pending: list[str]) -> dict[str, Any]:
        settled = await gather_with_cancel(*(results[name] for name in pending))
        results.update(zip(pending, settled, strict=True))
        return results


def _leaf_or_null(plan: _PlainField, value: Any) -> Any:
    """A leaf or null value completed, or ``_GENERIC`` for graphql-core's own path."""
    if value is None:
        return _GENERIC if plan.non_null else None
    if plan.leaf is None:
        return _GENERIC
    try:
        coerced = plan.leaf.coerce_output_value(value)
    except Exception:  # the generic path reports it
        return _GENERIC
    return _GENERIC if coerced is None or coerced is Undefined else coerced
