"""The Monday client without a server: the batch packer, and the retry loop over an
`httpx.MockTransport` that answers each request from a script.

The retry rules under test: one attempt budget per mutation (`RetryPolicy.max_attempts` sends in
all, whether its request failed as a whole or it failed alone); only transport and server faults
are retried, read from the error's type; a bug (TypeError, KeyError) in a transport or in our
parsing propagates unchanged, after one request.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

import ordersync.monday.client as client_module
from fake_clock import FakeClock
from ordersync.errors import ColumnValueError, NetworkError, RateLimited, ServerError, Unauthorized
from ordersync.monday.budget import ComplexityBudget
from ordersync.monday.client import MondayClient, Mutation, RetryPolicy

URL = "https://api.monday.test/v2"


def make_client(handler, *, max_attempts: int = 3, clock: FakeClock | None = None, **options: Any) -> MondayClient:
    clock = clock or FakeClock()
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return MondayClient(http, url=URL, token=SecretStr("secret-token"),
                        budget=ComplexityBudget(clock=clock, sleep=clock.sleep),
                        retry=RetryPolicy(max_attempts=max_attempts, base_delay=0.5, max_delay=60.0),
                        sleep=clock.sleep, **options)


def create(ref: int) -> Mutation:
    return Mutation("create_item", {"board_id": "1", "item_name": f"line {ref}"}, ref)


# -- the batch packer ---------------------------------------------------------------------------------------


def never_called(request: httpx.Request) -> httpx.Response:
    raise AssertionError("pack sends nothing")


@pytest.mark.parametrize("id, count, per_request, complexity_cap, budget_limit, costs, sizes", [
    ("fits-in-one", 5, 100, 5_000_000, None, {}, [5]),
    ("mutations-per-request-cap", 250, 100, 5_000_000, None, {}, [100, 100, 50]),
    ("exactly-the-cap", 200, 100, 5_000_000, None, {}, [100, 100]),
    ("complexity-per-request-cap", 10, 100, 100_000, None, {}, [3, 3, 3, 1]),  # 30,000 each
    ("a-quarter-of-the-window-budget-caps-a-request", 10, 100, 5_000_000, 240_000, {}, [2, 2, 2, 2, 2]),
    ("the-learned-cost-is-used", 10, 100, 100_000, None, {"create_item": 10_000}, [10]),
    ("one-per-request", 3, 1, 5_000_000, None, {}, [1, 1, 1]),
    ("nothing-to-send", 0, 100, 5_000_000, None, {}, []),
])
def test_pack_splits_by_count_and_complexity_and_keeps_the_order(id, count, per_request, complexity_cap,
                                                                  budget_limit, costs, sizes) -> None:
    client = make_client(never_called, max_mutations_per_request=per_request,
                         max_complexity_per_request=complexity_cap, estimated_mutation_cost=30_000)
    client.budget.limit = budget_limit
    client._mutation_cost.update(costs)
    mutations = [create(ref) for ref in range(count)]
    batches = list(client.pack(mutations))
    assert [len(batch) for batch in batches] == sizes
    assert [mutation.ref for batch in batches for mutation in batch] == list(range(count))


def test_a_mutation_bigger_than_the_cap_goes_alone_between_its_neighbours() -> None:
    client = make_client(never_called, max_complexity_per_request=100_000, estimated_mutation_cost=30_000)
    client._mutation_cost["create_group"] = 250_000
    big = Mutation("create_group", {"board_id": "1", "group_name": "G"}, "big")
    mutations = [create(0), create(1), big, create(2)]
    assert [[m.ref for m in batch] for batch in client.pack(mutations)] == [[0, 1], ["big"], [2]]


def test_mixed_costs_fill_each_request_up_to_the_cap_in_order() -> None:
    client = make_client(never_called, max_complexity_per_request=100_000, estimated_mutation_cost=30_000)
    client._mutation_cost.update({"create_item": 30_000, "create_group": 60_000, "archive_item": 10_000})
    kinds = ["create_item", "create_group", "archive_item", "create_item", "create_item", "archive_item"]
    mutations = [Mutation(kind, {}, index) for index, kind in enumerate(kinds)]
    batches = [[m.ref for m in batch] for batch in client.pack(mutations)]
    assert batches == [[0, 1, 2], [3, 4, 5]]  # 30k+60k+10k = 100k; then 30k+30k+10k


@pytest.mark.parametrize("left, back_in, learnt, size", [
    (400_000, 59.0, True, 40),  # room for 40 now, for a whole request only when our last one leaves: 40 now
    (400_000, 59.0, False, 39),  # the same at an estimated cost: 1% headroom, an estimate a little low fits too
    (100_000, 59.0, True, 100),  # room for a sliver only: wait for the whole request
    (400_000, 0.5, True, 100),  # the whole request fits in half a second: wait for it
    (2_000_000, 59.0, True, 100),  # room for all of it
])
def test_a_request_is_cut_to_the_room_the_budget_has_when_the_whole_would_wait_long(left, back_in, learnt,
                                                                                    size) -> None:
    clock = FakeClock()
    client = make_client(never_called, clock=clock, max_complexity_per_request=1_000_000,
                         estimated_mutation_cost=10_000)
    if learnt:
        client._mutation_cost["create_item"] = 10_000
    budget = client.budget
    budget.observe_headers({"ratelimit-policy": '"complexityMinute";q=4000000;w=60'})

    async def one_request(cost: int) -> None:  # answered now: it leaves the window in 60 s
        reservation = await budget.acquire(cost)
        budget.observe({"before": left + cost, "after": left, "query": cost, "reset_in_x_seconds": 60})
        budget.settle(reservation, cost)

    asyncio.run(one_request(4_000_000 - left))
    clock.now += 60 - back_in
    assert len(next(client.pack([create(index) for index in range(300)]))) == size


def test_a_request_costs_at_most_a_quarter_of_the_window_so_a_read_beside_it_never_idles_half_the_budget() -> None:
    """Monday: 10,000,000 points a minute, 5,000,000 a query. Requests of half the budget fill a window
    only if nothing else spends: one read beside them, and the second waited a whole window."""
    clock = FakeClock()
    client = make_client(never_called, clock=clock, max_complexity_per_request=5_000_000,
                         max_mutations_per_request=1_000, estimated_mutation_cost=10_000)
    client._mutation_cost["create_item"] = 10_000
    budget = client.budget
    budget.observe_headers({"ratelimit-policy": '"complexityMinute";q=10000000;w=60'})
    left = 10_000_000

    async def answered(cost: int) -> None:
        nonlocal left
        reservation = await budget.acquire(cost)
        budget.observe({"before": left, "after": left - cost, "query": cost, "reset_in_x_seconds": 60})
        budget.settle(reservation, cost)
        left -= cost

    requests = client.pack([create(index) for index in range(2_000)])
    first = next(requests)
    assert len(first) == 250  # 2,500,000 points
    asyncio.run(answered(len(first) * 10_000))
    asyncio.run(answered(1_000))  # a read (the board's schema, a job's status)
    for _ in range(2):  # the next ones go at once: the budget still has room for three
        following = next(requests)
        assert len(following) == 250 and budget.seconds_until(len(following) * 10_000) == 0
        asyncio.run(answered(len(following) * 10_000))


# -- the retry budget ---------------------------------------------------------------------------------------


@dataclass
class Script:
    """Answers requests in turn from `answers` (the last one repeats), and keeps what was sent.

    An answer is "ok" (every alias succeeds), "500", "503", "429", "net" (the connection drops),
    "fail:<alias>" (that alias fails with a transient server error, the others succeed), or
    "bad:<alias>" (that alias's value is refused: terminal)."""

    answers: list[str]
    sent: list[list[str]] = field(default_factory=list)  # the aliases of each request
    keys: list[str | None] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        aliases = re.findall(r"\b(m\d+): ", body["query"]) or ["query"]
        self.sent.append(aliases)
        self.keys.append(request.headers.get("Idempotency-Key"))
        answer = self.answers[min(len(self.sent), len(self.answers)) - 1]
        if answer == "net":
            raise httpx.ConnectError("connection reset by peer", request=request)
        if answer in ("500", "503"):
            return httpx.Response(int(answer), json={"errors": [{"message": "Internal server error",
                                                                 "extensions": {"code": "INTERNAL_SERVER_ERROR"}}]})
        if answer == "429":
            return httpx.Response(429, json={"errors": [{"message": "Complexity budget exhausted", "extensions": {
                "code": "COMPLEXITY_BUDGET_EXHAUSTED", "retry_in_seconds": 7}}]})
        outcome, _, failing = answer.partition(":")
        data: dict[str, Any] = {alias: {"id": f"id-{alias}"} for alias in aliases}
        errors = []
        if failing in data:
            data[failing] = None
            code = "INTERNAL_SERVER_ERROR" if outcome == "fail" else "ColumnValueException"
            errors.append({"message": f"{failing} {outcome}", "path": [failing], "extensions": {"code": code}})
        data["complexity"] = {"before": 10_000_000, "after": 9_000_000, "query": 1, "reset_in_x_seconds": 60}
        return httpx.Response(200, json={"data": data, **({"errors": errors} if errors else {})})

    def sends(self) -> Counter[str]:
        return Counter(alias for aliases in self.sent for alias in aliases)


@pytest.mark.parametrize("answers, sends, errors, ok", [
    # the request fails as a whole every time: each mutation is sent max_attempts times, no more
    (["500"], {"m0": 3, "m1": 3}, {"m0": ServerError, "m1": ServerError}, []),
    # the request fails, then m1 fails alone, then its own request fails: 3 sends of m1 in all
    (["500", "fail:m1", "500", "ok"], {"m0": 2, "m1": 3}, {"m1": ServerError}, ["m0"]),
    # the request fails twice, then m1 fails alone: its budget is spent, it is not sent again
    (["500", "500", "fail:m1", "ok"], {"m0": 3, "m1": 3}, {"m1": ServerError}, ["m0"]),
    # m1 fails alone every time
    (["fail:m1"], {"m0": 1, "m1": 3}, {"m1": ServerError}, ["m0"]),
    # a 5xx then success: retried
    (["500", "ok"], {"m0": 2, "m1": 2}, {}, ["m0", "m1"]),
    (["503", "fail:m1", "ok"], {"m0": 2, "m1": 3}, {}, ["m0", "m1"]),
    # a dropped connection then success: retried as a network fault
    (["net", "ok"], {"m0": 2, "m1": 2}, {}, ["m0", "m1"]),
    (["net"], {"m0": 3, "m1": 3}, {"m0": NetworkError, "m1": NetworkError}, []),
    # a rate limit then success: retried after the API's hint
    (["429", "ok"], {"m0": 2, "m1": 2}, {}, ["m0", "m1"]),
    # a refused value is terminal: never sent again, the other alias is not held back
    (["bad:m1", "ok"], {"m0": 1, "m1": 1}, {"m1": ColumnValueError}, ["m0"]),
])
def test_each_mutation_is_sent_at_most_max_attempts_times_in_all(answers, sends, errors, ok) -> None:
    script = Script(answers)
    client = make_client(script, max_attempts=3)
    results = asyncio.run(client.send_batch([create(0), create(1)], board_id="1", idempotency_key="key"))
    assert dict(script.sends()) == sends
    by_alias = {f"m{index}": result for index, result in enumerate(results)}
    assert {alias: type(result.error) for alias, result in by_alias.items() if result.error} == errors
    assert [alias for alias, result in by_alias.items() if result.ok] == ok
    assert {alias: result.attempts for alias, result in by_alias.items()} == sends


def test_the_idempotency_key_is_kept_for_the_same_request_and_changed_for_a_different_one() -> None:
    script = Script(["500", "fail:m1", "429", "ok"])
    client = make_client(script, max_attempts=5)
    asyncio.run(client.send_batch([create(0), create(1)], board_id="1", idempotency_key="key"))
    # same request again after a 5xx: same key (a lost write is replayed); m1 alone: a new request, a new key;
    # after a rate limit the request was not processed: a fresh key, as Monday asks
    assert script.sent == [["m0", "m1"], ["m0", "m1"], ["m1"], ["m1"]]
    assert script.keys == ["key", "key", "key-p2", "key-p2-r3"]  # -r<attempt number>
    assert client.stats.retries == 3 and client.stats.rate_limited == 1
    assert client.stats.mutation_requests == 2 and client.stats.mutations_sent == 3


def test_waits_honour_the_retry_hint_and_back_off_exponentially_otherwise() -> None:
    clock = FakeClock()
    script = Script(["429", "500", "500", "ok"])
    client = make_client(script, max_attempts=4, clock=clock)
    asyncio.run(client.send_batch([create(0)], board_id="1", idempotency_key="key"))
    rate_wait, backoff_1, backoff_2 = [seconds for seconds in clock.slept if seconds > 0]
    assert 7 <= rate_wait <= 7 * 1.1 + 0.02  # the API's retry_in_seconds, with a little jitter
    assert 0 < backoff_1 <= 0.5 * 2 ** 2 and 0 < backoff_2 <= 0.5 * 2 ** 3  # full jitter, growing


def test_a_server_errors_retry_after_is_waited() -> None:
    clock = FakeClock()
    answers = iter([httpx.Response(503, headers={"Retry-After": "4"}, json={"errors": [{"message": "down"}]}),
                    httpx.Response(200, json={"data": {"me": {"id": "1"}}})])
    client = make_client(lambda request: next(answers), clock=clock)
    assert asyncio.run(client.execute("{ me { id } }")) == {"me": {"id": "1"}}
    assert clock.slept == [4.0]


class Bug(TypeError):
    pass


@pytest.mark.parametrize("where", ["transport", "parsing"])
@pytest.mark.parametrize("call", ["send_batch", "execute"])
def test_a_bug_propagates_unchanged_after_one_request(monkeypatch, where, call) -> None:
    requests = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        if where == "transport":
            raise Bug("an argument of the wrong type")
        return httpx.Response(200, json={"data": {"m0": {"id": "1"}, "me": {"id": "1"}}})

    if where == "parsing":
        def broken(*args: Any) -> None:
            raise Bug("an argument of the wrong type")
        monkeypatch.setattr(client_module, "parse_response", broken)
    client = make_client(handler, max_attempts=5)
    work = (client.send_batch([create(0)], board_id="1", idempotency_key="key") if call == "send_batch"
            else client.execute("{ me { id } }"))
    with pytest.raises(Bug):
        asyncio.run(work)
    assert len(requests) == 1
    assert client.stats.retries == 0


def test_a_key_error_in_a_transport_is_not_disguised_as_a_network_fault() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return {}["missing"]

    client = make_client(handler)
    with pytest.raises(KeyError):
        asyncio.run(client.execute("{ me { id } }"))


@pytest.mark.parametrize("answer, error, requests", [
    (httpx.Response(500, json={"errors": [{"message": "boom"}]}), ServerError, 3),
    (httpx.Response(401, json={"errors": [{"message": "Not Authenticated"}]}), Unauthorized, 1),
    (httpx.Response(429, json={"errors": [{"message": "Daily limit", "extensions": {
        "code": "DAILY_LIMIT_EXCEEDED", "retry_in_seconds": 36_000}}]}), RateLimited, 1),
])
def test_reads_retry_only_what_can_pass_and_at_most_max_attempts_times(answer, error, requests) -> None:
    sent = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return answer

    client = make_client(handler, max_attempts=3)
    with pytest.raises(error):
        asyncio.run(client.execute("{ me { id } }"))
    assert len(sent) == requests


@pytest.mark.parametrize("says_its_cost, learnt, then", [
    # Monday's message gives the cost: the client learns it exactly
    (True, 2_000_000, [2, 2, 2]),
    # no figure: each mutation costs more than a quarter of the cap at least
    (False, 5_000_000 // 4 + 1, [3, 3]),
])
def test_a_request_too_complex_is_cut_without_spending_the_attempts(says_its_cost, learnt, then) -> None:
    script_sent: list[list[str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        aliases = re.findall(r"\b(m\d+): ", json.loads(request.content)["query"])
        script_sent.append(aliases)
        if len(aliases) > 2:
            message = (f"Query has complexity of {2_000_000 * len(aliases)}, which exceeds max complexity of 5000000"
                       if says_its_cost else "too complex")
            return httpx.Response(200, json={"errors": [{"message": message,
                                                         "extensions": {"code": "maxComplexityExceeded"}}]})
        return httpx.Response(200, json={"data": {alias: {"id": alias} for alias in aliases}})

    client = make_client(handler, max_attempts=1)
    results = asyncio.run(client.send_batch([create(index) for index in range(4)], board_id="1",
                                            idempotency_key="key"))
    assert all(result.ok for result in results)
    assert script_sent == [["m0", "m1", "m2", "m3"], ["m0", "m1"], ["m2", "m3"]]
    assert client.mutation_cost("create_item") == learnt
    assert [len(batch) for batch in client.pack([create(index) for index in range(6)])] == then


def test_a_request_refused_whole_for_one_bad_value_is_cut_until_that_one_fails_alone() -> None:
    """GraphQL refuses a whole document for one variable it cannot carry, before running any of it:
    the client cuts the request in halves until the bad mutation is alone, and the others go through."""
    script_sent: list[list[str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        aliases = re.findall(r"\b(m\d+): ", body["query"])
        script_sent.append(aliases)
        if any(value == "line 5" for name, value in body["variables"].items() if name.startswith("item_name")):
            return httpx.Response(200, json={"errors": [{"message": "Variable \"$item_name_m5\" got invalid value",
                                                         "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"}}]})
        return httpx.Response(200, json={"data": {alias: {"id": alias} for alias in aliases}})

    client = make_client(handler, max_attempts=1)
    results = asyncio.run(client.send_batch([create(index) for index in range(8)], board_id="1",
                                            idempotency_key="key"))
    assert [index for index, result in enumerate(results) if not result.ok] == [5]
    assert results[5].error is not None and results[5].attempts == 1
    assert len(script_sent) == 7  # 8, then 4 + 4, then 2 + 2 of the bad half, then 1 + 1
    assert sorted(alias for aliases in script_sent[1:] if len(aliases) < 8 and "m5" not in aliases
                  for alias in aliases) == ["m0", "m1", "m2", "m3", "m4", "m6", "m7"]
