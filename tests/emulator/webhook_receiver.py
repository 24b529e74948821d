"""A webhook receiver for tests: an HTTP server on a loopback port, in a thread, that answers Monday's
challenge (or refuses to), records every event delivered to it, and answers each with the next status of
a script (200 once the script runs out). `hold` keeps the next delivery waiting until released."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Delivery:
    path: str
    headers: dict[str, str]
    event: dict[str, Any]


@dataclass
class Receiver:
    base_url: str = ""
    echo_challenge: bool = True
    statuses: deque[int] = field(default_factory=deque)
    deliveries: list[Delivery] = field(default_factory=list)
    challenges: list[dict[str, str]] = field(default_factory=list)  # the challenge's headers
    hold: threading.Event | None = None
    holding: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str = "/hooks") -> str:
        return f"{self.base_url}{path}"

    def events(self, path: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [d.event for d in self.deliveries if path is None or d.path == path]

    def wait_for(self, count: int, path: str | None = None, timeout: float = 10.0) -> list[dict[str, Any]]:
        """The first `count` events (of `path`), waiting for them to arrive."""
        deadline = time.monotonic() + timeout
        while len(self.events(path)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {count} deliveries, got {self.events(path)}")
            time.sleep(0.02)
        return self.events(path)[:count]


@contextmanager
def webhook_receiver() -> Iterator[Receiver]:
    receiver = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            headers = {name: value for name, value in self.headers.items()}
            if "challenge" in body:
                receiver.challenges.append(headers)
                self._answer(200, body if receiver.echo_challenge else {"hello": "there"})
                return
            with receiver._lock:
                receiver.deliveries.append(Delivery(self.path, headers, body["event"]))
                status = receiver.statuses.popleft() if receiver.statuses else 200
                hold, receiver.hold = receiver.hold, None
            if hold is not None:
                receiver.holding = True
                hold.wait(timeout=10)
                receiver.holding = False
            self._answer(status, {})

        def _answer(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        if receiver.hold is not None:
            receiver.hold.set()
        server.shutdown()
        server.server_close()
