"""Introspection over real HTTP (issue 14): GraphQL tools fetch the schema before anything else
(gql's fetch_schema_from_transport, GraphiQL, codegen) — the emulator answers `__schema`, `__type`
and the standard introspection query with 200 and data, like Monday, and the schema a client builds
from the answer is the emulator's own, type for type (the fidelity test proves that one is Monday's)."""

from __future__ import annotations

import httpx
from graphql import build_client_schema, get_introspection_query, print_type

from ordersync.emulator.executor import emulator_schema


def post(client: httpx.Client, query: str) -> dict:
    response = client.post("/v2", json={"query": query})
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    return body


def test_the_standard_introspection_query_builds_the_emulators_schema(live: httpx.Client) -> None:
    body = post(live, get_introspection_query(descriptions=True))
    built = build_client_schema(body["data"])
    served = emulator_schema()
    assert sorted(built.type_map) == sorted(served.type_map)
    for name, graphql_type in served.type_map.items():
        assert print_type(built.type_map[name]) == print_type(graphql_type), name


def test_schema_and_type_alone_answer_with_data_and_cost_points(live: httpx.Client) -> None:
    assert post(live, "{ __schema { queryType { name } } }")["data"] == {"__schema": {"queryType": {"name": "Query"}}}
    assert post(live, '{ __type(name: "Item") { name kind } }')["data"] == {"__type": {"name": "Item", "kind": "OBJECT"}}
    mixed = post(live, "{ __typename me { id } complexity { query } }")["data"]
    assert mixed["__typename"] == "Query" and mixed["me"]["id"]
    charged = post(live, "{ __schema { types { name } } complexity { query } }")["data"]["complexity"]["query"]
    assert charged > 0


def test_a_failure_inside_the_emulator_answers_monday_s_500_with_an_error_body(live: httpx.Client,
                                                                             monkeypatch) -> None:
    from ordersync.emulator import app

    def broken(*args, **kwargs):
        raise RuntimeError("a bug in the emulator")

    monkeypatch.setattr(app, "_checked_cost", broken)  # the emulator serves from this process's thread
    response = live.post("/v2", json={"query": "{ me { id } }"})
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert "Internal server error" in str(body) and "INTERNAL_SERVER_ERROR" in str(body), body
    assert "a bug in the emulator" not in str(body)
    monkeypatch.undo()
    assert post(live, "{ me { id } }")["data"]["me"]["id"]  # and the next request is served
