"""ordersync from Python: every command of the CLI as a function, returning a typed result.

`ordersync sync --customer GREYSON --json` and `ordersync.sync(config, customers=["GREYSON"]).as_dict()`
run the same code and give the same data; the CLI is a thin layer over this module.

One style for the filters, on `plan`, `sync`, `validate` and `reconcile`: keyword arguments named
like the CLI options, each a sequence where the option is repeatable — `customers=` (`--customer`,
canonical name or any alias), `exclude_customers=` (`--exclude-customer`), `po_numbers=` (`--po`),
`aag_seasons=` (`--aag-season`), `customer_seasons=` (`--customer-season`) and `limit=` (`--limit`).
Other options follow the same rule: `all_customers=` is `--all`, `wait_for_lock=` is `--wait`.

Work that talks to Monday is async at heart: `sync_async`, `retry_async`, `validate_async` and
`reconcile_async` run in a caller's event loop (and take `http=`, an `httpx.AsyncClient`, e.g. one
bound to the emulator's ASGI app); `sync`, `retry`, `validate` and `reconcile` run them to the end.
Errors are the `ordersync.OrdersyncError` tree, each with a hint and the CLI's exit code.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from ordersync.config import Config
from ordersync.config import load_config as _load_config
from ordersync.engine.apply import Progress
from ordersync.engine.filters import Filters
from ordersync.engine.pipeline import plan_only
from ordersync.engine.rollover import placed_config
from ordersync.engine.routes import board_config, boards_of
from ordersync.engine.summary import CustomerSummary, RunSummary, Totals
from ordersync.engine.sync import RoutedSyncResult, SyncOptions, SyncResult, retry_failed, sync_routed
from ordersync.errors import UsageError
from ordersync.ops import board as _board
from ordersync.ops import reconcile as _reconcile
from ordersync.ops import report as _report
from ordersync.ops import status as _status
from ordersync.ops import validate as _validate
from ordersync.ops.board import DEFAULT_BOARD_NAME, BoardCreated, BoardDescription
from ordersync.ops.reconcile import ReconcileResult
from ordersync.ops.validate import Validation
from ordersync.state.schema import RunStatus
from ordersync.twoway import pull as _pull
from ordersync.twoway import webhooks as _webhooks
from ordersync.twoway.pull import PullResult
from ordersync.twoway.webhooks import WebhookInstall

__all__ = [
    "BoardCreated", "BoardDescription", "BoardResults", "Config", "PlanResult", "Progress", "PullResult", "ReconcileResult", "ReportResult", "RoutedSyncResult", "RunStatus",
    "RunSummary", "StatusResult", "SyncResult", "Validation", "WebhookInstall", "boards", "create_board", "create_board_async", "describe_board", "describe_board_async", "load_config", "plan", "pull", "pull_async", "reconcile", "reconcile_async", "report", "retry",
    "retry_async", "serve_webhooks", "status", "sync", "sync_async", "validate", "validate_async",
    "install_webhooks", "install_webhooks_async", "uninstall_webhooks", "uninstall_webhooks_async",
]

LinesRead = Callable[[int], None]  # called with the number of order lines read so far
OperationsDone = Callable[[Progress], None]  # called with the operations done so far, customer and phase


def load_config(path: str | Path | None = None, *, profile: str | None = None) -> Config:
    """The config every other function takes: `path` (default ./ordersync.toml, else the built-in
    sample config) with the `[profiles.NAME]` section `profile` applied. `--config`, `--profile`."""
    return _load_config(path, profile=profile)


def _filters(customers: Iterable[str], exclude_customers: Iterable[str], po_numbers: Iterable[str],
             aag_seasons: Iterable[str], customer_seasons: Iterable[str], limit: int | None) -> Filters:
    return Filters(customers=tuple(customers), exclude_customers=tuple(exclude_customers),
                   po_numbers=tuple(po_numbers), aag_seasons=tuple(aag_seasons),
                   customer_seasons=tuple(customer_seasons), limit=limit)


# -- several boards -------------------------------------------------------------------------------

def each_board(config: Config, board: str | None = None) -> list[Config]:
    """The config of each board a command works over: every routed board in route order (`[[routes]]`),
    else the one `[monday] board_id`; only `board` when given (`--board`: one worker's share). A template
    route's boards are those made so far (`engine.rollover`)."""
    config = placed_config(config)
    if board is not None:
        return [board_config(config, check_board(config, board))]
    if not config.routes:
        return [config]
    return [board_config(config, board_id) for board_id in boards_of(config)]


def check_board(config: Config, board: str) -> str:
    """`--board ID`: one of the config's routed boards, else a `UsageError` naming them."""
    routed = boards_of(config)
    if board.strip() not in routed:
        raise UsageError(f"board {board} is not one of this config's routed boards ({', '.join(routed) or 'none'})",
                         hint="`ordersync boards` lists them; --board names one of them")
    return board.strip()


def boards(config: Config) -> list[str]:
    """`ordersync boards`: the routed boards in route order (`[[routes]]`, else `[monday] board_id`) —
    what a scheduler fans out over, one `sync --board ID` each; a template route's boards made so far."""
    return boards_of(placed_config(config))


@dataclass(frozen=True)
class BoardResults:
    """`plan`, `validate`, `status` or `reconcile` over several routed boards: each board's result in route
    order. `as_dict()` (their `--json`) is `{"boards": [each board's as_dict()], "exit_code"}`; the exit
    code is the worst of the boards'."""

    results: list[Any]

    @property
    def ok(self) -> bool:  # validate
        return all(result.ok for result in self.results)

    @property
    def exit_code(self) -> int:
        return max((getattr(result, "exit_code", 0 if getattr(result, "ok", True) else 2)
                    for result in self.results), default=0)

    def as_dict(self) -> dict[str, Any]:
        return {"exit_code": self.exit_code, "boards": [result.as_dict() for result in self.results]}


def _one_or_all(results: list[Any]) -> Any:
    return results[0] if len(results) == 1 else BoardResults(results)


# -- setting up a board ---------------------------------------------------------------------------

async def create_board_async(config: Config, config_path: str | Path, *, name: str = DEFAULT_BOARD_NAME,
                             template_board_id: str | None = None, http: httpx.AsyncClient | None = None,
                             token: SecretStr | None = None) -> BoardCreated:
    """`ordersync board create`: the board named `name` shaped like the config — every mapped column, the
    key column, the subitem board's size and quantity columns — found by its name or made (empty, or from
    `template_board_id` with `duplicate_board`); only the columns it lacks are made. Its id is written into
    `config_path` (the `[monday] board_id` line; the rest of the file kept). A second run creates nothing."""
    return await _board.create_board_async(config, Path(config_path), name=name, template=template_board_id,
                                           http=http, token=token)


def create_board(config: Config, config_path: str | Path, **options: Any) -> BoardCreated:
    """`ordersync board create`, run to the end: the keyword arguments of `create_board_async`."""
    return asyncio.run(create_board_async(config, config_path, **options))


async def describe_board_async(config: Config, board: str | None = None, *, http: httpx.AsyncClient | None = None,
                               token: SecretStr | None = None) -> BoardDescription:
    """`ordersync board describe`: a board's columns (default `[monday] board_id`'s) and its subitem board's,
    each with the config keys that name it, and the config keys naming a column the board lacks."""
    return await _board.describe_board_async(config, board, http=http, token=token)


def describe_board(config: Config, board: str | None = None, **options: Any) -> BoardDescription:
    """`ordersync board describe`, run to the end: the keyword arguments of `describe_board_async`."""
    return asyncio.run(describe_board_async(config, board, **options))


# -- plan -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PlanResult:
    """What a sync would do, per customer: groups to create; items and subitems to create, update,
    archive; unchanged; failed rows (`totals.warnings`: values to be cut to fit their column); and
    `warnings`, the guards a sync of it would meet (a changed source, too many removals) — printed as
    `guards` by `as_dict()`, which is what `ordersync plan --json` prints."""

    run_id: int
    board_id: str
    totals: Totals
    customers: dict[str, CustomerSummary] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "totals": self.totals.model_dump(mode="json", exclude_unset=True),
                "customers": {name: customer.model_dump(mode="json", exclude_unset=True)
                              for name, customer in self.customers.items()},
                "guards": list(self.warnings)}


def plan(config: Config, *, customers: Iterable[str] = (), exclude_customers: Iterable[str] = (),
         po_numbers: Iterable[str] = (), aag_seasons: Iterable[str] = (), customer_seasons: Iterable[str] = (),
         limit: int | None = None, on_progress: LinesRead | None = None,
         board: str | None = None, full: bool = False) -> PlanResult | BoardResults:
    """`ordersync plan`: a dry run without the API — reads, transforms and diffs against the synced
    state, changing nothing a later sync relies on. `on_progress(lines_read)` follows the reading.
    Several routed boards: a `BoardResults` of each board's plan; `board`: that one board's. `full`:
    every order line, not only those whose fingerprint changed (`--full`)."""
    filters = _filters(customers, exclude_customers, po_numbers, aag_seasons, customer_seasons, limit)
    results = []
    for each in each_board(config, board):
        prepared = plan_only(each, filters, progress=on_progress, full=full)
        summary = RunSummary.model_validate(prepared.plan.as_dict())
        results.append(PlanResult(prepared.run_id, prepared.board_id, summary.totals, summary.customers,
                                  prepared.warnings))
    return _one_or_all(results)


# -- sync and retry -------------------------------------------------------------------------------

async def sync_async(  # noqa: PLR0913 — one keyword argument per option of `ordersync sync`
        config: Config, *, customers: Iterable[str] = (), exclude_customers: Iterable[str] = (),
                     po_numbers: Iterable[str] = (), aag_seasons: Iterable[str] = (),
                     customer_seasons: Iterable[str] = (), limit: int | None = None, all_customers: bool = False,
                     dry_run: bool = False, skip_subitems: bool = False, wait_for_lock: float = 0.0,
                     allow_removals: bool = False, accept_source_changes: bool = False,
                     on_progress: OperationsDone | None = None, http: httpx.AsyncClient | None = None,
                     token: SecretStr | None = None, board: str | Sequence[str] | None = None,
                     full: bool = False) -> SyncResult | RoutedSyncResult:
    """`ordersync sync`: make the board equal the source, settling what an interrupted run left open
    first. A routed config (`[[routes]]`) syncs every board, one run each: with several boards the
    result is a `RoutedSyncResult` (`boards`, summed `totals`, the worst exit code). With no filter it refuses (`UsageError`) unless `all_customers=True`. Before its first write
    it refuses (`SourceShapeChanged`, `TooManyRemovals`) a changed source or too many removals unless
    `accept_source_changes=True` / `allow_removals=True`. `result.exit_code` is the CLI's (1 when rows
    failed); `result.as_dict()` is what `--json` prints. `board`: that routed board only, or those boards
    (`--board`, repeatable: one worker's share, read from the source once; a line routed to another board
    is left to that board's run). `full`: read, transform and compare every order line (`--full`), not
    only those whose fingerprint changed."""
    options = SyncOptions(filters=_filters(customers, exclude_customers, po_numbers, aag_seasons, customer_seasons,
                                           limit),
                          all_customers=all_customers, dry_run=dry_run, skip_subitems=skip_subitems,
                          wait_for_lock=wait_for_lock, allow_removals=allow_removals,
                          accept_source_changes=accept_source_changes, full=full)
    named = [board] if isinstance(board, str) else list(board or ())
    only = list(dict.fromkeys(check_board(placed_config(config), name) for name in named)) or None
    return await sync_routed(config, options, on_progress=on_progress, http=http, token=token, boards=only)


def sync(config: Config, **options: Any) -> SyncResult | RoutedSyncResult:
    """`ordersync sync`, run to the end: the keyword arguments of `sync_async`."""
    return asyncio.run(sync_async(config, **options))


async def retry_async(config: Config, *, wait_for_lock: float = 0.0, on_progress: OperationsDone | None = None,
                      http: httpx.AsyncClient | None = None,
                      token: SecretStr | None = None, board: str | None = None) -> SyncResult | RoutedSyncResult:
    """`ordersync retry`: send again only the order lines that failed in the last sync (any customer,
    any stage; on each routed board that has some, or on `board` only). `UsageError` when there is
    nothing to retry."""
    only = None if board is None else [check_board(placed_config(config), board)]
    return await retry_failed(config, wait_for_lock=wait_for_lock, on_progress=on_progress, http=http, token=token,
                              boards=only)


def retry(config: Config, **options: Any) -> SyncResult | RoutedSyncResult:
    """`ordersync retry`, run to the end: the keyword arguments of `retry_async`."""
    return asyncio.run(retry_async(config, **options))


# -- validate and reconcile -----------------------------------------------------------------------

async def validate_async(  # noqa: PLR0913 — one keyword argument per option of `ordersync validate`
        config: Config, *, customers: Iterable[str] = (), exclude_customers: Iterable[str] = (),
                         po_numbers: Iterable[str] = (), aag_seasons: Iterable[str] = (),
                         customer_seasons: Iterable[str] = (), limit: int | None = None,
                         on_progress: LinesRead | None = None, http: httpx.AsyncClient | None = None,
                         token: SecretStr | None = None, board: str | None = None) -> Validation | BoardResults:
    """`ordersync validate`: the config against the live board — columns, types, the key column, the
    subitem columns and the labels the (filtered) source uses. Writes nothing; `result.ok`. Several
    routed boards: every board is checked (a `BoardResults`)."""
    filters = _filters(customers, exclude_customers, po_numbers, aag_seasons, customer_seasons, limit)
    return _one_or_all([await _validate.validate_async(each, filters=filters, http=http, token=token,
                                                       progress=on_progress) for each in each_board(config, board)])


def validate(config: Config, **options: Any) -> Validation | BoardResults:
    """`ordersync validate`, run to the end: the keyword arguments of `validate_async`."""
    return asyncio.run(validate_async(config, **options))


async def reconcile_async(  # noqa: PLR0913 — one keyword argument per option of `ordersync reconcile`
        config: Config, *, customers: Iterable[str] = (), exclude_customers: Iterable[str] = (),
                          po_numbers: Iterable[str] = (), aag_seasons: Iterable[str] = (),
                          customer_seasons: Iterable[str] = (), limit: int | None = None, fix: bool = False,
                          all_customers: bool = False, wait_for_lock: float = 0.0,
                          on_progress: OperationsDone | None = None, http: httpx.AsyncClient | None = None,
                          token: SecretStr | None = None, board: str | None = None) -> ReconcileResult | BoardResults:
    """`ordersync reconcile [--fix]`: read the whole board back and report drift against the source;
    `fix=True` archives what should not be there and syncs again what differs. On a production
    profile, fixing every customer needs `all_customers=True` (else `UsageError`)."""
    filters = _filters(customers, exclude_customers, po_numbers, aag_seasons, customer_seasons, limit)
    if fix and config.monday.production and filters.reaches_every_customer and not all_customers:
        raise UsageError("refusing to fix every customer of a production board without --all",
                         hint="name customers with --customer (or other filters), or pass --all on purpose")
    return _one_or_all([await _reconcile.reconcile_async(each, filters, fix=fix, wait_for_lock=wait_for_lock,
                                                         on_progress=on_progress, http=http, token=token)
                        for each in each_board(config, board)])


def reconcile(config: Config, **options: Any) -> ReconcileResult | BoardResults:
    """`ordersync reconcile`, run to the end: the keyword arguments of `reconcile_async`."""
    return asyncio.run(reconcile_async(config, **options))


# -- two-way: what people write on the board, back to the warehouse --------------------------------

async def pull_async(config: Config, *, full: bool = False, http: httpx.AsyncClient | None = None,
                     token: SecretStr | None = None, board: str | None = None) -> PullResult | BoardResults:
    """`ordersync pull`: what changed on the board since the last pull — board-owned values into the
    warehouse's `board_edits` / `board_current`, people's edits of source-owned columns as conflicts settled
    by their `on_edit`; ordersync's own writes are never taken for edits. `full=True` reads every item."""
    return _one_or_all([await _pull.pull_async(each, full=full, http=http, token=token)
                        for each in each_board(config, board)])


def pull(config: Config, **options: Any) -> PullResult | BoardResults:
    """`ordersync pull`, run to the end: the keyword arguments of `pull_async`."""
    return asyncio.run(pull_async(config, **options))


def serve_webhooks(config: Config, *, host: str = "127.0.0.1", port: int = 8790,
                   on_ready: Callable[[str], None] | None = None, board: str | None = None) -> None:
    """`ordersync webhooks serve`: receive Monday's webhook events for the board until interrupted (each event
    a hint: the item is read again and recorded as `pull` records it)."""
    _webhooks.serve_webhooks(single_board(config, board), host=host, port=port, on_ready=on_ready)


async def install_webhooks_async(config: Config, url: str, *, http: httpx.AsyncClient | None = None,
                                 token: SecretStr | None = None, board: str | None = None) -> WebhookInstall:
    """`ordersync webhooks install URL`: subscribe the receiver at `url` to the board's events."""
    return await _webhooks.install_webhooks(single_board(config, board), url, http=http, token=token)


def install_webhooks(config: Config, url: str, **options: Any) -> WebhookInstall:
    """`ordersync webhooks install`, run to the end: the keyword arguments of `install_webhooks_async`."""
    return asyncio.run(install_webhooks_async(config, url, **options))


async def uninstall_webhooks_async(config: Config, *, http: httpx.AsyncClient | None = None,
                                   token: SecretStr | None = None, board: str | None = None) -> WebhookInstall:
    """`ordersync webhooks uninstall`: delete the board's subscriptions `install` made."""
    return await _webhooks.uninstall_webhooks(single_board(config, board), http=http, token=token)


def uninstall_webhooks(config: Config, **options: Any) -> WebhookInstall:
    """`ordersync webhooks uninstall`, run to the end: the keyword arguments of `uninstall_webhooks_async`."""
    return asyncio.run(uninstall_webhooks_async(config, **options))


def single_board(config: Config, board: str | None) -> Config:
    """Webhooks are one board's: a routed config names it with `--board` (one of `boards(config)`)."""
    boards_found = each_board(config, board)
    if len(boards_found) != 1:
        raise UsageError("webhooks belong to one board: name it with --board",
                         hint=f"the boards: {', '.join(boards(config))}")
    return boards_found[0]


# -- status and report (state tables only) --------------------------------------------------------

@dataclass(frozen=True)
class StatusResult:
    """The real state of the board's sync: last runs, the run in progress, per customer rows on the
    board / pending / failed, open write intents, the lock. `as_dict()` is `status --json`."""

    data: dict[str, Any]

    @property
    def board_id(self) -> str | None:
        return self.data["board_id"]

    @property
    def runs(self) -> list[dict[str, Any]]:
        return self.data["runs"]

    @property
    def customers(self) -> dict[str, dict[str, Any]]:
        return self.data["customers"]

    def as_dict(self) -> dict[str, Any]:
        return self.data


def status(config: Config, *, customers: Iterable[str] = (), runs: int = 10,
           board: str | None = None) -> StatusResult | BoardResults:
    """`ordersync status`: read from the state tables only (no API call); `runs` recent runs listed,
    the per-customer part narrowed to `customers` when given. Several routed boards: each board's;
    `board`: that one's."""
    return _one_or_all([StatusResult(_status.status(each, runs=runs, customers=tuple(customers)))
                        for each in each_board(config, board)])


@dataclass(frozen=True)
class ReportResult:
    """A run's report (or one customer's part of it): counts, success rate and verdict, groups
    created, errors with reasons. `as_dict()` is `report --json`; `markdown()` what it prints."""

    data: dict[str, Any]
    customer: str | None = None

    @property
    def run_id(self) -> int:
        return int(self.data["run_id"])

    @property
    def verdict(self) -> str:
        """`ok` at 95% success and above, `needs attention` from 80%, `critical` below."""
        return str(self.data["success"]["verdict"])

    @property
    def exit_code(self) -> int:
        return 0 if self.verdict == "ok" else 1

    def as_dict(self) -> dict[str, Any]:
        return self.data

    def markdown(self) -> str:
        if self.customer is not None:
            return _report.render_customer_markdown(self.data)
        return _report.render_markdown(self.data)


def report(config: Config, run_id: int | None = None, *, customer: str | None = None,
           board: str | None = None) -> ReportResult | BoardResults:
    """`ordersync report [RUN_ID]`: the report of a run (default: the last sync on the board), or
    of one customer's part of it. `UsageError` when there is no such run. Without a run id, several
    routed boards give a `BoardResults` of each board's last sync (boards with none left out);
    `board`: that board's last sync."""
    if run_id is not None:
        return ReportResult(_report.report(config, run_id, customer=customer), customer)
    boards = each_board(config, board)
    if len(boards) == 1:
        return ReportResult(_report.report(boards[0], customer=customer), customer)
    results, refused = [], None
    for each in boards:
        try:
            results.append(ReportResult(_report.report(each, customer=customer), customer))
        except UsageError as error:  # no sync on this board yet, or none for that customer
            refused = error
    if not results and refused is not None:
        raise refused
    return BoardResults(results)
