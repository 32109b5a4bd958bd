"""The thin store layer of the event study: read everything as of day D, run `study.run_study`.

Reads `stress.index`, `cbr.fx.USD` and `cbr.keyrate` with `store.observations.read_series(..., asof=D)` and the
headline model's regime state as of D (`stresswatch.regimes.state.regime_state`: one regime label per
period by the read model's rule);
statements dated after D are left out (not known yet). A missing input degrades the result
(NaN fields and a warning) instead of failing: no stress index -> the ruble CAR is the statistic;
no regime run -> no regime fields and no regime matching.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from stresswatch.events import catalogue as cat
from stresswatch.events import confounders as conf
from stresswatch.events.study import StudyConfig, StudyResult, run_study
from stresswatch.regimes.state import RegimeState, regime_state
from stresswatch.settings import Settings
from stresswatch.store import Store

log = logging.getLogger(__name__)

INDEX_SERIES = "stress.index"
FX_SERIES = "cbr.fx.USD"
KEYRATE_SERIES = "cbr.keyrate"

#: the fields `events align` prints, in order
ALIGN_FIELDS = ("id", "date", "t0", "speaker", "key_phrase", "regime", "p_stress_filtered", "p_stress_smoothed",
                "index", "d_index", "abnormal", "car_rub", "p_value", "q_value", "confounded", "confounders")


@dataclass
class Alignment:
    asof: dt.date
    model_id: str
    result: StudyResult
    confounders: list[conf.Confounder]
    warnings: list[str] = field(default_factory=list)

    def rows(self) -> list[dict[str, Any]]:
        return self.result.statements.to_dict("records")


def study_config(settings: Settings, k: int | None = None, placebos: int | None = None) -> StudyConfig:
    ev = settings["events"]
    return StudyConfig(k=int(k if k is not None else ev["k"]),
                       placebos=int(placebos if placebos is not None else ev["placebos"]),
                       seed=int(ev["seed"]), estimation_window=int(ev["estimation_window"]))


def load_statements(settings: Settings) -> list[cat.Statement]:
    return cat.load_catalogue(settings["events"]["catalogue"] or None)


def align(store: Store, settings: Settings, asof: dt.date, k: int | None = None, placebos: int | None = None,
          statements: list[cat.Statement] | None = None, state: RegimeState | None = None) -> Alignment:
    """Align the catalogue (or `statements`) as of `asof` against the headline model's regime
    state as of `asof` (or the `state` given, when the caller already holds it)."""
    asof = pd.Timestamp(asof).date()
    warnings: list[str] = []
    stmts = statements if statements is not None else load_statements(settings)
    stmts = [s for s in stmts if s.date <= asof]
    index = store.observations.read_series(INDEX_SERIES, asof=asof)
    fx = store.observations.read_series(FX_SERIES, asof=asof)
    keyrate = store.observations.read_series(KEYRATE_SERIES, asof=asof)
    for sid, s in ((INDEX_SERIES, index), (FX_SERIES, fx), (KEYRATE_SERIES, keyrate)):
        if s.dropna().empty:
            warnings.append(f"{sid} has no data as of {asof}")
    if state is None:
        state = regime_state(store, settings, asof)
    model_id = state.model_id
    probs = state.history if state.available else None
    if probs is None:
        warnings.append(f"no regime probabilities for model {model_id!r} as of {asof}")
    confounders = conf.merge(conf.load_confounders(settings["events"]["confounders"] or None),
                             conf.keyrate_confounders(keyrate))
    result = run_study(stmts, index=index, fx=fx, probabilities=probs, confounders=confounders,
                       config=study_config(settings, k, placebos))
    if index.dropna().empty and not fx.dropna().empty:
        warnings.append("the statistic is the ruble CAR on the CBR calendar (no stress index)")
    return Alignment(asof, model_id, result, confounders, warnings)
