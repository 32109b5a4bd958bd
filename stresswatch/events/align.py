"""The thin store layer of the event study: read everything as of day D, run `study.run_study`.

Reads `stress.index`, `cbr.fx.USD` and `cbr.keyrate` with `store.observations.read_series(..., asof=D)` and the
headline model's regime state as of D (`stresswatch.regimes.state.regime_state`: one regime label per
period by the read model's rule);
statements dated after D are left out (not known yet). A missing input degrades the result
(NaN fields and a warning) instead of failing: no stress index -> the ruble CAR is the statistic;
no regime run -> no regime fields and no regime matching.

The daily cycle stores what it aligned for D (`save`, gateway `store.alignments`); `stored_or_align`
reads that back for the report and `events align` when its inputs fingerprint (study settings,
catalogue, confounder file) still matches, and aligns afresh otherwise.
"""

from __future__ import annotations

import datetime as dt
import hashlib
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
from stresswatch.store.alignments import StoredAlignment

log = logging.getLogger(__name__)

INDEX_SERIES = "stress.index"
FX_SERIES = "cbr.fx.USD"
KEYRATE_SERIES = "cbr.keyrate"

#: the fields `events align` prints, in order
ALIGN_FIELDS = ("id", "date", "t0", "speaker", "key_phrase", "regime", "p_stress_filtered", "p_stress_smoothed",
                "index", "d_index", "abnormal", "car_rub", "p_value", "q_value", "confounded", "confounders")


#: study columns read back from a stored alignment, by type
_FLOAT_FIELDS = ("p_stress_filtered", "p_stress_smoothed", "index", "index_percentile", "d_index", "abnormal",
                 "pre_trend", "car_rub", "statistic", "p_value", "q_value")
_AGG_FLOAT_FIELDS = ("mean_abnormal", "mean_d_index", "mean_car_rub", "p_value")


@dataclass
class Alignment:
    """The catalogue aligned as of `asof`. `inputs` fingerprints the settings, catalogue and
    confounder file it was computed from. One read back from the store (`stored`) holds the
    statement and aggregate tables only: no confounder list and no per-position study arrays."""

    asof: dt.date
    model_id: str
    result: StudyResult
    confounders: list[conf.Confounder]
    warnings: list[str] = field(default_factory=list)
    inputs: str = ""
    stored: bool = False

    def rows(self) -> list[dict[str, Any]]:
        return self.result.statements.to_dict("records")

    def event_days(self) -> int:
        """How many statements have an event day inside the data."""
        return sum(1 for r in self.rows() if r.get("t0") is not None)


def study_config(settings: Settings, k: int | None = None, placebos: int | None = None) -> StudyConfig:
    ev = settings["events"]
    return StudyConfig(k=int(k if k is not None else ev["k"]),
                       placebos=int(placebos if placebos is not None else ev["placebos"]),
                       seed=int(ev["seed"]), estimation_window=int(ev["estimation_window"]))


def load_statements(settings: Settings) -> list[cat.Statement]:
    return cat.load_catalogue(settings["events"]["catalogue"] or None)


def load_file_confounders(settings: Settings) -> list[conf.Confounder]:
    return conf.load_confounders(settings["events"]["confounders"] or None)


def inputs_fingerprint(statements: list[cat.Statement], confounders: list[conf.Confounder],
                       config: StudyConfig) -> str:
    """What an alignment depends on besides the data known on D: the study settings, the
    statements aligned and the confounder file (key-rate decisions come from the data)."""
    digest = hashlib.sha256(repr(config).encode())
    for item in (*statements, *confounders):
        digest.update(repr(item).encode())
    return digest.hexdigest()[:32]


def align(store: Store, settings: Settings, asof: dt.date, k: int | None = None, placebos: int | None = None,
          statements: list[cat.Statement] | None = None, state: RegimeState | None = None) -> Alignment:
    """Align the catalogue (or `statements`) as of `asof` against the headline model's regime
    state as of `asof` (or the `state` given, when the caller already holds it)."""
    asof = pd.Timestamp(asof).date()
    warnings: list[str] = []
    stmts = statements if statements is not None else load_statements(settings)
    stmts = [s for s in stmts if s.date <= asof]
    config = study_config(settings, k, placebos)
    file_confounders = load_file_confounders(settings)
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
    confounders = conf.merge(file_confounders, conf.keyrate_confounders(keyrate))
    result = run_study(stmts, index=index, fx=fx, probabilities=probs, confounders=confounders, config=config)
    if index.dropna().empty and not fx.dropna().empty:
        warnings.append("the statistic is the ruble CAR on the CBR calendar (no stress index)")
    return Alignment(asof, model_id, result, confounders, warnings,
                     inputs=inputs_fingerprint(stmts, file_confounders, config))


# ---------------------------------------------------------------------------------------------
# The stored alignment of a date
# ---------------------------------------------------------------------------------------------
def save(store: Store, alignment: Alignment) -> int:
    """Store `alignment` as the one for its date (replacing what was stored); returns the rows."""
    return store.alignments.save(
        alignment.asof, model_id=alignment.model_id, statistic=alignment.result.statistic,
        warnings=alignment.warnings, inputs=alignment.inputs, statements=alignment.rows(),
        aggregates=alignment.result.aggregates.to_dict("records"))


def stored(store: Store, settings: Settings, asof: dt.date,
           statements: list[cat.Statement] | None = None) -> Alignment | None:
    """The alignment stored for `asof` when it was computed from the current settings, catalogue
    (or `statements`) and confounder file with the default study parameters; else None."""
    asof = pd.Timestamp(asof).date()
    found = store.alignments.get(asof)
    if found is None:
        return None
    stmts = statements if statements is not None else load_statements(settings)
    stmts = [s for s in stmts if s.date <= asof]
    if found.inputs != inputs_fingerprint(stmts, load_file_confounders(settings), study_config(settings)):
        log.info("the alignment stored for %s was computed from other settings or statements; aligning again", asof)
        return None
    return _from_stored(found)


def stored_or_align(store: Store, settings: Settings, asof: dt.date, statements: list[cat.Statement] | None = None,
                    state: RegimeState | None = None) -> Alignment:
    """The stored alignment for `asof` (see `stored`), else a fresh `align` (not stored) against
    `state` when the caller holds the regime state already."""
    return stored(store, settings, asof, statements) or align(store, settings, asof, statements=statements,
                                                              state=state)


def _from_stored(found: StoredAlignment) -> Alignment:
    rows = []
    for r in found.statements:
        row = dict(r)
        row["date"] = dt.date.fromisoformat(row["date"])
        for key in ("t0", "t0_fx"):
            row[key] = dt.date.fromisoformat(row[key]) if row[key] else None
        for key in _FLOAT_FIELDS:
            row[key] = float("nan") if row[key] is None else float(row[key])
        row["confounded"] = bool(row["confounded"])
        row["tags"] = row["tags"] or ""
        row["confounders"] = row["confounders"] or ""
        rows.append(row)
    aggregates = []
    for a in found.aggregates:
        agg = dict(a)
        for key in _AGG_FLOAT_FIELDS:
            agg[key] = float("nan") if agg[key] is None else float(agg[key])
        aggregates.append(agg)
    result = StudyResult(statements=pd.DataFrame(rows), aggregates=pd.DataFrame(aggregates),
                         statistic=found.statistic)
    return Alignment(found.asof, found.model_id, result, [], list(found.warnings), inputs=found.inputs, stored=True)
