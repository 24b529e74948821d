"""Pacing by the complexity budget the API reports back — never by fixed sleeps.

Every answer carries `complexity { before after query reset_in_x_seconds }` (we ask for it in
every document) and the `RateLimit` header. Before a request, `acquire(cost)` waits only if the
budget we were told is left cannot pay for it, and only until enough has left the window. One budget is
shared by everything using the same token in a process, so its boards cannot overspend it together.

Several processes sharing one token (one account) are paced together through a `SharedLedger`
injected by whoever builds the budget (the engine gives it `state/budget_ledger.py` on PostgreSQL):
`acquire` also reserves the request's estimated cost there, waiting while every worker's
reservations in the window leave no room, and `settle` replaces the estimate with what the API
reported it cost once the answer is in.

Several boards of one process send at once on the one budget: an answer's `after` does not yet count
the requests sent after it (they are counted as spent until theirs come back), and an answer to an
older request, arriving after a newer one's, is not taken to say more is left.

The window slides: what a request cost comes back one window after Monday charged it, not all at
once at `reset_in_x_seconds` (which is only when the oldest charge leaves the window). The budget
keeps the requests it sent whose cost the API's last answer counted, and expects each one's points
back a window after its answer arrived (Monday charged it before answering, so never later than
that): `room()` is what the last answer left plus what has come back since, `seconds_until(cost)`
when there will be enough. What none of our requests explains (another client's spending) has surely
left a window after the answer that counted it: the reset the API reports is only when the oldest
charge leaves, and the rest may have been spent just before that answer.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

log = logging.getLogger(__name__)
_ITEM = re.compile(r'"?([A-Za-z_]+)"?\s*((?:;\s*[a-z]+=[^,;]+)*)')
# The request this task is sending: (the budget's id, its number, its estimated cost). A request is
# acquired, posted, observed and settled within one task, so its answer knows which request it is.
_SENDING: contextvars.ContextVar[tuple[int, int, int] | None] = contextvars.ContextVar("sending", default=None)


def parse_rate_limit_header(value: str) -> dict[str, dict[str, str]]:
    """`"minuteRate";r=4999, "complexityMinute";r=4950000;t=45` → {"minuteRate": {"r": "4999"}, ...}."""
    policies: dict[str, dict[str, str]] = {}
    for part in value.split(","):
        match = _ITEM.match(part.strip())
        if not match:
            continue
        params = {}
        for item in match.group(2).split(";"):
            if "=" in item:
                key, _, raw = item.strip().partition("=")
                params[key] = raw.strip().strip('"')
        policies[match.group(1)] = params
    return policies


class Grant(Protocol):
    """A shared ledger's answer to a reservation: `reservation` to settle once the answer is in, or
    `wait_seconds` to wait before asking again (nothing reserved), with why."""

    @property
    def reservation(self) -> str | None: ...

    @property
    def wait_seconds(self) -> float: ...

    @property
    def reason(self) -> str: ...


class SharedLedger(Protocol):
    """The budget of one token shared by several processes (see `state/budget_ledger.py`)."""

    def reserve(self, cost: int, *, limit: int | None, window: float | None) -> Grant:
        """Reserve `cost` points in the window, or say how long to wait. `limit` and `window` are
        what this process learnt from the API (None: not yet)."""
        ...

    def settle(self, reservation: str, spent: int | None) -> None:
        """The request was answered: it cost `spent` (None: unknown, the estimate stays)."""
        ...

    def hold(self, seconds: float) -> None:
        """A rate-limit answer asked to send nothing for `seconds`: every worker holds off."""
        ...


DEFAULT_WINDOW_SECONDS = 60.0  # Monday's "minute", until a `RateLimit-Policy` header says otherwise


@dataclass(frozen=True)
class _Charged:
    """One of our answered requests whose cost the budget counts as spent until `back_at`."""

    number: int
    sent_at: float
    answered_at: float
    back_at: float  # a window after its answer: Monday charged it before answering
    points: int


class ComplexityBudget:
    """What the API last said about the budget, and the waits it implies."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep, shared: SharedLedger | None = None) -> None:
        self._clock = clock
        self._sleep = sleep
        self._lock = asyncio.Lock()
        self.shared = shared
        self.remaining: int | None = None
        self.limit: int | None = None
        self.window: float | None = None  # the budget's window, from `RateLimit-Policy` (`w=`)
        self.reset_at = 0.0
        self.counted_until = 0.0  # all that the last answer counted as spent has left the window by then
        self.blocked_until = 0.0
        self._sent = 0  # requests acquired so far, numbered in the order they were sent
        self._in_flight: dict[int, int] = {}  # request number → its estimated cost, until it is settled
        self._sent_at: dict[int, float] = {}  # request number → when it was sent, until it is settled
        self._charged: list[_Charged] = []  # answered requests counted as spent in `remaining`
        self._heard = 0  # the number of the newest request whose answer said what is left
        self._heard_exactly: int | None = None  # ... if its `complexity` said so (with `before`)

    def now(self) -> float:
        """The clock this budget (and its client's circuit breaker) reads."""
        return self._clock()

    async def acquire(self, cost: int) -> str | None:
        """Wait until a request costing `cost` fits, then count it as spent. Returns the shared
        ledger's reservation (None without a ledger), to hand to `settle` with the real cost."""
        async with self._lock:
            while True:
                now = self._clock()
                if now < self.blocked_until:
                    log.info("wait %.2f s: rate limit, the API asked to hold off", self.blocked_until - now,
                             extra={"wait_seconds": round(self.blocked_until - now, 3), "reason": "rate_limit"})
                    await self._wait(self.blocked_until - now)
                    continue
                wait = self._local_wait(now, cost)
                if wait is not None:
                    log.info("wait %.2f s: complexity budget, %d points left and the request costs %d; enough "
                             "has left the window then", wait, self.remaining, cost,
                             extra={"wait_seconds": round(wait, 3), "reason": "complexity_budget",
                                    "remaining": self.remaining, "cost": cost})
                    await self._wait(wait)
                    continue
                grant = None if self.shared is None else self.shared.reserve(cost, limit=self.limit,
                                                                             window=self.window)
                if grant is not None and grant.wait_seconds > 0:
                    log.info("wait %.2f s: shared complexity budget, %s", grant.wait_seconds, grant.reason,
                             extra={"wait_seconds": round(grant.wait_seconds, 3), "reason": "shared_budget",
                                    "cost": cost})
                    await self._sleep(grant.wait_seconds)
                    continue
                if self.remaining is not None and self.remaining >= cost:
                    self.remaining -= cost
                self._sent += 1
                self._in_flight[self._sent] = cost
                self._sent_at[self._sent] = now
                _SENDING.set((id(self), self._sent, cost))
                return grant.reservation if grant is not None else None

    def _local_wait(self, now: float, cost: int) -> float | None:
        """How long to wait for what the API last said is left to pay for `cost`; None: send now."""
        if self.remaining is None:
            return None
        self._take_back(now)
        if self.remaining >= cost:
            return None
        back_at = self._back_at(cost)
        if back_at is not None:  # our own requests leave the window by then
            return back_at - now
        gone_at = max(self.reset_at, self.counted_until)
        if now < gone_at:  # spending none of ours explains: wait until all the API counted has left the window
            return gone_at - now
        if self.limit is not None:  # all but our own recent requests has left the window
            self.remaining = self.limit - sum(self._in_flight.values()) - sum(c.points for c in self._charged)
            if self.remaining >= cost:
                return None
            back_at = self._back_at(cost)
            return None if back_at is None else back_at - now
        return None  # told nothing about a reset: try and let the API decide

    def room(self) -> int | None:
        """The points a request could spend now without waiting (None: the API has said nothing yet)."""
        if self.remaining is None:
            return None
        now = self._clock()
        back = sum(charged.points for charged in self._charged if charged.back_at <= now)
        room = self.remaining + back
        return min(room, self.limit) if self.limit is not None else room

    def seconds_until(self, cost: int) -> float | None:
        """How long until our own requests leaving the window make room for `cost` (0: there is room
        now; None: not known — nothing said yet, or only the API's reset could make room)."""
        room = self.room()
        if room is None:
            return None
        if room >= cost:
            return 0.0
        back_at = self._back_at(cost)
        return None if back_at is None else max(0.0, back_at - self._clock())

    def _back_at(self, cost: int) -> float | None:
        """When enough of our charged requests will have left the window to pay for `cost`."""
        needed = cost - (self.remaining or 0)
        for charged in sorted(self._charged, key=lambda charged: charged.back_at):
            needed -= charged.points
            if needed <= 0:
                return charged.back_at
        return None

    def _take_back(self, now: float) -> None:
        """The points of our requests that have left the window are free again."""
        back = [charged for charged in self._charged if charged.back_at <= now]
        if back and self.remaining is not None:
            self.remaining += sum(charged.points for charged in back)
            if self.limit is not None:
                self.remaining = min(self.remaining, self.limit)
            self._charged = [charged for charged in self._charged if charged.back_at > now]

    def settle(self, reservation: str | None, spent: int | None) -> None:
        """The request reserved as `reservation` was answered and cost `spent` (None: not known, the
        estimate counts); it is counted as spent until a window after now."""
        number = self._sending()
        if number is not None:
            estimate = self._in_flight.pop(number, 0)
            sent_at = self._sent_at.pop(number, None)
            points = estimate if spent is None else spent
            now = self._clock()
            if points > 0 and sent_at is not None:
                self._charged.append(_Charged(number, sent_at, now, now + self.window_seconds(), points))
        if reservation is not None and self.shared is not None:
            self.shared.settle(reservation, spent)

    def window_seconds(self) -> float:
        """The budget's window: what `RateLimit-Policy` said, else Monday's minute."""
        return self.window or DEFAULT_WINDOW_SECONDS

    async def _wait(self, seconds: float) -> None:
        await self._sleep(max(seconds, 0.0) + 0.01)

    def observe(self, complexity: Mapping[str, Any] | None) -> None:
        """Take in a `complexity` answer."""
        if not complexity:
            return
        now = self._clock()
        after, before = complexity.get("after"), complexity.get("before")
        if isinstance(after, int):
            self._told_left(after, before if isinstance(before, int) else None)
        if isinstance(before, int) and (self.limit is None or before > self.limit):
            self.limit = before
        reset = complexity.get("reset_in_x_seconds")
        if isinstance(reset, int | float):
            self.reset_at = now + float(reset)

    def observe_headers(self, headers: Mapping[str, str]) -> None:
        """Take in `RateLimit-Policy` / `RateLimit` (IETF structured fields)."""
        now = self._clock()
        policy = parse_rate_limit_header(headers.get("ratelimit-policy", ""))
        quota, window = policy.get("complexityMinute", {}).get("q"), policy.get("complexityMinute", {}).get("w")
        if quota and quota.isdigit():
            self.limit = int(quota)
        if window and _is_number(window) and float(window) > 0:
            self.window = float(window)
        for name, params in parse_rate_limit_header(headers.get("ratelimit", "")).items():
            remaining, reset = params.get("r"), params.get("t")
            if name == "complexityMinute" and remaining and remaining.lstrip("-").isdigit() \
                    and not self._told_exactly():
                self._told_left(int(remaining))
                if reset and _is_number(reset):
                    self.reset_at = now + float(reset)
            elif remaining == "0" and reset and _is_number(reset):
                self.block(float(reset))  # minute rate or concurrency used up

    def _told_exactly(self) -> bool:
        """This request's `complexity` (with `before`) already said what is left: its header adds nothing."""
        number = self._sending()
        return number is not None and number == self._heard_exactly

    def _sending(self) -> int | None:
        """The number of the request this task is sending on this budget, if any."""
        sending = _SENDING.get()
        return sending[1] if sending is not None and sending[0] == id(self) else None

    def _told_left(self, left: int, before: int | None = None) -> None:
        """An answer says `left` points are left: less what was sent after its request (not yet charged
        when it was answered), and less what was sent before it but was still out when it was sent (the
        API may have taken it later: a smaller request is read sooner). An answer to a request older than
        one already heard from is out of date.

        Which of our answered requests `left` still counts as spent: those sent less than a window before
        this answer surely; those whose window may have closed around its charge, as many (newest first)
        as the spending `before` reports and nothing else explains; the others not (never counted twice)."""
        number = self._sending()
        number = self._sent if number is None else number
        if number < self._heard:
            return
        self._heard = number
        if before is not None:
            self._heard_exactly = number
        now, window = self._clock(), self.window_seconds()
        self.counted_until = now + window
        sent_at = self._sent_at.get(number, now)
        older = [charged for charged in self._charged if charged.number < number]
        newer = [charged for charged in self._charged if charged.number > number]
        sure = [charged for charged in older if charged.sent_at + window > now]
        maybe = sorted((charged for charged in older if charged.sent_at + window <= now and charged.back_at > sent_at),
                       key=lambda charged: charged.sent_at, reverse=True)
        kept: list[_Charged] = []
        if maybe and before is not None and self.limit is not None:
            unexplained = self.limit - before - sum(charged.points for charged in sure) \
                - sum(cost for sent, cost in self._in_flight.items() if sent < number)
            for charged in maybe:
                if charged.points > unexplained:
                    break
                kept.append(charged)
                unexplained -= charged.points
        self._charged = sure + kept + newer
        overlapping = [charged for charged in older if charged.answered_at > sent_at]
        self.remaining = left - sum(cost for sent, cost in self._in_flight.items() if sent != number) \
            - sum(charged.points for charged in newer + overlapping)

    def block(self, seconds: float) -> None:
        """Send nothing for `seconds` (a rate-limit answer said so); neither do the other workers."""
        self.blocked_until = max(self.blocked_until, self._clock() + seconds)
        if self.shared is not None:
            self.shared.hold(seconds)

    def largest_affordable(self) -> int | None:
        """No single request may cost more than a whole window's budget."""
        return self.limit


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
