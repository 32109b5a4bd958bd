"""Diplomatic statements lined up against stress regimes.

catalogue.py (the curated statement catalogue and its validation), confounders.py (sanctions,
exchange closures and key-rate decisions), timing.py (event day t0 on each series' calendar),
study.py (the pure, vectorised event study with placebo p-values) and align.py (the thin layer that
reads the store as of a date, and stores or reads back a date's alignment). The daily cycle's
events step is `stresswatch.app.daily.align_for_day`; the CLI is stresswatch/commands/events.py;
the method is described in docs/events.md.
"""
