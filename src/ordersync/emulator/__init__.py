"""A local Monday.com GraphQL API for development, tests and the demo.

    settings = EmulatorSettings(window_seconds=2, complexity_budget=200_000)
    app = create_app(settings)                  # in-process: httpx.ASGITransport(app=app)
    with running_emulator(settings) as base:    # over HTTP: POST f"{base}/v2"
        ...

See docs/emulator.md for what it serves and how it differs from Monday. The names below are
loaded on first use, so `ordersync --help` does not pay for the web server's imports.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "create_app": "ordersync.emulator.app",
    "FAULT_HEADER": "ordersync.emulator.faults",
    "ResponseLost": "ordersync.emulator.faults",
    "running_emulator": "ordersync.emulator.server",
    "serve": "ordersync.emulator.server",
    "DEV_TOKEN": "ordersync.emulator.settings",
    "CostTable": "ordersync.emulator.settings",
    "EmulatorSettings": "ordersync.emulator.settings",
    "FaultSettings": "ordersync.emulator.settings",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'ordersync.emulator' has no attribute {name!r}")
    value = getattr(import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value
