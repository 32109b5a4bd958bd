"""The report's method notes: `DEFINITIONS` (every figure's definition, shown at the end of each
report) and `method_notes`, the notes section of the context (definitions, the index settings,
the headline model)."""

from __future__ import annotations

from typing import Any

from stresswatch.settings import Settings

DEFINITIONS: list[tuple[str, str]] = [
    ("As of D", "Every figure uses only data known on the report date D: each stored value carries the date it "
                "became known (its vintage), and values published after D are ignored, even for earlier dates. "
                "Rendering D again later gives the same report apart from its generated-at time."),
    ("P(stress), filtered", "Probability that the headline model is in its stress regime on D given the data up "
                            "to D only (Hamilton filter with the parameters of the model run as of D). This is "
                            "the real-time figure used for the headline and alerts."),
    ("P(stress), smoothed", "Probability given all data in the run's sample (Kim smoother): for past dates it "
                            "also uses later observations, so it is sharper but revised as data arrive. Used "
                            "only to shade past stress periods on the charts."),
    ("Regime", "The regime with the highest filtered probability on D. Regimes are ordered by variance after "
               "every fit: the first is the calmest, the last is 'stress'."),
    ("Days in regime", "Business days (model periods) since the filtered regime last changed."),
    ("Expected duration", "1 / (1 − p_ii) periods, with p_ii the estimated probability of staying in the "
                          "current regime from one period to the next."),
    ("P(stress in h days)", "h-step regime forecast P^h·π_D from the filtered regime distribution π_D on D "
                            "and the estimated transition matrix P (h = 5 and 20 business days)."),
    ("Stress index", "Composite (stress.index): each raw measure is ranked by a recursive empirical CDF "
                     "(only observations up to t, after a two-year burn-in), segments are means of their "
                     "ranks, and the index is the weighted mean of the squared segment scores; monthly trade "
                     "is shown beside it, not in it. Between 0 and 1; the percentile is the share of index "
                     "values up to D that are at or below D's value."),
    ("Segment contribution", "The part of the index attributable to one segment (stress.contrib.*); the "
                             "contributions add up to the index."),
    ("Depreciation, % RUB per unit", "100·(e₁/e₀ − 1) with e in rubles per unit of foreign currency: "
                                     "positive = the ruble weakened. 70.34 → 101.04 is +43.6%."),
    ("Depreciation, % of ruble value", "100·(e₀/e₁ − 1): the change of the ruble's value in that currency; "
                                       "70.34 → 101.04 is −30.4% (a 30.4% loss of value). Both are shown "
                                       "because they differ."),
    ("Horizons", "1d = previous fixing; 1m and 12m = the fixing in force one and twelve calendar months "
                 "before the latest fixing; YTD = the fixing in force on 31 December of the previous year. "
                 "Bank of Russia rates are dated by the day they take effect (fixed the business day before)."),
    ("EM currency league", "X per US dollar = cbr.fx.USD / cbr.fx.X on the same Bank of Russia fixing "
                           "date (cross rates); the ruble is cbr.fx.USD. Change = % change of the "
                           "currency's value against the dollar since the last fixing of the previous year; "
                           "rank 1 = strongest."),
    ("Policy rates", "Latest rate known on D per central bank (BIS WS_CBPOL; Russia: the Bank of Russia key "
                     "rate); changes in percentage points against the value in force 3 and 12 months "
                     "before D; rank 1 = highest rate. BIS data are published with a lag, so rows can be old."),
    ("Extraordinary key-rate decision", "A change of 200 bp or more, or one that does not follow a scheduled "
                                        "board meeting (schedule: config/cbr_meetings.toml)."),
    ("Statements", "t0 = the first Bank of Russia fixing that can reflect the statement; Δindex over [−k, +k]; "
                   "abnormal = actual minus an AR(1) forecast estimated before the window; p = placebo "
                   "p-value from random days matched on regime and weekday; q = Benjamini–Hochberg q-value "
                   "across the catalogue; confounded = a key-rate decision, sanctions package or exchange "
                   "closure within ±k business days."),
    ("Stale source", "A source is stale when its newest observation known on D is overdue (period + "
                     "publication lag + [report] stale_days business days), or when no fetch succeeded "
                     "within its stale_days."),
]


def method_notes(settings: Settings, ctx: dict[str, Any]) -> dict[str, Any]:
    """The method section: the definitions, the composite index settings ([compute]) and the
    headline model id of the context `ctx`."""
    comp = settings["compute"]
    return {
        "definitions": [{"term": t, "definition": d} for t, d in DEFINITIONS],
        "index_spec": {"ewma_lambda": comp["ewma_lambda"], "burn_in": comp["burn_in"],
                       "weights": dict(comp["weights"]) or "equal"},
        "headline_model": ctx["headline"]["model_id"],
    }
