"""Every benchmark in one command: staging (bench_stage.py) and the API with its incremental resyncs
(bench_sync.py), each in its own process, their Markdown tables joined under one header into
bench/results/latest.md and printed.

    make bench                          # the full run: 100,000 lines staged (and 500,000 by ordersync alone),
                                        # 3,300 synced, 100,000 resynced
    make bench ARGS=--quick             # a small run of everything, a few minutes
    make bench ARGS=--skip-postgres     # SQLite only
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "latest.md"


def run(script: str, args: list[str]) -> tuple[str, float]:
    """The script's Markdown (its stdout); its progress goes to our stderr as it happens."""
    command = [sys.executable, str(HERE / script), *args]
    print(f"$ {' '.join(command[1:])}", file=sys.stderr, flush=True)
    started = time.perf_counter()
    finished = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=False)
    if finished.returncode != 0:
        raise SystemExit(f"{script} failed with exit code {finished.returncode}")
    return finished.stdout.strip(), time.perf_counter() - started


def git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small run of every benchmark")
    parser.add_argument("--skip-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"default: {RESULTS.relative_to(HERE.parent)}")
    options = parser.parse_args(argv)

    stage_args = ["--rows", "2000", "--scale-rows", "10000"] if options.quick else ["--scale-rows", "500000"]
    sync_args = ["--quick"] if options.quick else []
    if options.skip_postgres:
        stage_args.append("--skip-postgres")
        sync_args += ["--incremental-databases", "sqlite"]
    sections = []
    timings = []
    for script, args in (("bench_stage.py", stage_args), ("bench_sync.py", sync_args)):
        markdown, seconds = run(script, args)
        sections.append(markdown)
        timings.append(f"`{script}{' ' + ' '.join(args) if args else ''}` {seconds / 60:.1f} min")
    header = [
        f"# ordersync benchmarks{' (quick run)' if options.quick else ''}",
        "",
        f"Measured {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC at commit {git_commit()} on {os.cpu_count()} CPUs "
        f"({platform.machine()}, {platform.python_implementation()} {platform.python_version()}, "
        f"{platform.system()}), with `make bench{' ARGS=--quick' if options.quick else ''}`: "
        + "; ".join(timings) + ".",
    ]
    report = "\n\n".join(["\n".join(header), *sections]) + "\n"
    options.output.parent.mkdir(parents=True, exist_ok=True)
    options.output.write_text(report, encoding="utf-8")
    print(report)
    print(f"written to {options.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
