"""Tokens: raw or `Bearer`, several accepted, and Monday's 401 for a missing or wrong one (the
code was renamed from UserUnauthorizedException to USER_UNAUTHORIZED in API 2025-07)."""

from __future__ import annotations

import httpx
import pytest

from ordersync.emulator import EmulatorSettings

from .support import Api

pytestmark = pytest.mark.anyio


async def test_raw_and_bearer_tokens_are_accepted(in_process) -> None:
    async with in_process(EmulatorSettings(tokens=["alpha", "beta"])) as client:
        assert (await Api(client, "alpha").data("{ me { name } }"))["me"]["name"] == "Emulator User"
        assert (await Api(client, "Bearer beta").data("{ me { name } }"))["me"]["name"] == "Emulator User 2"


@pytest.mark.parametrize(("version", "code"), [("2026-07", "USER_UNAUTHORIZED"), ("2025-04", "UserUnauthorizedException")])
async def test_a_wrong_token_gets_401(api: Api, version: str, code: str) -> None:
    response = await api.post("{ me { id } }", token="wrong", API_Version=version)
    assert response.status_code == 401
    error = response.json()["errors"][0]
    assert error["message"] == "Not Authenticated"
    assert error["extensions"]["code"] == code and error["extensions"]["status_code"] == 401


async def test_a_missing_token_gets_401_and_nothing_runs(client: httpx.AsyncClient, api: Api) -> None:
    response = await client.post("/v2", json={"query": 'mutation { create_board(board_name: "b", '
                                                       "board_kind: public) { id } }"})
    assert response.status_code == 401
    assert (await api.data("{ boards { id } }"))["boards"] == []


async def test_a_body_without_a_query_is_a_bad_request(client: httpx.AsyncClient, api: Api) -> None:
    response = await client.post("/v2", json={"variables": {}}, headers={"Authorization": api.token})
    assert response.status_code == 400
    broken = await client.post("/v2", content=b"{not json", headers={"Authorization": api.token})
    assert broken.status_code == 400 and broken.json()["errors"][0]["extensions"]["code"] == "JsonParseException"
