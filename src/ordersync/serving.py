"""An ASGI app served in the foreground on the port a person names: the dashboard and the webhook
receiver. The socket is bound here first, so a port in use is a `UsageError` saying what to do, not
a traceback from uvicorn; `on_ready(url)` hears the address once it listens (port 0: the one given)."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any, Literal

from ordersync.errors import UsageError


def serve(app: Any, *, host: str, port: int, on_ready: Callable[[str], None] | None = None,
          lifespan: Literal["on", "off"] = "off") -> None:
    import uvicorn  # only a serving command pays for it

    listener = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
    except OSError as error:
        listener.close()
        raise UsageError(f"cannot listen on {host}:{port}: {error.strerror}",
                         hint="pick another --port (or stop what uses this one)") from None
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan=lifespan, timeout_graceful_shutdown=2))
    if on_ready:
        on_ready(f"http://{host}:{listener.getsockname()[1]}")
    server.run(sockets=[listener])
