"""The regime read model: one frozen `RegimeState` per (model, as-of date).

`regime_state(store, settings, asof, model_id=None)` resolves the model once (the headline rule of
`regimes.spec` when no model is named), reads the latest stored run with asof <= D and answers
everything a consumer asks about regimes on D: the state of the last period (the run's own answer
of D) and of every earlier one, P(stress) filtered and smoothed, how long the state has lasted,
its expected duration, the 5- and 20-business-day forecast, the stress episodes and which run and
fit produced the numbers. Past periods are what the model said in real time where it answered
(daily runs, backtest rows), else recomputed with the run's fit and labelled `hindsight`
(regimes/history.py); every row carries its `basis` and `fit_asof`. The report, the alerts, the
event study, the e-mail chart and the CLI all read it; nothing here fits or writes, and
statsmodels is never imported.

`sharing_states(memo)` lets the readers of one pass over a store that does not change meanwhile
(the daily cycle's events, report and alerts steps) share each state instead of building the
same history again.

States: the regime names of the spec (calm ... stress, the labelling rule: most likely by
filtered probability) and, for a model with a direction gate, `strengthening` (the stress regime
while the ruble strengthens): not stress, P(stress) 0.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping, Sequence

import numpy as np
import pandas as pd

from stresswatch.bizdays import business_days_in
from stresswatch.regimes.episodes import find_episodes
from stresswatch.regimes.history import REAL_TIME, build_history
from stresswatch.regimes.matrices import forecast_probabilities
from stresswatch.regimes.policy import Policy
from stresswatch.regimes.runs import RunRecord, as_date, get_run, latest_run
from stresswatch.regimes.spec import LABEL_BASIS, STRENGTHENING, RegimeSpec, get_spec, headline
from stresswatch.settings import Settings
from stresswatch.store import Store

#: forecast horizons in business days (a weekly model forecasts round(h / 5) weeks ahead)
HORIZONS = (5, 20)
#: real-time = only what the model said on each day (stored answers, backtest rows); filtered = the
#: same, with hindsight-parameter rows where it never answered; smoothed = hindsight (Kim smoother)
BASES = ("real-time", "filtered", "smoothed")


@dataclass(frozen=True)
class Episode:
    """A stress episode: consecutive periods with P(stress) above the threshold (short gaps merged)."""

    start: dt.date
    end: dt.date
    peak: dt.date
    peak_p: float
    mean_p: float
    #: model periods in the episode (weeks for a weekly model)
    length: int
    #: the episode runs to the run's last observation
    ongoing: bool

    def as_dict(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "peak": self.peak, "peak_p": self.peak_p,
                "mean_p": self.mean_p, "length": self.length, "ongoing": self.ongoing}


@dataclass(frozen=True)
class RegimeState:
    """What a regime model says as of `asof`. When `available` is False only `model_id`, `asof`,
    `spec` and `message` (why not) are set."""

    model_id: str
    asof: dt.date
    available: bool
    message: str = ""
    spec: RegimeSpec | None = None
    #: the run as of `asof` whose probabilities these are, and the fit whose parameters it uses
    run: RunRecord | None = None
    fit: RunRecord | None = None
    #: per model period: regime (the state label), p_stress_filtered, p_stress_smoothed, basis
    #: (real-time | hindsight), fit_asof (the fit whose parameters gave the row), p_filtered_i and
    #: p_smoothed_i; indexed by date
    history: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    #: the period the answer refers to (the run's last observation)
    last_observation: dt.date | None = None
    regime: str | None = None
    regime_index: int | None = None
    p_stress_filtered: float | None = None
    p_stress_smoothed: float | None = None
    p_filtered: Mapping[str, float] = field(default_factory=dict)
    #: first period of the current regime, periods and business days in it (both ends counted)
    regime_since: dt.date | None = None
    regime_periods: int = 0
    days_in_regime: int = 0
    #: expected duration of the current regime, in model periods
    expected_duration: float | None = None
    #: business-day horizon -> per-regime probabilities, and the model periods it stands for
    forecast: Mapping[int, tuple[float, ...]] = field(default_factory=dict)
    forecast_steps: Mapping[int, int] = field(default_factory=dict)
    #: `[regimes]` episode_threshold, episode_min_length, episode_merge_gap
    episode_rules: tuple[float, int, int] = (0.5, 3, 5)

    # -- derived facts ----------------------------------------------------------------------------
    @property
    def regimes(self) -> tuple[str, ...]:
        return self.spec.regime_names if self.spec is not None else ()

    @property
    def is_stress(self) -> bool:
        """The last period is in the stress regime *and* counts as stress (not `strengthening`)."""
        return self.available and self.regime == self.regimes[-1]

    @property
    def strengthening(self) -> bool:
        return self.available and self.regime == STRENGTHENING

    @property
    def states(self) -> tuple[str, ...]:
        """Every label the history can carry (regimes, plus strengthening for a gated model)."""
        return self.spec.states if self.spec is not None else ()

    @property
    def real_time_share(self) -> float:
        """Share of the history's periods that are real-time answers (the rest is hindsight)."""
        if self.history.empty:
            return 0.0
        return float((self.history["basis"] == REAL_TIME).mean())

    @property
    def weekly(self) -> bool:
        return self.spec is not None and self.spec.periodicity == "W"

    @property
    def period_unit(self) -> str:
        return "weeks" if self.weekly else "periods (business days)"

    @property
    def label_basis(self) -> str:
        return LABEL_BASIS

    def p_stress_in(self, horizon: int) -> float | None:
        """P(stress) `horizon` business days ahead (one of HORIZONS): the stress regime's forecast
        probability; 0 while the model says `strengthening` (the direction is taken to persist)."""
        probs = self.forecast.get(horizon)
        if not probs:
            return None
        return 0.0 if self.strengthening else float(probs[-1])

    def previous(self) -> dict[str, Any] | None:
        """The period before the last one: its date, regime and filtered P(stress)."""
        if len(self.history) < 2:
            return None
        row = self.history.iloc[-2]
        return {"date": self.history.index[-2].date(), "regime": str(row["regime"]),
                "p_stress_filtered": float(row["p_stress_filtered"])}

    def label_on(self, day: dt.date | str | pd.Timestamp) -> str | None:
        """The regime of the last period dated on or before `day` (None before the first)."""
        if self.history.empty:
            return None
        pos = self.history.index.searchsorted(pd.Timestamp(day), side="right") - 1
        return None if pos < 0 else str(self.history["regime"].iloc[pos])

    def stress_probability(self, basis: str = "filtered") -> pd.Series:
        """P(stress) per period on the given basis (BASES): real-time rows only, filtered (real time
        where answered, else hindsight parameters: see `history["basis"]`), or smoothed (hindsight)."""
        if basis not in BASES:
            raise ValueError(f"basis {basis!r} is not one of {', '.join(BASES)}")
        column = "p_stress_smoothed" if basis == "smoothed" else "p_stress_filtered"
        if self.history.empty:
            return pd.Series(dtype=float, index=pd.DatetimeIndex([], name="date"), name=column)
        out = self.history[column].astype(float)
        if basis == "real-time":
            out = out[self.history["basis"] == REAL_TIME]
        return out

    def frame(self, full: bool = False) -> pd.DataFrame:
        """DataFrame[date, regime, p_stress_filtered, p_stress_smoothed, basis, fit_asof] (+ per-regime
        columns p_filtered_i / p_smoothed_i with `full`), one row per model period."""
        columns = ["regime", "p_stress_filtered", "p_stress_smoothed", "basis", "fit_asof"]
        if self.history.empty:
            return pd.DataFrame(columns=["date", *columns])
        chosen = list(self.history.columns) if full else columns
        out = self.history[chosen].reset_index()
        return out.rename(columns={out.columns[0]: "date"})

    def episodes(self, basis: str = "real-time", threshold: float | None = None, min_length: int | None = None,
                 merge_gap: int | None = None) -> list[Episode]:
        """Stress episodes from `basis` P(stress) (default: what the model said in real time);
        rules from `[regimes]` unless given."""
        if not self.available:
            return []
        rule_threshold, rule_min, rule_gap = self.episode_rules
        found = find_episodes(self.stress_probability(basis),
                              rule_threshold if threshold is None else threshold,
                              rule_min if min_length is None else min_length,
                              rule_gap if merge_gap is None else merge_gap)
        return [Episode(start=e["start"], end=e["end"], peak=e["peak"], peak_p=e["peak_p"], mean_p=e["mean_p"],
                        length=e["length"], ongoing=e["end"] == self.last_observation) for e in found]

    def summary(self, horizons: Sequence[int] = (1, 5, 20)) -> dict[str, Any] | None:
        """Parameters, durations, convergence, data vintage and the regime forecast (in model
        periods) of the run, for `regimes summary`."""
        run, fit = self.run, self.fit
        if run is None or fit is None:
            return None
        names = run.spec.regime_names
        return {
            "model_id": run.model_id, "asof": run.asof, "kind": run.kind, "run_id": run.id,
            "fit_run_id": fit.id, "fit_asof": fit.asof, "series": run.series_id, "spec": run.spec.to_json(),
            "state": self.regime, "p_stress_filtered": self.p_stress_filtered,
            "real_time_share": self.real_time_share,
            "n": run.n, "data_first": run.data_first, "data_last": run.data_last, "data_vintage": run.data_vintage,
            "llf": run.llf, "aic": run.aic, "bic": run.bic, "converged": run.converged, "accepted": run.accepted,
            "fallback": run.fallback, "reasons": run.reasons, "mapping": run.mapping, "params": run.params,
            "regimes": names,
            "transition": run.transition.tolist(),
            "expected_durations": {names[i]: float(d) for i, d in enumerate(run.durations)},
            "pi_last": {names[i]: float(p) for i, p in enumerate(run.pi_last)},
            "forecast": {int(h): {names[i]: float(p) for i, p in enumerate(run_forecast(run, h))} for h in horizons},
        }


def run_forecast(run: RunRecord, h: int) -> np.ndarray:
    """Regime probabilities h model periods after the run's last observation: P^h pi_T|T."""
    return forecast_probabilities(run.transition, run.pi_last, h)


#: states answered within a `sharing_states` block, by (store, settings, model, date)
SharedStates = dict[tuple[int, int, str, dt.date], RegimeState]
#: the memo of the `sharing_states` block in force (None outside one)
_SHARED: contextvars.ContextVar[SharedStates | None] = contextvars.ContextVar("stresswatch_shared_regime_states",
                                                                              default=None)


@contextlib.contextmanager
def sharing_states(memo: SharedStates) -> Iterator[None]:
    """Within the block, `regime_state` answers a question it answered before for the same store,
    settings, model and date from `memo` (filled as it goes) instead of reading the run and building
    its history again. Only for code that writes no model run, backtest or observation while the
    memo lives: the caller owns it and drops it when such a write happens."""
    token = _SHARED.set(memo)
    try:
        yield
    finally:
        _SHARED.reset(token)


def regime_state(store: Store, settings: Settings, asof: dt.date | str, model_id: str | None = None) -> RegimeState:
    """The state of `model_id` (default: the headline model as of `asof`) from its latest run with
    asof <= `asof`. A stored run carries its own spec, so a model that is no longer configured stays
    readable; ConfigError only for a model id that is neither configured nor stored. Inside
    `sharing_states` a repeated question is answered from the block's memo."""
    day = as_date(asof)
    assert day is not None
    model = model_id or headline(store, settings, day)
    memo = _SHARED.get()
    if memo is None:
        return _regime_state(store, settings, day, model)
    key = (id(store), id(settings), model, day)
    if key not in memo:
        memo[key] = _regime_state(store, settings, day, model)
    return memo[key]


def _regime_state(store: Store, settings: Settings, day: dt.date, model: str) -> RegimeState:
    cfg = settings["regimes"]
    rules = (float(cfg["episode_threshold"]), int(cfg["episode_min_length"]), int(cfg["episode_merge_gap"]))
    run = latest_run(store, model, day)
    if run is None:
        return RegimeState(model, day, False, f"no run of model {model!r} exists as of {day}",
                           spec=get_spec(settings, model), episode_rules=rules)
    if not run.accepted:
        return RegimeState(model, day, False, f"model {model!r} has no accepted fit as of {run.asof}: "
                                              f"{'; '.join(run.reasons) or 'rejected'}",
                           spec=run.spec, run=run, episode_rules=rules)
    history = build_history(store, run, Policy.from_settings(settings))
    if history.empty:
        return RegimeState(model, day, False, f"the run of model {model!r} as of {run.asof} has no probabilities",
                           spec=run.spec, run=run, episode_rules=rules)
    names = run.spec.regime_names
    k = run.spec.k_regimes
    labels = history["regime"].astype(str).to_numpy()
    now = labels[-1]
    same = labels[::-1] == now
    periods = int(np.argmin(same)) if not same.all() else len(same)
    dates = history.index
    since = dates[len(dates) - periods].date()
    last = dates[-1].date()
    weekly = run.spec.periodicity == "W"
    steps = {h: (max(1, round(h / 5)) if weekly else h) for h in HORIZONS}
    fit = get_run(store, run.fit_run_id) or run
    i_now = names.index(now) if now in names else k - 1  # strengthening: the stress regime
    return RegimeState(
        model_id=model, asof=day, available=True, spec=run.spec, run=run, fit=fit, history=history,
        last_observation=last, regime=now, regime_index=i_now,
        p_stress_filtered=float(history["p_stress_filtered"].iloc[-1]),
        p_stress_smoothed=float(history["p_stress_smoothed"].iloc[-1]),
        p_filtered={names[i]: float(history[f"p_filtered_{i}"].iloc[-1]) for i in range(k)},
        regime_since=since, regime_periods=periods,
        # business days from the first observation in the regime to the last, both counted (a weekly
        # model's periods are weeks; the headline speaks of days)
        days_in_regime=business_days_in(since, last),
        expected_duration=float(run.durations[i_now]),
        forecast={h: tuple(float(p) for p in run_forecast(run, steps[h])) for h in HORIZONS},
        forecast_steps=steps, episode_rules=rules)
