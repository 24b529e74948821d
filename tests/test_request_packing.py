"""Requests filled across customers (issue 12, goal 3), through the `ordersync` command against the
emulator over HTTP: a first sync of many customers costs few requests (counted by the emulator), the
phases keep their order (groups, then items, then subitems), and a mutation Monday refuses in a request
shared by several customers fails alone, recorded against its own customer.
"""

from __future__ import annotations

import sqlalchemy as sa

from cli_project import TOKEN, cli_project

REQUESTS_PER_THOUSAND_SUBITEMS = 10  # issue 12's bound; 100 aliases per request, one customer at a time, took 21


def calls_so_far(project) -> float:
    """The requests the emulator has answered for our token (its daily call count)."""
    usage = project.emulator("GET", "/emulator/stats")["usage"]
    return next(figures["daily_calls"] for token, figures in usage.items() if TOKEN.startswith(token.rstrip("…")))


def board_ids(project) -> tuple[list[int], list[int]]:
    """The ids of the board's items and of their subitems (the emulator mints ids in creation order)."""
    data = project.graphql("query ($board: [ID!]) { boards(ids: $board) { items_page(limit: 500) { cursor items "
                           "{ id subitems { id } } } } }", board=[project.board_id])
    page = data["boards"][0]["items_page"]
    items = list(page["items"])
    while page["cursor"]:
        page = project.graphql("query ($cursor: String!) { next_items_page(cursor: $cursor, limit: 500) { cursor "
                               "items { id subitems { id } } } }", cursor=page["cursor"])["next_items_page"]
        items.extend(page["items"])
    return ([int(item["id"]) for item in items],
            [int(subitem["id"]) for item in items for subitem in item["subitems"] or []])


def test_a_first_sync_of_many_customers_fills_each_request_across_them_in_phase_order(tmp_path):
    with cli_project(tmp_path, rows=600) as project:
        before = calls_so_far(project)
        synced = project.run("sync", "--all", "--json")
        assert synced.exit_code == 0, synced.stderr
        result = synced.json()
        requests = calls_so_far(project) - before
        subitems = result["totals"]["subitems"]["create"]
        customers = [name for name, counts in result["customers"].items() if counts["items"]["create"]]
        assert subitems > 1_000 and len(customers) >= 20
        assert 1_000 * requests / subitems <= REQUESTS_PER_THOUSAND_SUBITEMS
        assert requests < len(customers)  # one request per customer and phase would need 3 × as many
        assert result["totals"]["items"]["failed"] == 0 and result["totals"]["subitems"]["failed"] == 0

        items, sizes = board_ids(project)
        assert len(items) == result["totals"]["items"]["create"] and len(sizes) == subitems
        assert max(items) < min(sizes)  # every customer's items were made before any subitem


def test_a_mutation_monday_refuses_in_a_shared_request_fails_alone_under_its_own_customer(tmp_path):
    with cli_project(tmp_path, rows=300) as project:
        engine = sa.create_engine(project.source_url)
        with engine.connect() as connection:
            customer, order = connection.execute(sa.text(
                'SELECT "CUSTOMER NAME", "AAG ORDER NUMBER" FROM "ORDERS_UNIFIED" '
                'WHERE "CUSTOMER NAME" = \'GREYSON\' ORDER BY "AAG ORDER NUMBER" LIMIT 1')).one()
            refused_lines = connection.execute(sa.text(
                'SELECT COUNT(*) FROM "ORDERS_UNIFIED" WHERE "AAG ORDER NUMBER" = :order'), {"order": order}).scalar()
        engine.dispose()
        project.emulator("PATCH", "/emulator/config", json={"faults": {"refuse_item_names": [order]}})

        synced = project.run("sync", "--all", "--json")
        result = synced.json()
        by_customer = result["customers"]
        assert by_customer[customer]["items"]["failed"] == refused_lines
        others = {name: counts for name, counts in by_customer.items() if name != customer}
        assert len(others) >= 10
        assert all(counts["items"]["failed"] == 0 and counts["subitems"]["failed"] == 0 for counts in others.values())
        items, _ = board_ids(project)
        assert len(items) == result["totals"]["items"]["create"] > 200  # every other line, whatever its customer

        status = project.run("status", "--json").json()
        state = sa.create_engine(project.source_url)  # the sample config keeps the state tables there
        with state.connect() as connection:
            errors = connection.execute(sa.text(
                "SELECT customer, message FROM ordersync_errors WHERE run_id = :run AND size IS NULL"),
                {"run": status["last_sync"]["run_id"]}).all()
        state.dispose()
        assert len(errors) == refused_lines
        assert {error_customer for error_customer, _ in errors} == {customer}
        assert all("refused" in message for _, message in errors)
