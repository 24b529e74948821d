"""`ordersync emulator` in a process of its own, as a person starts it at a prompt: tests then run the CLI
against it over loopback HTTP, and nothing of the emulator shares the test's interpreter."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

ORDERSYNC = str(Path(sys.executable).with_name("ordersync"))


def free_port() -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_up(base_url: str, process: subprocess.Popen[str], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the emulator exited with {process.returncode}: {process.stderr and process.stderr.read()}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base_url}/emulator/health", timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"the emulator did not answer at {base_url} within {timeout} s")


@contextlib.contextmanager
def emulator_process(*args: str, token: str) -> Iterator[str]:
    """`ordersync emulator --port P --token TOKEN ARGS…` until the block ends; yields its base URL."""
    port = free_port()
    process = subprocess.Popen([ORDERSYNC, "emulator", "--port", str(port), "--token", token, "--log-level",
                                "warning", *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base_url, process)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
