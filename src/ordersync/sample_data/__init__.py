"""Sample data: a realistic, deterministic `ORDERS_UNIFIED`, shaped exactly like the real source table.

Used by the demo, the tests and the benchmarks. `generate_order_lines` is pure (a seed and a row
count give the same lines every time); `write_sample_data` puts them into any SQLAlchemy database.

    >>> summary = write_sample_data("sqlite:///ordersync.db")   # seed 4755, 3,000 order lines
    >>> summary.fixed_case_pairs                                # GREYSON PO 4755
    264
"""

from ordersync.sample_data.catalogue import SAMPLE_CUSTOMERS, SampleCustomer, SizeRun, customer_aliases
from ordersync.sample_data.generate import (
    DEFAULT_ROWS,
    DEFAULT_SEED,
    FIXED_CUSTOMER,
    FIXED_LINES,
    FIXED_PAIRS,
    FIXED_PO,
    MIN_ROWS,
    PRICE_COLUMNS,
    generate_order_lines,
    line_counts,
)
from ordersync.sample_data.source_table import SIZE_COLUMNS, SOURCE_COLUMNS, orders_unified_table
from ordersync.sample_data.summary import (
    BUSINESS_KEY,
    SampleSummary,
    canonical_names,
    fold_customer_name,
    summarise_order_lines,
)
from ordersync.sample_data.write import write_sample_data

__all__ = [
    "BUSINESS_KEY",
    "DEFAULT_ROWS",
    "DEFAULT_SEED",
    "FIXED_CUSTOMER",
    "FIXED_LINES",
    "FIXED_PAIRS",
    "FIXED_PO",
    "MIN_ROWS",
    "PRICE_COLUMNS",
    "SAMPLE_CUSTOMERS",
    "SIZE_COLUMNS",
    "SOURCE_COLUMNS",
    "SampleCustomer",
    "SampleSummary",
    "SizeRun",
    "canonical_names",
    "customer_aliases",
    "fold_customer_name",
    "generate_order_lines",
    "line_counts",
    "orders_unified_table",
    "summarise_order_lines",
    "write_sample_data",
]
