"""`Idempotency-Key` on mutations: the first response is kept for a while and replayed.

Keys are per token. While the first request with a key is still running, another with the same
key gets 409 `IDEMPOTENCY_CONFLICT` with `Retry-After`. Only responses of requests that ran are
kept: a request refused by a limit (429) or an injected fault did nothing, so a retry with the
same key must run. A lost response *is* kept, which is what makes a retry after it safe.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

REPLAYED_HEADER = "Idempotency-Replayed"


@dataclass(frozen=True)
class Stored:
    status: int
    body: bytes
    stored_at: float


@dataclass
class IdempotencyCache:
    ttl_seconds: Callable[[], float]
    clock: Callable[[], float] = time.monotonic
    _done: dict[tuple[str, str], Stored] = field(default_factory=dict)
    _running: set[tuple[str, str]] = field(default_factory=set)

    def lookup(self, token: str, key: str) -> Stored | None:
        """The kept response for this key, if still fresh."""
        stored = self._done.get((token, key))
        if stored is not None and self.clock() - stored.stored_at > self.ttl_seconds():
            del self._done[(token, key)]
            return None
        return stored

    def is_running(self, token: str, key: str) -> bool:
        return (token, key) in self._running

    def start(self, token: str, key: str) -> None:
        self._running.add((token, key))

    def finish(self, token: str, key: str, status: int | None = None, body: bytes | None = None) -> None:
        """End the in-flight mark; keep the response if the request ran."""
        self._running.discard((token, key))
        if status is not None and body is not None:
            now = self.clock()
            self._done[(token, key)] = Stored(status, body, now)
            if len(self._done) % 1024 == 0:
                self._forget_expired(now)

    def _forget_expired(self, now: float) -> None:
        ttl = self.ttl_seconds()
        for entry_key in [k for k, v in self._done.items() if now - v.stored_at > ttl]:
            del self._done[entry_key]

    def reset(self) -> None:
        self._done.clear()
        self._running.clear()
