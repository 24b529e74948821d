"""Helpers shared by the emulator tests: `Api` posts GraphQL to an emulator (in-process or live)
and reads the answer the way a Monday client would."""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import httpx

from ordersync.emulator import DEV_TOKEN

DATA = Path(__file__).resolve().parents[2] / "src" / "ordersync" / "data"


def _monday_sdl() -> Path:
    """Monday's published schema: $ORDERSYNC_MONDAY_SCHEMA, else the team's shared reference folder
    beside the checkout (or at /work/shared for a clone made elsewhere on this machine)."""
    candidates = [os.environ.get("ORDERSYNC_MONDAY_SCHEMA", ""),
                  Path(__file__).resolve().parents[3] / "shared" / "reference" / "monday_schema.graphql",
                  "/work/shared/reference/monday_schema.graphql"]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return Path(candidates[1])


MONDAY_SDL = _monday_sdl()


class Api:
    """Posts GraphQL to an emulator (in-process or live) the way a Monday client would."""

    def __init__(self, client: httpx.AsyncClient, token: str = DEV_TOKEN) -> None:
        self.client = client
        self.token = token

    async def post(self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None,
                   **headers: str) -> httpx.Response:
        sent = {"Authorization": token if token is not None else self.token}
        sent.update({name.replace("_", "-"): value for name, value in headers.items()})
        return await self.client.post("/v2", json={"query": query, "variables": variables or {}}, headers=sent)

    async def data(self, query: str, variables: dict[str, Any] | None = None, **headers: str) -> dict[str, Any]:
        """The `data` of a request that must succeed without any error."""
        response = await self.post(query, variables, **headers)
        body = response.json()
        assert response.status_code == 200, body
        assert "errors" not in body, body["errors"]
        return body["data"]

    async def errors(self, query: str, variables: dict[str, Any] | None = None, **headers: str) -> list[dict]:
        response = await self.post(query, variables, **headers)
        body = response.json()
        assert "errors" in body, body
        return body["errors"]

    async def board(self, name: str = "Board") -> str:
        data = await self.data('mutation($n: String!) { create_board(board_name: $n, board_kind: public) { id } }',
                               {"n": name})
        return data["create_board"]["id"]

    async def column(self, board_id: str, column_type: str, column_id: str | None = None,
                     defaults: dict[str, Any] | None = None, title: str | None = None) -> str:
        data = await self.data(
            "mutation($b: ID!, $id: String, $t: String!, $type: ColumnType!, $d: JSON) {"
            " create_column(board_id: $b, id: $id, title: $t, column_type: $type, defaults: $d) { id } }",
            {"b": board_id, "id": column_id, "t": title or column_type, "type": column_type,
             "d": json.dumps(defaults) if defaults is not None else None},
        )
        return data["create_column"]["id"]

    async def item(self, board_id: str, name: str = "Item", values: dict[str, Any] | None = None,
                   group_id: str | None = None) -> str:
        data = await self.data(
            "mutation($b: ID!, $n: String!, $g: String, $v: JSON) {"
            " create_item(board_id: $b, item_name: $n, group_id: $g, column_values: $v) { id } }",
            {"b": board_id, "n": name, "g": group_id, "v": json.dumps(values or {})},
        )
        return data["create_item"]["id"]

    async def items_bulk(self, board_id: str, names: list[str], per_request: int = 100,
                         values: Callable[[int], dict[str, Any]] | None = None) -> list[str]:
        """Create many items with aliased mutations, `per_request` per request."""
        ids: list[str] = []
        for start in range(0, len(names), per_request):
            chunk = names[start:start + per_request]
            aliases = " ".join(
                f"i{n}: create_item(board_id: {board_id}, item_name: {json.dumps(name)}, "
                f"column_values: {json.dumps(json.dumps(values(start + n) if values else {}))}) {{ id }}"
                for n, name in enumerate(chunk)
            )
            data = await self.data(f"mutation {{ {aliases} }}")
            ids.extend(data[f"i{n}"]["id"] for n in range(len(chunk)))
        return ids

    async def read(self, item_id: str) -> dict[str, Any]:
        data = await self.data(
            "query($i: [ID!]) { items(ids: $i) { id name state group { id } board { id }"
            " column_values { id type text value } subitems { id name } } }", {"i": [item_id]})
        return data["items"][0]


def values_by_id(item: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {value["id"]: value for value in item["column_values"]}


def board_columns(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


async def wait_until_in_flight(client: httpx.AsyncClient, count: int = 1) -> None:
    """Wait (at most 2 s) until the emulator holds `count` requests in flight for some token."""
    for _ in range(200):
        usage = (await client.get("/emulator/stats")).json()["usage"]
        if any(entry["in_flight"] >= count for entry in usage.values()):
            return
        await anyio.sleep(0.01)
    raise AssertionError(f"never saw {count} request(s) in flight")
