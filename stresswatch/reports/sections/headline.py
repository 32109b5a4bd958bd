"""The headline section: what the headline model says on D, read from the regime read model
(`stresswatch.regimes.state.RegimeState` as of D) — the regime of the run's last period by the
filtered probabilities, P(stress), how long the regime has lasted, its expected duration, the 5-
and 20-business-day forecast, the stress episodes and the model description — and `add_change`,
the change since the previous report.

One unit: every duration the headline shows is in business days (a weekly model's periods are
converted at 5 business days a week; the model periods stay in the data as `*_periods`). One
regime per day: the regime of a day is `RegimeState.label_on(day)`, the rule the statement table
uses too (`reports.sections.statements` checks that its rows agree)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from stresswatch.regimes.state import RegimeState
from stresswatch.reports.values import iso, num


def business_days_per_period(state: RegimeState) -> int:
    """Business days in one model period: 5 for a weekly model, else 1."""
    return 5 if state.weekly else 1


def regime_headline(state: RegimeState, day: dt.date) -> dict[str, Any]:
    """The headline model's state on D (the regime read model as of D) as report data."""
    base = {"model_id": state.model_id, "available": False, "date": day.isoformat(), "reason": "no run"}
    if not state.available:
        base["message"] = (f"{state.message}; run `stresswatch compute --asof {day}` and render the report again"
                           if state.run is None else state.message)
        return base
    return _headline_from_state(state, base)


def _headline_from_state(state: RegimeState, base: dict[str, Any]) -> dict[str, Any]:
    """Headline from the regime state as of D: the regime of the run's last period (most likely by
    filtered probability), its run length, expected duration, the 5- and 20-business-day forecast,
    stress episodes on the filtered basis (each day's real-time answer where one was stored, else
    the filter of D's run: data up to each day only, so starts are not backdated as the smoothed
    basis does) and the model description."""
    run, fit, spec = state.run, state.fit, state.spec
    assert run is not None and fit is not None and spec is not None
    k = spec.k_regimes
    names = list(spec.regime_names)
    per_period = business_days_per_period(state)
    episodes_out = [{"start": iso(e.start), "end": iso(e.end), "peak": iso(e.peak), "peak_p": num(e.peak_p),
                     "mean_p": num(e.mean_p), "length": int(e.length), "ongoing": e.ongoing,
                     "business_days": int(e.length) * per_period}
                    for e in state.episodes("filtered")]
    params = run.params

    def param(name: str) -> float | None:
        return num(params.get(name))

    regimes_out = []
    for i, label in enumerate(names):
        regimes_out.append({
            "label": label,
            "mean": param(f"const[{i}]") if f"const[{i}]" in params else param("const"),
            "variance": param(f"sigma2[{i}]") if f"sigma2[{i}]" in params else param("sigma2"),
            "p_stay": num(run.transition[i, i]), "expected_duration": num(run.durations[i]),
            "expected_duration_days": num(float(run.durations[i]) * per_period)})
    switches = [w for w, on in (("mean", spec.switching_mean), ("variance", spec.switching_variance)) if on]
    model = {
        "id": state.model_id, "series": spec.series, "transform": spec.transform, "k_regimes": k,
        "frequency": spec.frequency, "frequency_name": "weekly" if state.weekly else "daily (observation calendar)",
        "spec_text": (f"Markov-switching {'autoregression of order ' + str(spec.order) if spec.order else 'regression'} "
                      f"with {k} regimes, switching {' and '.join(switches) or 'nothing'}"),
        "run_id": run.id, "run_asof": iso(run.asof), "run_kind": run.kind, "fit_run_id": fit.id,
        "fitted_on": iso(fit.asof), "sample_start": iso(run.data_first), "sample_end": iso(run.data_last),
        "nobs": run.n, "data_asof": iso(run.data_vintage), "llf": num(run.llf), "aic": num(run.aic),
        "bic": num(run.bic), "converged": bool(run.converged), "accepted": bool(run.accepted),
        "fallback": bool(run.fallback or fit.fallback),
        "rejection": "; ".join(list(run.reasons) or list(fit.reasons)) if (run.fallback or fit.fallback) else "",
        "regimes": regimes_out,
    }
    previous = state.previous()
    base.update({
        "available": True, "message": "", "run_asof": iso(run.asof), "last_observation": iso(state.last_observation),
        "k_regimes": k, "regimes": names, "regime": state.regime, "regime_index": state.regime_index,
        "is_stress": state.is_stress,
        "p_stress_filtered": num(state.p_stress_filtered),
        "p_stress_smoothed": num(state.p_stress_smoothed),
        "p_filtered": {name: num(p) for name, p in state.p_filtered.items()},
        "days_in_regime": state.days_in_regime,
        "regime_periods": state.regime_periods,
        "regime_since": iso(state.regime_since),
        "expected_duration": num(state.expected_duration),
        "expected_duration_days": num(state.expected_duration * per_period
                                      if state.expected_duration is not None else None),
        "period_unit": state.period_unit, "business_days_per_period": per_period,
        "p_stress_h5": num(state.p_stress_in(5)), "p_stress_h20": num(state.p_stress_in(20)),
        "forecast_steps": {str(h): n for h, n in state.forecast_steps.items()},
        "previous_observation": ({"date": iso(previous["date"]), "regime": previous["regime"],
                                  "p_stress_filtered": num(previous["p_stress_filtered"])} if previous else None),
        "episodes": episodes_out, "model": model,
    })
    return base


def add_change(head: dict[str, Any], prev: dict[str, Any]) -> None:
    """Change since the previous report: the previous business day's headline (its own run as of
    that day). When no run existed then, there was no previous report: the previous observation of
    D's run is used instead, `basis` says so, and `change_since` (the words the page uses) names
    the model's previous observation — never "the previous report"."""
    previous_day = prev.get("date")
    if prev.get("available") or not head.get("previous_observation"):
        head["previous"] = {"date": prev.get("date"), "available": bool(prev.get("available")),
                            "regime": prev.get("regime"), "p_stress_filtered": prev.get("p_stress_filtered"),
                            "basis": "previous report"}
    else:
        po = head["previous_observation"]
        prev = {"available": True, **po}
        head["previous"] = {**po, "available": True, "basis": f"previous observation of the run as of "
                                                              f"{head.get('run_asof')} (no run existed on "
                                                              f"{previous_day or po['date']})"}
    p1, p0 = head.get("p_stress_filtered"), prev.get("p_stress_filtered")
    head["p_stress_change"] = (p1 - p0) if p1 is not None and p0 is not None else None
    head["regime_changed"] = (head.get("regime") != prev.get("regime")) if head.get("available") and prev.get(
        "available") else None
    previous = head["previous"]
    if previous["basis"] == "previous report":
        head["change_since"] = f"the previous report ({previous.get('date')})"
        head["change_note"] = ""
    else:
        head["change_since"] = f"the model's previous observation ({previous.get('date')})"
        head["change_note"] = (f"no model run existed on {previous_day or 'the previous business day'}, "
                               f"so there is no previous report to compare with")
