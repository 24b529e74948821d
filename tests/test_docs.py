"""The README cannot rot: its commands run against a demo setup, and it documents every command,
exit code and config key, and the deployed cron line."""

from __future__ import annotations

import asyncio
import re
import secrets
import shlex
from pathlib import Path

import pytest
from pydantic import BaseModel, SecretStr
from typer.main import get_command

from cli_project import run_cli
from ordersync import cli
from ordersync.config import Config
from ordersync.demo import DemoOptions, demo_emulator, run_demo_against

ROOT = Path(__file__).parents[1]
README = (ROOT / "README.md").read_text()
COMMANDS = get_command(cli.app).commands
# Run for real against the demo; the others (they serve until Ctrl-C, rebuild the demo, write files,
# or call the real Monday) are parsed with their options, never run.
RUNNABLE = {"status", "report", "validate", "plan", "sync", "retry", "reconcile"}


def readme_shell_lines() -> list[str]:
    """Lines of the README's ```bash blocks: `ordersync …` commands and `export` lines, in order."""
    lines = []
    for block in re.findall(r"```bash\n(.*?)```", README, flags=re.DOTALL):
        for line in block.splitlines():
            line = line.strip()
            if line.startswith(("ordersync ", "export ")):
                lines.append(line)
    return lines


def parse_only(args: list[str]) -> None:
    """Let click parse the command line as `ordersync` would, without running the command."""
    group = get_command(cli.app)
    context = group.make_context("ordersync", list(args), resilient_parsing=False)
    name, command, rest = group.resolve_command(context, context._protected_args + context.args)
    command.make_context(name, rest, parent=context)


def test_the_readme_commands_run_against_a_demo(tmp_path, monkeypatch):
    commands = [line for line in readme_shell_lines() if line.startswith("ordersync ")]
    assert len(commands) >= 15
    assert {shlex.split(line)[1] for line in commands} >= RUNNABLE - {"retry"} | {"dashboard"}
    options = DemoOptions(directory=tmp_path / ".ordersync" / "demo", rows=100, port=0)
    options.directory.mkdir(parents=True)
    token = SecretStr(secrets.token_urlsafe(16))
    (options.directory / "token").write_text(token.get_secret_value())
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ORDERSYNC_CONFIG", raising=False)
    env: dict[str, str] = {}
    ran = []
    with demo_emulator(options, token) as base_url:
        demo = asyncio.run(run_demo_against(options, base_url, token))
        assert demo.drift.clean
        for line in readme_shell_lines():
            args = shlex.split(line, comments=True)
            if args[0] == "export":
                name, _, value = args[1].partition("=")
                env[name] = value
                continue
            words = [word for word in args[1:] if not word.startswith("-")]
            if words[0] not in RUNNABLE or "--profile" in args:
                parse_only(args[1:])
                continue
            with monkeypatch.context() as scoped:
                for name, value in env.items():
                    scoped.setenv(name, value)
                result = run_cli(*args[1:])
            ran.append(line)
            nothing_to_retry = words[0] == "retry" and "nothing to retry" in result.stderr
            assert result.exit_code in (0, 1) or nothing_to_retry, (line, result.stderr)
            assert "Traceback" not in result.stderr, line
            if "--json" in args and not nothing_to_retry:
                result.json()
    assert env == {"ORDERSYNC_CONFIG": ".ordersync/demo/ordersync.toml"}
    assert len(ran) >= 12


def test_every_command_is_documented_in_the_readme_and_has_help_with_an_example():
    for name in COMMANDS:
        assert f"`ordersync {name}" in README, f"README does not document `ordersync {name}`"
        shown = run_cli(name, "--help")
        assert shown.exit_code == 0, (name, shown.stderr)
        assert "Example" in shown.stdout or name == "emulator" and "ordersync emulator --" in shown.stdout, name


def test_every_exit_code_is_in_the_readme():
    codes = re.findall(r"(\d+) [a-z]", cli.__doc__.split("Exit codes:")[1])
    assert codes == ["0", "1", "2", "3", "4", "130", "143"]
    table = README.split("### Exit codes")[1].split("\n## ")[0]
    for code in codes:
        assert re.search(rf"^\| {code} \|", table, flags=re.MULTILINE), f"exit code {code} is not in the table"


def _keys(model: type[BaseModel]) -> set[str]:
    keys = set()
    for name, field in model.model_fields.items():
        keys.add(field.alias or name)
        annotation = field.annotation
        for candidate in (annotation, *getattr(annotation, "__args__", ())):
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                keys |= _keys(candidate)
    return keys


def test_every_config_key_is_in_the_configuration_reference():
    reference = README.split("## Configuration reference")[1].split("\n## ")[0]
    keys = _keys(Config) - {"profile"}  # set by [profiles.NAME], documented there
    assert {"chunk_size", "between", "token_file", "create_labels_if_missing", "directory"} <= keys
    documented = re.findall(r"`([a-z_]+)`|\[(?:[a-z_]+\.)?([a-z_]+)\]", reference)
    missing = sorted(keys - {key for pair in documented for key in pair if key})
    assert not missing, f"config keys missing from the README's configuration reference: {missing}"
    assert "[profiles.NAME]" in reference


def test_the_readme_cron_line_is_the_deployed_one():
    [deployed] = [line for line in (ROOT / "deploy" / "cron" / "ordersync.cron").read_text().splitlines()
                  if line and not line.startswith("#")]
    assert deployed in README
    assert "{{ secret('MONDAY_API_TOKEN') }}" in README


def test_every_error_class_is_in_the_runbook():
    import ordersync.errors as errors

    runbook = README.split("## Operations runbook")[1]
    classes = [name for name, value in vars(errors).items()
               if isinstance(value, type) and issubclass(value, errors.OrdersyncError)
               and name not in ("OrdersyncError", "TransientError", "TerminalError")]
    for name in classes:
        assert f"`{name}`" in runbook, f"{name} is not in the operations runbook"


@pytest.mark.parametrize("variable", ["ORDERSYNC_CONFIG", "ORDERSYNC_PROFILE", "ORDERSYNC_LOG_LEVEL",
                                      "MONDAY_API_TOKEN"])
def test_environment_variables_are_documented(variable):
    assert f"`{variable}" in README or f"{variable}=" in README
