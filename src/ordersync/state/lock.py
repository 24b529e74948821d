"""One sync per board at a time: a lock row in the state database.

A second run on the same board waits (up to `wait_seconds`) or refuses with a message naming
the holder. A lock whose holder is gone — a dead process on this host, or no heartbeat for
`stale_after` seconds — is taken over, so a killed sync never blocks the next one.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ordersync.errors import LockHeld
from ordersync.state import StateStore, process_owner, utcnow

STALE_AFTER_SECONDS = 600


@dataclass
class BoardLock:
    store: StateStore
    board_id: str
    owner: str
    _last_beat: float = 0.0

    def attach_run(self, run_id: int) -> None:
        locks = self.store.tables.locks
        with self.store.engine.begin() as connection:
            connection.execute(sa.update(locks).where(locks.c.board_id == self.board_id,
                                                      locks.c.owner == self.owner).values(run_id=run_id))

    def beat(self, *, every_seconds: float = 5.0) -> None:
        """Tell other runs this holder is alive (at most every few seconds: it is a write)."""
        now = time.monotonic()
        if now - self._last_beat < every_seconds:
            return
        self._last_beat = now
        locks = self.store.tables.locks
        with self.store.engine.begin() as connection:
            connection.execute(sa.update(locks).where(locks.c.board_id == self.board_id,
                                                      locks.c.owner == self.owner).values(heartbeat_at=utcnow()))

    def release(self) -> None:
        locks = self.store.tables.locks
        with self.store.engine.begin() as connection:
            connection.execute(sa.delete(locks).where(locks.c.board_id == self.board_id,
                                                      locks.c.owner == self.owner))


def _holder_is_gone(owner: str, heartbeat_at: datetime, stale_after: float) -> bool:
    host, pid, _ = (owner.split(":") + ["", ""])[:3]
    if host == socket.gethostname() and pid.isdigit():
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
    return (utcnow() - heartbeat_at).total_seconds() > stale_after


async def acquire_lock(store: StateStore, board_id: str, *, wait_seconds: float = 0.0,
                       stale_after: float = STALE_AFTER_SECONDS, poll_seconds: float = 0.5) -> BoardLock:
    locks = store.tables.locks
    owner = f"{process_owner()}:{uuid.uuid4().hex[:8]}"  # unique even for two syncs in one process
    deadline = time.monotonic() + wait_seconds
    while True:
        now = utcnow()
        try:
            with store.engine.begin() as connection:
                connection.execute(sa.insert(locks).values(board_id=board_id, owner=owner, acquired_at=now,
                                                           heartbeat_at=now))
            return BoardLock(store, board_id, owner)
        except sa.exc.IntegrityError:
            pass
        with store.engine.begin() as connection:
            holder = connection.execute(sa.select(locks).where(locks.c.board_id == board_id)).mappings().first()
            if holder is None:
                continue
            if _holder_is_gone(holder["owner"], holder["heartbeat_at"], stale_after):
                connection.execute(sa.delete(locks).where(locks.c.board_id == board_id,
                                                          locks.c.owner == holder["owner"]))
                continue
        if time.monotonic() >= deadline:
            run = f" (run {holder['run_id']})" if holder["run_id"] else ""
            raise LockHeld(
                f"board {board_id} is being synced by {holder['owner']}{run} since {holder['acquired_at']:%Y-%m-%d %H:%M:%S} UTC",
                hint="wait for it to finish, or pass --wait SECONDS to queue behind it",
            )
        await asyncio.sleep(poll_seconds)


def lock_holder(store: StateStore, board_id: str, *, stale_after: float = STALE_AFTER_SECONDS) -> dict[str, Any] | None:
    """Who holds the board's lock (owner, run, since, last heartbeat) and whether that holder is gone —
    a gone holder's lock is taken over by the next run. None when the board is free."""
    locks = store.tables.locks
    with store.engine.connect() as connection:
        holder = connection.execute(sa.select(locks).where(locks.c.board_id == board_id)).mappings().first()
    if holder is None:
        return None
    return {"owner": holder["owner"], "run_id": holder["run_id"], "acquired_at": holder["acquired_at"],
            "heartbeat_at": holder["heartbeat_at"],
            "holder_gone": _holder_is_gone(holder["owner"], holder["heartbeat_at"], stale_after)}
