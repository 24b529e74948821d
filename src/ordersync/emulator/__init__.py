"""A local Monday.com GraphQL API for development, tests and the demo.

    settings = EmulatorSettings(window_seconds=2, complexity_budget=200_000)
    app = create_app(settings)                  # in-process: httpx.ASGITransport(app=app)
    with running_emulator(settings) as base:    # over HTTP: POST f"{base}/v2"
        ...

See docs/emulator.md for what it serves and how it differs from Monday.
"""

from ordersync.emulator.app import create_app
from ordersync.emulator.faults import FAULT_HEADER, ResponseLost
from ordersync.emulator.server import running_emulator, serve
from ordersync.emulator.settings import DEV_TOKEN, CostTable, EmulatorSettings, FaultSettings

__all__ = [
    "DEV_TOKEN",
    "FAULT_HEADER",
    "CostTable",
    "EmulatorSettings",
    "FaultSettings",
    "ResponseLost",
    "create_app",
    "running_emulator",
    "serve",
]
