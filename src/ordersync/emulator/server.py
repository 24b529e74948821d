"""Serving the emulator over HTTP with uvicorn: in the foreground (`ordersync emulator`) or in a
background thread on a loopback port for tests and the demo (`running_emulator`)."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from ordersync.emulator.app import create_app
from ordersync.emulator.faults import ResponseLost
from ordersync.emulator.settings import EmulatorSettings


class _HideLostResponses(logging.Filter):
    """A lost response is a fault we injected on purpose, not an application error to log."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], ResponseLost))


_HIDE_LOST_RESPONSES = _HideLostResponses()


def _config(settings: EmulatorSettings, host: str, port: int, log_level: str) -> uvicorn.Config:
    logging.getLogger("uvicorn.error").addFilter(_HIDE_LOST_RESPONSES)  # adding it twice is a no-op
    return uvicorn.Config(create_app(settings), host=host, port=port, log_level=log_level,
                          access_log=log_level == "debug", lifespan="off")


def serve(settings: EmulatorSettings, host: str = "127.0.0.1", port: int = 8765, log_level: str = "info") -> None:
    """Run in the foreground until interrupted."""
    uvicorn.Server(_config(settings, host, port, log_level)).run()


@contextmanager
def running_emulator(settings: EmulatorSettings | None = None, host: str = "127.0.0.1", port: int = 0,
                     *, log_level: str = "warning", startup_timeout: float = 10.0) -> Iterator[str]:
    """Serve the emulator in a background thread; yields its base URL (`http://127.0.0.1:51234`).

    The API is at `<base>/v2`, a board at `<base>/boards/<id>`. Port 0 picks a free port.
    """
    # IPPROTO_TCP named explicitly: asyncio turns Nagle's algorithm off (TCP_NODELAY) only on sockets whose
    # proto says TCP, and with it on every answer waited ~40 ms for a delayed ACK between headers and body.
    listener = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM,
                             socket.IPPROTO_TCP)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, port))
    bound_port = listener.getsockname()[1]
    server = uvicorn.Server(_config(settings or EmulatorSettings(), host, bound_port, log_level))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, name="monday-emulator",
                              daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            listener.close()
            raise RuntimeError(f"the emulator did not start on {host}:{bound_port}")
        time.sleep(0.01)
    try:
        yield f"http://{host}:{bound_port}" if ":" not in host else f"http://[{host}]:{bound_port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        listener.close()
