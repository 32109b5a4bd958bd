"""On-the-fly evaluation for `stresswatch indicators show`: one indicator, or one stress.* series,
as known on a date, computed from the stored inputs without writing anything. Any currency the
store holds can be shown, including those whose indicators `compute` does not store."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from stresswatch.compute.inputs import INPUT_PREFIXES, Inputs, evaluate, input_ids, needed_series
from stresswatch.compute.step import compute_all
from stresswatch.errors import UsageError
from stresswatch.indicators import resolve
from stresswatch.indicators.composite import CompositeResult
from stresswatch.indicators.rates import load_meetings, meetings_path
from stresswatch.settings import Settings
from stresswatch.store import Store

COMPOSITE_IDS = ("stress.index", "stress.index.pct", "stress.index.coverage", "stress.corr", "stress.emp")


def show(store: Store, settings: Settings, indicator_id: str, asof: dt.date) -> pd.DataFrame:
    """DataFrame[date, value, known] for one indicator (or stress.* series) as known on `asof`."""
    available = set(store.observations.series_lags(INPUT_PREFIXES))
    if indicator_id.startswith("stress."):
        inputs = Inputs.from_store(store, asof, needed_series(available))
        result, emp_series, _ = compute_all(inputs, settings, asof)
        series = _composite_series(indicator_id, result, emp_series)
        s = series.dropna()
        return pd.DataFrame({"date": s.index, "value": s.to_numpy(), "known": s.index})
    try:
        ind, params = resolve(indicator_id)
    except KeyError:
        raise UsageError(f"unknown indicator {indicator_id!r}; see `stresswatch indicators list`") from None
    inputs = Inputs.from_store(store, asof, input_ids(ind, params, available))
    fallback_for = {primary: f for f, primary in ind.fallbacks}
    missing = [i.format(**params) for i in ind.inputs
               if not (i.endswith("*") and any(s.startswith(i[:-1]) for s in inputs.ids()))
               and not i.endswith("*") and i.format(**params) not in inputs.ids()
               and fallback_for.get(i) not in inputs.ids()]
    if missing:
        raise UsageError(f"{indicator_id} needs {', '.join(missing)}, which the store does not hold as of "
                         f"{asof.isoformat()}")
    values, eff = evaluate(ind, params, inputs, {"meetings": load_meetings(meetings_path(settings)),
                                                 "asof": pd.Timestamp(asof)})
    values = values.dropna()
    eff = eff.reindex(values.index)
    keep = (eff <= pd.Timestamp(asof)).to_numpy()
    return pd.DataFrame({"date": values.index[keep], "value": values.to_numpy()[keep],
                         "known": pd.DatetimeIndex(eff[keep])})


def _composite_series(sid: str, result: CompositeResult | None, emp_series: pd.Series | None) -> pd.Series:
    if sid == "stress.emp":
        if emp_series is None:
            raise UsageError("stress.emp needs cbr.fx.USD in the store")
        return emp_series
    if result is None:
        raise UsageError("the stress index needs Bank of Russia series in the store; fetch or backfill first")
    fixed = {"stress.index": result.index, "stress.index.pct": result.percentile,
             "stress.index.coverage": result.coverage, "stress.corr": result.corr_mean}
    if sid in fixed:
        return fixed[sid]
    kind, _, name = sid[len("stress."):].partition(".")
    if kind == "segment" and name in result.segments:
        return result.segments[name]
    if kind == "contrib" and name in result.contributions:
        return result.contributions[name]
    if kind == "beside" and name in result.beside:
        return result.beside[name]
    raise UsageError(f"unknown series {sid!r}; segments present: {', '.join(result.segments.columns)}")
