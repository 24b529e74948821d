"""The CLI's options, each written once: the global ones, `--json`, and the filters that
`plan`, `sync`, `validate` and `reconcile` share (added to a command by `@with_filters`)."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from ordersync.api import Config, load_config


@dataclass
class GlobalOptions:
    """`--config` and `--profile`, given before the command."""

    config_path: Path | None = None
    profile: str | None = None

    def load(self) -> Config:
        return load_config(self.config_path, profile=self.profile)


JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout and nothing else.")]
FullOption = Annotated[bool, typer.Option(
    "--full", help="Read, transform and compare every order line, not only those whose fingerprint changed.")]
WaitOption = Annotated[float, typer.Option("--wait", min=0, help="Seconds to wait for the board's lock.")]
BoardOption = Annotated[str | None, typer.Option(
    "--board", help="Only this routed board (one of `ordersync boards`): how several workers split the boards.")]
BoardsOption = Annotated[list[str] | None, typer.Option(
    "--board", help="Only this routed board (one of `ordersync boards`). Repeatable: one worker's share of the "
    "boards, read from the source once.")]
CustomerOption = Annotated[list[str] | None, typer.Option(
    "--customer", help="Only this customer (canonical name or any alias). Repeatable.")]


@dataclass(frozen=True)
class FilterOptions:
    """The filter options of one command line, named as the Python API's keyword arguments."""

    customers: tuple[str, ...] = ()
    exclude_customers: tuple[str, ...] = ()
    po_numbers: tuple[str, ...] = ()
    aag_seasons: tuple[str, ...] = ()
    customer_seasons: tuple[str, ...] = ()
    limit: int | None = None

    def as_kwargs(self) -> dict[str, Any]:
        """`ordersync.plan(config, **filters.as_kwargs())`, and the same for sync, validate, reconcile."""
        return {field.name: getattr(self, field.name) for field in fields(self)}


# (parameter, option) in the order --help lists them; _filter_options maps them onto FilterOptions
_FILTERS: list[tuple[str, Any]] = [
    ("customer", CustomerOption),
    ("exclude_customer", Annotated[list[str] | None, typer.Option(
        "--exclude-customer", help="Leave this customer out. Repeatable.")]),
    ("po", Annotated[list[str] | None, typer.Option("--po", help="Only this PO NUMBER. Repeatable.")]),
    ("aag_season", Annotated[list[str] | None, typer.Option(
        "--aag-season", help="Only this AAG SEASON, e.g. '2025 FALL'. Repeatable.")]),
    ("customer_season", Annotated[list[str] | None, typer.Option(
        "--customer-season", help="Only this CUSTOMER SEASON. Repeatable.")]),
    ("limit", Annotated[int | None, typer.Option(
        "--limit", min=1, help="At most this many order lines in the whole run (not per customer). "
        "A limited run never archives: it cannot know what was removed.")]),
]

Command = TypeVar("Command", bound=Callable[..., Any])


def _filter_options(given: dict[str, Any]) -> FilterOptions:
    """Take the filter options out of a command's keyword arguments (repeatable ones arrive as lists or None)."""
    def repeated(name: str) -> tuple[str, ...]:
        return tuple(given.pop(name) or ())

    return FilterOptions(customers=repeated("customer"), exclude_customers=repeated("exclude_customer"),
                         po_numbers=repeated("po"), aag_seasons=repeated("aag_season"),
                         customer_seasons=repeated("customer_season"), limit=given.pop("limit"))


def with_filters(command: Command) -> Command:
    """Give a command the filter options in place of its `filters: FilterOptions` parameter.

    Typer reads a command's signature; this one shows the six options where `filters` stood
    and hands the command one `FilterOptions` built from what was given.
    """
    signature = inspect.signature(command, eval_str=True)
    parameters: list[inspect.Parameter] = []
    for parameter in signature.parameters.values():
        if parameter.name == "filters":
            parameters += [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=option)
                           for name, option in _FILTERS]
        else:
            parameters.append(parameter.replace(kind=inspect.Parameter.KEYWORD_ONLY))

    @functools.wraps(command)
    def wrapper(**kwargs: Any) -> Any:
        return command(filters=_filter_options(kwargs), **kwargs)

    wrapper.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {parameter.name: parameter.annotation for parameter in parameters}
    return wrapper  # type: ignore[return-value]
