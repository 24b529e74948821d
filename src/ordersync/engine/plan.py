"""Plan: what a sync of a staged, diffed run will do, per customer — read from the staged tables.

The same counts describe a dry run (`ordersync plan`) and, with `done` counting confirmed
writes instead of intended ones, the outcome of a sync. `warnings` (values cut to fit their
column; their lines are counted as items like any other) is there only when there are some.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from ordersync.errors import WARNING_CATEGORIES
from ordersync.state import Operation, RowStatus, StateStore

log = logging.getLogger(__name__)
COUNT_KEYS = ("create", "update", "archive", "unchanged", "failed")


def _empty_counts() -> dict[str, int]:
    return dict.fromkeys(COUNT_KEYS, 0)


@dataclass
class CustomerPlan:
    customer: str
    groups_to_create: list[str] = field(default_factory=list)
    items: dict[str, int] = field(default_factory=_empty_counts)
    subitems: dict[str, int] = field(default_factory=_empty_counts)
    warnings: int = 0  # values cut to fit their column (their order lines synced all the same)

    def as_dict(self) -> dict[str, Any]:
        planned = {
            "groups": {"create": len(self.groups_to_create), "names": sorted(self.groups_to_create)},
            "items": dict(self.items),
            "subitems": dict(self.subitems),
        }
        return planned | ({"warnings": self.warnings} if self.warnings else {})


@dataclass
class Plan:
    run_id: int
    customers: dict[str, CustomerPlan]

    @property
    def totals(self) -> dict[str, Any]:
        items, subitems = _empty_counts(), _empty_counts()
        # a fallback group (`check`) can be needed by several customers: it is created once
        groups = {name for customer in self.customers.values() for name in customer.groups_to_create}
        for customer in self.customers.values():
            for key, count in customer.items.items():
                items[key] = items.get(key, 0) + count
            for key, count in customer.subitems.items():
                subitems[key] = subitems.get(key, 0) + count
        warnings = sum(customer.warnings for customer in self.customers.values())
        return {"groups": {"create": len(groups)}, "items": items, "subitems": subitems} | (
            {"warnings": warnings} if warnings else {})

    @property
    def has_writes(self) -> bool:
        totals = self.totals
        return bool(totals["groups"]["create"]) or any(
            totals[kind][key] for kind in ("items", "subitems") for key in ("create", "update", "archive")
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "totals": self.totals,
            "customers": {name: plan.as_dict() for name, plan in sorted(self.customers.items())},
        }


def _bucket(operation: str | None) -> str:
    if operation == Operation.CREATE.value:
        return "create"
    if operation == Operation.UPDATE.value:
        return "update"
    if operation in (Operation.ARCHIVE.value, Operation.DELETE.value):
        return "archive"
    return "unchanged"


def _count_run(store: StateStore, run_id: int, bucket: Callable[[str | None, str], str | None]) -> Plan:
    """Count a run's staged rows per customer into `bucket(operation, status)`, and its bad source rows."""
    tables = store.tables
    customers: dict[str, CustomerPlan] = {}

    def customer_plan(name: str | None) -> CustomerPlan:
        name = name or "(no customer)"
        return customers.setdefault(name, CustomerPlan(name))

    with store.engine.connect() as connection:
        for table, attribute in ((tables.staged_items, "items"), (tables.staged_subitems, "subitems")):
            rows = connection.execute(
                sa.select(table.c.customer, table.c.operation, table.c.status, sa.func.count())
                .where(table.c.run_id == run_id)
                .group_by(table.c.customer, table.c.operation, table.c.status)
            ).all()
            for customer, operation, status, count in rows:
                counts = getattr(customer_plan(customer), attribute)
                key = bucket(operation, status)
                counts[key] = counts.get(key, 0) + count
        unchanged = tables.unchanged_lines  # lines the run left unstaged, their fingerprints unchanged
        for customer, items, subitems in connection.execute(sa.select(
                unchanged.c.customer, unchanged.c["items"], unchanged.c.subitems).where(unchanged.c.run_id == run_id)):
            plan = customer_plan(customer)
            plan.items["unchanged"] += items
            plan.subitems["unchanged"] += subitems
        errors = tables.errors
        for customer, category, lines, records in connection.execute(
            sa.select(errors.c.customer, errors.c.category, sa.func.count(sa.distinct(errors.c.source_row)),
                      sa.func.count())
            .where(errors.c.run_id == run_id, errors.c.stage == "transform")
            .group_by(errors.c.customer, errors.c.category)
        ).all():
            if category in WARNING_CATEGORIES:
                customer_plan(customer).warnings += records
            else:
                customer_plan(customer).items["failed"] += lines
    return Plan(run_id, customers)


def build_plan(store: StateStore, run_id: int, board_id: str) -> Plan:
    """What a sync of this staged, diffed run is going to do."""
    started = time.monotonic()
    plan = _count_run(store, run_id, lambda operation, _status: _bucket(operation))
    with store.engine.connect() as connection:
        owners: dict[str, str] = {}  # a group is made once: counted under the first customer whose lines need it
        for customer, group_name in groups_to_create(connection, store, run_id, board_id):
            owners.setdefault(group_name, customer)  # (the fallback group is shared by every customer's odd lines)
    for group_name, customer in owners.items():
        plan.customers.setdefault(customer, CustomerPlan(customer)).groups_to_create.append(group_name)
    totals = plan.totals
    log.info("plan: %d customers; %d groups to create; items %s; subitems %s; in %.2f s", len(plan.customers),
             totals["groups"]["create"], _counted(totals["items"]), _counted(totals["subitems"]),
             time.monotonic() - started, extra={"stage": "plan", "customers": len(plan.customers), **totals,
                                                "seconds": round(time.monotonic() - started, 3)})
    return plan


def _counted(counts: dict[str, int]) -> str:
    return ", ".join(f"{count} {key}" for key, count in counts.items())


def _outcome_bucket(operation: str | None, status: str) -> str:
    if status == RowStatus.ERROR.value:
        return "failed"
    if operation in (None, Operation.NONE.value):
        return "unchanged"
    return _bucket(operation) if status == RowStatus.DONE.value else "pending"


def build_outcome(store: StateStore, run_id: int) -> Plan:
    """What a sync actually did, per customer: confirmed writes by operation, and rows that failed."""
    return _count_run(store, run_id, _outcome_bucket)


def groups_to_create(connection, store: StateStore, run_id: int, board_id: str) -> list[tuple[str, str]]:
    """(customer, group name) for groups the run's creates and moves need and the board is not known to have."""
    tables = store.tables
    staged, synced, groups = tables.staged_items, tables.synced_items, tables.groups
    moved = sa.select(sa.literal(1)).where(
        synced.c.board_id == board_id, synced.c.item_key == staged.c.item_key,
        synced.c.group_name != staged.c.group_name,
    ).exists()
    known = sa.select(sa.literal(1)).where(groups.c.board_id == board_id, groups.c.group_name == staged.c.group_name)
    rows = connection.execute(
        sa.select(staged.c.customer, staged.c.group_name).distinct().where(
            staged.c.run_id == run_id,
            sa.or_(staged.c.operation == Operation.CREATE.value,
                   sa.and_(staged.c.operation == Operation.UPDATE.value, moved)),
            ~known.exists(),
        ).order_by(staged.c.customer, staged.c.group_name)
    ).all()
    return [(customer, group_name) for customer, group_name in rows]
