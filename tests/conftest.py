"""Shared fixtures: databases (SQLite always, PostgreSQL when the local server answers).

PostgreSQL tests get one fresh database per test session on 127.0.0.1:5432 (trust auth),
dropped at the end. Where no server answers they are skipped with the reason; CI sets
ORDERSYNC_REQUIRE_POSTGRES=1 so that a missing server fails the run instead of hiding.

Soak tests (marked `slow`) run only with `--soak` or ORDERSYNC_SOAK=1; the `soak` fixture tells a
test which mode it is in, so one test can run a short schedule in CI and the long one in a soak.
"""

from __future__ import annotations

import os
import signal
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from routed_boards import routed_project

# A test suite started as a shell script's background job inherits SIGINT ignored (POSIX: no job control,
# no Ctrl-C for background jobs), and so would every `ordersync` it starts — which then, as it should,
# ignores the SIGINT a test sends it on purpose. Handled here, SIGINT is at its default in those children.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


def pytest_addoption(parser) -> None:
    parser.addoption("--soak", action="store_true", default=False,
                     help="run the long reliability soak tests (marked slow); ORDERSYNC_SOAK=1 does the same")


def soak_enabled(config) -> bool:
    return bool(config.getoption("--soak")) or os.environ.get("ORDERSYNC_SOAK") == "1"


# The longest files first (a clean-clone run's `--durations=0`, summed per file): `--dist loadfile` hands
# whole files to the two workers in collection order (pyproject's --no-loadscope-reorder: xdist's default
# reorder sorts files by their number of tests, which put these long files of one or two tests last, and
# one worker ran them alone while the other had nothing left). Files not named keep their order, after.
# The first files are in-process ones: the kill and budget tests time themselves against the machine,
# and the workers' start (collection, imports) is its busiest moment.
LONGEST_FIRST = (
    "test_sync_recovery.py", "test_two_way_acceptance.py", "test_sync.py", "test_routes.py", "test_two_way.py",
    "test_reliability_crash.py",
    "test_concurrent_boards.py", "test_shared_budget.py", "test_reliability_rollover.py", "test_reliability_secrets.py",
    "test_board_is_truth.py", "test_readme_first_board.py", "test_bulk_archive.py", "test_run_lifecycle.py",
    "test_reliability_two_databases.py", "test_guards.py", "test_plan_cli.py", "test_sync_fingerprints.py",
    "test_reliability_overlap.py", "test_rollover.py", "test_logging.py", "test_filters_and_failures.py",
    "test_staging_diff.py", "test_dashboard_browser.py", "test_cli_reconcile.py", "test_board_capacity.py",
    "test_reliability_faults.py", "test_request_packing.py", "test_cli_demo.py", "test_board_scope.py",
    "test_reliability_routes.py", "test_cli_reading.py",
)


def pytest_collection_modifyitems(config, items) -> None:
    rank = {name: position for position, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0].removeprefix("tests/"), len(rank)))  # stable
    if soak_enabled(config):
        return
    skip = pytest.mark.skip(reason="soak test: run with --soak or ORDERSYNC_SOAK=1")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def soak(pytestconfig) -> bool:
    """True in a soak run (--soak): tests that have a long schedule use it."""
    return soak_enabled(pytestconfig)


POSTGRES_ADMIN_URL = os.environ.get(
    "ORDERSYNC_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def _postgres_unavailable_reason() -> str | None:
    try:
        engine = sa.create_engine(POSTGRES_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            connection.execute(sa.text("select 1"))
        engine.dispose()
    except Exception as error:  # any failure to connect means: no server for these tests
        return f"no PostgreSQL server answers at {POSTGRES_ADMIN_URL}: {type(error).__name__}"
    return None


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """URL of a fresh, empty PostgreSQL database for this test session."""
    reason = _postgres_unavailable_reason()
    if reason:
        if os.environ.get("ORDERSYNC_REQUIRE_POSTGRES") == "1":
            pytest.fail(reason + " (ORDERSYNC_REQUIRE_POSTGRES=1)")
        pytest.skip(reason)
    name = f"ordersync_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    try:
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def postgres_url(postgres_server_url: str) -> Iterator[str]:
    """A per-test schema-clean PostgreSQL URL: every table is dropped after the test."""
    yield postgres_server_url
    engine = sa.create_engine(postgres_server_url)
    metadata = sa.MetaData()
    metadata.reflect(engine)
    metadata.drop_all(engine)
    engine.dispose()


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'ordersync.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request) -> str:
    """Runs a test once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def routed(tmp_path):
    """Three season-routed boards on one emulator (tests/routed_boards.py)."""
    with routed_project(tmp_path / "project") as project:
        yield project
