"""The emulator's schema is a faithful subset of Monday's published SDL, and every document the
project sends validates against both."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    OperationType,
    build_schema,
    is_non_null_type,
    parse,
    print_ast,
    validate,
)

from ordersync.emulator.executor import SCHEMA_EDITIONS, emulator_schema, schema_sdl
from ordersync.emulator.resolvers import VALUE_TYPES

from .support import MONDAY_SDL

SRC = Path(__file__).resolve().parents[2] / "src" / "ordersync"


@pytest.fixture(scope="module")
def monday() -> GraphQLSchema:
    if not MONDAY_SDL.exists():
        pytest.skip(f"Monday's published schema is not here ({MONDAY_SDL}); fidelity cannot be checked")
    return build_schema(MONDAY_SDL.read_text(encoding="utf-8"))


def _default(node) -> str | None:
    return print_ast(node.default_value) if node is not None and node.default_value is not None else None


def _input_differences(name: str, ours_type: GraphQLInputObjectType, theirs_type: GraphQLInputObjectType) -> list[str]:
    problems: list[str] = []
    for field_name, field in ours_type.fields.items():
        other = theirs_type.fields.get(field_name)
        if other is None:
            problems.append(f"input field {name}.{field_name} not on Monday")
        elif str(field.type) != str(other.type) or _default(field.ast_node) != _default(other.ast_node):
            problems.append(f"input field {name}.{field_name}: {field.type} here, {other.type} on Monday")
    problems += [f"required input field {name}.{f} missing here" for f, other in theirs_type.fields.items()
                 if f not in ours_type.fields and is_non_null_type(other.type) and other.ast_node.default_value is None]
    return problems


def _field_differences(where: str, field, other) -> list[str]:
    problems: list[str] = []
    if str(field.type) != str(other.type):
        problems.append(f"field {where}: {field.type} here, {other.type} on Monday")
    for arg_name, arg in field.args.items():
        other_arg = other.args.get(arg_name)
        if other_arg is None:
            problems.append(f"argument {where}({arg_name}) not on Monday")
        elif str(arg.type) != str(other_arg.type) or _default(arg.ast_node) != _default(other_arg.ast_node):
            problems.append(f"argument {where}({arg_name}): {arg.type} here, "
                            f"{other_arg.type} on Monday")
    problems += [f"required argument {where}({a}) missing here"
                 for a, other_arg in other.args.items()
                 if a not in field.args and is_non_null_type(other_arg.type)
                 and other_arg.ast_node.default_value is None]
    return problems


def _object_differences(name: str, ours_type, theirs_type) -> list[str]:
    theirs_interfaces = {i.name for i in theirs_type.interfaces}
    problems = [f"{name} implements {i.name} here only" for i in ours_type.interfaces
                if i.name not in theirs_interfaces]
    for field_name, field in ours_type.fields.items():
        other = theirs_type.fields.get(field_name)
        if other is None:
            problems.append(f"field {name}.{field_name} not on Monday")
        else:
            problems += _field_differences(f"{name}.{field_name}", field, other)
    return problems


def _differences(ours: GraphQLSchema, theirs: GraphQLSchema) -> list[str]:
    problems: list[str] = []
    for name, ours_type in ours.type_map.items():
        if name.startswith("__"):
            continue
        theirs_type = theirs.type_map.get(name)
        if theirs_type is None:
            problems.append(f"type {name} is not in Monday's schema")
        elif type(ours_type) is not type(theirs_type):
            problems.append(f"{name} is a {type(ours_type).__name__} here, {type(theirs_type).__name__} on Monday")
        elif isinstance(ours_type, GraphQLEnumType):
            problems += [f"enum value {name}.{v} not on Monday" for v in ours_type.values if v not in theirs_type.values]
        elif isinstance(ours_type, GraphQLInputObjectType):
            problems += _input_differences(name, ours_type, theirs_type)
        elif isinstance(ours_type, GraphQLObjectType | GraphQLInterfaceType):
            problems += _object_differences(name, ours_type, theirs_type)
        elif not isinstance(ours_type, GraphQLScalarType):
            problems.append(f"{name}: unexpected kind {type(ours_type).__name__}")
    return problems


def test_emulator_schema_is_a_subset_of_mondays_published_schema(monday: GraphQLSchema) -> None:
    assert _differences(build_schema(schema_sdl()), monday) == []


PUBLISHED = {"2026-07": "2026-07", "2026-10": "2026-10", "2027-01": "dev_2026-07-13"}
"""The SDL file of each version; for 2027-01 Monday's `dev` SDL, the closest published text (SOURCE.md)."""


def _published(version: str) -> GraphQLSchema:
    """Monday's SDL of one API version, from the reference folder's monday_schema/ (SOURCE.md there)."""
    path = MONDAY_SDL.parent / "monday_schema" / f"monday_schema_{PUBLISHED[version]}.graphql"
    if not path.exists():
        pytest.skip(f"Monday's {version} schema is not here ({path})")
    return build_schema(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("edition", SCHEMA_EDITIONS)
def test_the_schema_served_to_each_version_is_a_subset_of_mondays_sdl_of_that_version(edition: str) -> None:
    assert _differences(emulator_schema(edition), _published(edition)) == []


def test_the_2026_07_schema_would_not_pass_as_2026_10_s() -> None:
    """What 2026-10 removed (User.enabled and the other deprecated User fields) is served to 2026-07 only."""
    problems = _differences(emulator_schema("2026-07"), _published("2026-10"))
    assert "field User.enabled not on Monday" in problems and "field User.join_date not on Monday" in problems


def test_subset_check_notices_a_field_monday_does_not_have(monday: GraphQLSchema) -> None:
    widened = build_schema(schema_sdl().replace("type Complexity {", "type Complexity {\n  invented: Int"))
    assert _differences(widened, monday) == ["field Complexity.invented not on Monday"]


def test_subset_check_notices_a_changed_argument_type(monday: GraphQLSchema) -> None:
    changed = build_schema(schema_sdl().replace("next_items_page(cursor: String!,", "next_items_page(cursor: String,"))
    assert "argument Query.next_items_page(cursor): String here, String! on Monday" in _differences(changed, monday)


@pytest.mark.parametrize("edition", SCHEMA_EDITIONS)
def test_every_root_field_has_a_resolver(edition: str) -> None:
    schema = emulator_schema(edition)
    for root in (schema.query_type, schema.mutation_type):
        missing = [name for name, field in root.fields.items() if field.resolve is None]
        assert missing == [], f"{root.name} fields without a resolver: {missing}"


def test_every_column_value_implementation_is_reachable() -> None:
    implementations = {t.name for t in emulator_schema().get_implementations(
        emulator_schema().get_type("ColumnValue")).objects}
    assert set(VALUE_TYPES.values()) | {"UnsupportedValue"} == implementations


def _project_documents() -> list[str]:
    from ordersync.monday.documents import document_names

    return document_names()


@pytest.mark.parametrize("name", _project_documents())
def test_project_documents_validate_against_monday_and_the_emulator(name: str, monday: GraphQLSchema) -> None:
    from ordersync.monday.documents import document

    tree = parse(document(name))  # as sent: with the shared fragments it spreads
    assert [e.message for e in validate(monday, tree)] == []
    assert [e.message for e in validate(emulator_schema(), tree)] == []


def test_aliased_batches_of_every_mutation_validate_against_monday_and_the_emulator(monday: GraphQLSchema) -> None:
    from ordersync.monday.documents import compose_mutations, document, document_names

    def is_mutation(name: str) -> bool:
        return any(getattr(node, "operation", None) is OperationType.MUTATION for node in parse(document(name)).definitions)

    mutations = [name for name in document_names() if is_mutation(name)]
    assert {"create_item", "create_subitem", "change_multiple_column_values", "archive_item"} <= set(mutations)
    query, aliases = compose_mutations([(f"m{index}", name) for index, name in enumerate(mutations * 2)])
    assert len(aliases) == 2 * len(mutations)
    tree = parse(query)
    assert [e.message for e in validate(monday, tree)] == []
    assert [e.message for e in validate(emulator_schema(), tree)] == []
