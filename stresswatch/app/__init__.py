"""The application layer the CLI and the daemon share.

session.py (App: settings, output, the injected clock and "today", the store opened on first use,
the writer lock), analysis.py ("compute what D needs": stale_analysis, ensure_computed) and
daily.py (the daily cycle: fetch -> compute -> events -> report -> alerts -> mail, recorded in the
run ledger). Commands parse and print; what they do lives here or below.
"""
