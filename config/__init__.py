"""Shipped configuration: default settings, the statement catalogue and confounders (TOML files)."""
