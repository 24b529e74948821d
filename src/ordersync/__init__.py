"""ordersync: keep a Monday.com board true to the order lines of a SQL warehouse table."""

from ordersync.errors import (
    ConfigError,
    MondayError,
    OrdersyncError,
    SourceError,
)

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "MondayError",
    "OrdersyncError",
    "SourceError",
    "__version__",
]
