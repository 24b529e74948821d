"""Alembic's environment for ordersync's state tables, loaded by `ordersync.state.migrations`.

Nothing here reads an alembic.ini: the caller hands everything in through `config.attributes` —
`table_prefix`, and either `connection` (online: the migrations run on it, inside its transaction)
or `dialect_name` and `dialect_opts` (offline: the SQL is written to the config's output buffer).
"""

from __future__ import annotations

from typing import Any

from alembic import context

from ordersync.state import build_tables

config = context.config
prefix: str = config.attributes["table_prefix"]
common: dict[str, Any] = {
    "version_table": f"{prefix}alembic_version",
    "target_metadata": build_tables(prefix).metadata,  # what autogenerate compares the database with
    "table_prefix": prefix,  # the migrations name their tables from context.opts["table_prefix"]
    "include_name": lambda name, type_, parent: type_ != "table" or name.startswith(prefix),
}

if context.is_offline_mode():
    context.configure(dialect_name=config.attributes["dialect_name"],
                      dialect_opts=config.attributes.get("dialect_opts", {}),
                      literal_binds=True, **common)
    with context.begin_transaction():
        context.run_migrations()
else:
    context.configure(connection=config.attributes["connection"], **common)
    with context.begin_transaction():
        context.run_migrations()
