"""ordersync: keep a Monday.com board true to the order lines of a SQL warehouse table.

The public surface is what this module exports: the Python API (one function per CLI command,
see `ordersync.api`), its result types and the error tree (`ordersync.errors`).

    import ordersync

    config = ordersync.load_config("ordersync.toml", profile="prod")
    result = ordersync.sync(config, customers=["GREYSON"])
"""

import importlib
import typing

from ordersync.errors import (
    ApiUnavailable,
    BoardFull,
    ColumnValueError,
    ComplexityBudgetExhausted,
    ConfigError,
    ForeignAnswer,
    GraphQLRequestError,
    Interrupted,
    InvalidColumn,
    LockHeld,
    MondayError,
    NetworkError,
    NotFound,
    OrdersyncError,
    QueryTooComplex,
    RateLimited,
    ServerError,
    SourceError,
    SourceShapeChanged,
    StateError,
    SyncRefused,
    TerminalError,
    TooManyRemovals,
    TransientError,
    Unauthorized,
    UsageError,
)

if typing.TYPE_CHECKING:  # the API's names, imported on first use (see `__getattr__`)
    from ordersync.api import (
        BoardCreated,
        BoardDescription,
        Config,
        PlanResult,
        Progress,
        PullResult,
        ReconcileResult,
        ReportResult,
        RunStatus,
        RunSummary,
        StatusResult,
        SyncResult,
        Validation,
        create_board,
        create_board_async,
        describe_board,
        describe_board_async,
        load_config,
        plan,
        pull,
        pull_async,
        reconcile,
        reconcile_async,
        report,
        retry,
        retry_async,
        status,
        sync,
        sync_async,
        validate,
        validate_async,
    )

__version__ = "0.1.0"

__all__ = [
    "ApiUnavailable",
    "BoardCreated",
    "BoardDescription",
    "BoardFull",
    "ColumnValueError",
    "ComplexityBudgetExhausted",
    "Config",
    "ConfigError",
    "ForeignAnswer",
    "GraphQLRequestError",
    "Interrupted",
    "InvalidColumn",
    "LockHeld",
    "MondayError",
    "NetworkError",
    "NotFound",
    "OrdersyncError",
    "PlanResult",
    "Progress",
    "PullResult",
    "QueryTooComplex",
    "RateLimited",
    "ReconcileResult",
    "ReportResult",
    "RunStatus",
    "RunSummary",
    "ServerError",
    "SourceError",
    "SourceShapeChanged",
    "StateError",
    "StatusResult",
    "SyncRefused",
    "SyncResult",
    "TerminalError",
    "TooManyRemovals",
    "TransientError",
    "Unauthorized",
    "UsageError",
    "Validation",
    "__version__",
    "create_board",
    "create_board_async",
    "describe_board",
    "describe_board_async",
    "load_config",
    "plan",
    "pull",
    "pull_async",
    "reconcile",
    "reconcile_async",
    "report",
    "retry",
    "retry_async",
    "status",
    "sync",
    "sync_async",
    "validate",
    "validate_async",
]

_API_NAMES = frozenset(__all__) - globals().keys()  # those the TYPE_CHECKING block names


def __getattr__(name: str) -> object:
    """The API's names are imported when first asked for: a process that needs only part of ordersync (a
    transform process, `engine.parallel`, imports the transform and the source) does not import the API and
    everything it carries (the Monday client, httpx, the state store's migrations)."""
    if name not in _API_NAMES:
        raise AttributeError(f"module 'ordersync' has no attribute {name!r}")
    value = getattr(importlib.import_module("ordersync.api"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(globals().keys() | _API_NAMES)
