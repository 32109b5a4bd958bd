"""The report context: every figure of the report for one date D, as plain data, built in one place.

`ContextBuilder(store, settings).build(D)` returns a `ReportData`: `context` (a JSON-able dict the
HTML/Markdown templates and `report.json` all read) and `charts` (the chart specs drawn by
`reports.charts`). The builder wires the sections (`reports.sections`), the method notes, the
warnings and the chart specs together and memoises what they share. Everything in it is a
function of D and the data known on D:

- series are read as of D (`reports.reader.SeriesReader`: the store's vintage rule);
- the regime headline comes from the regime read model as of D (`stresswatch.regimes.state`);
- statements are aligned as of D (`stresswatch.events.align`; the stored alignment when present);
- the run ledger is not versioned, so its freshness facts (last success, last error) are taken
  from ledger rows finished on or before D and frozen once D is over (`reports.archive`), so a
  later fetch cannot change D's report. "Over" is judged against the one definition of today,
  `stresswatch.clock.today(clock, settings)`.

The only value that is not a function of D is the top-level `generated_at` (`clock.utc_stamp`).

For a range of dates build one `ContextBuilder(..., cache=True)` and call `build` per date: series
vintages are read once per series and each as-of view is cut in memory; the previous day's
headline is reused, and nothing older is kept (memory stays flat over a long range).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Mapping

from stresswatch import clock as clock_mod
from stresswatch.bizdays import previous_business_day
from stresswatch.clock import Clock
from stresswatch.events import align as ev_align
from stresswatch.events.catalogue import Statement
from stresswatch.indicators import rates
from stresswatch.indicators.rates import MeetingSchedule
from stresswatch.regimes.state import RegimeState, regime_state
from stresswatch.reports import archive
from stresswatch.reports.chart_specs import chart_specs
from stresswatch.reports.charts import ChartSpec
from stresswatch.reports.method import method_notes
from stresswatch.reports.reader import SeriesReader
from stresswatch.reports.sections.freshness import freshness
from stresswatch.reports.sections.fx import em_league, fx_table
from stresswatch.reports.sections.headline import add_change, regime_headline
from stresswatch.reports.sections.rates import keyrate, policy_rates
from stresswatch.reports.sections.statements import statements
from stresswatch.reports.sections.stored_data import stored_data
from stresswatch.reports.sections.stress_index import stress_index
from stresswatch.reports.sections.trade import trade
from stresswatch.reports.warnings import collect_warnings
from stresswatch.settings import Settings
from stresswatch.store import Store

SCHEMA_VERSION = 1


@dataclass
class ReportData:
    """What one report is made of: the plain context and the chart specs."""

    date: dt.date
    context: dict[str, Any]
    charts: list[ChartSpec] = field(default_factory=list)


class ContextBuilder:
    """Builds `ReportData` for dates; reuse one instance (cache=True) for a range of dates.

    `clock` gives `generated_at` and, through `clock.today(clock, settings)`, decides whether D is
    over (ledger snapshots are frozen after D). `write_snapshots=False` for read-only previews.
    """

    def __init__(self, store: Store, settings: Settings, *, cache: bool = False, clock: Clock | None = None,
                 write_snapshots: bool = True):
        self.store = store
        self.settings = settings
        self.reader = SeriesReader(store, cache=cache)
        self.clock: Clock = clock or clock_mod.system_clock
        #: store ledger snapshots (report_ledger_snapshots); False for read-only previews
        self.write_snapshots = write_snapshots
        self._headline_memo: dict[dt.date, dict[str, Any]] = {}
        self._regime_memo: dict[dt.date, RegimeState] = {}
        self._catalogue: list[Statement] | None = None
        self._meetings: MeetingSchedule | None = None

    def catalogue(self) -> list[Statement]:
        """The statement catalogue of the settings (loaded once per builder)."""
        if self._catalogue is None:
            self._catalogue = ev_align.load_statements(self.settings)
        return self._catalogue

    def meetings(self) -> MeetingSchedule:
        """The Bank of Russia meeting schedule (loaded once per builder)."""
        if self._meetings is None:
            self._meetings = rates.load_meetings()
        return self._meetings

    def ledger_facts(self, sources: list[str], day: dt.date) -> Mapping[str, Mapping[str, Any]]:
        """Fetch facts per source as known on `day` (frozen once `day` is before today)."""
        today = clock_mod.today(self.clock, self.settings)
        return archive.ledger_snapshot(self.store, sources, day, today, write=self.write_snapshots)

    def regime(self, day: dt.date) -> RegimeState:
        """The headline model's regime state as of `day` (memoised)."""
        if day not in self._regime_memo:
            self._regime_memo[day] = regime_state(self.store, self.settings, day)
        return self._regime_memo[day]

    def headline(self, day: dt.date) -> dict[str, Any]:
        """The headline section for `day` (memoised: a range reuses it as the next day's previous)."""
        if day not in self._headline_memo:
            self._headline_memo[day] = regime_headline(self.regime(day), day)
        return self._headline_memo[day]

    def build(self, day: dt.date) -> ReportData:
        """The context and chart specs of the report for `day`."""
        if isinstance(day, dt.datetime):
            day = day.date()
        if not self.reader.cache:
            self.reader.refresh()
        ctx: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "generated_at": clock_mod.utc_stamp(self.clock()),
            "date": day.isoformat(),
            "previous_date": previous_business_day(day).isoformat(),
            "warnings": [],
        }
        warnings: list[dict[str, str]] = ctx["warnings"]
        sources = [s for s in self.settings.source_ids if self.settings.source(s)["enabled"]]
        ctx["data"] = stored_data(self.reader, sources, day, lambda names: archive.failed_fetches(self.store, names))
        head = dict(self.headline(day))
        prev = self.headline(previous_business_day(day))
        add_change(head, prev)
        if ctx["data"]["empty"]:
            head.update(available=False, reason="no data", message=ctx["data"]["message"])
        ctx["headline"] = head
        ctx["stress_index"] = stress_index(self.reader, day)
        if ctx["data"]["empty"]:
            ctx["stress_index"]["message"] = ctx["data"]["message"].split(". ")[0] + "."
        ctx["fx"] = fx_table(self.reader, day)
        ctx["keyrate"] = keyrate(self.reader, day, self.meetings())
        ctx["policy_rates"] = policy_rates(self.reader, day)
        ctx["em_league"] = em_league(self.reader, day, self.settings["report"]["em_currencies"])
        ctx["trade"] = trade(self.reader, day)
        ctx["statements"] = statements(self.store, self.settings, day, self.regime(day), self.catalogue())
        ctx["freshness"] = freshness(self.reader, self.settings, day, self.ledger_facts)
        ctx["model"] = head.pop("model", None)
        ctx["method"] = method_notes(self.settings, ctx)
        warnings.extend(collect_warnings(ctx))
        charts = chart_specs(self.reader, day, ctx)
        ctx["charts"] = [{"id": c.id, "file": c.file, "title": c.title, "alt": c.alt} for c in charts]
        self._forget_before(previous_business_day(day))
        return ReportData(date=day, context=ctx, charts=charts)

    def _forget_before(self, keep_from: dt.date) -> None:
        """Drop memoised regime states and headlines of days before `keep_from`: a range needs only
        the day and the one before it, so memory stays flat however long the range."""
        for memo in (self._regime_memo, self._headline_memo):
            for old in [d for d in memo if d < keep_from]:
                del memo[old]


def build_context(store: Store, settings: Settings, day: dt.date, *, cache: bool = False, clock: Clock | None = None,
                  write_snapshots: bool = True) -> ReportData:
    """One date's report data (convenience wrapper around `ContextBuilder`)."""
    return ContextBuilder(store, settings, cache=cache, clock=clock, write_snapshots=write_snapshots).build(day)
