"""One Monday token's complexity budget, shared by every process that uses it (`<prefix>budget_ledger`):
this module is the table's only writer.

Monday counts the budget per account (per token), not per board or per process. Workers on one
state database (PostgreSQL: several processes, on one machine or many) reserve each request's
estimated cost here before sending it, and correct it with what the API reported after the answer;
a worker whose request does not fit in what all of them reserved in the window waits. One row per
token, named by a salted fingerprint of it (never the token), holds the sliding log of reservations
as JSON, changed in short transactions that lock the row (`SELECT … FOR UPDATE`; SQLite takes its
write lock first), timed by the database's clock so that workers on machines whose clocks differ agree.

A reservation counts while its request is in flight; once answered, for one window from the
answer (Monday charged it a moment earlier, so it is gone from Monday's count by then). One a
killed worker never settled counts until `stale_after`.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ordersync.config import MondayConfig
from ordersync.state.schema import StateTables, utcnow

SALT = b"ordersync budget ledger 1:"
DEFAULT_WINDOW_SECONDS = 60.0  # Monday's: the budget is per minute
POLL_SECONDS = 0.5  # how often a worker waiting on another's request in flight looks again
MARGIN_SECONDS = 0.05
HEADROOM = 0.02  # of the budget, left unreserved: an estimate learnt from past answers can be a little low


def token_fingerprint(token: str) -> str:
    """32 hex digits of a salted SHA-256 of the token: the same for every worker of it, and not the token."""
    return hashlib.sha256(SALT + token.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True)
class LedgerGrant:
    """A reservation to settle, or how long to wait before asking again, and why."""

    reservation: str | None = None
    wait_seconds: float = 0.0
    reason: str = ""


@dataclass
class _Entry:
    reservation: str
    at: float  # database clock: when reserved, or when settled
    points: int
    settled: bool

    def counts_until(self, window: float, stale_after: float) -> float:
        return self.at + (window + MARGIN_SECONDS if self.settled else stale_after)


class BudgetLedger:
    """The shared budget of one token (`monday.budget.SharedLedger`) in the state database."""

    def __init__(self, engine: Engine, tables: StateTables, fingerprint: str, *, stale_after: float = 300.0) -> None:
        self.engine = engine
        self.table = tables.budget_ledger
        self.fingerprint = fingerprint
        self.stale_after = stale_after
        self._row_made = False

    def __repr__(self) -> str:
        return f"BudgetLedger({self.table.name}, token {self.fingerprint[:8]}…)"

    # -- what the budget calls --------------------------------------------------------------------
    def reserve(self, cost: int, *, limit: int | None, window: float | None) -> LedgerGrant:
        with self.engine.begin() as connection:
            row, now = self._locked(connection)
            limit = limit or row["limit_points"]
            window = window or row["window_seconds"] or DEFAULT_WINDOW_SECONDS
            entries = self._live(row, now, window)
            grant = self._decide(entries, now, cost, limit, window, row["held_until"])
            if grant.reservation:
                entries.append(_Entry(grant.reservation, now, cost, settled=False))
            self._write(connection, entries, limit_points=limit, window_seconds=window)
            return grant

    def settle(self, reservation: str, spent: int | None) -> None:
        with self.engine.begin() as connection:
            row, now = self._locked(connection)
            window = row["window_seconds"] or DEFAULT_WINDOW_SECONDS
            entries = self._live(row, now, window)
            entry = next((entry for entry in entries if entry.reservation == reservation), None)
            if entry is None:  # counted as stale already: what it spent still counts for a window
                entry = _Entry(reservation, now, spent or 0, settled=True)
                entries.append(entry)
            entry.at, entry.settled = now, True
            if spent is not None:
                entry.points = spent
            self._write(connection, [entry for entry in entries if entry.points > 0 or not entry.settled])

    def hold(self, seconds: float) -> None:
        with self.engine.begin() as connection:
            row, now = self._locked(connection)
            self._write(connection, self._live(row, now, row["window_seconds"] or DEFAULT_WINDOW_SECONDS),
                        held_until=max(row["held_until"] or 0.0, now + seconds))

    # -- the decision -----------------------------------------------------------------------------
    def _decide(self, entries: list[_Entry], now: float, cost: int, limit: int | None, window: float,
                held_until: float | None) -> LedgerGrant:
        if held_until and now < held_until:
            return LedgerGrant(wait_seconds=held_until - now,
                               reason="a rate-limit answer asked every worker of this token to hold off")
        in_flight = [entry for entry in entries if not entry.settled]
        if limit is None:  # nobody has heard the budget yet: one request at a time until the API tells it
            if in_flight:
                return LedgerGrant(wait_seconds=POLL_SECONDS, reason="the budget per window is not known yet; "
                                   "another worker's request will tell it")
            return LedgerGrant(reservation=uuid.uuid4().hex)
        used = sum(entry.points for entry in entries)
        limit = int(limit * (1 - HEADROOM))
        if used + cost <= limit or not entries:  # alone, even a request over the budget is the API's to refuse
            return LedgerGrant(reservation=uuid.uuid4().hex)
        wait = self._seconds_until_room(entries, now, cost, limit, window)
        if in_flight:  # an answer may cost less than its estimate: look again soon
            wait = min(wait, POLL_SECONDS)
        return LedgerGrant(wait_seconds=max(wait, 0.01),
                           reason=f"the workers of this token have {used} of its {limit} points in use in "
                                  f"the last {window:g} s and the request costs {cost}")

    def _seconds_until_room(self, entries: list[_Entry], now: float, cost: int, limit: int, window: float) -> float:
        free = limit - sum(entry.points for entry in entries)
        ends = sorted(entries, key=lambda entry: entry.counts_until(window, self.stale_after))
        for entry in ends:
            free += entry.points
            if free >= cost:
                return entry.counts_until(window, self.stale_after) - now
        return ends[-1].counts_until(window, self.stale_after) - now if ends else 0.0

    # -- the row ----------------------------------------------------------------------------------
    def _live(self, row: Any, now: float, window: float) -> list[_Entry]:
        entries = [_Entry(str(reservation), float(at), int(points), bool(settled))
                   for reservation, at, points, settled in json.loads(row["reservations"] or "[]")]
        return [entry for entry in entries if entry.counts_until(window, self.stale_after) > now]

    def _locked(self, connection: Connection) -> tuple[Any, float]:
        """The token's row, locked until the transaction ends, and the database's clock."""
        table = self.table
        mine = table.c.token_fingerprint == self.fingerprint
        if not self._row_made:
            self._make_row()
        if connection.dialect.name == "sqlite":  # no row locks: take the database's write lock first
            connection.execute(sa.update(table).where(mine).values(updated_at=utcnow()))
        row = connection.execute(sa.select(table).where(mine).with_for_update()).mappings().one()
        return row, _database_clock(connection)

    def _make_row(self) -> None:
        try:
            with self.engine.begin() as connection:
                table = self.table
                if connection.execute(sa.select(sa.func.count()).select_from(table).where(
                        table.c.token_fingerprint == self.fingerprint)).scalar_one() == 0:
                    connection.execute(sa.insert(table).values(token_fingerprint=self.fingerprint, reservations="[]",
                                                               updated_at=utcnow()))
        except sa.exc.IntegrityError:
            pass  # another worker made it a moment ago
        self._row_made = True

    def _write(self, connection: Connection, entries: list[_Entry], **values: Any) -> None:
        log = [[entry.reservation, round(entry.at, 3), entry.points, entry.settled] for entry in entries]
        connection.execute(sa.update(self.table).where(self.table.c.token_fingerprint == self.fingerprint).values(
            reservations=json.dumps(log, separators=(",", ":")), updated_at=utcnow(), **values))


def _database_clock(connection: Connection) -> float:
    """Seconds since the epoch on the database server (PostgreSQL), else on this machine."""
    if connection.dialect.name == "postgresql":
        return float(connection.execute(sa.select(sa.func.extract("epoch", sa.func.clock_timestamp()))).scalar_one())
    return time.time()


def shared_budget_ledger(monday: MondayConfig, engine: Engine, tables: StateTables, token: str) -> BudgetLedger | None:
    """The ledger `[monday] shared_budget` asks for: "auto" (the default) on a PostgreSQL state database,
    `true` on any, `false` never (each process then paces only itself, as on SQLite by default)."""
    setting = monday.shared_budget
    if setting is False or (setting == "auto" and engine.dialect.name != "postgresql"):
        return None
    return BudgetLedger(engine, tables, token_fingerprint(token),
                        stale_after=monday.timeout_seconds + DEFAULT_WINDOW_SECONDS)
