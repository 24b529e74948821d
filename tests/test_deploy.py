"""Scheduling: the Kestra flow and the cron line run `ordersync sync … --json`, take the token from a
secret (never inline), and turn ordersync's exit codes into the scheduler's success or failure."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).parents[1]
FLOW = ROOT / "deploy" / "kestra" / "ordersync-sync.yml"
CRON = ROOT / "deploy" / "cron" / "ordersync.cron"
SECRET = "{{ secret('MONDAY_API_TOKEN') }}"


def stub_ordersync(directory: Path, exit_code: int) -> Path:
    """A stand-in `ordersync` that checks how it was called, prints a JSON summary and exits with `exit_code`."""
    stub = directory / "ordersync"
    stub.write_text(f"""#!/bin/sh
[ -n "$MONDAY_API_TOKEN" ] || {{ echo "no token" >&2; exit 99; }}
case " $* " in *" sync "*"--json"*) ;; *) echo "unexpected arguments: $*" >&2; exit 98 ;; esac
echo '{{"run_id": 7, "status": "COMPLETED", "exit": {exit_code}}}'
echo "progress and messages go to stderr" >&2
exit {exit_code}
""")
    stub.chmod(stub.stat().st_mode | stat.S_IEXEC)
    return stub


def test_the_kestra_flow_runs_ordersync_sync_json_on_a_schedule_with_the_token_from_secrets():
    flow = yaml.safe_load(FLOW.read_text())
    assert flow["id"] == "ordersync-sync" and flow["namespace"]
    [sync] = flow["tasks"]
    assert sync["type"] == "io.kestra.plugin.scripts.shell.Commands"
    assert sync["env"]["MONDAY_API_TOKEN"] == SECRET
    script = "\n".join(sync["commands"])
    assert re.search(r"\{\{ vars\.ordersync \}\} --profile prod sync --all --json", script)
    assert "sync.json" in sync["outputFiles"]
    [trigger] = flow["triggers"]
    assert trigger["type"] == "io.kestra.plugin.core.trigger.Schedule"
    assert len(trigger["cron"].split()) == 5
    assert flow["concurrency"]["limit"] == 1


def test_no_token_is_ever_written_into_the_deploy_files():
    for path in (FLOW, CRON):
        text = path.read_text()
        for line in text.splitlines():
            if "TOKEN" in line.upper() and not line.lstrip().startswith("#"):
                assert SECRET in line or "$(cat /etc/ordersync/monday-token)" in line, line


@pytest.mark.parametrize(("ordersync_exit", "task_exit"), [(0, 0), (1, 0), (2, 2), (3, 3), (4, 4)])
def test_the_flow_passes_on_0_warns_on_1_and_fails_on_2_3_4(tmp_path, ordersync_exit, task_exit):
    flow = yaml.safe_load(FLOW.read_text())
    stub = stub_ordersync(tmp_path, ordersync_exit)
    script = "\n".join(flow["tasks"][0]["commands"]).replace("{{ vars.ordersync }}", str(stub))
    finished = subprocess.run(["/bin/sh", "-ec", script], cwd=tmp_path, capture_output=True, text=True,
                              env={**os.environ, "MONDAY_API_TOKEN": "from-kestra-secrets"}, timeout=30)
    assert finished.returncode == task_exit, finished.stderr
    assert json.loads((tmp_path / "sync.json").read_text())["exit"] == ordersync_exit
    assert ("WARNING some order lines failed" in finished.stdout) == (ordersync_exit == 1)


@pytest.mark.parametrize("ordersync_exit", [0, 1, 3])
def test_the_cron_line_appends_the_json_and_reports_exit_codes_above_1(tmp_path, ordersync_exit):
    lines = [line for line in CRON.read_text().splitlines() if line and not line.startswith("#")]
    [entry] = lines
    fields = entry.split(maxsplit=6)
    minute, hour, day, month, weekday, user, command = fields
    assert user == "ordersync" and (minute, hour, weekday) == ("*/30", "6-20", "1-5")
    assert ".venv/bin/ordersync --profile prod sync --all --json" in command
    home, logs, etc, bin_dir = (tmp_path / name for name in ("srv", "log", "etc", "bin"))
    for folder in (home / ".venv" / "bin", logs, etc, bin_dir):
        folder.mkdir(parents=True)
    stub_ordersync(home / ".venv" / "bin", ordersync_exit)
    (etc / "monday-token").write_text("token-from-a-file\n")
    (bin_dir / "logger").write_text(f"#!/bin/sh\necho \"$@\" >> {tmp_path / 'syslog'}\n")
    (bin_dir / "logger").chmod(0o755)
    command = (command.replace("/srv/ordersync", str(home)).replace("/var/log/ordersync", str(logs))
               .replace("/etc/ordersync", str(etc)))
    finished = subprocess.run(["/bin/sh", "-c", command], capture_output=True, text=True, timeout=30,
                              env={**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"})
    assert finished.returncode == 0, finished.stderr
    assert json.loads((logs / "sync.json.log").read_text())["exit"] == ordersync_exit
    assert "messages go to stderr" in (logs / "sync.log").read_text()
    syslog = tmp_path / "syslog"
    assert syslog.exists() == (ordersync_exit > 1)
    if ordersync_exit > 1:
        assert f"ordersync sync exited {ordersync_exit}" in syslog.read_text()
