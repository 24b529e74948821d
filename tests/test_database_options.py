"""The session settings ordersync gives its PostgreSQL connections (database.make_engine)."""

from __future__ import annotations

from urllib.parse import quote

import pytest
import sqlalchemy as sa

from ordersync.database import make_engine
from ordersync.errors import SourceError

pytestmark = pytest.mark.postgres


def setting(url: str, name: str) -> str:
    engine = make_engine(url, error=SourceError, section="source")
    try:
        with engine.connect() as connection:
            return connection.execute(sa.text(f"SHOW {name}")).scalar_one()
    finally:
        engine.dispose()


def test_postgresql_connections_run_without_jit(postgres_url):
    """JIT compiled the changed lines' read of a wide source table for 1.4 s to scan it in 0.07 s."""
    assert setting(postgres_url, "jit") == "off"
    assert setting(postgres_url, "statement_timeout") != "0"  # the timeouts are still set beside it


def test_the_urls_own_options_win(postgres_url):
    assert setting(f"{postgres_url}?options={quote('-c jit=on')}", "jit") == "on"


def test_a_large_staging_refreshes_the_staging_tables_statistics(postgres_url):
    """The diff of a first load joins the staging tables right after they were filled: planned on the
    statistics of the empty tables it ran by nested loops past the statement timeout (100,000 lines)."""
    from ordersync.config import parse_config
    from ordersync.engine.filters import Filters
    from ordersync.engine.pipeline import ANALYZE_AFTER_LINES, Databases, prepare
    from ordersync.sample_data import write_sample_data
    from ordersync.sample_data.config import sample_config_text
    from ordersync.state import RunKind

    write_sample_data(postgres_url, rows=ANALYZE_AFTER_LINES + 100, seed=7)
    config = parse_config(sample_config_text(source_url=postgres_url).replace(
        '# url = "sqlite:///ordersync-state.db"', f'url = "{postgres_url}"', 1), origin="test")
    databases = Databases.open(config)
    try:
        prepare(config, databases, Filters(), kind=RunKind.PLAN)
    finally:
        databases.close()
    engine = sa.create_engine(postgres_url)
    with engine.connect() as connection:
        analyzed = dict(connection.execute(sa.text(
            "SELECT relname, last_analyze IS NOT NULL OR last_autoanalyze IS NOT NULL FROM pg_stat_user_tables "
            "WHERE relname IN ('ordersync_staged_items', 'ordersync_staged_subitems')")).all())
    engine.dispose()
    assert analyzed == {"ordersync_staged_items": True, "ordersync_staged_subitems": True}
