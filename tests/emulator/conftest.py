"""Fixtures for the emulator tests: an in-process client (ASGITransport) and a live server on a
loopback port, both reached through `support.Api`.

Tests that need time to pass use tiny windows (≤ 1 s) so that no test sleeps more than ~2 s.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest

from ordersync.emulator import DEV_TOKEN, EmulatorSettings, create_app, running_emulator

from .support import Api


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def make_settings() -> Callable[..., EmulatorSettings]:
    """Settings with generous limits unless a test asks for others."""

    def build(**overrides: Any) -> EmulatorSettings:
        return EmulatorSettings(**overrides)

    return build


@pytest.fixture
def emulator_app(make_settings: Callable[..., EmulatorSettings]):
    return create_app(make_settings())


@pytest.fixture
async def client(emulator_app) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=emulator_app), base_url="http://emulator") as c:
        yield c


@pytest.fixture
def api(client: httpx.AsyncClient) -> Api:
    return Api(client)


@pytest.fixture
def in_process() -> Callable[[EmulatorSettings], httpx.AsyncClient]:
    """An in-process client for an app with custom settings (use as `async with`)."""

    def open_client(settings: EmulatorSettings) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(settings)),
                                 base_url="http://emulator")

    return open_client


@pytest.fixture(scope="module")
def live_base_url() -> Iterator[str]:
    """One live emulator per test module, served by uvicorn on a free loopback port."""
    with running_emulator(EmulatorSettings()) as base_url:
        yield base_url


@pytest.fixture
def live(live_base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_base_url, headers={"Authorization": DEV_TOKEN}, timeout=10) as c:
        c.post("/emulator/reset")
        yield c
