"""`ordersync demo` through the installed command: sample data → emulator over HTTP → board read back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def test_the_demo_syncs_every_customer_and_the_board_equals_the_source(tmp_path):
    directory = tmp_path / "demo"
    finished = subprocess.run(
        [str(Path(sys.executable).with_name("ordersync")), "demo", "--rows", "100", "--directory", str(directory),
         "--port", "0", "--no-serve", "--json"],
        capture_output=True, text=True, timeout=240, cwd=tmp_path,
        env={key: value for key, value in os.environ.items() if key != "ORDERSYNC_CONFIG"})
    assert finished.returncode == 0, finished.stderr
    result = json.loads(finished.stdout)
    assert result["board_equals_source"] is True and result["status"] == "COMPLETED"
    assert result["board"]["items"] == result["totals"]["items"]["create"] > 90
    assert (directory / "reports" / f"run-{result['run_id']}" / "summary.md").exists()
    token = (directory / "token").read_text().strip()
    assert token not in finished.stdout + finished.stderr
    config = Path(result["config"])
    status = subprocess.run([str(Path(sys.executable).with_name("ordersync")), "--config", str(config), "status",
                             "--json"], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert json.loads(status.stdout)["last_sync"]["run_id"] == result["run_id"]
