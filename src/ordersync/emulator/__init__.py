"""A local Monday.com GraphQL API for development, tests and the demo."""
