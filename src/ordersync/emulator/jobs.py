"""Bulk jobs: `bulk_archive_items` answers at once with a job id, the items are archived later when
the job runs, and `job_status` tells how far it got — Monday's asynchronous jobs.

A job is PENDING for the first half of `bulk_job_seconds` after it was made, RUNNING for the second
half, and runs (all at once) on the first request of any kind that arrives after that; until then
its items are untouched. The setting is read when the job is looked at, so a test can hold jobs
pending and then let them finish. An item id the job cannot archive (unknown, deleted, or on another
board) fails alone: the job is COMPLETED with it counted in `result.failed` and listed in
`result.details.failed_item_ids`; an item already archived counts as archived. A job drawn to fail
(`faults.bulk_job_failure`, or `job_failure` in the fault header) ends FAILED and archives nothing.
Jobs live in memory only: a restarted emulator forgets them, and `job_status` of an id it does not
know answers `ResourceNotFoundException`.
"""

from __future__ import annotations

import random
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ordersync.emulator.errors import ApiError, Code
from ordersync.emulator.model import ACTIVE, DELETED, now_iso
from ordersync.emulator.store import Store

PENDING, RUNNING, COMPLETED, FAILED = "PENDING", "RUNNING", "COMPLETED", "FAILED"
FAILURE_MESSAGE = "The job failed with an internal error; no item was archived"


@dataclass
class Job:
    """One bulk job, with the fields of `AsyncJobStatus` as attributes."""

    id: str
    board_id: str
    item_ids: list[str]
    started: float  # the emulator's clock when the job was made
    fails: bool
    created_at: str = field(default_factory=now_iso)
    updated_at: str = field(default_factory=now_iso)
    status: str = PENDING
    error: str | None = None
    result: dict[str, Any] | None = None

    @property
    def finished(self) -> bool:
        return self.status in (COMPLETED, FAILED)


class Jobs:
    """The account's bulk jobs."""

    def __init__(self, seed: int = 0, clock: Callable[[], float] = time.monotonic) -> None:
        self.jobs: dict[str, Job] = {}
        self._clock = clock
        self._rng = random.Random(f"jobs:{seed}")

    def start_archive(self, board_id: str, item_ids: Sequence[str], *, failure_rate: float,
                      forced_failure: bool = False) -> Job:
        fails = forced_failure or (failure_rate > 0 and self._rng.random() < failure_rate)
        job = Job(str(uuid.UUID(int=self._rng.getrandbits(128), version=4)), board_id,
                  list(dict.fromkeys(str(item_id) for item_id in item_ids)), self._clock(), fails)
        self.jobs[job.id] = job
        return job

    def run_due(self, store: Store, seconds: float) -> None:
        """Advance every unfinished job by its age; run those whose time has come."""
        now = self._clock()
        for job in self.jobs.values():
            if job.finished:
                continue
            age = now - job.started
            if age >= seconds:
                self._run(store, job)
            elif age >= seconds / 2 and job.status == PENDING:
                job.status, job.updated_at = RUNNING, now_iso()

    def status(self, job_id: str) -> Job:
        job = self.jobs.get(str(job_id))
        if job is None:
            raise ApiError(Code.RESOURCE_NOT_FOUND, f"Job {job_id} not found", status_code=404,
                           error_data={"job_id": str(job_id)})
        return job

    def counts(self) -> dict[str, int]:
        return dict(Counter(job.status for job in self.jobs.values()))

    def _run(self, store: Store, job: Job) -> None:
        if job.fails:
            job.status, job.error = FAILED, FAILURE_MESSAGE
            job.result = _result(job.item_ids, failed=job.item_ids)
        else:
            failed = [item_id for item_id in job.item_ids if not _archive(store, job.board_id, item_id)]
            job.status = COMPLETED
            job.result = _result(job.item_ids, failed=failed)
        job.updated_at = now_iso()

    def reset(self) -> None:
        self.jobs.clear()


def _archive(store: Store, board_id: str, item_id: str) -> bool:
    """Archive one item of the job's board; False if the job cannot (unknown, deleted, elsewhere)."""
    item = store.items.get(item_id)
    if item is None or item.state == DELETED or item.board_id != board_id:
        return False
    if item.state == ACTIVE:
        store.archive_item(item_id)
    return True


def _result(item_ids: Sequence[str], *, failed: Sequence[str]) -> dict[str, Any]:
    return {"total": len(item_ids), "succeeded": len(item_ids) - len(failed), "failed": len(failed),
            "details": {"failed_item_ids": list(failed)}}
