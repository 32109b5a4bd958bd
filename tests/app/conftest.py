"""The report tests' filled store (known history, a fitted headline model, a small catalogue) is
what the daily cycle's events and report steps need too."""

from tests.reports.conftest import filled  # noqa: F401 - shared module-scoped fixture
