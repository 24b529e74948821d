"""The complexity a document will cost, computed from what it asks for before it runs.

Like Monday's estimate (charged up front since API 2025-10), it depends on the fields selected
and the list sizes the arguments promise, not on what the board holds: a leaf costs
`scalar_field`, an object `object_field` plus its selection times the list size (ids given,
else `limit`, else an assumed size from the cost table), and every root mutation field adds
its mutation cost (a bulk job also `bulk_item` per item id). `complexity` itself is free;
`__schema` and `__type` cost a flat `INTROSPECTION_POINTS`. See docs/emulator.md for the table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_named_type,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
)
from graphql.execution.values import VariableValues, get_argument_values

from ordersync.emulator.settings import CostTable

PAGED_FIELDS = frozenset({"items_page", "next_items_page", "items_page_by_column_values"})
BOARD_CREATING = frozenset({"create_board", "duplicate_board"})
"""Mutations under Monday's extra cap of 40 per minute ("Call limit exceeded for CreateBoard/…")."""
INTROSPECTION_FIELDS = frozenset({"__schema", "__type"})
INTROSPECTION_POINTS = 1_000
"""What `__schema` or `__type` costs, however much of the schema it reads: Monday publishes no figure for
introspection (it answers it, and charges it); a flat, modest charge (docs/emulator.md)."""
BULK_JOBS = frozenset({"bulk_archive_items"})
"""Mutations that start a job over `item_ids`: each id adds `bulk_item` points (Monday estimates from the variables)."""


@dataclass(frozen=True)
class DocumentCost:
    """What a request will cost and what it will do, for the limiter."""

    points: int
    mutations: int
    create_boards: int
    only_complexity: bool


def operation_of(document: DocumentNode, operation_name: str | None) -> OperationDefinitionNode | None:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is None:
        return operations[0] if len(operations) == 1 else None
    return next((op for op in operations if op.name and op.name.value == operation_name), None)


class _Estimator:
    def __init__(self, schema: GraphQLSchema, document: DocumentNode, variables: VariableValues,
                 costs: CostTable) -> None:
        self.schema = schema
        self.costs = costs
        self.variables = variables
        self.fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}

    def fields(self, parent: GraphQLObjectType, selection_set: SelectionSetNode | None) -> list[tuple[GraphQLObjectType, FieldNode]]:
        """The field nodes of a selection set with their parent type, fragments flattened."""
        found: list[tuple[GraphQLObjectType, FieldNode]] = []
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                found.append((parent, selection))
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                target = self.schema.get_type(condition.name.value) if condition else parent
                found.extend(self.fields(target, selection.selection_set))  # type: ignore[arg-type]
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments[selection.name.value]
                target = self.schema.get_type(fragment.type_condition.name.value)
                found.extend(self.fields(target, fragment.selection_set))  # type: ignore[arg-type]
        return found

    def selection(self, parent: GraphQLObjectType, selection_set: SelectionSetNode | None,
                  page_limit: int | None = None) -> int:
        total = 0
        for owner, node in self.fields(parent, selection_set):
            if node.name.value == "__typename":
                continue
            definition = owner.fields[node.name.value]
            total += self.field(definition, node, page_limit)
        return total

    def field(self, definition: GraphQLField, node: FieldNode, page_limit: int | None = None) -> int:
        named = get_named_type(definition.type)
        if is_leaf_type(named):
            return self.costs.scalar_field
        args = get_argument_values(definition, node, self.variables)
        name = node.name.value
        child_limit = None
        if name in PAGED_FIELDS:
            child_limit = int(args.get("limit") or self.costs.default_page_limit)
        inner = self.selection(named, node.selection_set, child_limit)  # type: ignore[arg-type]
        return self.costs.object_field + self.list_size(definition, name, args, page_limit) * inner

    def list_size(self, definition: GraphQLField, name: str, args: dict[str, Any], page_limit: int | None) -> int:
        field_type = definition.type.of_type if is_non_null_type(definition.type) else definition.type
        if not is_list_type(field_type):
            return 1
        costs = self.costs
        if args.get("ids"):
            return len(args["ids"])  # Monday counts ids before limit
        if name == "items" and page_limit is not None:
            return page_limit
        return {
            "column_values": costs.column_values_per_item,
            "subitems": costs.subitems_per_item,
            "columns": costs.columns_per_board,
            "groups": costs.groups_per_board,
        }.get(name, int(args.get("limit") or costs.default_page_limit))


def document_cost(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode,
                  variables: VariableValues, costs: CostTable) -> DocumentCost:
    """Cost of the operation that will run; the document must already be valid."""
    estimator = _Estimator(schema, document, variables, costs)
    is_mutation = operation.operation == OperationType.MUTATION
    root = schema.mutation_type if is_mutation else schema.query_type
    assert root is not None
    points = mutations = create_boards = 0
    roots = estimator.fields(root, operation.selection_set)
    for owner, node in roots:
        name = node.name.value
        if name in ("complexity", "__typename"):
            continue
        if name in INTROSPECTION_FIELDS:
            points += INTROSPECTION_POINTS
            continue
        points += estimator.field(owner.fields[name], node)
        if is_mutation:
            points += costs.mutation_cost(name) - costs.object_field
            if name in BULK_JOBS:
                item_ids = get_argument_values(owner.fields[name], node, variables).get("item_ids") or []
                points += costs.bulk_item * len(item_ids)
            mutations += 1
            create_boards += name in BOARD_CREATING
    only_complexity = all(node.name.value == "complexity" for _, node in roots)
    return DocumentCost(points, mutations, create_boards, only_complexity)
