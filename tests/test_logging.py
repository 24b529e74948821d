"""Logs an operator can follow (issue 10, point 12), through the real `ordersync` entry point.

`ORDERSYNC_LOG_LEVEL=INFO` shows each stage of a sync with its counts and duration, each request
batch (mutations, complexity cost, time), each retry and each wait with its reason; DEBUG adds each
request's aliases; `--log-format json` (or ORDERSYNC_LOG_FORMAT=json) prints one JSON object per line
for schedulers. The token never appears.
"""

from __future__ import annotations

import json
import re

import pytest

from cli_project import TOKEN, cli_project

STAGES = ("extract", "transform", "stage", "diff", "plan", "apply", "record")


@pytest.fixture
def project(tmp_path):
    with cli_project(tmp_path, rows=100) as project:
        yield project


def _sync(project, *options: str, env: dict[str, str]):
    result = project.run(*options, "sync", "--customer", "GREYSON", "--json", env=env)
    assert result.exit_code == 0, result.stderr[-3000:]
    assert result.json()["status"] == "COMPLETED"  # stdout stays the one JSON object
    assert TOKEN not in result.stderr
    return result.stderr.splitlines()


def test_info_shows_each_stage_with_counts_and_durations_and_each_request_batch(project):
    lines = _sync(project, env={"ORDERSYNC_LOG_LEVEL": "INFO"})
    for stage in STAGES:
        stage_lines = [line for line in lines if f" {stage}: " in line]
        assert stage_lines, f"no {stage} line in:\n" + "\n".join(lines)
        assert any(re.search(r"\d+(\.\d+)? s\b", line) for line in stage_lines), stage_lines
    assert any(" INFO " in line and "run=" in line and "customer=GREYSON" in line for line in lines)
    batches = [line for line in lines if " request: " in line and "mutations" in line]
    assert batches, "\n".join(lines)
    assert all(re.search(r"cost \d+", line) and re.search(r"\d+\.\d+ s", line) for line in batches), batches
    assert not any(" DEBUG " in line for line in lines)


def test_info_shows_each_retry_and_each_wait_with_its_reason(project):
    project.emulator("PATCH", "/emulator/config", json={"faults": {
        "server_error": 0.3, "rate_limit": 0.15, "rate_limit_burst_seconds": 0.2, "seed": 7}})
    lines = _sync(project, env={"ORDERSYNC_LOG_LEVEL": "INFO"})
    retries = [line for line in lines if " retry " in line]
    assert any("ServerError" in line for line in retries), "\n".join(lines)
    assert any("RateLimited" in line for line in retries), "\n".join(lines)
    waits = [line for line in lines if " wait " in line or " waiting " in line]
    assert any("rate limit" in line for line in waits), "\n".join(lines)


def test_debug_adds_each_requests_aliases(project):
    lines = _sync(project, env={"ORDERSYNC_LOG_LEVEL": "DEBUG"})
    assert any(" DEBUG " in line and "aliases m0" in line for line in lines), "\n".join(lines[:50])


@pytest.mark.parametrize("how", ["option", "environment"])
def test_log_format_json_prints_one_object_per_line(project, how):
    options = ("--log-format", "json") if how == "option" else ()
    env = {"ORDERSYNC_LOG_LEVEL": "INFO", **({"ORDERSYNC_LOG_FORMAT": "json"} if how == "environment" else {})}
    lines = [line for line in _sync(project, *options, env=env) if line.strip()]
    records = [json.loads(line) for line in lines]
    assert records
    for record in records:
        assert {"time", "level", "logger", "run_id", "customer", "message"} <= record.keys(), record
        assert TOKEN not in json.dumps(record)
    assert {record["message"].split(":")[0] for record in records} >= set(STAGES)
    batch = next(record for record in records if record["message"].startswith("request:"))
    assert isinstance(batch["mutations"], int) and isinstance(batch["cost"], int) and batch["seconds"] >= 0
    assert any(record["run_id"] is not None and record["customer"] == "GREYSON" for record in records)


def test_without_a_level_a_sync_logs_nothing(project):
    assert [line for line in _sync(project, env={}) if line.strip()] == []
