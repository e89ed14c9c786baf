"""From request body to executed result: parse, validate, coerce variables, price, execute.

:func:`prepare` does every check that happens *before* Shopify runs anything, so a
request it rejects costs nothing and changes nothing, exactly like Shopify's
static-validation errors (HTTP 200, ``errors`` only, no ``data``). graphql-core's error
messages are rewritten into Shopify's wording and ``extensions.code`` values (recorded
live in shopify-api.md §2); codes not seen live are approximations in the same style.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    GraphQLSyntaxError,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    execute,
    get_operation_ast,
    parse,
    print_ast,
    validate,
)
from graphql.execution.values import get_variable_values

from shopify_sim.cost import requested_cost


@dataclass(frozen=True)
class Prepared:
    """A request that passed every static check, ready to be priced and executed."""

    document: DocumentNode
    operation: OperationDefinitionNode
    operation_name: str | None
    variables: dict[str, Any]
    root_fields: tuple[str, ...]
    is_mutation: bool
    cost: int

    @property
    def names(self) -> frozenset[str]:
        """Operation name plus root field names (what a fault's ``operation`` is matched on)."""
        names = set(self.root_fields)
        if self.operation_name:
            names.add(self.operation_name)
        return frozenset(names)


def _locations(error: GraphQLError) -> list[dict[str, int]] | None:
    if not error.locations:
        return None
    return [{"line": loc.line, "column": loc.column} for loc in error.locations]


def _error(message: str, error: GraphQLError | None = None, **extensions: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"message": message}
    if error is not None and (locations := _locations(error)):
        data["locations"] = locations
    data["extensions"] = extensions
    return data


#: (pattern on graphql-core's message, builder of Shopify's message and extensions).
_VALIDATION_REWRITES: list[tuple[re.Pattern[str], Callable[[re.Match[str]], tuple[str, dict[str, Any]]]]] = [
    (
        re.compile(r"Cannot query field '(\w+)' on type '(\w+)'"),
        lambda m: (
            f"Field '{m[1]}' doesn't exist on type '{m[2]}'",
            {"code": "undefinedField", "typeName": m[2], "fieldName": m[1]},
        ),
    ),
    (
        re.compile(r"Unknown argument '(\w+)' on field '\w+\.(\w+)'"),
        lambda m: (
            f"Field '{m[2]}' doesn't accept argument '{m[1]}'",
            {"code": "argumentNotAccepted", "name": m[2], "typeName": "Field", "argumentName": m[1]},
        ),
    ),
    (  # graphql-core 3.3 wording, then 3.2
        re.compile(r"Argument '\w+\.(\w+)\((\w+):\)' of type '.+' is required, but it was not provided"),
        lambda m: (
            f"Field '{m[1]}' is missing required arguments: {m[2]}",
            {"code": "missingRequiredArguments", "className": "Field", "name": m[1], "arguments": m[2]},
        ),
    ),
    (
        re.compile(r"Field '(\w+)' argument '(\w+)' of type '.+' is required, but it was not provided"),
        lambda m: (
            f"Field '{m[1]}' is missing required arguments: {m[2]}",
            {"code": "missingRequiredArguments", "className": "Field", "name": m[1], "arguments": m[2]},
        ),
    ),
    (
        re.compile(r"Field '(\w+)' of type '(.+)' must have a selection of subfields"),
        lambda m: (
            f"Field must have selections (field '{m[1]}' returns {m[2].strip('[]!')} but has no "
            f"selections. Did you mean '{m[1]} {{ ... }}'?)",
            {"code": "selectionMismatch", "nodeName": f"field '{m[1]}'", "typeName": m[2].strip("[]!")},
        ),
    ),
    (
        re.compile(r"Field '(\w+)' must not have a selection since type '(.+)' has no subfields"),
        lambda m: (
            f"Selections can't be made on scalars (field '{m[1]}' returns {m[2]} but has selections)",
            {"code": "selectionMismatch", "nodeName": f"field '{m[1]}'", "typeName": m[2]},
        ),
    ),
    (
        re.compile(r"Unknown type '(\w+)'"),
        lambda m: (f"{m[1]} isn't a defined input type", {"code": "variableRequiresValidType", "typeName": m[1]}),
    ),
    (
        re.compile(r"Variable '\$(\w+)' is never used"),
        lambda m: (f"Variable ${m[1]} is declared but not used", {"code": "variableNotUsed", "variableName": m[1]}),
    ),
    (
        re.compile(r"Variable '\$(\w+)' is not defined"),
        lambda m: (f"Variable ${m[1]} is used but not declared", {"code": "variableNotDefined", "variableName": m[1]}),
    ),
    (
        re.compile(r"(cannot represent|Expected value of type|Value '.*' does not exist)"),
        lambda m: ("", {"code": "argumentLiteralsIncompatible"}),
    ),
]


def shopify_validation_error(error: GraphQLError) -> dict[str, Any]:
    """One graphql-core validation error in Shopify's shape."""
    for pattern, build in _VALIDATION_REWRITES:
        match = pattern.search(error.message)
        if match:
            message, extensions = build(match)
            return _error(message or error.message, error, **extensions)
    return _error(error.message, error, code="validationError")


def syntax_error(error: GraphQLSyntaxError) -> dict[str, Any]:
    """Shopify's ``PARSE_ERROR`` shape (message says where, like ``at [3, 5]``)."""
    text = error.message.removeprefix("Syntax Error: ")
    where = error.locations[0] if error.locations else None
    suffix = f" at [{where.line}, {where.column}]" if where else ""
    return _error(f"syntax error, {text}{suffix}", error, code="PARSE_ERROR")


def variable_error(error: GraphQLError, operation: OperationDefinitionNode) -> dict[str, Any]:
    """Shopify's ``INVALID_VARIABLE`` shape for a variable graphql-core could not coerce."""
    match = re.match(
        r"Variable '\$(\w+)' (?:has invalid value|got invalid value)(?: at ([^:]+))?: (.*)", error.message, re.S
    )
    name = match[1] if match else "?"
    declared = next((d for d in operation.variable_definitions or () if d.variable.name.value == name), None)
    type_text = print_ast(declared.type) if declared else "?"
    path = [p for p in re.split(r"[.\[\]]", match[2] or "") if p] if match else []
    explanation = match[3] if match else error.message
    return _error(
        f"Variable ${name} of type {type_text} was provided invalid value",
        error,
        code="INVALID_VARIABLE",
        problems=[{"path": [int(p) if p.isdigit() else p for p in path], "explanation": explanation}],
    )


def _root_fields(
    selection_set: SelectionSetNode, fragments: dict[str, FragmentDefinitionNode], seen: frozenset[str] = frozenset()
) -> list[str]:
    names: list[str] = []
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            names.append(selection.name.value)
        elif isinstance(selection, InlineFragmentNode):
            names.extend(_root_fields(selection.selection_set, fragments, seen))
        elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in seen:
            fragment = fragments.get(selection.name.value)
            if fragment is not None:
                names.extend(_root_fields(fragment.selection_set, fragments, seen | {selection.name.value}))
    return names


@lru_cache(maxsize=512)
def _parse_and_validate(schema: GraphQLSchema, query: str) -> DocumentNode | tuple[dict[str, Any], ...]:
    """Parsed document or its errors. Cached: clients send the same few documents over and
    over, and parsing + validation dominate the cost of a small request."""
    try:
        document = parse(query)
    except GraphQLSyntaxError as exc:
        return (syntax_error(exc),)
    errors = validate(schema, document)
    if errors:
        return tuple(shopify_validation_error(e) for e in errors)
    return document


def prepare(
    schema: GraphQLSchema, query: str, variables: dict[str, Any] | None, operation_name: str | None
) -> Prepared | list[dict[str, Any]]:
    """Static checks; returns :class:`Prepared` or the Shopify-shaped ``errors`` list."""
    checked = _parse_and_validate(schema, query)
    if isinstance(checked, tuple):
        return [copy.deepcopy(e) for e in checked]
    document = checked
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        message = f'No operation named "{operation_name}"' if operation_name else "An operation name is required"
        return [{"message": message, "extensions": {"code": "OPERATION_NAME_REQUIRED"}}]
    if operation.operation == OperationType.SUBSCRIPTION:
        return [{"message": "Subscriptions are not supported", "extensions": {"code": "BAD_REQUEST"}}]
    coerced = get_variable_values(schema, operation.variable_definitions or (), variables or {})
    if isinstance(coerced, list):
        return [variable_error(e, operation) for e in coerced]
    coerced_values = getattr(coerced, "coerced", coerced)  # graphql-core 3.3 wraps the dict
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    root_fields = tuple(n for n in _root_fields(operation.selection_set, fragments) if not n.startswith("__"))
    return Prepared(
        document=document,
        operation=operation,
        operation_name=operation.name.value if operation.name else operation_name,
        variables=variables or {},
        root_fields=root_fields,
        is_mutation=operation.operation == OperationType.MUTATION,
        cost=requested_cost(schema, operation, fragments, dict(coerced_values)),
    )


def run(schema: GraphQLSchema, prepared: Prepared, context: Any) -> ExecutionResult:
    """Execute a prepared request (the caller holds the store lock)."""
    result = execute(
        schema,
        prepared.document,
        context_value=context,
        variable_values=prepared.variables,
        operation_name=prepared.operation_name,
    )
    assert isinstance(result, ExecutionResult)  # no async resolvers
    return result


def format_execution_errors(errors: list[GraphQLError]) -> list[dict[str, Any]]:
    """Resolver errors as JSON; unexpected exceptions become ``INTERNAL_SERVER_ERROR``."""
    out = []
    for error in errors:
        data = error.formatted
        if error.original_error is not None and not isinstance(error.original_error, GraphQLError):
            data = {
                **data,
                "extensions": {"code": "INTERNAL_SERVER_ERROR", "exception": type(error.original_error).__name__},
            }
        out.append(data)
    return out
