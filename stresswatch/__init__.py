"""stresswatch: an economic-stress monitor for the ruble, policy rates and China–Russia trade.

The Python API for notebooks is one call, `stresswatch.open()` (docs/api.md):

    import stresswatch as sw
    db = sw.open()                                  # the configured store, opened read-only
    db.regime_probabilities(asof="2023-08-16")

Importing the package stays light (no pandas, statsmodels or matplotlib): `open` loads
`stresswatch.api` when it is called.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from stresswatch.api import Monitor

__version__ = "0.1.0"

__all__ = ["__version__", "open"]


def open(path: str | os.PathLike | None = None, *, config: str | os.PathLike | None = None) -> "Monitor":  # noqa: A001
    """Open a stresswatch store for reading, as of any date: `path` (default: the configured store,
    `[store] path`) with the settings of `config` (default: $STRESSWATCH_CONFIG, else the user
    config file, else the built-in defaults). Returns a `stresswatch.api.Monitor`; see docs/api.md."""
    from stresswatch.api import open_monitor

    return open_monitor(path, config=config)
