"""Comtrade vs IMF disagreement: the pure comparison and the status block over a real store."""

from __future__ import annotations

import datetime as dt
import io
import json

import pandas as pd
import pytest

from stresswatch import cli
from stresswatch import settings as settings_mod
from stresswatch.fetchers.base import Observation, SeriesInfo, load_all
from stresswatch.store import Store
from stresswatch.trade_check import compare, describe, status_extra


def monthly(values: dict[str, float]) -> pd.Series:
    return pd.Series(list(values.values()), index=pd.DatetimeIndex(pd.to_datetime(list(values)), name="date"))


def test_compare_on_common_months_only():
    comtrade = monthly({"2022-01-01": 102.0, "2022-02-01": 99.0, "2022-03-01": 110.0, "2022-05-01": 1.0})
    imf = monthly({"2021-12-01": 7.0, "2022-01-01": 100.0, "2022-02-01": 100.0, "2022-03-01": 100.0})
    got = compare(comtrade, imf)
    assert got["common_months"] == 3 and (got["first"], got["last"]) == ("2022-01", "2022-03")
    assert got["median_abs_rel_diff"] == pytest.approx(0.02)
    assert got["max_abs_rel_diff"] == pytest.approx(0.10) and got["max_month"] == "2022-03"
    assert got["mean_rel_diff"] == pytest.approx((0.02 - 0.01 + 0.10) / 3)
    assert (got["only_comtrade"], got["only_imf"], got["zero_months"]) == (1, 1, 0)
    assert describe("exports", got) == ("exports: 3 common months 2022-01..2022-03, median |diff| 2.0%, "
                                        "max 10.0% (2022-03)")


def test_compare_matches_months_not_days_and_ignores_gaps_and_zero_denominators():
    comtrade = monthly({"2022-01-31": 50.0, "2022-02-01": float("nan"), "2022-03-01": 5.0})
    imf = monthly({"2022-01-01": 40.0, "2022-02-01": 10.0, "2022-03-01": 0.0})
    got = compare(comtrade, imf)
    assert got["common_months"] == 2 and got["zero_months"] == 1
    assert got["max_abs_rel_diff"] == pytest.approx(0.25) and got["max_month"] == "2022-01"
    assert got["only_imf"] == 1


def test_compare_without_overlap():
    got = compare(monthly({"2022-01-01": 1.0}), pd.Series(dtype="float64"))
    assert got["common_months"] == 0 and got["median_abs_rel_diff"] is None and got["only_comtrade"] == 1
    assert describe("imports", got) == "imports: no common months (Comtrade only 1, IMF only 0)"


def write(store, source: str, series_id: str, values: dict[dt.date, float], lag: int) -> None:
    store.observations.upsert_series([SeriesInfo(series_id, source, series_id, "USD", "M", lag)])
    store.observations.write_observations([Observation(series_id, d, v) for d, v in values.items()],
                                          fetched_at=dt.datetime(2024, 6, 1, tzinfo=dt.timezone.utc))


def test_status_extra_reads_the_stored_series(store):
    load_all()
    settings = settings_mod.load(environ={})
    D = dt.date
    write(store, "comtrade", "comtrade.CHN_RUS.X", {D(2022, 1, 1): 8.3e9, D(2022, 2, 1): 6.5e9}, 60)
    write(store, "imf", "imf.imts.CHN_RUS.XG_FOB_USD", {D(2022, 1, 1): 8.0e9, D(2022, 2, 1): 6.5e9,
                                                         D(2022, 3, 1): 5.0e9}, 75)
    block = status_extra(store, settings)["trade_check"]
    assert block["exports"]["common_months"] == 2
    assert block["exports"]["max_abs_rel_diff"] == pytest.approx(0.0375) and block["exports"]["max_month"] == "2022-01"
    assert block["exports"]["comtrade_series"] == "comtrade.CHN_RUS.X"
    assert block["imports"]["common_months"] == 0
    assert block["summary"][0].startswith("exports: 2 common months 2022-01..2022-02")
    # as known on 2022-03-15: Comtrade's January (lag 60 -> 2022-03-02) is known, IMF's (lag 75) is not
    early = status_extra(store, settings, asof=D(2022, 3, 15))["trade_check"]["exports"]
    assert early["common_months"] == 0 and early["only_comtrade"] == 1


def test_status_command_shows_the_block(tmp_path):
    db = str(tmp_path / "sw.db")
    Store.open(db).close()  # `status` reads an existing store; it never creates one (issue 13)
    out = io.StringIO()
    assert cli.main(["--store", db, "status", "--format", "json"], out=out) == 0
    data = json.loads(out.getvalue())
    assert data["trade_check"]["exports"]["common_months"] == 0
    assert data["trade_check"]["imports"]["imf_series"] == "imf.imts.CHN_RUS.MG_CIF_USD"
