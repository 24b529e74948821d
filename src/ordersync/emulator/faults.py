"""Fault injection: what can go wrong between a client and Monday, on demand.

A request gets faults from the `X-Emulator-Fault` header (comma-separated:
`rate_limit`, `server_error`, `board_locked`, `unauthorized`, `lost_response`, `job_failure`,
`latency=<ms>`), or at
random from the configured rates, drawn from a generator seeded with `faults.seed` so a run can be
repeated. A random `rate_limit` starts a burst: the token's requests get 429 until it ends.
`faults.after_mutations` holds the rates back until that many mutation requests have gone through
since the fault settings last changed, so a test can break the API (or revoke the token, with
`unauthorized` at 1.0) in the middle of a run, at the same point every time.

"Lost response" means the mutation ran and was committed, then the connection broke: over HTTP
the emulator sends headers announcing a longer body than it sends and aborts, so the client sees
a protocol error (httpx: `RemoteProtocolError`); in-process under `httpx.ASGITransport` the app
raises `ResponseLost`, itself an `httpx.RemoteProtocolError`, after committing.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from ordersync.emulator.errors import Code, RequestRejected
from ordersync.emulator.settings import FaultSettings

FAULT_HEADER = "X-Emulator-Fault"
FAULT_NAMES = ("rate_limit", "server_error", "board_locked", "unauthorized", "lost_response", "job_failure")


class ResponseLost(httpx.RemoteProtocolError):
    """Raised out of the app, after the write committed, to emulate a dropped connection."""

    def __init__(self) -> None:
        super().__init__("Server disconnected without sending a complete response (emulated lost response)")


@dataclass
class FaultPlan:
    """The faults one request will meet."""

    rate_limit: bool = False
    server_error: bool = False
    board_locked: bool = False
    unauthorized: bool = False
    lost_response: bool = False
    job_failure: bool = False  # a bulk job this request starts ends FAILED (see jobs.py)
    latency_ms: int = 0
    retry_in_seconds: int = 1

    def rejection(self, unauthorized_code: Code = Code.USER_UNAUTHORIZED) -> RequestRejected | None:
        """The refusal to answer with before anything runs, if any (`unauthorized_code`: the API
        version's name for a refused token)."""
        if self.unauthorized:
            return RequestRejected(unauthorized_code, "Not Authenticated", http_status=401)
        if self.rate_limit:
            return RequestRejected(Code.RATE_LIMIT_EXCEEDED, "Minute limit rate exceeded", http_status=429,
                                   retry_in_seconds=self.retry_in_seconds)
        if self.board_locked:
            return RequestRejected(Code.RESOURCE_LOCKED, "Resource is currently locked, please try again later",
                                   http_status=423, retry_in_seconds=1)
        if self.server_error:
            return RequestRejected(Code.INTERNAL_SERVER_ERROR, "Internal server error", http_status=500)
        return None


def parse_fault_header(value: str) -> FaultPlan:
    """`rate_limit, latency=200` → a plan; unknown names are a client mistake (ValueError)."""
    plan = FaultPlan()
    for part in (p.strip() for p in value.split(",")):
        if not part:
            continue
        name, _, argument = part.partition("=")
        name = name.strip()
        if name == "latency":
            plan.latency_ms = int(argument)
            if plan.latency_ms < 0:
                raise ValueError("latency must be >= 0 ms")
        elif name in FAULT_NAMES:
            setattr(plan, name, True)
        else:
            raise ValueError(f"unknown fault {name!r}; expected one of {', '.join(FAULT_NAMES)}, latency=<ms>")
    return plan


@dataclass
class FaultInjector:
    """Draws the random faults for each request from the current rates."""

    settings: Callable[[], FaultSettings]
    clock: Callable[[], float] = time.monotonic
    _rng: random.Random = field(init=False)
    _seed: int = field(init=False)
    _bursts: dict[str, float] = field(default_factory=dict)
    _counting_for: FaultSettings | None = field(default=None, init=False)
    _mutations_seen: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self.reseed()

    def reseed(self) -> None:
        self._seed = self.settings().seed
        self._rng = random.Random(self._seed)
        self._bursts.clear()
        self._counting_for = None

    def _held_back(self, rates: FaultSettings, mutation: bool) -> bool:
        """True while fewer than `after_mutations` mutation requests have passed since the rates were set."""
        if rates != self._counting_for:
            self._counting_for, self._mutations_seen = rates, 0
        if self._mutations_seen >= rates.after_mutations:
            return False
        self._mutations_seen += int(mutation)
        return True

    def plan(self, token: str, header: str | None, *, mutation: bool = False) -> FaultPlan:
        rates = self.settings()
        if rates.seed != self._seed:
            self.reseed()
        plan = parse_fault_header(header) if header else FaultPlan()
        plan.latency_ms += rates.latency_ms
        if self._held_back(rates, mutation):
            return plan
        now = self.clock()
        burst_end = self._bursts.get(token, 0.0)
        if now < burst_end:
            plan.rate_limit = True
            plan.retry_in_seconds = max(1, math.ceil(burst_end - now))
            return plan
        if rates.rate_limit and self._rng.random() < rates.rate_limit:
            self._bursts[token] = now + rates.rate_limit_burst_seconds
            plan.rate_limit = True
            plan.retry_in_seconds = max(1, math.ceil(rates.rate_limit_burst_seconds))
        if rates.server_error and self._rng.random() < rates.server_error:
            plan.server_error = True
        if rates.board_locked and self._rng.random() < rates.board_locked:
            plan.board_locked = True
        if rates.unauthorized and self._rng.random() < rates.unauthorized:
            plan.unauthorized = True
        if rates.lost_response and self._rng.random() < rates.lost_response:
            plan.lost_response = True
        return plan
