"""The report's sections, one module each. A section is a function of D and what is known on D
(the series through a `reports.reader.SeriesReader`, the regime state, the aligned statements,
the ledger facts) that returns plain, JSON-able data for the context:

headline.py      the regime headline from `RegimeState`, and the change since the previous report
stress_index.py  the composite stress index, its percentile, changes, segments and contributions
fx.py            the ruble against USD/EUR/CNY, and the emerging-market currency league
rates.py         the key rate and its decisions (extraordinary flags), central-bank policy rates
trade.py         China–Russia monthly trade
statements.py    catalogue statements aligned as of D (the stored alignment when there is one)
freshness.py     per source: newest observation, last fetch success and error, stale flag

`reports.context.ContextBuilder` calls them in order and memoises what they share.
"""
