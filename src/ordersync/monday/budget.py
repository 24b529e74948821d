"""Pacing by the complexity budget the API reports back — never by fixed sleeps.

Every answer carries `complexity { before after query reset_in_x_seconds }` (we ask for it in
every document) and the `RateLimit` header. Before a request, `acquire(cost)` waits only if the
budget we were told is left cannot pay for it, and only until the window resets. One budget is
shared by everything using the same token, so several workers cannot overspend it together.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

log = logging.getLogger(__name__)
_ITEM = re.compile(r'"?([A-Za-z_]+)"?\s*((?:;\s*[a-z]+=[^,;]+)*)')


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


class ComplexityBudget:
    """What the API last said about the budget, and the waits it implies."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep) -> None:
        self._clock = clock
        self._sleep = sleep
        self._lock = asyncio.Lock()
        self.remaining: int | None = None
        self.limit: int | None = None
        self.reset_at = 0.0
        self.blocked_until = 0.0

    def now(self) -> float:
        """The clock this budget (and its client's circuit breaker) reads."""
        return self._clock()

    async def acquire(self, cost: int) -> None:
        """Wait until a request costing `cost` fits, then count it as spent."""
        async with self._lock:
            while True:
                now = self._clock()
                if now < self.blocked_until:
                    log.info("wait %.2f s: rate limit, the API asked to hold off", self.blocked_until - now,
                             extra={"wait_seconds": round(self.blocked_until - now, 3), "reason": "rate_limit"})
                    await self._wait(self.blocked_until - now)
                    continue
                if self.remaining is not None and now >= self.reset_at and self.limit is not None:
                    self.remaining = self.limit  # the window has reset
                if self.remaining is None or self.remaining >= cost:
                    if self.remaining is not None:
                        self.remaining -= cost
                    return
                if now >= self.reset_at:  # told nothing about a reset: try and let the API decide
                    return
                log.info("wait %.2f s: complexity budget, %d points left and the request costs %d; the window "
                         "resets then", self.reset_at - now, self.remaining, cost,
                         extra={"wait_seconds": round(self.reset_at - now, 3), "reason": "complexity_budget",
                                "remaining": self.remaining, "cost": cost})
                await self._wait(self.reset_at - now)

    async def _wait(self, seconds: float) -> None:
        await self._sleep(max(seconds, 0.0) + 0.01)

    def observe(self, complexity: Mapping[str, Any] | None) -> None:
        """Take in a `complexity` answer."""
        if not complexity:
            return
        now = self._clock()
        after, before = complexity.get("after"), complexity.get("before")
        if isinstance(after, int):
            self.remaining = after
        if isinstance(before, int) and (self.limit is None or before > self.limit):
            self.limit = before
        reset = complexity.get("reset_in_x_seconds")
        if isinstance(reset, int | float):
            self.reset_at = now + float(reset)

    def observe_headers(self, headers: Mapping[str, str]) -> None:
        """Take in `RateLimit-Policy` / `RateLimit` (IETF structured fields)."""
        now = self._clock()
        policy = parse_rate_limit_header(headers.get("ratelimit-policy", ""))
        quota = policy.get("complexityMinute", {}).get("q")
        if quota and quota.isdigit():
            self.limit = int(quota)
        for name, params in parse_rate_limit_header(headers.get("ratelimit", "")).items():
            remaining, reset = params.get("r"), params.get("t")
            if name == "complexityMinute" and remaining and remaining.lstrip("-").isdigit():
                self.remaining = int(remaining)
                if reset and _is_number(reset):
                    self.reset_at = now + float(reset)
            elif remaining == "0" and reset and _is_number(reset):
                self.block(float(reset))  # minute rate or concurrency used up

    def block(self, seconds: float) -> None:
        """Send nothing for `seconds` (a rate-limit answer said so)."""
        self.blocked_until = max(self.blocked_until, self._clock() + seconds)

    def largest_affordable(self) -> int | None:
        """No single request may cost more than a whole window's budget."""
        return self.limit


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
