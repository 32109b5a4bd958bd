"""The event-day rule: CBR fixings (dated the business day after they are set, no Sunday/Monday
rows, Saturday-dated rows, holidays) and the end-of-day stress-index calendar."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from tests.conftest import shared_path
from stresswatch.events import timing

D = dt.date

# CBR USD/RUB rows as published: Friday's fixing is dated Saturday; Monday's is dated Tuesday.
WEEK = pd.to_datetime(["2023-08-09", "2023-08-10", "2023-08-11", "2023-08-12", "2023-08-15", "2023-08-16",
                       "2023-08-17"])
# New Year 2024: the 29 Dec fixing is dated Sat 30 Dec; holidays 1-8 Jan; 9 Jan's fixing is dated 10 Jan.
NEW_YEAR = pd.to_datetime(["2023-12-28", "2023-12-29", "2023-12-30", "2024-01-10", "2024-01-11"])


@pytest.mark.parametrize("day, time, expected", [
    (D(2023, 8, 10), None, D(2023, 8, 11)),               # Thursday -> Friday's row (fixed Thursday)
    (D(2023, 8, 11), None, D(2023, 8, 12)),               # Friday -> the Saturday-dated fixing
    (D(2023, 8, 12), None, D(2023, 8, 15)),               # Saturday -> Monday's fixing, dated Tuesday
    (D(2023, 8, 13), None, D(2023, 8, 15)),               # Sunday -> the same
    (D(2023, 8, 14), None, D(2023, 8, 15)),               # Monday -> Tuesday
    (D(2023, 8, 15), None, D(2023, 8, 16)),               # Shoigu, Tuesday -> Wednesday's row
    (D(2023, 8, 14), dt.time(10, 30), D(2023, 8, 15)),    # before the 15:30 fixing
    (D(2023, 8, 14), dt.time(16, 0), D(2023, 8, 16)),     # after it: Tuesday's fixing, dated Wednesday
    (D(2023, 8, 11), dt.time(17, 0), D(2023, 8, 15)),     # Friday evening misses the Saturday row
    (D(2023, 8, 12), dt.time(17, 0), D(2023, 8, 15)),     # no fixing on Saturday to miss
])
def test_fixing_rule_across_a_weekend(day, time, expected):
    assert timing.fixing_t0(WEEK, day, time) == pd.Timestamp(expected)


@pytest.mark.parametrize("day, time, expected", [
    (D(2023, 12, 29), None, D(2023, 12, 30)),             # last business day -> Saturday-dated row
    (D(2023, 12, 29), dt.time(18, 0), D(2024, 1, 10)),    # after the fixing -> first fixing of 2024
    (D(2024, 1, 3), None, D(2024, 1, 10)),                # holiday -> fixing of 9 Jan, dated 10 Jan
    (D(2024, 1, 8), None, D(2024, 1, 10)),
    (D(2024, 1, 9), None, D(2024, 1, 10)),                # first business day
    (D(2024, 1, 9), dt.time(16, 0), D(2024, 1, 11)),
])
def test_fixing_rule_across_the_new_year_holidays(day, time, expected):
    assert timing.fixing_t0(NEW_YEAR, day, time) == pd.Timestamp(expected)


def test_no_row_yet_gives_none():
    assert timing.fixing_t0(WEEK, D(2023, 8, 17)) is None
    assert timing.close_t0(pd.bdate_range("2023-08-01", "2023-08-15"), D(2023, 8, 16)) is None


def test_time_zones_convert_to_moscow():
    # Camp David, 11:30 EDT on Fri 18 Aug 2023 = 18:30 Moscow
    assert timing.moscow_day(D(2023, 8, 18), dt.time(11, 30), "America/New_York") == (D(2023, 8, 18), dt.time(18, 30))
    # 01:00 in Beijing on 16 Aug is 20:00 in Moscow on 15 Aug
    assert timing.moscow_day(D(2023, 8, 16), dt.time(1, 0), "Asia/Shanghai") == (D(2023, 8, 15), dt.time(20, 0))
    fixings = pd.to_datetime(["2023-08-18", "2023-08-19", "2023-08-22", "2023-08-23"])
    assert timing.fixing_t0(fixings, D(2023, 8, 18), dt.time(11, 30), "America/New_York") == pd.Timestamp("2023-08-22")


def test_close_rule_for_the_stress_index():
    bdays = pd.bdate_range("2023-08-07", "2023-08-25")
    assert timing.close_t0(bdays, D(2023, 8, 15)) == pd.Timestamp("2023-08-15")          # same day
    assert timing.close_t0(bdays, D(2023, 8, 15), dt.time(18, 0)) == pd.Timestamp("2023-08-15")
    assert timing.close_t0(bdays, D(2023, 8, 15), dt.time(19, 30)) == pd.Timestamp("2023-08-16")
    assert timing.close_t0(bdays, D(2023, 8, 19)) == pd.Timestamp("2023-08-21")          # Saturday -> Monday
    assert timing.close_t0(bdays, D(2023, 8, 18), dt.time(11, 30), "America/New_York") == pd.Timestamp("2023-08-18")
    # late Friday -> Monday
    assert timing.close_t0(bdays, D(2023, 8, 18), dt.time(20, 0)) == pd.Timestamp("2023-08-21")


def test_rule_on_the_real_cbr_calendar():
    path = shared_path("data", "real", "fx", "cbr_usd_eur_cny_rub_2021_2026.csv")
    df = pd.read_csv(path)
    usd = df[df["currency"] == "USD"]
    cal = pd.DatetimeIndex(pd.to_datetime(usd["date"]))
    assert not (cal.day_of_week.isin([6, 0]) & (cal >= "2023-08-01") & (cal <= "2023-08-31")).any()
    assert timing.fixing_t0(cal, D(2023, 8, 15)) == pd.Timestamp("2023-08-16")
    assert timing.fixing_t0(cal, D(2023, 8, 12)) == pd.Timestamp("2023-08-15")
    first_2024 = cal[cal >= "2024-01-01"][0]
    assert timing.fixing_t0(cal, D(2024, 1, 3)) == first_2024
    assert first_2024 > pd.Timestamp("2024-01-08")


def test_statement_before_the_data_or_in_a_gap_has_no_t0():
    bdays = pd.bdate_range("2021-01-04", "2021-03-31")
    assert timing.close_t0(bdays, D(2014, 5, 21)) is None
    assert timing.fixing_t0(bdays, D(2020, 12, 1)) is None
    assert timing.close_t0(bdays, D(2021, 1, 1)) == pd.Timestamp("2021-01-04")  # just before: covered
    gap = bdays[(bdays < "2021-02-01") | (bdays > "2021-03-01")]
    assert timing.close_t0(gap, D(2021, 2, 3)) is None
