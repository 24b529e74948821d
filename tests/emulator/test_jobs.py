"""Bulk jobs over real HTTP: `bulk_archive_items` answers a job id at once, the items are archived only
when the job has run, `job_status` reports PENDING → RUNNING → COMPLETED (or FAILED), ids the job
cannot archive fail alone, and the job costs its mutation plus a little per id."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from ordersync.emulator import DEV_TOKEN, FAULT_HEADER, EmulatorSettings, running_emulator
from ordersync.emulator.jobs import Jobs
from ordersync.emulator.store import Store

BULK = "mutation($b: ID!, $ids: [ID!]!) { bulk_archive_items(board_id: $b, item_ids: $ids) { job_id } }"
STATUS = ("query($j: ID!) { job_status(job_id: $j) { id status created_at updated_at error "
          "result { total succeeded failed details } } }")
HELD = 3_600  # jobs stay pending until a test lets them finish


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with running_emulator(EmulatorSettings(bulk_job_seconds=HELD)) as url:
        yield url


@pytest.fixture
def live(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, headers={"Authorization": DEV_TOKEN}, timeout=10) as client:
        client.post("/emulator/reset")
        client.patch("/emulator/config", json={"bulk_job_seconds": HELD})
        yield client


def post(client: httpx.Client, query: str, variables: dict | None = None, **headers: str) -> dict:
    response = client.post("/v2", json={"query": query, "variables": variables or {}}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def gql(client: httpx.Client, query: str, variables: dict | None = None, **headers: str) -> dict:
    body = post(client, query, variables, **headers)
    assert "errors" not in body, body
    return body["data"]


def board_with_items(client: httpx.Client, count: int) -> tuple[str, list[str]]:
    board = gql(client, 'mutation { create_board(board_name: "Bulk", board_kind: public) { id } }')["create_board"]["id"]
    items = [gql(client, "mutation($b: ID!, $n: String!) { create_item(board_id: $b, item_name: $n) { id } }",
                 {"b": board, "n": f"line {n}"})["create_item"]["id"] for n in range(count)]
    return board, items


def states(client: httpx.Client, item_ids: list[str]) -> dict[str, str]:
    found = gql(client, "query($ids: [ID!]) { items(ids: $ids) { id state } }", {"ids": item_ids})["items"]
    return {item["id"]: item["state"] for item in found}


def finish_jobs(client: httpx.Client) -> None:
    client.patch("/emulator/config", json={"bulk_job_seconds": 0})


def test_bulk_archive_items_archives_the_items_only_once_its_job_has_run(live):
    board, items = board_with_items(live, 3)
    subitem = gql(live, 'mutation($p: ID!) { create_subitem(parent_item_id: $p, item_name: "XL") { id } }',
                  {"p": items[0]})["create_subitem"]["id"]
    job_id = gql(live, BULK, {"b": board, "ids": items})["bulk_archive_items"]["job_id"]

    pending = gql(live, STATUS, {"j": job_id})["job_status"]
    assert pending["id"] == job_id and pending["status"] == "PENDING" and pending["result"] is None
    assert set(states(live, items).values()) == {"active"}  # nothing happens before the job runs

    finish_jobs(live)
    done = gql(live, STATUS, {"j": job_id})["job_status"]
    assert done["status"] == "COMPLETED" and done["error"] is None
    assert done["result"] == {"total": 3, "succeeded": 3, "failed": 0, "details": {"failed_item_ids": []}}
    assert states(live, [*items, subitem]) == dict.fromkeys([*items, subitem], "archived")  # subitems follow
    stats = live.get("/emulator/stats").json()
    assert stats["fields"]["bulk_archive_items"] == 1 and stats["fields"]["job_status"] == 2
    assert stats["jobs"] == {"COMPLETED": 1}


def test_ids_the_job_cannot_archive_fail_alone_and_archived_ones_count_as_archived(live):
    board, items = board_with_items(live, 4)
    other_board, elsewhere = board_with_items(live, 1)
    gql(live, "mutation($i: ID) { delete_item(item_id: $i) { id } }", {"i": items[2]})
    gql(live, "mutation($i: ID) { archive_item(item_id: $i) { id } }", {"i": items[3]})
    finish_jobs(live)
    job_id = gql(live, BULK, {"b": board, "ids": [items[0], items[1], items[2], items[3], elsewhere[0], "1"]})[
        "bulk_archive_items"]["job_id"]
    done = gql(live, STATUS, {"j": job_id})["job_status"]
    assert done["status"] == "COMPLETED"
    assert done["result"] == {"total": 6, "succeeded": 3, "failed": 3,
                              "details": {"failed_item_ids": [items[2], elsewhere[0], "1"]}}
    assert states(live, [items[0], items[1], elsewhere[0]]) == {
        items[0]: "archived", items[1]: "archived", elsewhere[0]: "active"}
    assert other_board


def test_a_failed_job_archives_nothing_and_says_why(live):
    board, items = board_with_items(live, 2)
    job_id = gql(live, BULK, {"b": board, "ids": items}, **{FAULT_HEADER: "job_failure"})[
        "bulk_archive_items"]["job_id"]
    finish_jobs(live)
    failed = gql(live, STATUS, {"j": job_id})["job_status"]
    assert failed["status"] == "FAILED" and failed["error"]
    assert failed["result"]["succeeded"] == 0 and failed["result"]["failed"] == 2
    assert set(states(live, items).values()) == {"active"}


def test_a_bulk_job_costs_its_mutation_plus_a_little_per_item_far_less_than_one_archive_each(live):
    board, items = board_with_items(live, 3)
    bulk = gql(live, "mutation($b: ID!, $ids: [ID!]!) { complexity { query } "
                     "bulk_archive_items(board_id: $b, item_ids: $ids) { job_id } }", {"b": board, "ids": items})
    aliases = gql(live, "mutation($a: ID, $b: ID, $c: ID) { complexity { query } x: archive_item(item_id: $a) { id } "
                        "y: archive_item(item_id: $b) { id } z: archive_item(item_id: $c) { id } }",
                  {"a": items[0], "b": items[1], "c": items[2]})
    assert bulk["complexity"]["query"] == 10_000 + 1 + 3 * 100  # the mutation, its job_id, 100 per id
    assert aliases["complexity"]["query"] == 3 * (10_000 + 1)


def test_bad_requests_are_refused_per_field(live):
    board, items = board_with_items(live, 1)
    unknown = post(live, STATUS, {"j": "no-such-job"})["errors"][0]
    assert unknown["extensions"]["code"] == "ResourceNotFoundException"
    live.patch("/emulator/config", json={"bulk_items_max": 2})
    too_many = post(live, BULK, {"b": board, "ids": [items[0], "2", "3"]})["errors"][0]
    assert too_many["extensions"]["code"] == "InvalidArgumentException" and "at most 2" in too_many["message"]
    no_board = post(live, BULK, {"b": "42", "ids": items})["errors"][0]
    assert no_board["extensions"]["code"] == "InvalidBoardIdException"
    live.patch("/emulator/config", json={"bulk_items_max": 1_000})
    assert json.loads(json.dumps(live.get("/emulator/stats").json()["jobs"])) == {}


def test_a_job_is_pending_then_running_then_done_as_its_time_passes():
    now = [0.0]
    store, jobs = Store([]), Jobs(clock=lambda: now[0])
    board = store.create_board("Bulk", "public")
    group = store.create_group(board.id, "G")
    item = store.create_item(board.id, "line", group_id=group.id, creator_id=1)
    job = jobs.start_archive(board.id, [item.id], failure_rate=0.0)
    seen = []
    for t in (0.1, 0.6, 1.0):
        now[0] = t
        jobs.run_due(store, seconds=1.0)
        seen.append((jobs.status(job.id).status, item.state))
    assert seen == [("PENDING", "active"), ("RUNNING", "active"), ("COMPLETED", "archived")]
