"""The complexity budget: it waits only when what the API said is left cannot pay for a request,
and only until the window resets. A fake clock that the fake sleep moves forward: no real waits."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import pytest

from fake_clock import FakeClock
from ordersync.emulator.complexity import DocumentCost
from ordersync.emulator.limits import Limiter
from ordersync.emulator.settings import EmulatorSettings
from ordersync.monday.budget import ComplexityBudget, parse_rate_limit_header

PAD = 0.01  # the budget sleeps a hair past the reset


def budget_on(clock: FakeClock) -> ComplexityBudget:
    return ComplexityBudget(clock=clock, sleep=clock.sleep)


@dataclass(frozen=True)
class Case:
    id: str
    told: Callable[[ComplexityBudget, FakeClock], None]  # what the API said before the request
    cost: int
    waits: list[float]
    remaining: int | None  # what the budget believes is left after paying for the request


def complexity(before: int, after: int, reset: float) -> Callable[[ComplexityBudget, FakeClock], None]:
    def tell(budget: ComplexityBudget, clock: FakeClock) -> None:
        budget.observe({"before": before, "after": after, "query": before - after, "reset_in_x_seconds": reset})
    return tell


def headers(**values: str) -> Callable[[ComplexityBudget, FakeClock], None]:
    def tell(budget: ComplexityBudget, clock: FakeClock) -> None:
        budget.observe_headers({name.replace("_", "-"): value for name, value in values.items()})
    return tell


def then(*steps: Callable[[ComplexityBudget, FakeClock], None]) -> Callable[[ComplexityBudget, FakeClock], None]:
    def tell(budget: ComplexityBudget, clock: FakeClock) -> None:
        for step in steps:
            step(budget, clock)
    return tell


def later(seconds: float) -> Callable[[ComplexityBudget, FakeClock], None]:
    def tell(budget: ComplexityBudget, clock: FakeClock) -> None:
        clock.now += seconds
    return tell


def blocked(seconds: float) -> Callable[[ComplexityBudget, FakeClock], None]:
    def tell(budget: ComplexityBudget, clock: FakeClock) -> None:
        budget.block(seconds)
    return tell


def nothing(budget: ComplexityBudget, clock: FakeClock) -> None:
    return None


CASES = [
    Case("nothing-known-no-wait", nothing, 50_000, [], None),
    Case("enough-left-no-wait", complexity(10_000_000, 9_000_000, 40), 30_000, [], 8_970_000),
    Case("exactly-enough-no-wait", complexity(10_000_000, 30_000, 40), 30_000, [], 0),
    # spending none of our requests explains has surely left a window after the answer that counted it
    # (the reset the API reports is when the oldest of it leaves, the rest may be younger)
    Case("too-little-left-waits-until-what-was-counted-has-left", complexity(10_000_000, 20_000, 40), 30_000,
         [60 + PAD], 10_000_000 - 30_000),
    Case("a-window-later-refills-without-waiting", then(complexity(10_000_000, 20_000, 40), later(60)),
         30_000, [], 10_000_000 - 30_000),
    Case("partly-through-the-window-waits-the-rest", then(complexity(10_000_000, 0, 40), later(25)), 1,
         [35 + PAD], 10_000_000 - 1),
    Case("low-with-no-limit-known-waits-a-window", headers(ratelimit='"complexityMinute";r=100'), 30_000,
         [60 + PAD], 100),
    Case("a-zero-reset-still-waits-out-what-was-counted", complexity(10_000_000, 100, 0), 30_000, [60 + PAD],
         10_000_000 - 30_000),
    Case("header-budget-low-waits-a-window-after-its-answer",
         headers(ratelimit_policy='"complexityMinute";q=5000000;w=60',
                 ratelimit='"minuteRate";r=4999, "complexityMinute";r=100;t=45'),
         30_000, [60 + PAD], 5_000_000 - 30_000),
    Case("header-budget-enough", headers(ratelimit='"minuteRate";r=4999, "complexityMinute";r=4950000;t=45'),
         30_000, [], 4_920_000),
    Case("minute-rate-used-up-blocks", headers(ratelimit='"minuteRate";r=0;t=38'), 1, [38 + PAD], None),
    Case("concurrency-used-up-blocks", headers(ratelimit='"concurrency";r=0;t=2'), 1, [2 + PAD], None),
    Case("a-rate-limit-answer-blocks", blocked(7), 1, [7 + PAD], None),
    Case("a-block-that-has-passed-is-ignored", then(blocked(7), later(8)), 1, [], None),
    Case("two-blocks-keep-the-longer", then(blocked(7), blocked(3)), 1, [7 + PAD], None),
]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_acquire_waits_only_as_long_as_the_api_said(case: Case) -> None:
    clock = FakeClock()
    budget = budget_on(clock)
    case.told(budget, clock)
    asyncio.run(budget.acquire(case.cost))
    assert clock.slept == pytest.approx(case.waits)
    assert budget.remaining == case.remaining


def test_requests_spend_the_budget_until_it_runs_out_then_wait_for_the_reset() -> None:
    clock = FakeClock()
    budget = budget_on(clock)
    budget.observe({"before": 100_000, "after": 100_000, "query": 0, "reset_in_x_seconds": 60})

    async def four_requests() -> None:
        for _ in range(4):
            budget.settle(await budget.acquire(30_000), None)  # each answered before the next is sent

    asyncio.run(four_requests())
    assert clock.slept == pytest.approx([60 + PAD])  # three fit, the fourth waits for the reset
    assert budget.remaining == 100_000 - 30_000


def test_the_largest_affordable_request_is_the_whole_window() -> None:
    clock = FakeClock()
    budget = budget_on(clock)
    assert budget.largest_affordable() is None
    budget.observe({"before": 1_000_000, "after": 900_000, "query": 100_000, "reset_in_x_seconds": 10})
    assert budget.largest_affordable() == 1_000_000
    budget.observe({"before": 900_000, "after": 800_000, "query": 100_000, "reset_in_x_seconds": 10})
    assert budget.largest_affordable() == 1_000_000  # `before` never lowers the limit
    budget.observe_headers({"ratelimit-policy": '"complexityMinute";q=5000000;w=60'})
    assert budget.largest_affordable() == 5_000_000


def test_an_answer_without_complexity_changes_nothing() -> None:
    clock = FakeClock()
    budget = budget_on(clock)
    budget.observe({"before": 1_000_000, "after": 900_000, "query": 100_000, "reset_in_x_seconds": 10})
    budget.observe(None)
    budget.observe({})
    budget.observe_headers({})
    assert (budget.remaining, budget.limit, budget.reset_at) == (900_000, 1_000_000, clock.now + 10)


@pytest.mark.parametrize("header, policies", [
    ('"minuteRate";r=4999, "concurrency";r=249, "complexityMinute";r=4950000;t=45',
     {"minuteRate": {"r": "4999"}, "concurrency": {"r": "249"}, "complexityMinute": {"r": "4950000", "t": "45"}}),
    ('"minuteRate";q=5000;w=60, "concurrency";q=250;qu="concurrent-requests", '
     '"complexityMinute";q=5000000;w=60;qu="content-bytes"',
     {"minuteRate": {"q": "5000", "w": "60"}, "concurrency": {"q": "250", "qu": "concurrent-requests"},
      "complexityMinute": {"q": "5000000", "w": "60", "qu": "content-bytes"}}),
    ('"minuteRate";r=0;t=38', {"minuteRate": {"r": "0", "t": "38"}}),
    ("", {}),
])
def test_the_ratelimit_headers_are_read(header: str, policies: dict) -> None:
    assert parse_rate_limit_header(header) == policies


@dataclass
class _Told:
    reservation: str | None = None
    wait_seconds: float = 0.0
    reason: str = ""


@dataclass
class FakeLedger:
    """A shared ledger that answers from a script: what `state/budget_ledger.py` would say."""

    answers: list[_Told]
    asked: list[tuple[int, int | None, float | None]] = field(default_factory=list)
    settled: list[tuple[str, int | None]] = field(default_factory=list)
    held: list[float] = field(default_factory=list)

    def reserve(self, cost: int, *, limit: int | None, window: float | None) -> _Told:
        self.asked.append((cost, limit, window))
        return self.answers.pop(0)

    def settle(self, reservation: str, spent: int | None) -> None:
        self.settled.append((reservation, spent))

    def hold(self, seconds: float) -> None:
        self.held.append(seconds)


def test_with_a_shared_ledger_the_budget_waits_as_it_says_and_settles_the_real_cost() -> None:
    clock = FakeClock()
    ledger = FakeLedger([_Told(wait_seconds=2.5, reason="others used it"), _Told(reservation="r1")])
    budget = ComplexityBudget(clock=clock, sleep=clock.sleep, shared=ledger)
    budget.observe_headers({"ratelimit-policy": '"complexityMinute";q=5000000;w=60'})

    reservation = asyncio.run(budget.acquire(30_000))
    budget.settle(reservation, 12_000)
    budget.block(7)

    assert clock.slept == [2.5]  # what the ledger said, once, then reserved
    assert ledger.asked == [(30_000, 5_000_000, 60.0)] * 2  # with the limit and window the API told
    assert (reservation, ledger.settled, ledger.held) == ("r1", [("r1", 12_000)], [7])



@pytest.mark.parametrize("older_answered_first", [True, False])
def test_requests_in_flight_at_once_count_until_answered_and_a_late_answer_to_an_older_one_changes_nothing(
        older_answered_first: bool) -> None:
    """Several boards send at once on one budget: an answer's `after` does not yet count the requests
    sent after its own, may not count one sent before it and still out, and an older request's answer,
    arriving after a newer one's, is out of date."""
    clock = FakeClock()
    budget = budget_on(clock)
    budget.observe({"before": 100_000, "after": 100_000, "query": 0, "reset_in_x_seconds": 60})

    async def sending(cost: int, sent: asyncio.Event, answer: asyncio.Event, after: int) -> None:
        reservation = await budget.acquire(cost)
        sent.set()
        await answer.wait()
        budget.observe({"before": 100_000, "after": after, "query": cost, "reset_in_x_seconds": 60})
        budget.settle(reservation, cost)

    async def two_boards() -> list[int | None]:
        (older_sent, older_answer), (newer_sent, newer_answer) = (asyncio.Event(), asyncio.Event()), \
            (asyncio.Event(), asyncio.Event())
        older = asyncio.create_task(sending(30_000, older_sent, older_answer, after=70_000))
        await older_sent.wait()
        newer = asyncio.create_task(sending(20_000, newer_sent, newer_answer, after=50_000))
        await newer_sent.wait()
        seen = []
        for answer, task in ([(older_answer, older), (newer_answer, newer)] if older_answered_first
                             else [(newer_answer, newer), (older_answer, older)]):
            answer.set()
            await task
            seen.append(budget.remaining)
        return seen

    # the older answer first: 70,000 left less the newer one still out. The newer first: it does not
    # say whether the API took the older one before it (it did here: 50,000 left), so the older one's
    # 30,000 stay spent; its answer, arriving later, predates the newer one's and changes nothing
    assert asyncio.run(two_boards()) == ([50_000, 50_000] if older_answered_first else [20_000, 20_000])


def test_an_answer_to_a_newer_request_the_api_took_first_leaves_the_older_one_still_out_to_pay() -> None:
    """Two boards' requests in flight: the API took the newer one first (a smaller body is read sooner),
    so its answer's `after` does not count the older one. Until the older is answered, what it costs is
    not taken as left: a third request waits, and the emulator's limiter (the API here) admits it."""
    clock = FakeClock()
    settings = EmulatorSettings(tokens=["token"], complexity_budget=100_000, window_seconds=60)
    limiter = Limiter(lambda: settings, clock=clock)
    budget = budget_on(clock)
    budget.observe_headers({name.lower(): value for name, value in limiter.headers("token").items()})

    def charged(cost: int) -> dict[str, int]:
        return dataclasses.asdict(limiter.charge("token", DocumentCost(cost, 1, 0, False)))

    async def request(cost: int, answer: Callable[[], Awaitable[dict[str, int]]]) -> None:
        reservation = await budget.acquire(cost)
        budget.observe(await answer())  # raises RequestRejected if the API refuses it
        budget.settle(reservation, cost)

    async def three_boards() -> None:
        loop = asyncio.get_running_loop()
        older_answer, newer_answer = loop.create_future(), loop.create_future()
        older = asyncio.create_task(request(30_000, lambda: older_answer))
        await asyncio.sleep(0)
        newer = asyncio.create_task(request(20_000, lambda: newer_answer))
        await asyncio.sleep(0)
        newer_answer.set_result(charged(20_000))  # 80,000 left: the older one not charged yet
        await newer
        older_charge = charged(30_000)  # now it is; its answer is still on its way

        async def at_once() -> dict[str, int]:
            return charged(70_000)

        await request(70_000, at_once)
        older_answer.set_result(older_charge)
        await older

    asyncio.run(three_boards())
    assert clock.now >= 1000 + 60  # the third waited for room: the newer request left the window


def spend(budget: ComplexityBudget, clock: FakeClock, cost: int, left: int, reset: float) -> None:
    """One request of `cost` sent and answered now, the API saying `left` is left."""
    async def one() -> None:
        reservation = await budget.acquire(cost)
        budget.observe({"before": left + cost, "after": left, "query": cost, "reset_in_x_seconds": reset})
        budget.settle(reservation, cost)
    asyncio.run(one())


def test_the_window_slides_each_request_comes_back_a_window_after_its_answer_not_all_at_the_reset() -> None:
    clock = FakeClock()
    budget = budget_on(clock)
    budget.observe_headers({"ratelimit-policy": '"complexityMinute";q=10000000;w=60'})
    spend(budget, clock, 5_000_000, left=5_000_000, reset=60)  # at 1000, back at 1060
    clock.now += 5
    spend(budget, clock, 5_000_000, left=0, reset=55)  # at 1005, back at 1065; the API: the oldest leaves in 55 s
    assert (budget.room(), budget.seconds_until(5_000_000), budget.seconds_until(10_000_000)) == (0, 55, 60)

    async def two_more() -> None:
        for _ in range(2):
            budget.settle(await budget.acquire(5_000_000), 5_000_000)

    asyncio.run(two_more())
    # the third waits for the first to leave the window; the fourth for the second, not a whole new window
    assert clock.slept == pytest.approx([55 + PAD, 5])


def test_what_another_client_spent_has_surely_left_a_window_after_the_answer_that_counted_it() -> None:
    """The API's reset says when the oldest charge leaves the window, not the newest: spending none of
    our requests explains is waited out until a window after the answer that reported it."""
    clock = FakeClock()
    budget = budget_on(clock)
    budget.observe_headers({"ratelimit-policy": '"complexityMinute";q=10000000;w=60'})
    spend(budget, clock, 1_000_000, left=500_000, reset=30)  # 8.5M spent by someone else; its oldest leaves in 30 s
    assert budget.seconds_until(1_500_000) == 60  # our own request leaves the window by then
    assert budget.seconds_until(2_000_000) is None  # none of ours can make that much room
    asyncio.run(budget.acquire(2_000_000))
    assert clock.slept == pytest.approx([60 + PAD])  # all the API counted then has left the window
    assert budget.remaining == 10_000_000 - 2_000_000


def test_another_clients_spending_spread_over_the_window_is_waited_out_as_monday_counts_it() -> None:
    """Another client (or the setup of a test) spent most of the window's budget in two bursts, 30 s
    apart. The emulator's limiter — a sliding log, as Monday's window slides — is the API here: the
    reset it reports is when the first burst leaves. A request sent then would be refused: the second
    burst still counts."""
    clock = FakeClock()
    settings = EmulatorSettings(tokens=["token"], complexity_budget=10_000_000, window_seconds=60)
    limiter = Limiter(lambda: settings, clock=clock)
    budget = budget_on(clock)

    def charged(cost: int) -> dict[str, int]:
        return dataclasses.asdict(limiter.charge("token", DocumentCost(cost, 1, 0, False)))

    async def send(cost: int) -> None:
        reservation = await budget.acquire(cost)
        budget.observe(charged(cost))  # raises RequestRejected if the API refuses it
        budget.observe_headers({name.lower(): value for name, value in limiter.headers("token").items()})
        budget.settle(reservation, cost)

    charged(4_000_000)  # someone else, at 1000
    clock.now += 30
    charged(5_500_000)  # again, at 1030
    asyncio.run(send(400_000))  # ours: 100,000 left; the API's reset: 30 s (when the first burst leaves)
    asyncio.run(send(5_000_000))  # waits until every burst has left: the limiter admits it
    assert clock.now >= 1030 + 60


@pytest.mark.parametrize("before", [
    5_000_000,  # Monday still counted B when it charged C: B's points come back as expected (not lost)
    10_000_000,  # it had already let B go, so `after` counts them free: not counted a second time
])
def test_a_request_whose_window_closed_around_the_next_charge_is_counted_as_the_api_says(before) -> None:
    clock = FakeClock()
    budget = budget_on(clock)
    budget.observe_headers({"ratelimit-policy": '"complexityMinute";q=10000000;w=20'})

    async def send(answer_in: float, told_before: int) -> None:
        reservation = await budget.acquire(5_000_000)
        clock.now += answer_in
        budget.observe({"before": told_before, "after": told_before - 5_000_000, "query": 5_000_000,
                        "reset_in_x_seconds": 1})
        budget.settle(reservation, 5_000_000)

    asyncio.run(send(0, 10_000_000))  # A, at 1000
    clock.now += 0.1
    asyncio.run(send(0, 5_000_000))  # B, at 1000.1: back at 1020.1
    clock.now = 1020.0  # A is back
    asyncio.run(send(0.5, before))  # C, answered at 1020.5: did Monday still count B when it charged C?
    assert budget.room() == 5_000_000
    assert budget.seconds_until(10_000_000) == pytest.approx(20.0)  # C leaves the window a window after its answer
