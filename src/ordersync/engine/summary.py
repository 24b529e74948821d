"""The run summary: what a finished run did, as one typed record in `runs.summary`.

Sync writes it when a run ends (a dry run or `plan` writes the plan-shaped subset: `run_id`,
`totals`, `customers`); `report`, `status` and the dashboard read it back with
`RunSummary.from_stored`. Every field has a default, so a summary written by an older release, or
by a plan, still reads; what a run did not write stays unset and `as_dict()` leaves it out, so the
JSON is exactly what was written (the `sync --json` shape).
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ordersync.state.schema import RunStatus

log = logging.getLogger(__name__)

Counts = dict[str, int]  # create / update / archive / unchanged / failed (/ pending): rows per outcome


class _Record(BaseModel):
    model_config = ConfigDict(extra="ignore")  # a field a newer release added does not break an older reader


class GroupCounts(_Record):
    """Groups of one customer: how many were (to be) created, and which."""

    create: int = 0
    created: list[dict[str, str]] = Field(default_factory=list)  # sync: {"name", "id"} of each group made
    names: list[str] = Field(default_factory=list)  # plan: the titles a sync would create


class GroupTotals(_Record):
    create: int = 0


class CustomerSummary(_Record):
    groups: GroupCounts = Field(default_factory=GroupCounts)
    items: Counts = Field(default_factory=dict)
    subitems: Counts = Field(default_factory=dict)
    warnings: int = 0  # values cut to fit their column: not failures, their lines synced
    aborted: str | None = None  # why this customer's work stopped (its rows stay pending)


class Totals(_Record):
    groups: GroupTotals = Field(default_factory=GroupTotals)
    items: Counts = Field(default_factory=dict)
    subitems: Counts = Field(default_factory=dict)
    warnings: int = 0


class ApiSummary(_Record):
    """What the Monday client did during the run."""

    requests: int = 0
    mutation_requests: int = 0
    mutations: int = 0
    retries: int = 0
    rate_limited: int = 0
    complexity_spent: int = 0
    budget_wait_seconds: float = 0.0


class RunSummary(_Record):
    """One run's outcome: counts per customer and in total, what was planned, the API figures."""

    run_id: int | None = None
    status: RunStatus | None = None
    board_id: str | None = None
    totals: Totals = Field(default_factory=Totals)
    customers: dict[str, CustomerSummary] = Field(default_factory=dict)
    planned: Totals | None = None
    api: ApiSummary | None = None  # None: a plan, or a run that stopped before its summary
    settled_intents: dict[str, int] = Field(default_factory=dict)
    adopted: dict[str, Any] | None = None  # what the run found on the board before it created anything
    reports: str | None = None  # the folder the run's Markdown and JSON reports were written to

    def as_dict(self) -> dict[str, Any]:
        """The summary as plain JSON data, with only the fields the run wrote."""
        return self.model_dump(mode="json", exclude_unset=True)

    @classmethod
    def from_stored(cls, text: str | None) -> RunSummary | None:
        """The summary a run row holds; None when it has none (still running, stopped by an error) or
        when it cannot be read (the caller then counts from the staged rows, as for a running run)."""
        if not text:
            return None
        try:
            return cls.model_validate_json(text)
        except ValidationError as error:
            log.warning("a run summary could not be read, counting from the staged rows instead: %s", error)
            return None
