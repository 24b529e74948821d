"""Per-token accounting of Monday's limits, and the rate-limit headers that report it.

Every per-minute limit (complexity budget, requests, mutations, create_board) is a sliding log:
an entry counts for `window_seconds` after it was made, so `reset_in_x_seconds` and the retry
hints say when enough of the oldest entries drop out. Daily calls reset at each multiple of
`day_seconds` since the epoch (UTC midnight with the default). Limits are per token: each token
stands for one account. Settings are read live, so an admin change applies to the next request.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from ordersync.emulator.complexity import DocumentCost
from ordersync.emulator.errors import Code, RequestRejected
from ordersync.emulator.settings import EmulatorSettings

LIMITED_CALL_WEIGHT = 0.1
"""A request refused by a limit counts 0.1 of a daily call (Monday's rate-limits page); so does a
request that asks for nothing but `complexity`."""


class SlidingLog:
    """Amounts spent within the last `window` seconds."""

    def __init__(self) -> None:
        self._entries: deque[tuple[float, float]] = deque()
        self.total = 0.0

    def expire(self, now: float, window: float) -> None:
        while self._entries and self._entries[0][0] <= now - window:
            self.total -= self._entries.popleft()[1]
        if not self._entries:
            self.total = 0.0

    def add(self, now: float, amount: float) -> None:
        if amount:
            self._entries.append((now, amount))
            self.total += amount

    def seconds_until_room(self, now: float, window: float, needed: float, capacity: float) -> float:
        """Seconds until `needed` fits under `capacity`, as the oldest entries expire."""
        free = capacity - self.total
        for stamp, amount in self._entries:
            if free >= needed:
                break
            free += amount
            wait = stamp + window - now
            if free >= needed:
                return max(wait, 0.0)
        return 0.0 if free >= needed else window

    def seconds_until_reset(self, now: float, window: float) -> float:
        return self._entries[0][0] + window - now if self._entries else window


@dataclass
class TokenUsage:
    complexity: SlidingLog = field(default_factory=SlidingLog)
    requests: SlidingLog = field(default_factory=SlidingLog)
    mutations: SlidingLog = field(default_factory=SlidingLog)
    create_boards: SlidingLog = field(default_factory=SlidingLog)
    in_flight: int = 0
    day: int = -1
    daily_calls: float = 0.0
    refused: dict[str, int] = field(default_factory=dict)  # limit code → requests the limiter refused
    peak_complexity: float = 0.0  # the most complexity ever spent within one window


@dataclass(frozen=True)
class Charge:
    """What `complexity { before after query reset_in_x_seconds }` reports for one request."""

    before: int
    after: int
    query: int
    reset_in_x_seconds: int


def _retry(seconds: float) -> int:
    return max(1, math.ceil(seconds))


class Limiter:
    """All limits of all tokens. One request: `enter`, `admit`, `charge`, then `leave`."""

    def __init__(self, settings: Callable[[], EmulatorSettings], clock: Callable[[], float] = time.monotonic,
                 wall_clock: Callable[[], float] = time.time) -> None:
        self._settings = settings
        self._clock = clock
        self._wall_clock = wall_clock
        self.usage: dict[str, TokenUsage] = {}

    def _refused(self, token: str, error: RequestRejected) -> RequestRejected:
        """Count a refusal by a limit (injected faults are not counted here) and return it to raise."""
        refused = self._usage(token).refused
        refused[str(error.code)] = refused.get(str(error.code), 0) + 1
        return error

    def _usage(self, token: str) -> TokenUsage:
        usage = self.usage.get(token)
        if usage is None:
            usage = self.usage[token] = TokenUsage()
        return usage

    def _expire(self, usage: TokenUsage, now: float) -> None:
        window = self._settings().window_seconds
        for log in (usage.complexity, usage.requests, usage.mutations, usage.create_boards):
            log.expire(now, window)

    def _roll_day(self, usage: TokenUsage) -> float:
        """Seconds left in the current day; a new day starts the daily count again."""
        day_seconds = self._settings().day_seconds
        wall = self._wall_clock()
        day = int(wall // day_seconds)
        if day != usage.day:
            usage.day, usage.daily_calls = day, 0.0
        return (day + 1) * day_seconds - wall

    def enter(self, token: str) -> None:
        """Count one request in flight; refuse it past the concurrency cap."""
        usage = self._usage(token)
        if usage.in_flight >= self._settings().max_concurrent:
            raise self._refused(token, RequestRejected(Code.MAX_CONCURRENCY_EXCEEDED, "Concurrency limit exceeded",
                                                       http_status=429, retry_in_seconds=1))
        usage.in_flight += 1

    def leave(self, token: str) -> None:
        self._usage(token).in_flight -= 1

    def admit(self, token: str) -> None:
        """The request-count limits: per minute and per day. Counts the request as one call."""
        settings = self._settings()
        usage = self._usage(token)
        now = self._clock()
        self._expire(usage, now)
        seconds_left_today = self._roll_day(usage)
        if usage.daily_calls >= settings.daily_call_limit:
            raise self._refused(token, RequestRejected(Code.DAILY_LIMIT_EXCEEDED, "Daily limit exceeded",
                                                       http_status=429, retry_in_seconds=_retry(seconds_left_today)))
        if usage.requests.total >= settings.requests_per_minute:
            wait = usage.requests.seconds_until_room(now, settings.window_seconds, 1, settings.requests_per_minute)
            raise self._refused(token, RequestRejected(Code.RATE_LIMIT_EXCEEDED, "Minute limit rate exceeded",
                                                       http_status=429, retry_in_seconds=_retry(wait)))
        usage.requests.add(now, 1)
        usage.daily_calls += 1

    def discount(self, token: str) -> None:
        """A request that ended up limited (or asked only for complexity) costs 0.1 call."""
        usage = self._usage(token)
        usage.daily_calls -= 1 - LIMITED_CALL_WEIGHT

    def count_limited(self, token: str) -> None:
        """A request refused before `admit` (concurrency) still costs 0.1 call."""
        usage = self._usage(token)
        self._roll_day(usage)
        usage.daily_calls += LIMITED_CALL_WEIGHT

    def charge(self, token: str, cost: DocumentCost) -> Charge:
        """Spend the request's complexity, mutations and board creations, or refuse all of it."""
        settings = self._settings()
        usage = self._usage(token)
        now = self._clock()
        window = settings.window_seconds
        self._expire(usage, now)
        before = settings.complexity_budget - usage.complexity.total
        if cost.points > before:
            wait = usage.complexity.seconds_until_room(now, window, cost.points, settings.complexity_budget)
            raise self._refused(token, RequestRejected(
                Code.COMPLEXITY_BUDGET_EXHAUSTED, "Complexity budget exhausted", http_status=429,
                retry_in_seconds=_retry(wait),
                details={"complexity": cost.points, "complexity_budget_left": int(before),
                         "complexity_budget_limit": settings.complexity_budget},
            ))
        if cost.mutations and usage.mutations.total + cost.mutations > settings.mutations_per_window:
            wait = usage.mutations.seconds_until_room(now, window, cost.mutations, settings.mutations_per_window)
            raise self._refused(token, RequestRejected(
                Code.RATE_LIMIT_EXCEEDED,
                f"Mutation limit exceeded: {settings.mutations_per_window} mutations per {window:g} seconds",
                http_status=429, retry_in_seconds=_retry(wait),
            ))
        if cost.create_boards and usage.create_boards.total + cost.create_boards > settings.create_board_per_window:
            wait = usage.create_boards.seconds_until_room(now, window, cost.create_boards,
                                                          settings.create_board_per_window)
            raise self._refused(token, RequestRejected(Code.RATE_LIMIT_EXCEEDED, "Call limit exceeded for CreateBoard",
                                                       http_status=429, retry_in_seconds=_retry(wait)))
        usage.complexity.add(now, cost.points)
        usage.peak_complexity = max(usage.peak_complexity, usage.complexity.total)
        usage.mutations.add(now, cost.mutations)
        usage.create_boards.add(now, cost.create_boards)
        reset = usage.complexity.seconds_until_reset(now, window)
        return Charge(before=int(before), after=int(before - cost.points), query=cost.points,
                      reset_in_x_seconds=math.ceil(reset))

    def headers(self, token: str) -> dict[str, str]:
        """`RateLimit-Policy` and `RateLimit` (IETF structured fields), as Monday sends them."""
        settings = self._settings()
        usage = self._usage(token)
        now = self._clock()
        window = settings.window_seconds
        self._expire(usage, now)
        w = f"{window:g}"
        policy = (
            f'"minuteRate";q={settings.requests_per_minute};w={w}, '
            f'"concurrency";q={settings.max_concurrent};qu="concurrent-requests", '
            f'"complexityMinute";q={settings.complexity_budget};w={w};qu="content-bytes"'
        )
        rate_left = max(0, settings.requests_per_minute - int(usage.requests.total))
        rate = f'"minuteRate";r={rate_left}'
        if rate_left == 0:
            rate += f";t={math.ceil(usage.requests.seconds_until_reset(now, window))}"
        concurrency_left = max(0, settings.max_concurrent - usage.in_flight)
        budget_left = max(0, int(settings.complexity_budget - usage.complexity.total))
        budget = f'"complexityMinute";r={budget_left};t={math.ceil(usage.complexity.seconds_until_reset(now, window))}'
        return {"RateLimit-Policy": policy, "RateLimit": f'{rate}, "concurrency";r={concurrency_left}, {budget}'}

    def snapshot(self, token: str) -> dict[str, object]:
        """Usage numbers for the admin stats endpoint."""
        usage = self._usage(token)
        self._expire(usage, self._clock())
        self._roll_day(usage)
        return {"complexity_used": usage.complexity.total, "requests_in_window": usage.requests.total,
                "mutations_in_window": usage.mutations.total, "in_flight": usage.in_flight,
                "daily_calls": round(usage.daily_calls, 1), "refused": dict(usage.refused),
                "peak_complexity_in_window": usage.peak_complexity}

    def reset(self) -> None:
        self.usage.clear()
