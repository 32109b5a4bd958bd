"""The regime scorecard: a model's backtest held against the dated episode catalogue.

`scorecard(store, settings, model_id)` runs (or reads, or extends) the model's backtest from the
first day its input has data to its last (regimes/backtest.py: real time, the data known each
day) and scores every catalogue episode (regimes/catalogue.py) on the business days it spans: a day
is *flagged* when P(stress) > the episode threshold (`[regimes] episode_threshold`, 0.5); no answer
is not flagged. Per stress episode: the share of its business days flagged and the lag in
business days from its start to the first flagged day (searched up to LAG_SEARCH business days
past its end); per calm stretch: the share of false days. An episode where the model never
answered (the store's history starts later, or the model had no fit yet) is `n/a`.

`hindsight_rows` gives the comparison the issue asks to label: one full-sample cold fit on the
data known at the end, filtered over the whole history with those parameters (later data used
for earlier dates: hindsight), as business-day rows scored the same way. `scorecard_chart` draws
both with the stress episodes shaded (reports/charts.py).
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import pandas as pd

from stresswatch.bizdays import business_day_on_or_before, business_days
from stresswatch.errors import ModelError, UsageError
from stresswatch.regimes.backtest import BacktestResult, backtest
from stresswatch.regimes.catalogue import CatalogueEpisode, load_episodes
from stresswatch.regimes.refits import cold_fit
from stresswatch.regimes.filtering import filter_from, supports
from stresswatch.regimes.inputs import read_input
from stresswatch.regimes.policy import Policy
from stresswatch.regimes.spec import RegimeSpec, get_spec, headline
from stresswatch.settings import Settings
from stresswatch.store import Store

#: business days past an episode's end searched for its first flag
LAG_SEARCH = 20
SCORE_COLUMNS = ["episode", "kind", "required", "start", "end", "days", "answered", "flagged", "share", "lag",
                 "criterion", "status"]


@dataclass(frozen=True)
class EpisodeScore:
    """How a model did on one catalogue episode."""

    episode: CatalogueEpisode
    days: int
    answered: int
    flagged: int
    share: float
    lag: int | None
    #: met | missed | n/a (the model never answered in the window)
    status: str

    def as_row(self) -> dict[str, Any]:
        e = self.episode
        return {"episode": e.id, "name": e.name, "kind": e.kind, "required": e.required, "start": e.start,
                "end": e.end, "days": self.days, "answered": self.answered, "flagged": self.flagged,
                "share": self.share, "lag": self.lag, "criterion": e.criterion, "status": self.status}


@dataclass(frozen=True)
class Scorecard:
    """Scores of one model's P(stress) rows (real time, or hindsight when `basis` says so)."""

    model_id: str
    basis: str
    start: dt.date
    end: dt.date
    threshold: float
    scores: tuple[EpisodeScore, ...]
    backtest: BacktestResult | None = None

    @property
    def required(self) -> list[EpisodeScore]:
        return [s for s in self.scores if s.episode.required]

    @property
    def met(self) -> bool:
        """Every required episode the model could answer for is met."""
        return all(s.status != "missed" for s in self.required)

    def verdict(self) -> str:
        req = self.required
        scored = [s for s in req if s.status != "n/a"]
        met = sum(s.status == "met" for s in scored)
        unscored = [s.episode.id for s in req if s.status == "n/a"]
        extra = [s for s in self.scores if not s.episode.required and s.status != "n/a"]
        text = (f"{self.model_id} ({self.basis}, {self.start}..{self.end}): issue 11 criteria "
                f"{'MET' if self.met else 'NOT MET'}: {met} of {len(scored)} required checks met")
        if unscored:
            text += f" ({len(unscored)} without an answer in this store's history: {', '.join(unscored)})"
        if extra:
            text += f"; unlisted checks met: {sum(s.status == 'met' for s in extra)} of {len(extra)}"
        return text

    def rows(self) -> list[dict[str, Any]]:
        return [s.as_row() for s in self.scores]


def flags_by_business_day(rows: pd.DataFrame, threshold: float) -> tuple[pd.Series, pd.Series]:
    """(flagged, answered) per business day from rows[asof, p_stress_filtered]."""
    p = pd.Series(rows["p_stress_filtered"].to_numpy(dtype=float), index=pd.DatetimeIndex(rows["asof"]))
    return p > threshold, p.notna()


def score_episodes(rows: pd.DataFrame, episodes: list[CatalogueEpisode], threshold: float) -> list[EpisodeScore]:
    """Score each episode on the business-day rows (see the module docstring)."""
    flagged, answered = flags_by_business_day(rows, threshold)
    out = []
    for e in episodes:
        days = pd.DatetimeIndex(pd.to_datetime(business_days(e.start, e.end)))
        f = flagged.reindex(days, fill_value=False).astype(bool)
        n_answered = int(answered.reindex(days, fill_value=False).astype(bool).sum())
        share = float(f.mean()) if len(days) else 0.0
        lag = None
        if e.kind == "stress":
            search = pd.bdate_range(e.start, periods=len(days) + LAG_SEARCH)
            hits = np.flatnonzero(flagged.reindex(search, fill_value=False).astype(bool).to_numpy())
            lag = int(hits[0]) if len(hits) else None
            ok = share >= e.min_share and lag is not None and lag <= e.max_lag
        else:
            ok = share <= e.max_share
        status = "n/a" if n_answered == 0 else ("met" if ok else "missed")
        out.append(EpisodeScore(e, len(days), n_answered, int(f.sum()), share, lag, status))
    return out


def default_range(store: Store, spec: RegimeSpec) -> tuple[dt.date, dt.date]:
    """From the first to the last business day the model's input has an observation for."""
    first = store.observations.first_date(spec.series)
    frame = store.observations.read_vintaged(spec.series)
    if first is None or frame.empty:
        raise ModelError(f"model {spec.id}: no observations of {spec.series} in the store; nothing to score")
    last = frame["date"].max().date()
    return first, business_day_on_or_before(last)


def scorecard(store: Store, settings: Settings, model_id: str | None = None, start: dt.date | None = None,
              end: dt.date | None = None, *, progress: bool = False, progress_file: TextIO | None = None) -> Scorecard:
    """Backtest `model_id` (default: the headline) from `start` to `end` (default: the whole input
    history) and score it against the episode catalogue."""
    spec = get_spec(settings, model_id or headline(store, settings))
    first, last = default_range(store, spec)
    start, end = start or first, end or last
    if end < start:
        raise UsageError(f"--start {start} is after --end {end}")
    bt = backtest(store, settings, start, end, spec.id, progress=progress, progress_file=progress_file)
    cfg = settings["regimes"]
    threshold = float(cfg["episode_threshold"])
    scores = score_episodes(bt.rows, load_episodes(cfg["episodes"]), threshold)
    return Scorecard(spec.id, "real time", bt.start, bt.end, threshold, tuple(scores), bt)


def hindsight_rows(store: Store, settings: Settings, spec: RegimeSpec, end: dt.date) -> tuple[pd.DataFrame, str]:
    """One full-sample fit on the data known at `end`, filtered over the whole history: business-day
    rows [asof, p_stress_filtered] and a note naming the fit. ModelError when the fit is rejected."""
    inputs, _ = read_input(store, spec, end)
    if not supports(spec):
        raise ModelError(f"model {spec.id}: the hindsight path is computed for models without AR terms only")
    policy = Policy.from_settings(settings)
    fit = cold_fit(inputs.y[inputs.fit_ok], spec, search_reps=policy.search_reps, seeds=policy.seeds)
    if not fit.accepted:
        raise ModelError(f"model {spec.id}: the full-sample fit as of {end} was rejected: {'; '.join(fit.reasons)}")
    filtered, _ = filter_from(spec, np.asarray(fit.params), fit.param_names, inputs.y)
    p = np.where(inputs.gate_open, filtered[:, spec.k_regimes - 1], 0.0)
    by_date = pd.Series(p, index=inputs.dates)
    days = pd.DatetimeIndex(pd.to_datetime(business_days(by_date.index[0].date(), end)))
    pos = np.searchsorted(by_date.index.values, days.values, side="right") - 1
    values = np.where(pos >= 0, by_date.to_numpy()[np.maximum(pos, 0)], np.nan)
    note = f"one fit on {int(inputs.fit_ok.sum())} estimation rows known at {end} (hindsight)"
    return pd.DataFrame({"asof": days, "p_stress_filtered": values}), note


def hindsight_scorecard(store: Store, settings: Settings, model_id: str | None = None,
                        end: dt.date | None = None) -> tuple[Scorecard, pd.DataFrame, str]:
    """The full-sample (hindsight) scorecard: the same scoring on `hindsight_rows`."""
    spec = get_spec(settings, model_id or headline(store, settings))
    first, last = default_range(store, spec)
    end = end or last
    rows, note = hindsight_rows(store, settings, spec, end)
    cfg = settings["regimes"]
    threshold = float(cfg["episode_threshold"])
    scores = score_episodes(rows, load_episodes(cfg["episodes"]), threshold)
    return Scorecard(spec.id, "hindsight: " + note, first, end, threshold, tuple(scores)), rows, note


def scorecard_chart(card: Scorecard, hindsight: pd.DataFrame | None, path: str | Path, note: str = "") -> Path:
    """PNG at `path`: real-time P(stress) (the backtest) and the full-sample (hindsight) one over
    the card's range, stress episodes shaded."""
    from stresswatch.reports.charts import ChartSpec, render_chart  # matplotlib only when drawing

    if card.backtest is None:
        raise ValueError("a real-time scorecard (with its backtest) is needed for the chart")
    rows = card.backtest.rows

    def series(frame: pd.DataFrame) -> tuple[list[str], list[float]]:
        frame = frame[frame["p_stress_filtered"].notna()]
        return ([d.date().isoformat() for d in frame["asof"]], [float(v) for v in frame["p_stress_filtered"]])

    data = {}  # the real-time line drawn last, on top
    if hindsight is not None:
        data["full sample (hindsight)"] = series(hindsight[hindsight["asof"] >= pd.Timestamp(card.start)])
    data["real time (backtest)"] = series(rows)
    shading = [(e.episode.start.isoformat(), e.episode.end.isoformat()) for e in card.scores
               if e.episode.kind == "stress"]
    spec = ChartSpec(id=f"scorecard_{card.model_id}", kind="line",
                     title=f"{card.model_id}: P(stress) in real time vs with hindsight",
                     ylabel="P(stress)", source="Bank of Russia fixings; stresswatch regimes backtest",
                     asof=card.end.isoformat(), series=data, shading=shading,
                     shading_label="stress episodes of the catalogue (config/episodes.toml)",
                     alt=(f"Real-time and full-sample probability of stress of {card.model_id}, "
                          f"{card.start} to {card.end}, with the catalogue's stress episodes shaded"),
                     subtitle=note or "shaded: the catalogue's stress episodes")
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        drawn = render_chart(spec, tmp)
        shutil.move(str(drawn), target)
    return target
