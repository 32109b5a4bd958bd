"""The daily report: everything between the store and the files a reader opens each morning.

The package owns the report's content for a date D (every figure as known on D), its charts and
its files, and the policy that keeps a rendered D reproducible:

    context.py      ContextBuilder / build_context: the context for D (plain, JSON-able data)
                    and its chart specs; wires the pieces below and memoises what they share
    reader.py       SeriesReader: series as known on D, with a vintage cache for ranges
    sections/       one module per section of the report (headline, stress_index, fx, rates,
                    trade, statements, freshness)
    method.py       the method notes (every figure's definition)
    warnings.py     the warnings shown at the top of a report
    chart_specs.py  which charts a report has and what goes in them
    charts.py       drawing the charts with matplotlib (also the e-mail's chart)
    values.py       small pure helpers the sections and chart specs share
    render.py       HTML and Markdown (Jinja2 templates/), JSON, PNG files and the archive index
    archive.py      the ledger-snapshot policy (which fetch facts D shows, frozen once D is over)

It reads the store (`stresswatch.store`), the regime read model (`stresswatch.regimes.state`),
the aligned statements (`stresswatch.events.align`) and the staleness rules
(`stresswatch.status`); it writes only its own tables (`store.reports`).
"""
