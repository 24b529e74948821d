"""The README's "From an empty folder" section, run exactly as written: its shell block, taken from the
README text (so the test fails when the README drifts), in an empty folder with `ordersync` on the PATH —
init, sample data, the standalone emulator in the background, `board create`, validate, sync, reconcile."""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

README = (Path(__file__).parents[1] / "README.md").read_text()
SECTION = "## From an empty folder, with the standalone emulator"
EMULATOR_PORT = 8765  # the port `ordersync init`'s config points at, as the README uses it


def readme_block() -> str:
    """The one ```sh block of the section, as a person would paste it."""
    section = README.split(SECTION, 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL)
    assert len(blocks) == 1, "the section shows its commands in one ```sh block"
    return blocks[0]


def port_free(port: int) -> bool:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def test_the_readme_block_is_what_a_new_user_types():
    block = readme_block()
    commands = [line.split("#")[0].strip() for line in block.splitlines() if line.strip()]
    assert commands[0] == "mkdir orders && cd orders"
    assert any(command.startswith("ordersync emulator") and command.endswith("&") for command in commands)
    assert "ordersync board create" in commands and commands[-2:] == ["ordersync sync --all", "ordersync reconcile"]
    assert not any("python" in command for command in commands)  # no Python, only the CLI


def test_a_new_user_gets_a_synced_board_from_an_empty_folder_by_the_readme_alone(tmp_path):
    if not port_free(EMULATOR_PORT):
        pytest.skip(f"port {EMULATOR_PORT} is taken (a demo running?): the README's emulator needs it")
    script = "set -euo pipefail\ntrap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n" + readme_block()
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    for name in ("MONDAY_API_TOKEN", "ORDERSYNC_CONFIG", "ORDERSYNC_PROFILE"):
        env.pop(name, None)
    finished = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=600)
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]
    config = (tmp_path / "orders" / "ordersync.toml").read_text()
    board_id = re.search(r'^board_id = "(\d+)"', config, flags=re.MULTILINE)
    assert board_id, "board create wrote the board id into ordersync.toml"
    assert f"board {board_id.group(1)} (ordersync order lines): created" in finished.stdout
    printed = " ".join(finished.stdout.split())  # prose folds at the terminal's width (COLUMNS)
    assert "the config matches the board" in printed
    assert "sync run 1: COMPLETED" in printed
    assert "no drift" in printed
