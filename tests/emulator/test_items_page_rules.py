"""`items_page(query_params:)` rules as Monday documents them beyond plain text (issue 14): the `group`
column, date and timeline columns with relative days, periods, `EXACT` dates, `$$$blank$$$` and
`compare_attribute`, and people as `person-<id>`. "Today" is pinned to Thursday 2026-12-03."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from ordersync.emulator import date_rules

from .support import Api

pytestmark = pytest.mark.anyio

PAGE = ("query($b: [ID!], $q: ItemsQuery) { boards(ids: $b) { items_page(limit: 100, query_params: $q) "
        "{ items { name } } } }")


@pytest.fixture(autouse=True)
def pinned_today(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(date_rules, "today", lambda: date(2026, 12, 3))


async def names(api: Api, board_id: str, *rules: dict[str, Any], operator: str = "and") -> list[str]:
    data = await api.data(PAGE, {"b": [board_id], "q": {"rules": list(rules), "operator": operator}})
    return [item["name"] for item in data["boards"][0]["items_page"]["items"]]


@pytest.fixture
async def dated(api: Api) -> str:
    board_id = await api.board()
    await api.column(board_id, "date", "due")
    await api.column(board_id, "timeline", "span")
    for name, due, span in (("yesterday", "2026-12-02", ("2026-11-20", "2026-12-02")),
                            ("today", "2026-12-03", ("2026-12-01", "2026-12-10")),
                            ("next week", "2026-12-10", ("2026-12-08", "2026-12-20")),
                            ("last month", "2026-11-03", ("2026-10-01", "2026-11-03"))):
        await api.item(board_id, name, {"due": {"date": due}, "span": {"from": span[0], "to": span[1]}})
    await api.item(board_id, "undated")
    return board_id


async def test_date_rules_read_relative_days_and_exact_dates(api: Api, dated: str) -> None:
    assert await names(api, dated, {"column_id": "due", "compare_value": ["TODAY"], "operator": "any_of"}) == [
        "today"]
    assert await names(api, dated, {"column_id": "due", "compare_value": ["TODAY"],
                                    "operator": "greater_than"}) == ["next week"]
    assert await names(api, dated, {"column_id": "due", "compare_value": ["EXACT", "2026-12-02"],
                                    "operator": "lower_than_or_equal"}) == ["yesterday", "last month"]
    assert await names(api, dated, {"column_id": "due", "compare_value": ["ONE_MONTH_AGO", "YESTERDAY"],
                                    "operator": "between"}) == ["yesterday", "last month"]
    assert await names(api, dated, {"column_id": "due", "compare_value": ["ONE_WEEK_FROM_NOW"],
                                    "operator": "any_of"}) == ["next week"]


async def test_date_rules_read_periods_and_blanks(api: Api, dated: str) -> None:
    this_week = await names(api, dated, {"column_id": "due", "compare_value": ["THIS_WEEK"], "operator": "any_of"})
    assert this_week == ["yesterday", "today"]  # Monday 2026-11-30 to Sunday 2026-12-06
    assert await names(api, dated, {"column_id": "due", "compare_value": ["PAST_DATETIME", "$$$blank$$$"],
                                    "operator": "any_of"}) == ["yesterday", "last month", "undated"]
    assert await names(api, dated, {"column_id": "due", "compare_value": [], "operator": "is_empty"}) == ["undated"]


async def test_timeline_rules_read_start_or_end_and_timeline_periods(api: Api, dated: str) -> None:
    assert await names(api, dated, {"column_id": "span", "compare_value": ["CURRENT"], "operator": "any_of"}) == [
        "today"]
    assert await names(api, dated, {"column_id": "span", "compare_value": ["PAST_TIMELINE"],
                                    "operator": "any_of"}) == ["yesterday", "last month"]
    ends_after = {"column_id": "span", "compare_value": ["EXACT", "2026-12-05"], "operator": "greater_than"}
    assert await names(api, dated, ends_after) == ["next week"]  # START_DATE by default
    assert await names(api, dated, {**ends_after, "compare_attribute": "END_DATE"}) == ["today", "next week"]


async def test_within_the_next_is_refused_rather_than_guessed(api: Api, dated: str) -> None:
    errors = await api.errors(PAGE, {"b": [dated], "q": {"rules": [
        {"column_id": "due", "compare_value": [7], "operator": "within_the_next"}]}})
    assert errors[0]["extensions"]["code"] == "InvalidArgumentException"


async def test_the_group_column_filters_by_group_id(api: Api) -> None:
    board_id = await api.board()
    group_id = (await api.data('mutation($b: ID!) { create_group(board_id: $b, group_name: "Late") { id } }',
                               {"b": board_id}))["create_group"]["id"]
    await api.item(board_id, "on time", group_id="topics")
    await api.item(board_id, "late", group_id=group_id)
    assert await names(api, board_id, {"column_id": "group", "compare_value": [group_id]}) == ["late"]
    assert await names(api, board_id, {"column_id": "group", "compare_value": [group_id],
                                       "operator": "not_any_of"}) == ["on time"]


async def test_people_rules_compare_person_ids(api: Api) -> None:
    board_id = await api.board()
    await api.column(board_id, "people", "owner")
    me = (await api.data("{ me { id } }"))["me"]["id"]
    await api.item(board_id, "mine", {"owner": {"personsAndTeams": [{"id": int(me), "kind": "person"}]}})
    await api.item(board_id, "nobody's")
    assert await names(api, board_id, {"column_id": "owner", "compare_value": [f"person-{me}"]}) == ["mine"]
    assert await names(api, board_id, {"column_id": "owner", "compare_value": ["$$$blank$$$"]}) == ["nobody's"]


async def test_week_rules_read_this_next_and_past_weeks(api: Api) -> None:
    board_id = await api.board()
    await api.column(board_id, "week", "week")
    for name, monday in (("last week", "2026-11-23"), ("this week", "2026-11-30"), ("next week", "2026-12-07")):
        sunday = (date.fromisoformat(monday) + timedelta(days=6)).isoformat()
        await api.item(board_id, name, {"week": {"week": {"startDate": monday, "endDate": sunday}}})
    for word, expected in (("THIS_WEEK", ["this week"]), ("NEXT_WEEKS", ["next week"]),
                           ("past_weeks", ["last week"])):
        assert await names(api, board_id, {"column_id": "week", "compare_value": [word], "operator": "any_of"}) == \
            expected
