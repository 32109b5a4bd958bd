"""Policy-rate indicators: decision days, the extraordinary flag against the shipped meeting
schedule, the spread to the US rate and the rank among BIS central banks."""

from __future__ import annotations

import pandas as pd
import pytest

from stresswatch.errors import ConfigError
from stresswatch.indicators import rates


def keyrate(changes: dict[str, float], end: str) -> pd.Series:
    """A daily key-rate series (Mon..Sat rows like the CBR table) from effective-date changes."""
    days = pd.date_range(min(changes), end, freq="D")
    days = days[days.day_of_week != 6]
    s = pd.Series(changes, dtype=float)
    s.index = pd.DatetimeIndex(s.index)
    return s.reindex(days).ffill().rename("cbr.keyrate")


# effective dates and rates from the Bank of Russia's decisions (2014-2015 and 2022-2023)
HISTORY = {"2013-09-13": 5.5, "2014-03-03": 7.0, "2014-04-28": 7.5, "2014-07-28": 8.0, "2014-11-05": 9.5,
           "2014-12-12": 10.5, "2014-12-16": 17.0, "2015-02-02": 15.0, "2015-03-16": 14.0}


def test_decision_days_are_the_changes():
    d = rates.decision_days(keyrate(HISTORY, "2015-04-30"))
    assert list(d.index.strftime("%Y-%m-%d")) == list(HISTORY)[1:]
    assert d["2014-12-16"] == pytest.approx(6.5)


def test_extraordinary_flags_with_the_shipped_schedule():
    flags = rates.extraordinary_flags(keyrate(HISTORY, "2015-04-30"), rates.load_meetings())
    got = {d.strftime("%Y-%m-%d"): v for d, v in flags.items()}
    assert got == {
        "2014-03-03": 1.0,  # no scheduled meeting (after Crimea)
        "2014-04-28": 0.0,  # meeting 25 Apr, effective Monday
        "2014-07-28": 0.0,
        "2014-11-05": 0.0,  # meeting 31 Oct, effective after the 3-4 Nov holidays
        "2014-12-12": 0.0,  # meeting 11 Dec
        "2014-12-16": 1.0,  # the 11 Dec meeting was already used on 12 Dec: overnight decision
        "2015-02-02": 1.0,  # scheduled (30 Jan) but a 200 bp cut
        "2015-03-16": 0.0,
    }


def test_2022_and_2023_extraordinary_meetings():
    hist = {"2022-01-03": 8.5, "2022-02-14": 9.5, "2022-02-28": 20.0, "2022-04-11": 17.0, "2022-05-04": 14.0,
            "2022-05-27": 11.0, "2022-06-14": 9.5, "2023-07-24": 8.5, "2023-08-15": 12.0, "2023-09-18": 13.0}
    flags = rates.extraordinary_flags(keyrate(hist, "2023-09-30"), rates.load_meetings())
    assert flags["2022-02-14"] == 0.0
    assert flags["2022-02-28"] == 1.0
    assert flags["2022-04-11"] == 1.0   # extraordinary 8 Apr meeting
    assert flags["2022-05-27"] == 1.0   # extraordinary 26 May meeting
    assert flags["2022-06-14"] == 0.0   # scheduled 10 Jun, 150 bp
    assert flags["2023-08-15"] == 1.0
    assert flags["2023-09-18"] == 0.0


def test_schedule_is_data_and_beyond_coverage_only_size_counts(tmp_path):
    path = tmp_path / "m.toml"
    path.write_text('covered_until = 2020-12-31\n[scheduled]\n2020 = [2020-03-20]\n')
    schedule = rates.load_meetings(path)
    s = keyrate({"2020-03-02": 6.0, "2020-03-23": 5.75, "2020-04-06": 5.5, "2021-03-22": 4.5, "2021-06-15": 6.5},
                "2021-06-30")
    flags = rates.extraordinary_flags(s, schedule)
    assert list(flags) == [0.0, 1.0, 0.0, 1.0]
    bad = tmp_path / "bad.toml"
    bad.write_text("covered_until = 'soon'\n")
    with pytest.raises(ConfigError):
        rates.load_meetings(bad)


def test_spread_and_rank():
    k = keyrate({"2024-01-01": 16.0, "2024-01-15": 18.0}, "2024-01-31")
    us = pd.Series([5.5], index=pd.DatetimeIndex(["2023-12-01"]))
    spread = rates.spread_to_us(k, us)
    assert spread["2024-01-02"] == pytest.approx(10.5)
    assert spread["2024-01-16"] == pytest.approx(12.5)
    others = {"bis.cbpol.TR": pd.Series([17.0], index=pd.DatetimeIndex(["2024-01-01"])),
              "bis.cbpol.AR": pd.Series([100.0], index=pd.DatetimeIndex(["2024-01-01"])),
              "bis.cbpol.US": us,
              "bis.cbpol.RU": pd.Series([99.0], index=pd.DatetimeIndex(["2024-01-01"]))}
    rank = rates.rank_among(k, others)
    assert rank["2024-01-02"] == 3.0  # AR, TR higher; Russia's own BIS series ignored
    assert rank["2024-01-16"] == 2.0


def test_tightening_and_monthly_move():
    k = keyrate({"2023-01-02": 7.5, "2023-07-24": 8.5, "2023-08-15": 12.0}, "2023-09-29")
    t = rates.tightening(k)
    assert t["2023-07-21"] == 0.0
    assert t["2023-08-15"] == pytest.approx(4.5)
    move = rates.change_abs(k)
    assert move["2023-08-15"] == pytest.approx(3.5 + 1.0)  # 21 business days back is 17 Jul (7.5 %)


def test_policy_measures_are_computable_from_the_bis_fallback_before_the_key_rate_exists():
    """Whether the policy segment exists must not depend on the date computed as of: before
    September 2013 only the BIS rate for Russia is stored, and it is the policy rate then."""
    from stresswatch.indicators import expand

    ids = {cid for cid, _, _ in expand({"bis.cbpol.RU", "cbr.fx.USD"})}
    assert {"policy.tightening", "policy.change_1m_abs"} <= ids and "policy.keyrate" not in ids
    ind = next(ind for cid, ind, _ in expand({"bis.cbpol.RU"}) if cid == "policy.tightening")
    bis = pd.Series(10.5, index=pd.bdate_range("2008-01-01", "2008-12-31"))
    bis["2008-11-12":] = 12.0
    got = ind.compute({"bis.cbpol.RU": bis}, {"end": pd.Timestamp("2009-01-05")})
    assert got["2008-11-12"] == pytest.approx(1.5) and got.index[-1] == pd.Timestamp("2009-01-05")
