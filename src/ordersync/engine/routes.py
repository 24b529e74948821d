"""Routes: which board an order line goes to (`[[routes]]`, in order, first match wins, one default).

A pure function over a source row's fields. A config with only `[monday] board_id` has one implicit
route and routes nothing. A routed run is one run per board: `boards_of` lists them in route order,
`board_config` is the config one board's run sees (`[monday] board_id` set to that board), and a
`Router` answers "which board" for each order line the one extract → transform loop reads.

A template route (`template_board_id`, engine/rollover.py) has several boards: its lines go where the
rollover placed them (an existing line stays on the board holding it, a new one goes to the newest
board with room); a line it did not place goes to its newest board.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ordersync.config import Config, RouteConfig
from ordersync.engine.filters import canonical_customer, canonical_customers
from ordersync.engine.transform import RowError, TransformedLine, business_key


@dataclass(frozen=True)
class Route:
    board_id: str  # a template route: its newest board ("" before its first is made)
    when: tuple[tuple[str, frozenset[str]], ...] = ()  # (source column, the values it routes here); () = default
    template_board_id: str | None = None
    boards: tuple[str, ...] = ()  # a template route's boards, oldest first
    placement: Mapping[str, str] = field(default_factory=dict, compare=False)  # business key → its board

    def board_of(self, order_line: Mapping[str, Any], key_columns: Sequence[str]) -> str:
        if not self.placement:
            return self.board_id
        key, _ = business_key(order_line, key_columns)
        return self.placement.get(key or "", self.board_id)


def routes_of(config: Config) -> tuple[Route, ...]:
    """The route table, values as compared (customers canonical, others trimmed); the implicit one
    route of a config with only `[monday] board_id`."""
    if not config.routes:
        return (Route(config.monday.board_id),) if config.monday.board_id else ()
    lookup = canonical_customers(config.customers)
    customer_column = config.source.customer_column

    def compared(column: str, values: Sequence[str]) -> frozenset[str]:
        if column == customer_column:
            return frozenset(canonical_customer(value, lookup) for value in values)
        return frozenset(value.strip() for value in values)

    def when(route: RouteConfig) -> tuple[tuple[str, frozenset[str]], ...]:
        return tuple((column, compared(column, values)) for column, values in (route.when or {}).items())

    return tuple(Route(route.board_id, when(route)) if route.board_id is not None
                 else Route(route._boards[-1] if route._boards else "", when(route), route.template_board_id,
                            route._boards, route._placement)
                 for route in config.routes)


def boards_of(config: Config) -> list[str]:
    """Every routed board once, in route order (a board may serve several routes; a template route's
    boards oldest first, once engine/rollover.py has named them)."""
    return list(dict.fromkeys(board for route in routes_of(config)
                              for board in (route.boards if route.template_board_id else (route.board_id,))))


def routes_lines(config: Config) -> bool:
    """True when lines must be routed: some route has a `when` or a template (else every line goes to
    the one board)."""
    return any(route.when or route.template_board_id for route in config.routes)


def board_config(config: Config, board_id: str) -> Config:
    """The config one board's run sees: `[monday] board_id` names it; the route table stays."""
    return config.model_copy(update={"monday": config.monday.model_copy(update={"board_id": board_id})})


def route_columns(config: Config) -> list[str]:
    """The source columns the routes read."""
    return list(dict.fromkeys(column for route in config.routes for column in route.when or {}))


class Router:
    """`router(order_line)`: the board the first matching route names, None when no route takes the line."""

    def __init__(self, config: Config) -> None:
        self.routes = routes_of(config)
        self.customer_column = config.source.customer_column
        self.lookup = canonical_customers(config.customers)
        self.columns = route_columns(config)
        self.key_columns = config.source.business_key

    def __call__(self, order_line: Mapping[str, Any]) -> str | None:
        route = route_taking(order_line, self.routes, customer_column=self.customer_column, lookup=self.lookup)
        return None if route is None else route.board_of(order_line, self.key_columns)

    def describe(self) -> str:
        """The fields the routes read, for a message on a line none of them takes."""
        return ", ".join(self.columns)


def route_taking(order_line: Mapping[str, Any], routes: Sequence[Route], *, customer_column: str,
                 lookup: Mapping[str, str]) -> Route | None:
    """The first route whose every field holds one of its values; None when none does."""
    for route in routes:
        if all(_value(order_line.get(column), column == customer_column, lookup) in allowed
               for column, allowed in route.when):
            return route
    return None


def _value(raw: Any, is_customer: bool, lookup: Mapping[str, str]) -> str:
    if is_customer:
        return canonical_customer(raw, lookup)
    return "" if raw is None else str(raw).strip()


def routed_lines(results: Iterable[TransformedLine | RowError],
                 router: Router) -> Iterator[TransformedLine | RowError]:
    """A routed run's lines, each with its board; a line no route takes becomes a row error (never dropped)."""
    for result in results:
        if isinstance(result, TransformedLine) and result.board_id is None:
            item = result.item
            yield RowError(item.source_row, f"no route takes this order line: its {router.describe()} match no "
                           "[[routes]] entry and there is no default route; add a route for it (or a route "
                           "without `when`) to ordersync.toml", field=router.columns[0] if router.columns else None,
                           item_key=item.item_key, customer=item.customer,
                           row_fields=(("customer", item.customer), ("po_number", item.po_number),
                                       ("aag_season", item.aag_season), ("customer_season", item.customer_season)))
        else:
            yield result
