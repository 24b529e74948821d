"""The emulator over real HTTP (uvicorn on a loopback port): the API, the board view, the admin
endpoints, persistence across a restart, and the `ordersync emulator` command line."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from ordersync.cli import app as cli_app
from ordersync.emulator import DEV_TOKEN, EmulatorSettings, running_emulator


def gql(client: httpx.Client, query: str, variables: dict | None = None) -> dict:
    response = client.post("/v2", json={"query": query, "variables": variables or {}})
    body = response.json()
    assert response.status_code == 200 and "errors" not in body, body
    return body["data"]


def build_board(client: httpx.Client) -> tuple[str, str, str]:
    """A board with a group, an item with values and a subitem; returns (board, item, subitem) ids."""
    board_id = gql(client, 'mutation { create_board(board_name: "Customer Master Schedule", board_kind: public) '
                           "{ id } }")["create_board"]["id"]
    gql(client, 'mutation($b: ID!) { a: create_column(board_id: $b, id: "text_mkr5wya6", title: "AAG ORDER NUMBER", '
                'column_type: text) { id } s: create_column(board_id: $b, id: "color_mkr5j5pp", title: "ORDER STATUS", '
                "column_type: status) { id } }", {"b": board_id})
    group = gql(client, 'mutation($b: ID!) { create_group(board_id: $b, group_name: "GREYSON FW25") { id } }',
                {"b": board_id})["create_group"]["id"]
    item = gql(client, "mutation($b: ID!, $g: String, $v: JSON) { create_item(board_id: $b, group_id: $g, "
                       'item_name: "STYLE-1 NAVY AAG-0001", column_values: $v) { id } }',
               {"b": board_id, "g": group, "v": json.dumps({"text_mkr5wya6": "AAG-0001",
                                                            "color_mkr5j5pp": {"label": "Done"}})})["create_item"]["id"]
    sub = gql(client, 'mutation($p: ID!) { create_subitem(parent_item_id: $p, item_name: "XL") { id board { id } } }',
              {"p": item})["create_subitem"]
    gql(client, 'mutation($b: ID!) { create_column(board_id: $b, id: "numeric_mkra7j8e", title: "Order Qty", '
                "column_type: numbers) { id } }", {"b": sub["board"]["id"]})
    gql(client, 'mutation($b: ID!, $i: ID) { change_multiple_column_values(board_id: $b, item_id: $i, '
                'column_values: "{\\"numeric_mkra7j8e\\": 24}") { id } }', {"b": sub["board"]["id"], "i": sub["id"]})
    return board_id, item, sub["id"]


def test_the_api_over_http(live: httpx.Client) -> None:
    board_id, item, sub = build_board(live)
    data = gql(live, "query($b: [ID!]) { boards(ids: $b) { name items_page { items { id name "
                     "column_values { id text } subitems { id name column_values { id text } } } } } }",
               {"b": [board_id]})
    items = data["boards"][0]["items_page"]["items"]
    assert items[0]["id"] == item and items[0]["subitems"] == [
        {"id": sub, "name": "XL", "column_values": [{"id": "numeric_mkra7j8e", "text": "24"}]}]
    response = live.post("/v2", json={"query": "{ me { id } }"})
    assert response.headers["RateLimit-Policy"].startswith('"minuteRate";q=2500;w=60')
    assert response.headers["content-type"].startswith("application/json")


def test_board_view_shows_groups_items_subitems_and_values(live: httpx.Client) -> None:
    board_id, item, sub = build_board(live)
    page = live.get(f"/boards/{board_id}")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    for expected in ("Customer Master Schedule", "GREYSON FW25", "STYLE-1 NAVY AAG-0001", "AAG ORDER NUMBER",
                     "AAG-0001", "Done", "XL", "Order Qty", f'id="item-{sub}"'):
        assert expected in html, expected
    assert html.index("GREYSON FW25") < html.index("Group Title")  # the new group is on top
    without_subitems = live.get(f"/boards/{board_id}", params={"subitems": "0"}).text
    assert f'id="item-{sub}"' not in without_subitems and f'id="item-{item}"' in without_subitems
    only_top = live.get(f"/boards/{board_id}", params={"group": "topics"}).text
    assert "STYLE-1 NAVY AAG-0001" not in only_top
    assert live.get("/boards/123").status_code == 404
    index = live.get("/").text
    assert f'href="/boards/{board_id}"' in index and "Subitems of Customer Master Schedule" in index


def test_board_view_renders_a_board_of_1200_items(live: httpx.Client) -> None:
    live.patch("/emulator/config", json={"complexity_budget": 50_000_000})
    try:
        board_id = gql(live, 'mutation { create_board(board_name: "Big", board_kind: public) { id } }')["create_board"]["id"]
        for start in range(0, 1200, 300):
            aliases = " ".join(f'i{n}: create_item(board_id: {board_id}, item_name: "row {start + n}") {{ id }}'
                               for n in range(300))
            gql(live, f"mutation {{ {aliases} }}")
    finally:
        live.patch("/emulator/config", json={"complexity_budget": 10_000_000})
    html = live.get(f"/boards/{board_id}").text
    assert len(re.findall(r'<tr id="item-', html)) == 1200 and "row 1199" in html


def test_admin_endpoints(live: httpx.Client) -> None:
    build_board(live)
    assert live.get("/emulator/health").json()["status"] == "ok"
    stats = live.get("/emulator/stats").json()
    assert stats["boards"] == 2 and stats["items"] == 2
    config = live.get("/emulator/config").json()
    assert config["complexity_budget"] == 10_000_000 and DEV_TOKEN not in json.dumps(config)
    assert live.post("/emulator/reset").json() == {"status": "reset"}
    assert live.get("/emulator/stats").json()["boards"] == 0


def test_boards_survive_a_restart_with_a_sqlite_file(tmp_path: Path) -> None:
    settings = EmulatorSettings(db_path=tmp_path / "emulator.db")
    with running_emulator(settings) as base, httpx.Client(base_url=base, headers={"Authorization": DEV_TOKEN}) as c:
        board_id, item, sub = build_board(c)
        before = gql(c, "query($i: [ID!]) { items(ids: $i) { id name group { id title } column_values { id text value } "
                        "subitems { id name column_values { id text } } } }", {"i": [item]})
        columns = gql(c, "query($b: [ID!]) { boards(ids: $b) { columns { id title type settings } "
                         "groups { id title position } } }", {"b": [board_id]})
    with running_emulator(settings) as base, httpx.Client(base_url=base, headers={"Authorization": DEV_TOKEN}) as c:
        after = gql(c, "query($i: [ID!]) { items(ids: $i) { id name group { id title } column_values { id text value } "
                       "subitems { id name column_values { id text } } } }", {"i": [item]})
        assert after == before
        assert gql(c, "query($b: [ID!]) { boards(ids: $b) { columns { id title type settings } "
                      "groups { id title position } } }", {"b": [board_id]}) == columns
        found = gql(c, 'query($b: ID!) { items_page_by_column_values(board_id: $b, columns: [{column_id: "text_mkr5wya6", '
                       'column_values: ["AAG-0001"]}]) { items { id } } }', {"b": board_id})
        assert found["items_page_by_column_values"]["items"] == [{"id": item}]
        newer = gql(c, 'mutation($b: ID!) { create_item(board_id: $b, item_name: "after restart") { id } }',
                    {"b": board_id})["create_item"]["id"]
        assert int(newer) > int(sub)  # ids keep growing across the restart


def test_in_memory_emulator_forgets_on_restart() -> None:
    with running_emulator() as base, httpx.Client(base_url=base, headers={"Authorization": DEV_TOKEN}) as c:
        build_board(c)
    with running_emulator() as base, httpx.Client(base_url=base, headers={"Authorization": DEV_TOKEN}) as c:
        assert gql(c, "{ boards { id } }")["boards"] == []


def test_cli_help_documents_every_option_including_fault_injection() -> None:
    result = CliRunner().invoke(cli_app, ["emulator", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for option in ("--host", "--port", "--token", "--db", "--api-version", "--plan", "--complexity-budget",
                   "--window-seconds", "--query-cap", "--requests-per-minute", "--max-concurrent", "--daily-limit",
                   "--mutations-per-window", "--cost-profile", "--mutation-cost", "--items-per-board",
                   "--idempotency-ttl", "--latency-ms", "--fault-rate-limit", "--fault-burst-seconds",
                   "--fault-server-error", "--fault-board-locked", "--fault-lost-response", "--fault-seed", "--seed"):
        assert option in result.output, option
    assert "X-Emulator-Fault" in result.output


@pytest.mark.parametrize("argument", [["--plan", "platinum"], ["--cost-profile", "cheap"]])
def test_cli_refuses_unknown_choices(argument: list[str]) -> None:
    result = CliRunner().invoke(cli_app, ["emulator", *argument])
    assert result.exit_code != 0


def test_every_cli_option_is_documented() -> None:
    help_text = CliRunner().invoke(cli_app, ["emulator", "--help"], env={"COLUMNS": "200"}).output
    options = set(re.findall(r"--[a-z][a-z-]+", help_text)) - {"--help"}
    docs = (Path(__file__).resolve().parents[2] / "docs" / "emulator.md").read_text(encoding="utf-8")
    assert options and {option for option in options if f"`{option}" not in docs} == set()


def test_public_surface() -> None:
    import ordersync.emulator as emulator

    assert sorted(emulator.__all__) == ["CostTable", "DEV_TOKEN", "EmulatorSettings", "FAULT_HEADER",
                                        "FaultSettings", "ResponseLost", "create_app", "running_emulator", "serve"]
