"""`python -m ordersync.state.migrations revision -m "what changes" [--url URL] [--empty]`: a new revision.

Also `sql [--dialect mssql] [--prefix ordersync_]`: print the DDL the migrations run on an empty database.
"""

from __future__ import annotations

import argparse
from typing import Any

from ordersync.state.migrations import new_revision, offline_sql


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m ordersync.state.migrations")
    commands = parser.add_subparsers(dest="command", required=True)
    revision = commands.add_parser("revision", help="write a new revision into versions/")
    revision.add_argument("-m", "--message", required=True)
    revision.add_argument("--url", help="compare with this database (at head) instead of a scratch SQLite file")
    revision.add_argument("--empty", action="store_true", help="an empty revision, no autogenerate")
    sql = commands.add_parser("sql", help="print the migrations' SQL for an empty database")
    sql.add_argument("--dialect", default="mssql")
    sql.add_argument("--prefix", default="ordersync_")
    arguments = parser.parse_args()
    if arguments.command == "revision":
        print(new_revision(arguments.message, url=arguments.url, autogenerate=not arguments.empty))
    else:
        options: dict[str, Any] = {"deprecate_large_types": True} if arguments.dialect == "mssql" else {}
        print(offline_sql(arguments.prefix, arguments.dialect, **options))


if __name__ == "__main__":
    main()
