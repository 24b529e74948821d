"""The GraphQL documents ordersync sends, kept as `.graphql` files beside this module.

Queries are sent as written. Mutations are written one per file and composed into one request
of many aliases (`m0: create_item(...) m1: create_item(...)`), each alias with its own renamed
variables, plus the `complexity` field so every answer reports the budget it left. Results are
matched back to rows by alias, never by position.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, partial
from importlib import resources
from importlib.resources.abc import Traversable

from graphql import FieldNode, OperationDefinitionNode, parse, print_ast

COMPLEXITY_SELECTION = "complexity { before after query reset_in_x_seconds }"
_VARIABLE = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


_FRAGMENT_SPREAD = re.compile(r"\.\.\.\s*([A-Za-z_][A-Za-z0-9_]*)")


def _folder() -> Traversable:
    return resources.files("ordersync.monday").joinpath("documents")


@cache
def document(name: str) -> str:
    """The text of `documents/<name>.graphql`, with the shared fragments it spreads (`fragments/<Name>.graphql`)."""
    text = _folder().joinpath(f"{name}.graphql").read_text(encoding="utf-8")
    defined = set(re.findall(r"fragment\s+([A-Za-z_][A-Za-z0-9_]*)", text))
    for fragment in sorted(set(_FRAGMENT_SPREAD.findall(text)) - defined):
        text += "\n" + _folder().joinpath("fragments").joinpath(f"{fragment}.graphql").read_text(encoding="utf-8")
    return text


def document_names() -> list[str]:
    return sorted(entry.name.removesuffix(".graphql") for entry in _folder().iterdir()
                  if entry.name.endswith(".graphql"))


@dataclass(frozen=True)
class MutationTemplate:
    """One mutation document taken apart: its variable definitions and its single root field."""

    name: str
    field: str  # the root field's name, e.g. create_item
    variable_definitions: tuple[tuple[str, str], ...]  # (name, type)
    selection: str  # the field as text, `$variables` unrenamed


@cache
def mutation_template(name: str) -> MutationTemplate:
    tree = parse(document(name))
    [operation] = [node for node in tree.definitions if isinstance(node, OperationDefinitionNode)]
    if operation.operation.value != "mutation" or len(operation.selection_set.selections) != 1:
        raise ValueError(f"{name}.graphql must hold exactly one mutation field")
    [field] = operation.selection_set.selections
    assert isinstance(field, FieldNode)
    definitions = tuple(
        (definition.variable.name.value, print_ast(definition.type))
        for definition in operation.variable_definitions or ()
    )
    return MutationTemplate(name, field.name.value, definitions, print_ast(field))


def compose_mutations(calls: list[tuple[str, str]]) -> tuple[str, list[str]]:
    """One document for many (alias, template name) calls.

    Variables of the call with alias `m3` are renamed `$name_m3`; returns the document and the
    aliases in order. The caller provides the variables with `alias_variables`.
    """
    definitions: list[str] = []
    fields: list[str] = []
    for alias, name in calls:
        template = mutation_template(name)
        definitions.extend(f"${variable}_{alias}: {type_}" for variable, type_ in template.variable_definitions)
        renamed = _VARIABLE.sub(partial(_rename, alias=alias), template.selection)
        fields.append(f"{alias}: {renamed}")
    header = f"mutation Batch({', '.join(definitions)})" if definitions else "mutation Batch"
    body = "\n  ".join(fields + [COMPLEXITY_SELECTION])
    return f"{header} {{\n  {body}\n}}", [alias for alias, _ in calls]


def _rename(match: re.Match[str], *, alias: str) -> str:
    return f"${match.group(1)}_{alias}"


def alias_variables(alias: str, variables: dict[str, object]) -> dict[str, object]:
    return {f"{name}_{alias}": value for name, value in variables.items()}
