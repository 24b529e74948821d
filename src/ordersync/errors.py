"""Every error ordersync raises, as one tree.

    OrdersyncError
    ├── ConfigError                 the config file is wrong: nothing runs (exit 2)
    ├── UsageError                  the command line asks for something unsafe or impossible (exit 2)
    ├── SourceError                 the source database or table cannot be read (exit 3)
    ├── StateError                  ordersync's own tables cannot be used (exit 3)
    ├── LockHeld                    another run holds the board's lock
    ├── SyncRefused                 a guard stopped a sync before its first write (exit 2)
    │   ├── SourceShapeChanged          size columns or column types differ from the last sync's
    │   └── TooManyRemovals             the run would archive more than [guards] allows
    ├── Interrupted                 Ctrl-C (SIGINT) or SIGTERM stopped the command (exit 130 / 143)
    └── MondayError                 anything the Monday API answered or failed to answer
        ├── TransientError          worth retrying: the retry loop reads only this type
        │   ├── RateLimited                 429 / minute, concurrency, daily or IP caps
        │   │   └── ComplexityBudgetExhausted
        │   ├── ServerError                 5xx, 423 board locked, INTERNAL_SERVER_ERROR
        │   └── NetworkError                timeouts, refused or dropped connections
        ├── ApiUnavailable          transport faults and 5xx for longer than max_outage_seconds: the run stops
        └── TerminalError           retrying cannot help
            ├── Unauthorized                bad or missing token
            ├── NotFound                    board, item, group or user missing
            ├── InvalidColumn               a column id the board does not have
            ├── ColumnValueError            a value the column refuses
            ├── BoardFull                   the board holds Monday's cap of items: a create (or move) into it is refused
            ├── QueryTooComplex             one request asks too much: it must be split
            ├── GraphQLRequestError         the document itself is wrong
            └── ForeignAnswer               an answer naming another board or parent: a replay, never recorded

Row-level problems (a bad source row) are not exceptions that stop a run: they are recorded
as `RowError`s (see `ordersync.engine.transform`) and the run goes on. A value cut to fit its
column is recorded the same way, as a warning (`WARNING_CATEGORIES`).
"""

from __future__ import annotations

import enum
import signal
from typing import Any


class ErrorCategory(enum.StrEnum):
    """What kind of failure an error row records; a Monday error's category comes from its type."""

    SOURCE = "source"
    VALIDATION = "validation"
    RATE_LIMIT = "rate_limit"
    AUTH = "auth"
    NOT_FOUND = "not_found"
    SERVER = "server"
    NETWORK = "network"
    DEPENDENCY = "dependency"  # could not be sent because something it needs failed (its item, its group)
    CAPACITY = "capacity"  # the board holds Monday's cap of items (ItemsLimitationException): a create was refused
    TRUNCATED = "truncated"  # a warning, not a failure: a value was cut to what its column holds, the line synced


WARNING_CATEGORIES = frozenset({ErrorCategory.TRUNCATED})
"""Error rows that record a warning: the line reached the board. They never count as failed rows,
never hold a run open and are never sent again by `retry`; reports list them under "Warnings"."""


class OrdersyncError(Exception):
    """Root of every ordersync error. `hint` tells the user what to do next; `problems`, where an error
    has several causes (a config's mistakes, a guard's reasons), one line each, printed under the message."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None, problems: list[str] | None = None) -> None:
        self.problems = list(problems or [])
        if self.problems:
            message += "\n" + "\n".join(f"  - {problem}" for problem in self.problems)
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\n  hint: {self.hint}" if self.hint else self.message


class ConfigError(OrdersyncError):
    """The configuration is invalid. `problems` holds one line per mistake, each with its key path."""

    exit_code = 2


class UsageError(OrdersyncError):
    exit_code = 2


class SourceError(OrdersyncError):
    exit_code = 3


class StateError(OrdersyncError):
    exit_code = 3


class LockHeld(OrdersyncError):
    exit_code = 4


class SyncRefused(OrdersyncError):
    """A guard refused a sync before its first write; the run is recorded FAILED with this message.
    `problems` holds one line per reason; the hint names the flag that lets the run go on purpose."""

    exit_code = 2


class SourceShapeChanged(SyncRefused):
    """The source's size columns, or the types of the columns the config reads, changed since the
    board's last sync (a retyped or renamed column would archive and re-create subitems)."""


class TooManyRemovals(SyncRefused):
    """The run would archive or delete more of what it manages than `[guards]` allows."""


_STOP_SIGNALS: list[str] = []  # the signals that asked this process to stop, as the CLI's handler noted them


def note_stop_signal(name: str) -> None:
    """The CLI's handler notes a SIGTERM here before stopping the work the way Ctrl-C does, so the run
    it stops is recorded (and the command exits) with the signal that really came."""
    _STOP_SIGNALS.append(name)


class Interrupted(OrdersyncError):
    """A signal stopped the command: Ctrl-C (SIGINT) or SIGTERM (a scheduler, `kill`, a service manager).

    A sync it stops records its run INTERRUPTED and releases the board's lock; running the command
    again resumes. The exit code is the shell's for that signal, 128 + its number: 130 or 143.
    """

    def __init__(self, signal_name: str | None = None) -> None:
        self.signal_name = signal_name or (_STOP_SIGNALS[-1] if _STOP_SIGNALS else "SIGINT")
        self.exit_code = 128 + int(signal.Signals[self.signal_name])
        super().__init__(f"interrupted by {self.signal_name}",
                         hint="a sync stopped this way is recorded INTERRUPTED and its lock released: "
                              "run it again to finish the work")


class MondayError(OrdersyncError):
    """An error from (or on the way to) the Monday API.

    `code` is Monday's error code where it gave one (`extensions.code` or legacy `error_code`),
    `path` the alias the error belongs to when it came from one mutation of a batch.
    """

    exit_code = 3
    category = ErrorCategory.SERVER

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        path: tuple[str, ...] = (),
        status_code: int | None = None,
        retry_in_seconds: float | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.code = code
        self.path = path
        self.status_code = status_code
        self.retry_in_seconds = retry_in_seconds


class TransientError(MondayError):
    """Retrying later may succeed."""


class TerminalError(MondayError):
    """Retrying cannot succeed; the row (or the run, for auth) fails."""


class RateLimited(TransientError):
    category = ErrorCategory.RATE_LIMIT


class ComplexityBudgetExhausted(RateLimited):
    pass


class ServerError(TransientError):
    category = ErrorCategory.SERVER


class NetworkError(TransientError):
    category = ErrorCategory.NETWORK


class ApiUnavailable(MondayError):
    """The circuit breaker: the API has answered nothing but transport faults and 5xx for longer than
    `[monday] max_outage_seconds`. Neither transient (more retries would keep a dead run going for
    minutes per batch) nor a row's failure: it stops the whole run, and unsent rows stay unsent."""

    category = ErrorCategory.NETWORK


class Unauthorized(TerminalError):
    """The token was refused. For a whole request (401/403) it stops the run; for one alias (no
    permission on that item) it is that row's failure."""

    category = ErrorCategory.AUTH


class NotFound(TerminalError):
    category = ErrorCategory.NOT_FOUND


class InvalidColumn(TerminalError):
    category = ErrorCategory.VALIDATION


class ColumnValueError(TerminalError):
    category = ErrorCategory.VALIDATION


class BoardFull(TerminalError):
    """Monday refused a create (or a move) into a board that holds its cap of active items
    (`ItemsLimitationException`, 10,000 on Monday). Retrying cannot help until the board has room
    (old lines archived) or the line goes to another board: that row fails, the others go on.
    `board_id` and `limit` are what Monday named, when it named them."""

    category = ErrorCategory.CAPACITY

    def __init__(self, message: str, *, board_id: str | None = None, limit: int | None = None,
                 **details: Any) -> None:
        super().__init__(message, **details)
        self.board_id = board_id
        self.limit = limit


class QueryTooComplex(TerminalError):
    """The request alone costs more than one query may (maxComplexityExceeded): send less at once."""

    category = ErrorCategory.VALIDATION


class GraphQLRequestError(TerminalError):
    category = ErrorCategory.VALIDATION


class ForeignAnswer(TerminalError):
    """A create's answer names another board or parent than the one asked for: Monday replayed the
    answer of another request that carried the same Idempotency-Key. It is refused, never recorded
    as ours; nothing was created for this write, and the next run creates it."""

    category = ErrorCategory.SERVER
