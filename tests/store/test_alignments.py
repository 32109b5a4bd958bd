"""store.alignments: a date's event-study alignment, replaced as a whole when the date is saved again."""

import datetime as dt
import math

import numpy as np

from stresswatch.clock import FixedClock
from stresswatch.store import Store

D = dt.date(2023, 8, 16)


def _statement(sid: str, t0: dt.date | None, p: float) -> dict:
    return {"id": sid, "date": dt.date(2023, 8, 15), "t0": t0, "t0_fx": t0, "speaker": "S", "key_phrase": "k",
            "tags": "alliance,military", "regime": "stress" if t0 else None, "p_stress_filtered": np.float64(0.9),
            "p_stress_smoothed": 0.95, "index": 0.4, "index_percentile": 0.99, "d_index": 0.02, "abnormal": 0.01,
            "pre_trend": -0.001, "car_rub": 1.5, "statistic": 0.01, "p_value": p, "q_value": p,
            "confounded": np.bool_(True), "confounders": "keyrate-2023-08-15", "match": "regime+weekday",
            "pool": np.int64(120), "d_index_1": 0.3}  # fields not stored are ignored


AGG = {"group": "all", "n": 2, "n_used": 1, "mean_abnormal": 0.01, "mean_d_index": float("nan"), "mean_car_rub": 1.5,
       "confounded": 1, "p_value": 0.2}


def test_save_and_get_round_trip(tmp_path):
    with Store.open(tmp_path / "sw.db", clock=FixedClock("2023-08-16T18:00:00Z")) as store:
        assert store.alignments.get(D) is None
        n = store.alignments.save(D, model_id="t2", statistic="abnormal", warnings=["a warning"], inputs="abc",
                                  statements=[_statement("one", dt.date(2023, 8, 15), 0.25),
                                              _statement("two", None, float("nan"))],
                                  aggregates=[AGG])
        got = store.alignments.get(D)
    assert n == 2
    assert (got.asof, got.model_id, got.statistic, got.warnings, got.inputs, got.created_at) == (
        D, "t2", "abnormal", ("a warning",), "abc", "2023-08-16T18:00:00Z")
    one, two = got.statements
    assert one["id"] == "one" and one["date"] == "2023-08-15" and one["t0"] == "2023-08-15"
    assert one["p_stress_filtered"] == 0.9 and one["confounded"] == 1 and one["pool"] == 120
    assert one["tags"] == "alliance,military" and "d_index_1" not in one
    assert two["t0"] is None and two["regime"] is None and two["p_value"] is None  # NaN is stored as NULL
    (agg,) = got.aggregates
    assert agg["group"] == "all" and agg["mean_d_index"] is None and math.isclose(agg["p_value"], 0.2)


def test_saving_a_date_again_replaces_its_rows_and_leaves_other_dates(store):
    store.alignments.save(D, model_id="t2", statistic="abnormal", warnings=[], inputs="x",
                          statements=[_statement("one", D, 0.1), _statement("two", D, 0.2)], aggregates=[AGG])
    store.alignments.save(D - dt.timedelta(days=1), model_id="t2", statistic="abnormal", warnings=[], inputs="x",
                          statements=[_statement("one", D, 0.3)], aggregates=[])
    store.alignments.save(D, model_id="t3", statistic="car_rub", warnings=["w"], inputs="y",
                          statements=[_statement("three", None, 0.5)], aggregates=[])
    got = store.alignments.get(D)
    assert got.model_id == "t3" and [s["id"] for s in got.statements] == ["three"] and got.aggregates == ()
    assert store.alignments.dates() == [D - dt.timedelta(days=1), D]
    assert store.alignments.delete(D) == 1 and store.alignments.get(D) is None
    assert store.alignments.delete(D) == 0
    assert [s["id"] for s in store.alignments.get(D - dt.timedelta(days=1)).statements] == ["one"]
