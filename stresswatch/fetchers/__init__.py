"""Remote sources: one module per source, each a registered `Fetcher` (see base.py)."""
