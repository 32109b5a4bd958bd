"""The offline demo: a small real sample shipped inside the package (Bank of Russia USD, EUR and
CNY fixings and the key rate from 2013, `demo/data/`, provenance in its PROVENANCE.md) and
`stresswatch demo`, which loads it into a separate demo store (never the user's) and renders the
report of 2023-08-16 without any network.

    sample.py   reading the shipped sample (and, for maintainers, building it from ../shared)
    build.py    the demo store: its folder, settings, loading, compute and the report

This module imports nothing heavy: `OFFLINE_HINT` is the one line other commands print when the
sources cannot be reached (the offline `run`, the empty-store report).
"""

#: the date of the demo report (the day after the Bank of Russia's emergency hike to 12%)
DEMO_DATE = "2023-08-16"

#: one line for a machine that cannot reach the sources
OFFLINE_HINT = ("no network? `stresswatch demo` renders the report of " + DEMO_DATE + " from a real Bank of Russia "
                "sample shipped with stresswatch, in a separate demo store")
