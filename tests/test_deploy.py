"""Scheduling: the Kestra flow and the cron line run `ordersync sync … --json`, take the token from a
secret (never inline), and turn ordersync's exit codes into the scheduler's success or failure. The
Kestra flow runs one task per board (`sync --board {{ taskrun.value }}`), in parallel lanes (Kestra's
ForEach) as many as its `concurrency` input, over the input's boards or `ordersync boards --json`."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

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


FOR_EACH = "io.kestra.plugin.core.flow.ForEach"


def board_task(flow: dict[str, Any]) -> dict[str, Any]:
    """The one task per board: lanes (ForEach, all at once) → a lane's boards (ForEach, one by one) → sync."""
    _, lanes = flow["tasks"]
    [boards_of_lane] = lanes["tasks"]
    [sync] = boards_of_lane["tasks"]
    return sync


def test_the_kestra_flow_runs_one_sync_task_per_board_in_parallel_on_a_schedule_with_the_token_from_secrets():
    flow = yaml.safe_load(FLOW.read_text())
    assert flow["id"] == "ordersync-sync" and flow["namespace"]
    inputs = {entry["id"]: entry for entry in flow["inputs"]}
    assert inputs["boards"]["type"] == "STRING" and inputs["boards"]["defaults"] == ""
    assert inputs["concurrency"]["type"] == "INT" and inputs["concurrency"]["defaults"] >= 1
    boards, lanes = flow["tasks"]
    assert boards["id"] == "boards" and boards["type"] == "io.kestra.plugin.scripts.shell.Commands"
    assert "--profile prod boards --json" in "\n".join(boards["commands"])
    assert "MONDAY_API_TOKEN" not in boards["env"]  # listing the boards reads the config only
    assert lanes["type"] == FOR_EACH and lanes["values"] == "{{ outputs.boards.vars.lanes }}"
    assert lanes["concurrencyLimit"] == 0  # every lane at once …
    [boards_of_lane] = lanes["tasks"]
    assert boards_of_lane["type"] == FOR_EACH and boards_of_lane["values"] == "{{ taskrun.value }}"
    assert boards_of_lane["concurrencyLimit"] == 1  # … each lane's boards one by one: `concurrency` at a time
    sync = board_task(flow)
    assert sync["type"] == "io.kestra.plugin.scripts.shell.Commands"
    assert sync["env"]["MONDAY_API_TOKEN"] == SECRET
    script = "\n".join(sync["commands"])
    assert re.search(r"\{\{ vars\.ordersync \}\} --profile prod sync --all --board \{\{ taskrun\.value \}\} --json",
                     script)
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
    script = ("\n".join(board_task(flow)["commands"]).replace("{{ vars.ordersync }}", str(stub))
              .replace("{{ taskrun.value }}", "9609317402"))
    finished = subprocess.run(["/bin/sh", "-ec", script], cwd=tmp_path, capture_output=True, text=True,
                              env={**os.environ, "MONDAY_API_TOKEN": "from-kestra-secrets"}, timeout=30)
    assert finished.returncode == task_exit, finished.stderr
    assert json.loads((tmp_path / "sync.json").read_text())["exit"] == ordersync_exit
    assert ("WARNING some order lines failed on board 9609317402" in finished.stdout) == (ordersync_exit == 1)


def boards_task_outputs(tmp_path: Path, *, boards_input: str, concurrency: int) -> dict[str, Any]:
    """Run the flow's `boards` task (a stand-in `ordersync boards --json` listing 5 boards): its outputs."""
    flow = yaml.safe_load(FLOW.read_text())
    stub = tmp_path / "ordersync"
    stub.write_text("""#!/bin/sh
case " $* " in *" boards --json "*) echo '["101", "102", "103", "104", "105"]' ;; *) exit 98 ;; esac
""")
    stub.chmod(stub.stat().st_mode | stat.S_IEXEC)
    script = ("\n".join(flow["tasks"][0]["commands"]).replace("{{ vars.ordersync }}", str(stub))
              .replace("{{ vars.python }}", sys.executable).replace("{{ inputs.boards }}", boards_input)
              .replace("{{ inputs.concurrency }}", str(concurrency)))
    finished = subprocess.run(["/bin/sh", "-ec", script], cwd=tmp_path, capture_output=True, text=True, timeout=30)
    assert finished.returncode == 0, finished.stderr
    [line] = [line for line in finished.stdout.splitlines() if line.startswith("::")]
    assert line.endswith("::")
    return json.loads(line[2:-2])["outputs"]  # Kestra's `::{"outputs": …}::` → outputs.boards.vars


def test_the_flow_lists_the_routed_boards_and_deals_them_into_concurrency_lanes(tmp_path):
    listed = boards_task_outputs(tmp_path, boards_input="", concurrency=2)
    assert listed["boards"] == ["101", "102", "103", "104", "105"]
    assert listed["lanes"] == [["101", "103", "105"], ["102", "104"]]
    assert boards_task_outputs(tmp_path, boards_input="", concurrency=9)["lanes"] == [
        ["101"], ["102"], ["103"], ["104"], ["105"]]  # never more lanes than boards
    chosen = boards_task_outputs(tmp_path, boards_input='["7", "8"]', concurrency=3)
    assert chosen == {"boards": ["7", "8"], "lanes": [["7"], ["8"]]}  # the input wins; ordersync not asked


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
