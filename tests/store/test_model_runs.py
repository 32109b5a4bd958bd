"""Model runs and their probabilities: one run per (model, asof), filter runs go with their base."""

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd

from stresswatch.store.model_runs import NewModelRun


def run(asof: dt.date, kind: str = "cold", base: int | None = None, accepted: bool = True) -> NewModelRun:
    return NewModelRun(
        model_id="m", asof=asof, kind=kind, base_run_id=base, series_id="cbr.fx.USD",
        params={"p[0->0]": 0.9, "p[1->0]": 0.2}, llf=-10.5, aic=25.0, bic=27.0, converged=True, accepted=accepted,
        fallback=False, reasons=[], n=3, data_first=dt.date(2024, 1, 1), data_last=dt.date(2024, 1, 3),
        data_vintage=dt.date(2024, 1, 3), spec={"id": "m", "k_regimes": 2}, spec_hash="abc",
        mapping=[0, 1], transition=[[0.9, 0.2], [0.1, 0.8]], durations=[10.0, 5.0], pi_last=[0.7, 0.3],
        detail={"starts": 4}, seconds=0.5)


def probs(days: list[str], stress: list[float]) -> pd.DataFrame:
    p = np.array(stress)
    return pd.DataFrame({"p_filtered_0": 1 - p, "p_filtered_1": p, "p_smoothed_0": 1 - p, "p_smoothed_1": p},
                        index=pd.DatetimeIndex(pd.to_datetime(days), name="date"))


def test_save_and_read_back_as_typed_rows(store):
    day = dt.date(2024, 1, 3)
    run_id = store.model_runs.save(run(day), probs(["2024-01-01", "2024-01-02", "2024-01-03"], [0.1, 0.2, 0.3]))
    got = store.model_runs.get(run_id)
    assert {f.name: getattr(got, f.name) for f in dataclasses.fields(run(day))} == dataclasses.asdict(run(day))
    assert got.id == run_id and got.created_at.endswith("Z")
    frame = store.model_runs.probabilities(run_id, 2)
    assert list(frame.columns) == ["p_filtered_0", "p_filtered_1", "p_smoothed_0", "p_smoothed_1"]
    assert frame["p_filtered_1"].tolist() == [0.1, 0.2, 0.3] and frame.index.name == "date"


def test_one_run_per_asof_and_a_filter_run_goes_with_its_base(store):
    d1, d2 = dt.date(2024, 1, 3), dt.date(2024, 1, 10)
    first = store.model_runs.save(run(d1), probs(["2024-01-03"], [0.3]))
    child = store.model_runs.save(run(d2, "filter", base=first), probs(["2024-01-10"], [0.4]))
    assert [r.id for r in store.model_runs.rows("m")] == [first, child]
    assert store.model_runs.find("m", d2).id == child
    again = store.model_runs.save(run(d1), probs(["2024-01-03"], [0.35]))  # re-run of d1 replaces it ...
    assert [r.id for r in store.model_runs.rows()] == [again]  # ... and the filter run based on it goes too
    assert store.model_runs.get(child) is None and store.model_runs.probabilities(child, 2).empty
    assert store.model_runs.probabilities(again, 2)["p_filtered_1"].tolist() == [0.35]


def test_latest_and_previous_accepted(store):
    days = [dt.date(2024, 1, 3), dt.date(2024, 1, 10), dt.date(2024, 1, 17)]
    ids = [store.model_runs.save(run(d, accepted=d != days[1]), probs([d.isoformat()], [0.5])) for d in days]
    assert store.model_runs.latest("m").id == ids[2]
    assert store.model_runs.latest("m", dt.date(2024, 1, 12)).id == ids[1]
    assert store.model_runs.latest("m", dt.date(2024, 1, 1)) is None
    assert store.model_runs.previous_accepted("m", days[2]).id == ids[0]  # the rejected one is skipped
