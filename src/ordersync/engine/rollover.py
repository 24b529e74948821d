"""Rollover: the boards of a template route (`[[routes]] template_board_id`, issue 11), made as they fill.

Before a sync's runs start, each template route is planned: its lines in the source, those a board of it
already holds (the mirror knows which: they stay there), and the new ones. The new ones fill the newest
board up to `rollover_at` items (what Monday says it holds), then the next boards, each made first from
the template with `duplicate_board` (structure only: columns, groups, subitem columns) and named
"<template name> <n>" — the route's first board, "<template name> 1", on its first sync. Making a board
is a write with an intent (state/board_registry.py): the intent is committed before the request, and an
intent a killed or answerless run left open is settled by finding the board by its name through the API
before another is made, so a rerun never makes a second board. The sync then runs each board with the
lines placed on it (`engine.routes.Route.placement`). Read-only commands (`placed_config`) see the
boards made so far and place the lines the same way, making nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from ordersync.config import Config, RouteConfig
from ordersync.engine.filters import canonical_customers
from ordersync.engine.pipeline import Databases
from ordersync.engine.routes import Route, boards_of, route_taking, routes_of
from ordersync.engine.source import open_source
from ordersync.engine.transform import business_key
from ordersync.monday.board_setup import board_named
from ordersync.monday.client import MondayClient, derive_idempotency_key
from ordersync.monday.documents import document
from ordersync.state import IntentOperation, IntentStatus, StateStore
from ordersync.state.board_registry import BoardRegistry, RegisteredBoard
from ordersync.state.lock import BoardLock, acquire_lock

log = logging.getLogger(__name__)

BOARD_CREATE_COST = 10_000
LOCK_WAIT = 60.0  # seconds another process's rollover (a few requests) may keep a template's lock


@dataclass
class _RoutePlan:
    """One template route's lines: those its boards hold (key → board), and the new ones in source order."""

    held: dict[str, str]
    new: list[str]


def has_template_routes(config: Config) -> bool:
    return any(route.template_board_id for route in config.routes)


def placed_config(config: Config) -> Config:
    """The config a read-only command works with: each template route's boards made so far (none is
    made here), existing lines on their boards, new ones on the newest."""
    if not has_template_routes(config):
        return config
    databases = Databases.open(config)
    try:
        registry = BoardRegistry(databases.state.engine, databases.state.tables)
        boards = {route.template_board_id: [board.board_id for board in registry.boards(route.template_board_id)
                                            if board.board_id]
                  for route in config.routes if route.template_board_id}
        plans = _route_plans(config, databases, boards)
        return _with_placements(config, {index: (boards[route.template_board_id or ""], plans[index].held)
                                         for index, route in _template_routes(config)})
    finally:
        databases.close()


async def roll_over(config: Config, databases: Databases, client: MondayClient, *,
                    wait_for_lock: float = 0.0) -> Config:
    """Before a sync: settle every template route's open board intents, make the boards its new lines
    need (its first one too), and return the config whose routes place every line on its board. One
    process at a time plans a template's boards: it holds the template's lock (the board lock table,
    keyed by the template board, which nothing syncs to) meanwhile, waiting up to `wait_for_lock`
    plus a minute for another process's rollover to end."""
    locks: list[BoardLock] = []
    try:
        for template in sorted({route.template_board_id or "" for _, route in _template_routes(config)}):
            locks.append(await acquire_lock(databases.state, template, wait_seconds=wait_for_lock + LOCK_WAIT))
        return await _roll_over(config, databases, client)
    finally:
        for lock in locks:
            lock.release()


async def _roll_over(config: Config, databases: Databases, client: MondayClient) -> Config:
    registry = BoardRegistry(databases.state.engine, databases.state.tables)
    boards: dict[str, list[str]] = {}
    for _, route in _template_routes(config):
        template = route.template_board_id
        assert template is not None
        registered = registry.boards(template)
        made = [await _settled(client, registry, board) for board in registered]
        if not made:
            made.append(await _make_board(client, registry, template, 1))
        boards[template] = made
    plans = _route_plans(config, databases, boards)
    placements: dict[int, tuple[list[str], dict[str, str]]] = {}
    for index, route in _template_routes(config):
        template = route.template_board_id
        assert template is not None
        made, plan = boards[template], plans[index]
        open_boards, rooms = await _rooms(client, made, route.rollover_at)
        needed = -(-max(0, len(plan.new) - sum(rooms)) // route.rollover_at)  # boards to make, rounded up
        for _ in range(needed):
            made.append(await _make_board(client, registry, template, len(made) + 1))
            open_boards, rooms = [*open_boards, made[-1]], [*rooms, route.rollover_at]
        placement = dict(plan.held)
        placement.update(_fill(plan.new, open_boards, rooms))
        placements[index] = (made, placement)
        if needed:
            log.info("rollover: template %s: %d new lines over boards %s (%d made now)", template, len(plan.new),
                     ", ".join(open_boards), needed, extra={"stage": "rollover", "template_board_id": template})
    return _with_placements(config, placements)


async def _rooms(client: MondayClient, boards: Sequence[str], rollover_at: int) -> tuple[list[str], list[int]]:
    """The boards new lines may go to, and the room each has below `rollover_at`: the newest board holding
    items and those after it (empty: made by a run that stopped before it filled them)."""
    counted = (await client.query("board_counts", {"board_ids": list(boards)}))["boards"] or []
    counts = {str(board["id"]): int(board["items_count"] or 0) for board in counted}
    used = [counts.get(board, 0) for board in boards]
    start = max((position for position, count in enumerate(used) if count), default=0)
    return list(boards[start:]), [max(0, rollover_at - count) for count in used[start:]]


def _fill(new: Sequence[str], boards: Sequence[str], rooms: Sequence[int]) -> Iterator[tuple[str, str]]:
    """New lines in order, each board taking as many as it has room for; the last takes any left over."""
    board, left = 0, rooms[0]
    for key in new:
        while left <= 0 and board < len(boards) - 1:
            board += 1
            left = rooms[board]
        yield key, boards[board]
        left -= 1


def _template_routes(config: Config) -> Iterator[tuple[int, RouteConfig]]:
    return ((index, route) for index, route in enumerate(config.routes) if route.template_board_id)


def _with_placements(config: Config, placements: Mapping[int, tuple[Sequence[str], Mapping[str, str]]]) -> Config:
    routes = []
    for index, route in enumerate(config.routes):
        if index in placements:
            boards, placement = placements[index]
            route = route.model_copy()
            route._boards, route._placement = tuple(boards), dict(placement)
        routes.append(route)
    return config.model_copy(update={"routes": routes})


def _route_plans(config: Config, databases: Databases, boards: Mapping[str, Sequence[str]]) -> dict[int, _RoutePlan]:
    """Each template route's lines in the source (only the key and route columns are read): those one of
    its boards holds, and the new ones."""
    routes = routes_of(config)
    index_of = {id(route): index for index, route in enumerate(routes)}
    keys: dict[int, list[str]] = {index: [] for index, _ in _template_routes(config)}
    source_table = open_source(databases.source, config)
    names = list(config.source.business_key)
    read = list(dict.fromkeys([*names, *(column for route in config.routes for column in route.when or {})]))
    lookup, customer_column = canonical_customers(config.customers), config.source.customer_column
    with databases.source.connect() as connection:
        result = connection.execution_options(stream_results=True, yield_per=config.source.chunk_size).execute(
            sa.select(*(source_table.table.c[name] for name in read)))
        for row in result:
            line = dict(zip(read, row, strict=True))
            route: Route | None = route_taking(line, routes, customer_column=customer_column, lookup=lookup)
            key, _ = business_key(line, names)
            if route is not None and route.template_board_id and key is not None:
                keys[index_of[id(route)]].append(key)
    plans = {}
    for index, route_config in _template_routes(config):
        held = _held(databases.state, boards.get(route_config.template_board_id or "", []))
        route_keys = list(dict.fromkeys(keys[index]))
        plans[index] = _RoutePlan({key: held[key] for key in route_keys if key in held},
                                  [key for key in route_keys if key not in held])
    return plans


def _held(store: StateStore, boards: Sequence[str]) -> dict[str, str]:
    """business key → the board of these that holds it: the mirror (what Monday confirmed), and a create
    an earlier run left open there (its answer lost: the board's run settles it, so the line stays)."""
    synced, intents = store.tables.synced_items, store.tables.write_intents
    with store.engine.connect() as connection:
        held = {key: board for key, board in connection.execute(
            sa.select(intents.c.item_key, intents.c.board_id).where(
                intents.c.board_id.in_(list(boards)), intents.c.status == IntentStatus.OPEN.value,
                intents.c.operation == IntentOperation.CREATE_ITEM.value, intents.c.item_key.is_not(None)))}
        held.update({key: board for key, board in connection.execute(
            sa.select(synced.c.item_key, synced.c.board_id).where(synced.c.board_id.in_(list(boards))))})
    return held


async def _settled(client: MondayClient, registry: BoardRegistry, board: RegisteredBoard) -> str:
    """A registered board's id; an intent an earlier run left open is settled first: the board found by
    its name (that run's request reached Monday), else made now."""
    if board.board_id is not None:
        return board.board_id
    found = await board_named(client, board.board_name)
    if found is not None:
        log.info("rollover: board %s (%s) found by its name: the run that asked for it stopped before it "
                 "recorded it", found, board.board_name, extra={"stage": "rollover"})
        registry.record_board(board.template_board_id, board.sequence, found)
        return found
    return await _make_board(client, registry, board.template_board_id, board.sequence)


async def _make_board(client: MondayClient, registry: BoardRegistry, template: str, sequence: int) -> str:
    """The route's board number `sequence`, made from the template: the intent first, then the request."""
    schema = await client.board_schema(template)
    name = f"{schema['name']} {sequence}"
    registry.record_intent(template, sequence, name)
    made = await client.execute(document("duplicate_board"), {"board_id": template, "board_name": name},
                                cost=BOARD_CREATE_COST,
                                idempotency_key=derive_idempotency_key("duplicate_board", template, sequence))
    board_id = str(made["duplicate_board"]["board"]["id"])
    registry.record_board(template, sequence, board_id)
    log.info("rollover: board %s (%s) made from template %s", board_id, name, template,
             extra={"stage": "rollover", "template_board_id": template, "board_id": board_id})
    return board_id


def board_rollover(store: StateStore, config: Config, board_id: str | None) -> dict[str, Any] | None:
    """`status`: the template route a board belongs to — its template, the board's name and number, the
    threshold, and every board of the route made so far (oldest first); None for a fixed board."""
    registry = BoardRegistry(store.engine, store.tables)
    for _, route in _template_routes(config):
        boards = registry.boards(route.template_board_id or "")
        this = next((board for board in boards if board_id and board.board_id == board_id), None)
        if this is not None:
            return {"template_board_id": route.template_board_id, "board_name": this.board_name,
                    "sequence": this.sequence, "rollover_at": route.rollover_at,
                    "route_boards": [board.board_id for board in boards if board.board_id]}
    return None


def registered_boards(config: Config, store: StateStore) -> list[str]:
    """Every routed board in route order, a template route's those the registry holds (oldest first), read
    only — for the dashboard, which creates nothing (no registry table yet: none)."""
    with store.engine.connect() as connection:
        known = sa.inspect(connection).has_table(store.tables.board_registry.name)
    registry = BoardRegistry(store.engine, store.tables)
    boards = {index: [board.board_id for board in registry.boards(route.template_board_id or "") if board.board_id]
              if known else [] for index, route in _template_routes(config)}
    return boards_of(_with_placements(config, {index: (made, {}) for index, made in boards.items()}))
