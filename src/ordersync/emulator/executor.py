"""The GraphQL layer: the schema bound to resolvers, document parsing and validation (cached per
query text, since batch clients send the same document shape again and again), execution, and
errors formatted as Monday formats them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    GraphQLSyntaxError,
    OperationDefinitionNode,
    build_schema,
    execute_sync,
    parse,
    validate,
)
from graphql.utilities import value_from_ast_untyped

from ordersync.emulator.complexity import operation_of
from ordersync.emulator.errors import ApiError, Code
from ordersync.emulator.items_page_2027 import ITEMS_PAGE_RESOLVERS, resolve_items_page_value_type
from ordersync.emulator.resolvers import RESOLVERS, RequestContext, resolve_value_type
from ordersync.emulator.responses import ApiVersion

log = logging.getLogger(__name__)

PASS_THROUGH_SCALARS = ("JSON", "CompareValue", "Date", "ISO8601DateTime")


SCHEMA_EDITIONS = ("2026-07", "2026-10", "2027-01")
"""The schemas served: 2026-07's to API versions up to 2026-07, 2026-10's to 2026-10, and to 2027-01
2026-10's with the root items_page of schema_2027_01.graphql."""
REMOVED_IN_2026_10 = {"User": ("enabled", "is_admin", "is_guest", "is_pending", "is_verified", "is_view_only",
                               "join_date", "photo_original", "photo_small", "photo_thumb", "photo_thumb_small",
                               "photo_tiny")}
"""Fields of schema.graphql (2026-07) that Monday's 2026-10 SDL no longer has: deprecated, then removed."""


def schema_edition(version: ApiVersion) -> str:
    """The schema a request of this API version is served (docs/emulator.md, "API versions")."""
    if version >= ApiVersion(2027, 1):
        return "2027-01"
    return "2026-10" if version >= ApiVersion(2026, 10) else "2026-07"


def schema_sdl(edition: str = "2026-07") -> str:
    """The emulator's SDL, a subset of Monday's: schema.graphql, and for 2027-01 schema_2027_01.graphql after it
    (the fields REMOVED_IN_2026_10 leave later, in emulator_schema)."""
    files = ("schema.graphql", "schema_2027_01.graphql") if edition == "2027-01" else ("schema.graphql",)
    package = resources.files("ordersync.emulator")
    return "\n".join(package.joinpath(name).read_text(encoding="utf-8") for name in files)


def _literal(node: Any, variables: dict[str, Any] | None = None) -> Any:
    return value_from_ast_untyped(node, variables)


@lru_cache(maxsize=len(SCHEMA_EDITIONS))
def emulator_schema(edition: str = "2026-07") -> GraphQLSchema:
    """Monday's subset SDL with the emulator's resolvers attached (built once per process and edition)."""
    schema = build_schema(schema_sdl(edition))
    for type_name, fields in RESOLVERS.items():
        graphql_type = schema.get_type(type_name)
        for field_name, resolver in fields.items():
            graphql_type.fields[field_name].resolve = resolver  # type: ignore[union-attr]
    schema.get_type("ColumnValue").resolve_type = resolve_value_type  # type: ignore[union-attr]
    if edition == "2027-01":
        for type_name, fields in ITEMS_PAGE_RESOLVERS.items():
            for field_name, resolver in fields.items():
                schema.get_type(type_name).fields[field_name].resolve = resolver  # type: ignore[union-attr]
        schema.get_type("ItemsPageColumnValue").resolve_type = resolve_items_page_value_type  # type: ignore[union-attr]
    for type_name, removed in (REMOVED_IN_2026_10 if edition != "2026-07" else {}).items():
        for field_name in removed:
            del schema.get_type(type_name).fields[field_name]  # type: ignore[union-attr]
    for name in PASS_THROUGH_SCALARS:
        scalar = schema.get_type(name)
        scalar.serialize = scalar.parse_value = lambda value: value  # type: ignore[union-attr]
        scalar.parse_literal = _literal  # type: ignore[union-attr]
    return schema


@dataclass(frozen=True)
class ParsedDocument:
    """A request's document, parsed and validated once; `errors` are formatted and final."""

    document: DocumentNode | None
    errors: tuple[dict[str, Any], ...]
    edition: str = "2026-07"  # the schema it was validated against (schema_edition)

    def operation(self, operation_name: str | None) -> OperationDefinitionNode | None:
        return operation_of(self.document, operation_name) if self.document else None


def _parse_error(error: GraphQLSyntaxError, query: str) -> dict[str, Any]:
    """Monday words syntax errors as `Parse error on "<token>" at [line, column]`."""
    location = error.locations[0] if error.locations else None
    position = next(iter(error.positions)) if error.positions else len(query)
    token = query[position:].split(None, 1)[0][:20] if query[position:].strip() else ""
    where = f'"{token}"' if token else "end of input"
    message = f"Parse error on {where}"
    if location:
        message += f" at [{location.line}, {location.column}]"
    formatted: dict[str, Any] = {"message": message, "extensions": {"code": str(Code.PARSE_FAILED)}}
    if location:
        formatted["locations"] = [{"line": location.line, "column": location.column}]
    return formatted


@lru_cache(maxsize=512)
def parse_document(query: str, edition: str = "2026-07") -> ParsedDocument:
    try:
        document = parse(query)
    except GraphQLSyntaxError as error:
        return ParsedDocument(None, (_parse_error(error, query),), edition)
    errors = validate(emulator_schema(edition), document)
    return ParsedDocument(document, tuple(format_error(error, during_execution=False) for error in errors), edition)


def format_error(error: GraphQLError, *, during_execution: bool = True) -> dict[str, Any]:
    """One `errors[]` entry. Outside execution (validation, variable coercion) every error is the
    client's; during execution an unexpected exception is ours: INTERNAL_SERVER_ERROR, logged."""
    formatted: dict[str, Any] = {"message": error.message}
    if error.locations:
        formatted["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
    if error.path:
        formatted["path"] = list(error.path)
    original = error.original_error
    if isinstance(original, ApiError):
        formatted["extensions"] = original.extensions()
    elif original is not None and during_execution:
        log.error("resolver failed", exc_info=original)
        formatted["message"] = "Internal server error"
        formatted["extensions"] = {"code": str(Code.INTERNAL_SERVER_ERROR), "status_code": 500}
    else:
        formatted["extensions"] = {"code": str(Code.VALIDATION_FAILED)}
    return formatted


def run(document: DocumentNode, context: RequestContext, variables: dict[str, Any] | None,
        operation_name: str | None) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """Execute; root mutation fields run one after another, each failing on its own."""
    result = execute_sync(emulator_schema(schema_edition(context.version)), document, context_value=context,
                          variable_values=variables, operation_name=operation_name)
    return result.data, [format_error(error) for error in result.errors or ()]
