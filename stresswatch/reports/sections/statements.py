"""The statements section: catalogue statements known on D, aligned as of D by
`stresswatch.events.align` (the alignment the daily cycle stored for D when there is one, else
aligned here), numbered in date order, with the ones of the last `NEAR_DAYS` days and the
per-group aggregates of the event study.

One regime per day: each row's regime is the headline's rule for its event day t0,
`RegimeState.label_on(t0)` of the same regime state the headline reads, with the model period it
comes from (`regime_period`). A stored alignment made from another run of the model (it would
disagree with the headline) is not used: the catalogue is aligned afresh against the state.

An event window that has not closed by D says when it will (`window_end`, t0 + k business days)
instead of showing empty figures."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any, Sequence

import numpy as np
import pandas as pd

from stresswatch.events import align as ev_align
from stresswatch.events.catalogue import Statement
from stresswatch.regimes.state import RegimeState
from stresswatch.reports.values import iso, num
from stresswatch.settings import Settings
from stresswatch.store import Store

#: statements dated within this many calendar days before D are "near"
NEAR_DAYS = 30


def statements(store: Store, settings: Settings, day: dt.date, state: RegimeState,
               catalogue: Sequence[Statement] | None = None) -> dict[str, Any]:
    """Statements near D and the whole catalogue aligned as of D. `state` is the headline model's
    regime state as of D; `catalogue` the loaded statement catalogue (read from the settings when
    not given)."""
    stmts = list(catalogue) if catalogue is not None else ev_align.load_statements(settings)
    known = sorted((s for s in stmts if s.date <= day), key=lambda s: (s.date, s.id))
    by_id = {s.id: s for s in known}
    number = {s.id: n for n, s in enumerate(known, 1)}
    k = int(settings["events"]["k"])
    window_start = day - dt.timedelta(days=NEAR_DAYS)
    out: dict[str, Any] = {"available": True, "message": "", "k": k,
                           "near_window": f"statements dated {window_start} to {day}",
                           "near": [], "catalogue": [], "aggregate": [], "warnings": []}
    if not known:
        out["message"] = f"no catalogue statement is dated on or before {day}"
        return out
    alignment = ev_align.stored_or_align(store, settings, day, statements=known, state=state)
    if alignment.stored and not agrees_with(alignment.rows(), state):
        alignment = ev_align.align(store, settings, day, statements=known, state=state)
    out["warnings"] = list(alignment.warnings)
    rows = []
    for r in alignment.rows():
        s = by_id.get(r["id"])
        window_end = event_window_end(r.get("t0"), r["date"], k)
        complete = num(r.get("d_index")) is not None or num(r.get("car_rub")) is not None
        rows.append({
            "n": number.get(r["id"]), "id": r["id"], "date": iso(r["date"]), "t0": iso(r.get("t0")),
            "regime_period": iso(regime_period(state, r.get("t0"))),
            "window_end": iso(window_end), "window_pending": not complete and window_end > day,
            "speaker": r.get("speaker"), "role": s.role if s else "", "summary": s.summary if s else "",
            "key_phrase": r.get("key_phrase"), "tags": [t for t in str(r.get("tags") or "").split(",") if t],
            "source": s.source.outlet if s else "", "url": s.source.url if s else "",
            "regime": r.get("regime"), "p_stress_filtered": num(r.get("p_stress_filtered")),
            "p_stress_smoothed": num(r.get("p_stress_smoothed")), "index": num(r.get("index")),
            "index_percentile": num(r.get("index_percentile")), "d_index": num(r.get("d_index")),
            "abnormal": num(r.get("abnormal")), "pre_trend": num(r.get("pre_trend")),
            "car_rub": num(r.get("car_rub")), "p_value": num(r.get("p_value")), "q_value": num(r.get("q_value")),
            "confounded": bool(r.get("confounded")),
            "confounders": ", ".join(c for c in str(r.get("confounders") or "").split(",") if c),
        })
    rows.sort(key=lambda r: (r["n"] or 0))
    out["catalogue"] = rows
    out["near"] = [r for r in rows if r["date"] >= window_start.isoformat()][::-1]
    out["aggregate"] = [{"group": a["group"], "n": int(a["n"]), "n_used": int(a["n_used"]),
                         "mean_abnormal": num(a["mean_abnormal"]), "mean_d_index": num(a["mean_d_index"]),
                         "mean_car_rub": num(a["mean_car_rub"]), "confounded": int(a["confounded"]),
                         "p_value": num(a["p_value"])} for a in alignment.result.aggregates.to_dict("records")]
    out["statistic"] = alignment.result.statistic
    return out


def regime_period(state: RegimeState, day: dt.date | None) -> dt.date | None:
    """The model period whose regime `RegimeState.label_on(day)` gives: the last period dated on
    or before `day` (None before the first, or without a run)."""
    if day is None or not state.available:
        return None
    probs = state.stress_probability("filtered")
    pos = probs.index.searchsorted(pd.Timestamp(day), side="right") - 1
    return None if pos < 0 else probs.index[pos].date()


def agrees_with(rows: Sequence[dict[str, Any]], state: RegimeState) -> bool:
    """Whether aligned rows carry the regime and filtered P(stress) that `state` gives their t0."""
    if not state.available:
        return all(r.get("regime") in (None, "") for r in rows)
    probs = state.stress_probability("filtered")
    for r in rows:
        t0 = r.get("t0")
        if t0 is None:
            continue
        if (r.get("regime") or None) != state.label_on(t0):
            return False
        period = regime_period(state, t0)
        p = num(r.get("p_stress_filtered"))
        expected = None if period is None else num(probs.loc[pd.Timestamp(period)])
        if (p is None) != (expected is None) or (p is not None and not math.isclose(p, expected, abs_tol=1e-9)):
            return False
    return True


def event_window_end(t0: dt.date | None, date: dt.date, k: int) -> dt.date:
    """Last business day of the event window [t0 − k, t0 + k]; before t0 is in the data, the
    statement's own date (rolled to a business day) stands in for t0."""
    start = t0 if t0 is not None else date
    return np.busday_offset(np.datetime64(start, "D"), k, roll="forward").astype(dt.date)
