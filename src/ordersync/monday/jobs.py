"""Monday's bulk jobs: start `bulk_archive_items`, wait for the job's end by polling `job_status`, and
tell which of its items were archived.

The mutation answers only with a job id; the items are archived later, when the job runs. The wait
polls from `FIRST_POLL_SECONDS`, doubling up to `MAX_POLL_SECONDS`, until the job has ended or the
caller's time is up. Which items were archived comes from the job's own answer when it completed and
names the ids it could not archive; otherwise (a job that failed, expired or was cancelled, a
completed one that counts failures without naming them, a job never seen) from the items' state on
the board — an item no longer active, or gone, is archived.
"""

from __future__ import annotations

import asyncio
import enum
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ordersync.errors import NotFound, ServerError
from ordersync.monday.client import MondayClient, Mutation, MutationResult

BULK_ARCHIVE = "bulk_archive_items"
JOB_ITEMS_MAX = 500
"""Item ids sent in one job (the emulator takes 1,000; Monday publishes no figure, so we stay below)."""
FIRST_POLL_SECONDS = 0.25
MAX_POLL_SECONDS = 5.0


class JobState(enum.StrEnum):
    """Monday's `JobState`: how far a job got (each value is its name)."""

    @staticmethod
    def _generate_next_value_(name: str, start: int, count: int, last_values: list[Any]) -> str:
        return name

    PENDING = enum.auto()
    RUNNING = enum.auto()
    COMPLETED = enum.auto()
    FAILED = enum.auto()
    EXPIRED = enum.auto()
    CANCELLED = enum.auto()


ENDED = frozenset({JobState.COMPLETED, JobState.FAILED, JobState.EXPIRED, JobState.CANCELLED})


@dataclass(frozen=True)
class JobStatus:
    """A job as `job_status` last reported it."""

    job_id: str
    status: JobState
    error: str | None = None
    failed: int | None = None
    failed_item_ids: frozenset[str] | None = None  # None: the answer does not name them

    @property
    def ended(self) -> bool:
        return self.status in ENDED

    @classmethod
    def from_answer(cls, job_id: str, answer: Mapping[str, Any]) -> JobStatus:
        result = answer.get("result") or {}
        details = result.get("details")
        named = details.get("failed_item_ids") if isinstance(details, Mapping) else None
        status = str(answer.get("status"))
        state = JobState(status) if status in JobState.__members__ else JobState.PENDING  # a new state: not ended
        return cls(job_id, state, answer.get("error"), result.get("failed"),
                   frozenset(str(item_id) for item_id in named) if isinstance(named, list) else None)


@dataclass
class ArchiveOutcome:
    """Which of a job's items are archived; `running`: the job had not ended, nothing is decided."""

    archived: set[str] = field(default_factory=set)
    not_archived: dict[str, str] = field(default_factory=dict)  # item id → why
    running: bool = False


def bulk_archive(board_id: str, item_ids: Sequence[str], ref: Any) -> Mutation:
    return Mutation(BULK_ARCHIVE, {"board_id": board_id, "item_ids": list(item_ids)}, ref)


def job_id_of(outcome: MutationResult) -> str:
    """The id the answer gave the job; an answer without one is a server fault (nothing to wait for)."""
    job_id = (outcome.data or {}).get("job_id")
    if not job_id:
        raise ServerError("bulk_archive_items answered without a job id", hint="the next run looks on the board")
    return str(job_id)


async def job_status(client: MondayClient, job_id: str) -> JobStatus:
    """The job's status; one Monday no longer knows (expired, or never made) counts as EXPIRED."""
    try:
        answer = (await client.query("job_status", {"job_id": job_id}))["job_status"] or {}
    except NotFound as error:
        return JobStatus(job_id, JobState.EXPIRED, error=error.message)
    return JobStatus.from_answer(job_id, answer)


async def wait_for_job(client: MondayClient, job_id: str, *, timeout_seconds: float,
                       sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
                       clock: Callable[[], float] = time.monotonic) -> JobStatus:
    """Poll until the job has ended or `timeout_seconds` have passed; its last status either way."""
    deadline, pause = clock() + timeout_seconds, FIRST_POLL_SECONDS
    while True:
        status = await job_status(client, job_id)
        if status.ended or clock() + pause > deadline:
            return status
        await sleep(pause)
        pause = min(pause * 2, MAX_POLL_SECONDS)


async def archive_outcome(client: MondayClient, item_ids: Sequence[str], job: JobStatus | None) -> ArchiveOutcome:
    """Which of `item_ids` are archived, after `job` (None: a job whose id was never seen)."""
    if job is not None and not job.ended:
        return ArchiveOutcome(running=True)
    if job is not None and job.status is JobState.COMPLETED and (job.failed == 0 or job.failed_item_ids is not None):
        failed = job.failed_item_ids or frozenset()
        why = f"bulk job {job.job_id} could not archive this item (it is not on the board, or was deleted)"
        return ArchiveOutcome({item_id for item_id in item_ids if item_id not in failed},
                              {item_id: why for item_id in item_ids if item_id in failed})
    states = await item_states(client, item_ids)
    why = (f"bulk job {job.job_id} ended {job.status}" + (f": {job.error}" if job.error else "")
           if job is not None else "the bulk job's answer never came")
    outcome = ArchiveOutcome()
    for item_id in item_ids:
        if states.get(item_id, "deleted") == "active":
            outcome.not_archived[item_id] = f"{why}; the item is still active"
        else:
            outcome.archived.add(item_id)
    return outcome


async def item_states(client: MondayClient, item_ids: Sequence[str]) -> dict[str, str]:
    """item id → its state (active, archived, deleted); an id Monday no longer returns is absent."""
    found: dict[str, str] = {}
    for start in range(0, len(item_ids), 100):
        chunk = list(item_ids[start:start + 100])
        for item in (await client.query("item_states", {"ids": chunk, "limit": len(chunk)}))["items"] or []:
            found[str(item["id"])] = str(item.get("state") or "active")
    return found
