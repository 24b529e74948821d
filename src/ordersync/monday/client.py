"""The Monday API client: one `httpx.AsyncClient`, typed errors, retries, budget pacing, aliased batches.

The same code talks to api.monday.com and to the emulator (tests hand it an `httpx.AsyncClient`
on the emulator's ASGI app). Retries are tenacity's, and read only the error's type:
- `RateLimited` waits the API's hint (`retry_in_seconds` / `Retry-After`); the retry gets a new
  Idempotency-Key, as Monday asks, since a limited request was not processed;
- `ServerError` (5xx, 423, 409 conflict) and `NetworkError` (timeouts, dropped connections) back
  off exponentially with jitter and retry with the *same* key, so a write whose answer was lost
  is replayed by the API instead of done twice;
- `TerminalError`s are never retried, and neither is any other exception: a bug in our code
  (a TypeError, a KeyError) propagates as it is, never disguised as a network fault.
A circuit breaker spans requests: once transport faults and 5xx have gone on with no answer in
between for longer than `RetryPolicy.max_outage`, the next one raises `ApiUnavailable`, which
stops the run instead of retrying batch after batch. A request-wide `Unauthorized` (401/403)
stops it too: neither ever becomes the failure of the rows of a batch.
A mutation has one attempt budget, `RetryPolicy.max_attempts`: it is sent at most that many
times in all, whether its request failed as a whole or it failed alone in a request that worked.
One write request is in flight per board at a time (Monday warns that concurrent mutations on
one board can corrupt it); reads are not serialised.

Requests are cut by complexity, not by count: `pack` fills each one up to Monday's per-query cap
at the cost the API reported for each kind of mutation (the documented cost until it has), and,
when the budget has room for part of a request now and for the whole only later, with what the
budget has room for. A request refused as a whole, before anything in it ran (too complex, or a
document Monday would not take), is cut smaller and sent again, so one bad mutation fails alone.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import math
import random
import re
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import SecretStr
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_random_exponential,
)

from ordersync.errors import (
    ApiUnavailable,
    ColumnValueError,
    GraphQLRequestError,
    MondayError,
    NetworkError,
    NotFound,
    QueryTooComplex,
    RateLimited,
    ServerError,
    TransientError,
    Unauthorized,
)
from ordersync.monday.budget import ComplexityBudget
from ordersync.monday.documents import alias_variables, compose_mutations, document
from ordersync.monday.responses import ParsedResponse, parse_response

log = logging.getLogger(__name__)
DEFAULT_API_VERSION = "2026-07"
READ_COST_ESTIMATE = 5_000
DOCUMENTED_MUTATION_COST = 10_000  # "Each create_item mutation uses 10,000 complexity points" (Monday)
MAX_MUTATIONS_PER_REQUEST = 1_000  # a safety net: the per-query cap binds long before (≈499 at 10,010)
ESTIMATE_HEADROOM = 0.99  # a request holding a kind whose cost the API has not reported yet fills 99% of the cap
FILL_HORIZON = 0.02  # of the window: how long a request waits for room to go whole rather than go smaller now
MIN_FILL = 0.25  # a request sent smaller for the room there is carries at least this share of a whole one
WINDOW_SHARE = 4  # a request costs at most 1/WINDOW_SHARE of the window's budget (`MondayClient._request_limit`)
_COMPLEXITY_OF = re.compile(r"complexity of (\d+)")
# Refusals of a whole request that one of its mutations can cause (too costly; a value the document
# cannot carry, which GraphQL refuses before running any of it): cut smaller, the others go through.
_REFUSED_BEFORE_RUNNING = (QueryTooComplex, GraphQLRequestError, ColumnValueError)


def derive_idempotency_key(*parts: object) -> str:
    """A stable Idempotency-Key from what a request writes (its write intents, or its rows and values)."""
    digest = hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode("utf-8")).hexdigest()
    return f"ordersync-{digest[:40]}"


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    base_delay: float = 0.5
    max_delay: float = 60.0
    max_hint: float = 900.0  # a limit hint longer than this (the daily cap) stops the run instead
    max_outage: float = 120.0  # transport faults and 5xx with no answer in between for longer: ApiUnavailable

    def backoff(self) -> wait_random_exponential:
        """Full jitter: before retry n, a random wait up to base·2^n, capped at `max_delay`."""
        return wait_random_exponential(multiplier=2 * self.base_delay, max=self.max_delay)


@dataclass(frozen=True)
class Mutation:
    """One mutation for a batch: a document name, its variables, and the caller's handle for the result."""

    document: str
    variables: dict[str, Any]
    ref: Hashable


@dataclass
class MutationResult:
    mutation: Mutation
    data: dict[str, Any] | None = None
    error: MondayError | None = None
    attempts: int = 1  # how many times the mutation was sent

    @property
    def ok(self) -> bool:
        return self.error is None and self.data is not None


@dataclass
class ClientStats:
    """What the client did: the figures the benchmarks and reports print."""

    requests: int = 0
    mutation_requests: int = 0
    mutations_sent: int = 0
    retries: int = 0
    rate_limited: int = 0
    complexity_spent: int = 0
    budget_wait_seconds: float = 0.0
    by_kind: dict[str, int] = field(default_factory=dict)


class MondayClient:
    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        url: str,
        token: SecretStr,
        api_version: str = DEFAULT_API_VERSION,
        budget: ComplexityBudget | None = None,
        retry: RetryPolicy | None = None,
        max_mutations_per_request: int = MAX_MUTATIONS_PER_REQUEST,
        max_complexity_per_request: int = 5_000_000,
        estimated_mutation_cost: int = DOCUMENTED_MUTATION_COST,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        """`sleep` is what every wait awaits (tests pass a fake clock's); the circuit breaker reads the
        budget's clock."""
        self._http = http
        self.url = url
        self._token = token
        self.api_version = api_version
        self.budget = budget or ComplexityBudget(sleep=sleep)
        self.retry = retry or RetryPolicy()
        self.max_mutations_per_request = max_mutations_per_request
        self.max_complexity_per_request = max_complexity_per_request
        self._mutation_cost: dict[str, int] = {}
        self._default_mutation_cost = estimated_mutation_cost
        self._sleep = sleep
        self._outage_since: float | None = None  # when the current run of transport faults and 5xx began
        self._write_locks: dict[str, asyncio.Lock] = {}
        self.stats = ClientStats()
        # Whose writes these are (the state database's installation id, the board, the run: see
        # `StateStore.write_scope`): every Idempotency-Key is derived with it, so two state databases
        # sharing one token, or a restored one, never send another's keys — Monday would replay the
        # other's answer instead of writing.
        self.key_scope: str | None = None
        # What to tell the user when the API refuses the token (where this config reads it from).
        self.token_hint: str | None = None

    def __repr__(self) -> str:  # never the token
        return f"MondayClient(url={self.url!r}, api_version={self.api_version!r})"

    # -- one exchange ---------------------------------------------------------------------------
    async def _post(self, query: str, variables: dict[str, Any], idempotency_key: str | None) -> ParsedResponse:
        """One HTTP request, classified. Only transport faults become `NetworkError`; anything else
        raised on the way (a bug here or in a transport) propagates as it is."""
        headers = {
            "Authorization": self._token.get_secret_value(),
            "API-Version": self.api_version,
            "Content-Type": "application/json",
        }
        if idempotency_key:
            headers["Idempotency-Key"] = (derive_idempotency_key(self.key_scope, idempotency_key)
                                          if self.key_scope else idempotency_key)
        self.stats.requests += 1
        hint = f"is {self.url} reachable from here? (the [monday] api_url of the config)"
        try:
            response = await self._http.post(self.url, json={"query": query, "variables": variables}, headers=headers)
        except httpx.TimeoutException as error:
            raise NetworkError(f"the request to {self.url} timed out ({type(error).__name__})", hint=hint) from None
        except httpx.TransportError as error:  # refused, reset, or the answer lost half way
            raise NetworkError(f"the connection to {self.url} failed: {type(error).__name__}: {error}",
                               hint=hint) from None
        except httpx.DecodingError as error:
            raise NetworkError(f"the answer from {self.url} was garbled: {error}", hint=hint) from None
        lowered = {key.lower(): value for key, value in response.headers.items()}
        try:
            body = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError, httpx.ResponseNotRead):
            if response.status_code < 400:
                raise NetworkError(f"HTTP {response.status_code} with an unreadable body: the answer was cut off") \
                    from None
            body = None
        parsed = parse_response(response.status_code, lowered, body)
        self.budget.observe(parsed.complexity)  # first: its `before` says which of our requests it counts
        self.budget.observe_headers(lowered)
        if parsed.complexity and isinstance(parsed.complexity.get("query"), int):
            self.stats.complexity_spent += parsed.complexity["query"]
        return parsed

    async def _send(self, query: str, variables: dict[str, Any], *, cost: int,
                    idempotency_key: str | None) -> ParsedResponse:
        """One attempt: wait for the budget, post, and raise the request's error if it failed as a whole."""
        started = time.monotonic()
        reservation = await self.budget.acquire(cost)
        self.stats.budget_wait_seconds += time.monotonic() - started
        spent: int | None = None  # what the API says the request cost; unknown: the estimate stays reserved
        try:
            parsed = await self._post(query, variables, idempotency_key)
            spent = _spent(parsed)
        except NetworkError as fault:
            self._watch_outage(fault)
            raise
        finally:
            self.budget.settle(reservation, spent)
        error = parsed.request_error
        self._watch_outage(error)
        if error is None:
            return parsed
        if isinstance(error, Unauthorized) and self.token_hint:
            error.hint = self.token_hint
        if isinstance(error, RateLimited):
            self.stats.rate_limited += 1
            hint = error.retry_in_seconds
            if hint is not None and hint > self.retry.max_hint:
                raise RateLimited(f"{error.message}: the API asks to wait {hint:.0f} s", code=error.code,
                                  retry_in_seconds=hint,
                                  hint="a daily or plan limit is used up; run again after it resets") from None
        raise error

    def _watch_outage(self, error: MondayError | None) -> None:
        """The circuit breaker. Any answer ends an outage (the API is there, even when it refuses);
        a rate limit with a retry time neither ends nor extends one; a transport fault or a 5xx
        extends it, and raises `ApiUnavailable` once it has lasted longer than `max_outage`."""
        if isinstance(error, RateLimited) and error.retry_in_seconds is not None:
            return
        if not isinstance(error, TransientError):
            self._outage_since = None
            return
        now = self.budget.now()
        if self._outage_since is None:
            self._outage_since = now
            return
        lasted = now - self._outage_since
        if lasted > self.retry.max_outage:
            raise ApiUnavailable(
                f"the Monday API has answered only with failures for {lasted:.1f} s "
                f"(over [monday] max_outage_seconds = {self.retry.max_outage:g}); the last: {error.message}",
                code=error.code, status_code=error.status_code,
                hint=f"check that {self.url} is the right [monday] api_url and is reachable from here "
                     "(network, proxy, firewall) and https://status.monday.com; rows not sent stay pending "
                     "for the next run") from error

    def _retryable(self, error: BaseException) -> bool:
        """Transport and server faults are worth another attempt; nothing else is (read from the type)."""
        if not isinstance(error, TransientError):
            return False
        hint = error.retry_in_seconds
        return not (isinstance(error, RateLimited) and hint is not None and hint > self.retry.max_hint)

    def _wait(self, state: RetryCallState) -> float:
        """tenacity's wait: the API's hint for a limit or a server fault that gives one, else backoff."""
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, _AliasesFailed):
            error = error.first
        hint = error.retry_in_seconds if isinstance(error, MondayError) else None
        if isinstance(error, RateLimited):
            wait = (hint if hint is not None else self.retry.backoff()(state)) * random.uniform(1, 1.1)
            self.budget.block(wait)  # whoever shares the budget holds off too; its acquire() does the waiting
            return 0.0
        if hint is not None and isinstance(error, ServerError):
            return min(hint, self.retry.max_delay)
        return self.retry.backoff()(state)

    def _count_retry(self, state: RetryCallState) -> None:
        self.stats.retries += 1
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, _AliasesFailed):
            error = error.first
        wait = state.next_action.sleep if state.next_action else 0.0
        reason = f"{type(error).__name__}: {error.message if isinstance(error, MondayError) else error}"
        log.info("retry %d of %s in %.2f s: %s", state.attempt_number + 1,
                 getattr(state.retry_object.stop, "max_attempt_number", "?"), wait, reason,
                 extra={"attempt": state.attempt_number + 1, "wait_seconds": round(wait, 3),
                        "reason": type(error).__name__})

    def _retrying(self, attempts: int) -> AsyncRetrying:
        """At most `attempts` attempts; a failure not worth retrying is raised at once, unchanged."""
        return AsyncRetrying(stop=stop_after_attempt(attempts), wait=self._wait,
                             retry=retry_if_exception(self._retryable), before_sleep=self._count_retry,
                             sleep=self._sleep, reraise=True)

    async def _exchange(self, query: str, variables: dict[str, Any], *, cost: int,
                        idempotency_key: str | None = None) -> ParsedResponse:
        """Send until the request as a whole succeeds, at most `max_attempts` times; raise what is left."""
        key = idempotency_key
        async for attempt in self._retrying(self.retry.max_attempts):
            with attempt:
                try:
                    return await self._send(query, variables, cost=cost, idempotency_key=key)
                except RateLimited:  # it was not processed: a fresh key, as Monday asks
                    if idempotency_key:
                        key = _fresh_key(idempotency_key, attempt.retry_state.attempt_number)
                    raise
        raise AssertionError("unreachable: tenacity raises the last failure")

    # -- reads ----------------------------------------------------------------------------------
    async def query(self, name: str, variables: dict[str, Any] | None = None, *,
                    cost: int = READ_COST_ESTIMATE) -> dict[str, Any]:
        """Run the query `documents/<name>.graphql`; any error in it fails the call."""
        started = time.monotonic()
        parsed = await self._exchange(document(name), variables or {}, cost=cost)
        log.debug("query %s: cost %s in %.2f s", name, (parsed.complexity or {}).get("query", "?"),
                  time.monotonic() - started)
        if parsed.alias_errors:
            raise next(iter(parsed.alias_errors.values()))
        return parsed.data

    async def execute(self, query: str, variables: dict[str, Any] | None = None, *,
                      cost: int = READ_COST_ESTIMATE, idempotency_key: str | None = None) -> dict[str, Any]:
        """Run a document given as text (board setup and tests); errors fail the call."""
        parsed = await self._exchange(query, variables or {}, cost=cost, idempotency_key=idempotency_key)
        if parsed.alias_errors:
            raise next(iter(parsed.alias_errors.values()))
        return parsed.data

    # -- batched writes -------------------------------------------------------------------------
    def mutation_cost(self, name: str) -> int:
        """The points one `name` mutation costs: as the API reported it in this run, else the estimate."""
        return self._mutation_cost.get(name, self._default_mutation_cost)

    def pack(self, mutations: Sequence[Mutation]) -> Iterator[list[Mutation]]:
        """The requests to send `mutations` in, in order, each cut when it is asked for (so with what the
        budget has room for then): as many as fit in the per-query cap and the window's whole budget,
        at most `max_mutations_per_request`; smaller when the budget has room for part of a request now
        and for the whole only later (`_what_fits_now`)."""
        start = 0
        while start < len(mutations):
            end = self._fill(mutations, start, self._request_limit())
            end = self._what_fits_now(mutations, start, end)
            yield list(mutations[start:end])
            start = end

    def _request_limit(self) -> int:
        """No request may cost more than one query may, nor more than a `WINDOW_SHARE` of the window's
        budget: at Monday's 10,000,000 a minute and 5,000,000 a query, two whole-query requests fill a
        window only if nothing else spends a point — a read beside them left one request a window, half
        the budget unused (measured: 130 subitems/s against 333)."""
        affordable = self.budget.largest_affordable()
        return min(self.max_complexity_per_request, affordable // WINDOW_SHARE) if affordable \
            else self.max_complexity_per_request

    def _fill(self, mutations: Sequence[Mutation], start: int, limit: int, *, room: bool = False) -> int:
        """The end of the longest run of `mutations` from `start` costing at most `limit`; a mutation that
        alone costs more goes alone, unless `limit` is the `room` the budget has now (then none goes). A
        run holding a kind whose cost is still our estimate keeps a little headroom under the per-query
        cap and under the room, so a first estimate a little low is neither too complex nor over budget."""
        end, cost, estimated = start, 0, False
        tight = int(limit * ESTIMATE_HEADROOM) if room else min(limit, int(self.max_complexity_per_request
                                                                           * ESTIMATE_HEADROOM))
        while end < len(mutations) and end - start < self.max_mutations_per_request:
            kind = mutations[end].document
            estimated = estimated or kind not in self._mutation_cost
            cost += self.mutation_cost(kind)
            if cost > (tight if estimated else limit) and (end > start or room):
                break
            end += 1
        return end

    def _cost(self, mutations: Sequence[Mutation]) -> int:
        return sum(self.mutation_cost(mutation.document) for mutation in mutations)

    def _what_fits_now(self, mutations: Sequence[Mutation], start: int, end: int) -> int:
        """Where to cut the request `start:end`: whole when the budget has room for it now or soon (within
        `FILL_HORIZON` of a window); else, the part it has room for now, if that is worth a request."""
        whole = self._cost(mutations[start:end])
        room = self.budget.room()
        if room is None or room >= whole:
            return end
        wait = self.budget.seconds_until(whole)
        if wait is not None and wait <= FILL_HORIZON * self.budget.window_seconds():
            return end
        fits = self._fill(mutations, start, min(room, whole), room=True)
        return fits if fits > start and self._cost(mutations[start:fits]) >= MIN_FILL * whole else end

    def _board_lock(self, board_id: str) -> asyncio.Lock:
        return self._write_locks.setdefault(board_id, asyncio.Lock())

    async def send_batch(self, batch: Sequence[Mutation], *, board_id: str, idempotency_key: str) -> list[MutationResult]:
        """Send one batch as one request of aliases; results in the batch's order, matched by alias.

        Each mutation has one budget of `max_attempts` sends. A request that fails as a whole is
        sent again as it was (same Idempotency-Key, so a write whose answer was lost is replayed);
        the mutations that fail alone with a transient error are sent again together (a new key);
        both spend the same budget. A mutation that fails terminally, or whose budget is spent,
        keeps its error. A request the API finds too complex to run (it ran nothing, so no attempt
        is spent) is split in two, and the client sends smaller requests from then on.
        """
        results = [MutationResult(mutation, attempts=0) for mutation in batch]
        keys = _Keys(idempotency_key)
        queue: list[list[int]] = [list(range(len(batch)))]
        async with self._board_lock(board_id):
            while queue:
                pending = queue.pop(0)
                try:
                    await self._send_until_answered(batch, results, pending, keys)
                except _RefusedWhole as refused:
                    if len(pending) == 1:
                        results[pending[0]].error = refused.error
                        continue
                    learnt = isinstance(refused.error, QueryTooComplex) and \
                        self._learn_from_too_complex(refused.error, [batch[index] for index in pending])
                    queue[:0] = self._cut(batch, pending) if learnt else _halves(pending)
        return results

    def _cut(self, batch: Sequence[Mutation], pending: list[int]) -> list[list[int]]:
        """`pending` packed again at the costs now known (in halves if that leaves it whole)."""
        pieces: list[list[int]] = []
        start = 0
        mutations = [batch[index] for index in pending]
        while start < len(mutations):
            end = self._fill(mutations, start, self._request_limit())
            pieces.append(pending[start:end])
            start = end
        return pieces if len(pieces) > 1 else _halves(pending)

    def _learn_from_too_complex(self, error: QueryTooComplex, mutations: Sequence[Mutation]) -> bool:
        """A request refused as too complex says what it would have cost (Monday: "Query has complexity
        of N, ..."): learn it (True). Without the figure, it cost more than the cap at least: learn that
        much (False: the figure is not known)."""
        found = _COMPLEXITY_OF.search(error.message)
        cost = int(found.group(1)) if found else self._request_limit() + 1
        self._scale_costs(cost, [mutation.document for mutation in mutations], at_least=True)
        return found is not None

    async def _send_until_answered(self, batch: Sequence[Mutation], results: list[MutationResult],
                                   pending: list[int], keys: _Keys) -> None:
        """Send `pending` (batch indices, narrowed in place to those still unanswered) until each has
        an answer or has spent its attempts."""
        spent = max(results[index].attempts for index in pending)
        sent: list[int] | None = None
        key = keys.next()
        try:
            async for attempt in self._retrying(self.retry.max_attempts - spent):
                with attempt:
                    if sent is not None and sent != pending:  # fewer aliases: a different request, a new key
                        key = keys.next()
                    if sent != pending:
                        self.stats.mutation_requests += 1
                        self.stats.mutations_sent += len(pending)
                        sent = list(pending)
                    try:
                        await self._send_aliases(batch, results, pending, key)
                    except RateLimited:  # it was not processed: a fresh key, as Monday asks
                        key = _fresh_key(key, attempt.retry_state.attempt_number)
                        raise
        except _AliasesFailed:
            pass  # each mutation left keeps its own error
        except (Unauthorized, ApiUnavailable):
            raise  # the run stops: these rows were not refused, the API could not be used at all
        except _REFUSED_BEFORE_RUNNING as error:  # nothing in it ran: smaller requests find the culprit
            if len(pending) == 1 and not isinstance(error, QueryTooComplex):
                results[pending[0]].error = error
                return
            for index in pending:
                results[index].attempts -= 1  # nothing ran: the smaller requests get this attempt back
            raise _RefusedWhole(error) from None
        except MondayError as error:  # the request failed as a whole, for good
            for index in pending:
                results[index].error = error

    async def _send_aliases(self, batch: Sequence[Mutation], results: list[MutationResult],
                            pending: list[int], key: str) -> None:
        """One request of the `pending` mutations; records each answer, keeps in `pending` those
        worth another attempt and raises `_AliasesFailed` if there are any."""
        aliases = {f"m{index}": index for index in pending}
        query, _ = compose_mutations([(alias, batch[index].document) for alias, index in aliases.items()])
        variables: dict[str, Any] = {}
        for alias, index in aliases.items():
            variables.update(alias_variables(alias, batch[index].variables))
        cost = sum(self.mutation_cost(batch[index].document) for index in pending)
        for index in pending:
            results[index].attempts += 1
        log.debug("request aliases %s", ", ".join(f"{alias}={batch[index].document}:{batch[index].ref}"
                                                  for alias, index in aliases.items()))
        started = time.monotonic()
        parsed = await self._send(query, variables, cost=cost, idempotency_key=key)
        _log_request([batch[index].document for index in pending], parsed, cost, time.monotonic() - started)
        self._learn_costs(parsed, [batch[index].document for index in pending])
        pending[:] = [index for alias, index in aliases.items()
                      if not self._take_answer(results[index], alias, parsed)]
        if pending:
            error = results[pending[0]].error
            assert error is not None
            raise _AliasesFailed(error)

    def _take_answer(self, result: MutationResult, alias: str, parsed: ParsedResponse) -> bool:
        """Record one alias's answer; False if it failed in a way worth another attempt."""
        error = parsed.alias_errors.get(alias)
        value = parsed.data.get(alias)
        if error is None and value is None:
            error = ServerError(f"no answer for {alias}", path=(alias,))
        if error is None:
            result.data, result.error = value, None
            kind = result.mutation.document
            self.stats.by_kind[kind] = self.stats.by_kind.get(kind, 0) + 1
            return True
        result.error = error
        return not self._retryable(error)

    def _learn_costs(self, parsed: ParsedResponse, documents: list[str]) -> None:
        """Use the cost the API reports instead of our estimate, from the next request on."""
        spent = (parsed.complexity or {}).get("query")
        if isinstance(spent, int) and spent > 0 and documents:
            self._scale_costs(spent, documents)

    def _scale_costs(self, cost: int, documents: list[str], *, at_least: bool = False) -> None:
        """A request of `documents` cost `cost`: each kind's cost is scaled by what the request cost over
        what we expected (exact for a request of one kind; in proportion to the estimates for a mix).
        `at_least`: `cost` is a lower bound, so no kind's cost goes down."""
        expected = sum(self.mutation_cost(name) for name in documents)
        for name in set(documents):
            scaled = math.ceil(self.mutation_cost(name) * cost / expected)
            self._mutation_cost[name] = max(scaled, self.mutation_cost(name)) if at_least else max(1, scaled)

    # -- convenience reads ----------------------------------------------------------------------
    async def board_schema(self, board_id: str) -> dict[str, Any]:
        boards = (await self.query("board_schema", {"board_ids": [board_id]}))["boards"] or []
        if not boards:
            raise NotFound(f"board {board_id} does not exist or the token cannot see it",
                           hint="check [monday] board_id and the token's access")
        board: dict[str, Any] = boards[0]
        return board

    async def board_marks(self, board_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """board id → its active item count and most recently updated item (see `monday.board.board_mark`)."""
        boards = (await self.query("board_marks", {"board_ids": list(board_ids)}))["boards"] or []
        return {str(board["id"]): board for board in boards}

    async def items_updated_since(self, board_id: str, since: str, *, page_size: int = 100) -> list[dict[str, Any]]:
        """The board's active items updated at or after `since` (an ISO time), newest first."""
        found: list[dict[str, Any]] = []
        async for item in self.board_items(board_id, page_size=page_size, first_page="items_by_last_update"):
            if str(item.get("updated_at") or "") < since:
                break
            found.append(item)
        return found

    async def items_by_id(self, item_ids: Sequence[str]) -> list[dict[str, Any]]:
        """Items by id, as a board walk reads them (100 ids per request, as Monday allows)."""
        found: list[dict[str, Any]] = []
        for start in range(0, len(item_ids), 100):
            chunk = list(item_ids[start:start + 100])
            found.extend((await self.query("items_by_id", {"ids": chunk, "limit": len(chunk)}))["items"] or [])
        return found

    async def board_items(self, board_id: str, *, page_size: int = 500,
                          first_page: str = "items_page") -> AsyncIterator[dict[str, Any]]:
        """Every item of a board, page by page (`first_page` — `items_page`, or `items_by_last_update` for
        the most recently updated first —, then next_items_page with the cursor).

        A page the API finds too complex for one query (a wide board, a small budget) is asked
        for again at half the size.
        """
        cursor: str | None = None
        while True:
            try:
                if cursor is None:
                    boards = (await self.query(first_page, {"board_ids": [board_id], "limit": page_size},
                                               cost=READ_COST_ESTIMATE * 10))["boards"] or []
                    if not boards:
                        return
                    page = boards[0]["items_page"]
                else:
                    page = (await self.query("next_items_page", {"cursor": cursor, "limit": page_size},
                                             cost=READ_COST_ESTIMATE * 10))["next_items_page"]
            except QueryTooComplex:
                if page_size == 1:
                    raise
                page_size = max(1, page_size // 2)
                continue
            for item in page["items"]:
                yield item
            cursor = page.get("cursor")
            if not cursor:
                return

    async def items_by_column_value(self, board_id: str, column_id: str, values: Sequence[str],
                                    *, page_size: int = 500) -> list[dict[str, Any]]:
        """Items whose `column_id` holds one of `values` (how a lost create is found again)."""
        found: list[dict[str, Any]] = []
        for start in range(0, len(values), 100):
            chunk = list(values[start:start + 100])
            cursor = None
            while True:
                variables: dict[str, Any] = {"board_id": board_id, "limit": page_size,
                                             "columns": [{"column_id": column_id, "column_values": chunk}]}
                if cursor:
                    variables = {"board_id": board_id, "limit": page_size, "cursor": cursor}
                page = (await self.query("items_by_column_values", variables))["items_page_by_column_values"]
                found.extend(page["items"])
                cursor = page.get("cursor")
                if not cursor:
                    break
        return found

    async def me_id(self) -> str:
        """The token's own user: what ordersync writes is attributed to it."""
        return str((await self.query("me"))["me"]["id"])

    async def activity_logs(self, board_id: str, *, since: str | None = None, item_ids: Sequence[str] = (),
                            page_size: int = 500, pages: int = 20) -> list[dict[str, Any]]:
        """The board's activity log from `since` (an ISO time; None: as far back as Monday keeps it), of
        `item_ids` only when given, newest first; at most `pages` pages."""
        found: list[dict[str, Any]] = []
        variables: dict[str, Any] = {"board_ids": [board_id], "limit": page_size}
        if since:
            variables["from"] = since
        if item_ids:
            variables["item_ids"] = list(item_ids)
        for page in range(1, pages + 1):
            boards = (await self.query("activity_logs", variables | {"page": page}))["boards"] or []
            entries = (boards[0].get("activity_logs") if boards else None) or []
            found.extend(entries)
            if len(entries) < page_size:
                break
        return found

    async def webhooks(self, board_id: str) -> list[dict[str, Any]]:
        return list((await self.query("webhooks", {"board_id": board_id}))["webhooks"] or [])

    async def create_webhook(self, board_id: str, url: str, event: str,
                             config: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Subscribe `url` to the board's `event`: Monday posts a challenge to it first, and refuses a URL that
        does not answer it."""
        variables: dict[str, Any] = {"board_id": board_id, "url": url, "event": event}
        if config is not None:
            variables["config"] = json.dumps(config)
        return dict((await self.query("create_webhook", variables))["create_webhook"])

    async def delete_webhook(self, webhook_id: str) -> None:
        await self.query("delete_webhook", {"id": webhook_id})

    async def subitems_of(self, item_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        """item id → its subitems (at most 100 ids per request, as Monday allows)."""
        found: dict[str, list[dict[str, Any]]] = {}
        for start in range(0, len(item_ids), 100):
            items = (await self.query("item_subitems", {"item_ids": list(item_ids[start:start + 100])}))["items"]
            for item in items or []:
                found[str(item["id"])] = item.get("subitems") or []
        return found


def _spent(parsed: ParsedResponse) -> int | None:
    """The complexity an answered request cost: the API's figure; nothing when it was refused by a limit
    (Monday did not run it); None (not known) otherwise."""
    if isinstance(parsed.request_error, RateLimited):
        return 0
    spent = (parsed.complexity or {}).get("query")
    return spent if isinstance(spent, int) else None


def _log_request(documents: list[str], parsed: ParsedResponse, estimated_cost: int, seconds: float) -> None:
    """`request:` at INFO, one line a request of mutations that was answered: how many, of which kinds,
    the complexity it cost (the API's figure, else our estimate) and how long it took, waits included."""
    spent = (parsed.complexity or {}).get("query")
    cost = spent if isinstance(spent, int) else estimated_cost
    kinds = ", ".join(f"{name}×{count}" for name, count in Counter(documents).items())
    log.info("request: %d mutations (%s), cost %d in %.2f s", len(documents), kinds, cost, seconds,
             extra={"mutations": len(documents), "cost": cost, "seconds": round(seconds, 3)})


def _halves(pending: list[int]) -> list[list[int]]:
    half = len(pending) // 2
    return [pending[:half], pending[half:]]


class _RefusedWhole(Exception):
    """A request was refused as a whole before anything in it ran (`error`): cut it smaller.

    Raised by `_send_until_answered` to `send_batch` only; never leaves the client."""

    def __init__(self, error: MondayError) -> None:
        super().__init__(error.message)
        self.error = error


class _AliasesFailed(TransientError):
    """Some mutations of a request failed alone, each with a transient error: send them again.

    Raised inside the retry loop only (its wait reads `first`'s hint); never leaves the client."""

    def __init__(self, first: MondayError) -> None:
        super().__init__(first.message, code=first.code, path=first.path,
                         retry_in_seconds=first.retry_in_seconds)
        self.first = first


class _Keys:
    """The Idempotency-Keys of one batch: the caller's for its first request, then `-p2`, `-p3`, ...
    for each different set of its mutations sent (a re-sent subset, a split half)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.issued = 0

    def next(self) -> str:
        self.issued += 1
        return self.base if self.issued == 1 else f"{self.base}-p{self.issued}"


def _fresh_key(key: str, attempt: int) -> str:
    """The key of the attempt after a rate-limit answer (the limited request was not processed)."""
    return f"{key}-r{attempt}"

