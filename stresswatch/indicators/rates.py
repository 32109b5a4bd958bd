"""Policy-rate indicators: Bank of Russia key rate (`cbr.keyrate`, % per year, dated by the day it
takes effect), decision days, the extraordinary-decision flag, the spread to the US policy rate
and the key rate's rank among the BIS central banks (`bis.cbpol.*`).

The board's scheduled meeting dates are data (`config/cbr_meetings.toml`), read by
`load_meetings`; the classification itself (`extraordinary_flags`) is a pure function of the
key-rate series and a `MeetingSchedule`.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from stresswatch.errors import ConfigError
from stresswatch.settings import Settings, shipped_text
from stresswatch.indicators.registry import register
from stresswatch.indicators.calendar import to_business_days

KEYRATE = "cbr.keyrate"
BIS_PREFIX = "bis.cbpol."
US_RATE = "bis.cbpol.US"
BIS_RUSSIA = "bis.cbpol.RU"
EXTRAORDINARY_BP = 200.0


@dataclass(frozen=True)
class MeetingSchedule:
    """Scheduled board meetings (announcement dates), the last date the list is complete for, and
    how many calendar days after a meeting its decision may take effect."""

    scheduled: tuple[pd.Timestamp, ...]
    covered_until: pd.Timestamp
    max_effective_lag_days: int = 7
    extraordinary: tuple[pd.Timestamp, ...] = ()


def load_meetings(path: str | Path | None = None) -> MeetingSchedule:
    """Read the meeting schedule TOML (default: the shipped config/cbr_meetings.toml)."""
    try:
        if path is None:
            text = shipped_text("cbr_meetings.toml")
            where = "cbr_meetings.toml"
        else:
            text = Path(path).read_text("utf-8")
            where = str(path)
        data = tomllib.loads(text)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read the meeting schedule {path or 'cbr_meetings.toml'}: {exc}") from None
    try:
        dates = sorted(pd.Timestamp(d) for year in data["scheduled"].values() for d in year)
        covered = pd.Timestamp(data["covered_until"])
        lag = int(data.get("max_effective_lag_days", 7))
        extra = sorted(pd.Timestamp(k) for k in data.get("extraordinary", {}))
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: expected covered_until and [scheduled] lists of dates ({exc})") from None
    return MeetingSchedule(tuple(dates), covered, lag, tuple(extra))


def meetings_path(settings: Settings) -> Path | None:
    """The meeting schedule file named by `[compute] meetings` (None = the shipped one), for
    `load_meetings`: the one reading of that setting (compute and the key-rate alert use it)."""
    raw = settings["compute"].get("meetings", "")
    return Path(raw).expanduser() if raw else None


def policy_rate(keyrate: pd.Series, fallback: pd.Series | None = None) -> pd.Series:
    """Policy rate in % per year: the key rate where it exists; before its first date, the
    `fallback` (BIS policy rate for Russia = refinancing rate) when given. Reference-dated."""
    k = keyrate.dropna().sort_index()
    if fallback is None or fallback.dropna().empty:
        return k.rename("policy_rate")
    f = fallback.dropna().sort_index()
    if k.empty:
        return f.rename("policy_rate")
    else:
        f = f[f.index < k.index[0]]
    return pd.concat([f, k]).rename("policy_rate")


def keyrate_level(keyrate: pd.Series, end: pd.Timestamp | None = None) -> pd.Series:
    """Key rate in force on each business day, % per year (last value dated on or before it; a
    rate stays in force until changed, so the grid runs to `end`, the as-of date, when given)."""
    return to_business_days(keyrate, end=end).rename("keyrate")


def keyrate_change(keyrate: pd.Series, end: pd.Timestamp | None = None) -> pd.Series:
    """Change of the key rate on each business day, percentage points: i_t − i_{t−1}
    (nonzero only on the days a decision takes effect)."""
    return keyrate_level(keyrate, end).diff().rename("keyrate_change")


def decision_days(keyrate: pd.Series) -> pd.Series:
    """Key-rate changes, indexed by the day they took effect, in percentage points (only days with
    a change; holds are invisible in a rate series)."""
    s = keyrate.dropna().sort_index()
    d = s.diff()
    return d[d.fillna(0.0) != 0.0].rename("decision")


def extraordinary_flags(keyrate: pd.Series, schedule: MeetingSchedule,
                        threshold_bp: float = EXTRAORDINARY_BP) -> pd.Series:
    """1.0 for an extraordinary key-rate decision, 0.0 for a regular one, per decision day.

    Extraordinary = a change of `threshold_bp` (200 bp) or more, or a change that does not follow
    a scheduled meeting: its effective date E has no scheduled meeting M with
    M <= E <= M + max_effective_lag_days, or another change already took effect in (M, E).
    Changes after `schedule.covered_until` are judged by size only."""
    changes = decision_days(keyrate)
    meetings = np.array(schedule.scheduled, dtype="datetime64[ns]")
    out = []
    previous: pd.Timestamp | None = None
    for day, delta in changes.items():
        big = abs(delta) * 100.0 >= threshold_bp - 1e-9
        if day > schedule.covered_until:
            out.append(1.0 if big else 0.0)
            previous = day
            continue
        i = meetings.searchsorted(np.datetime64(day), side="right") - 1
        scheduled = False
        if i >= 0:
            m = pd.Timestamp(meetings[i])
            within = (day - m).days <= schedule.max_effective_lag_days
            consumed = previous is not None and m < previous < day
            scheduled = within and not consumed
        out.append(1.0 if (big or not scheduled) else 0.0)
        previous = day
    return pd.Series(out, index=changes.index, name="extraordinary", dtype=float)


def spread_to_us(keyrate: pd.Series, us_rate: pd.Series, end: pd.Timestamp | None = None) -> pd.Series:
    """Key rate minus the US policy rate, percentage points, on business days (each rate in force
    that day; the US rate is carried forward from its last observation)."""
    k = keyrate_level(keyrate, end)
    u = to_business_days(us_rate, end=k.index[-1] if len(k) else None).reindex(k.index).ffill()
    return (k - u).rename("spread_us")


def rank_among(keyrate: pd.Series, others: Mapping[str, pd.Series], max_stale_bdays: int = 70,
               end: pd.Timestamp | None = None) -> pd.Series:
    """Rank of the key rate among central-bank policy rates on each business day (1 = highest).

    Each other bank's rate is the value in force (carried forward at most `max_stale_bdays`
    business days, so monthly BIS values stay in for a month and dropped-out banks leave);
    rank = 1 + number of banks with a strictly higher rate. Russia's own BIS series is excluded."""
    k = keyrate_level(keyrate, end)
    if k.empty:
        return k.rename("rank")
    higher = pd.Series(0.0, index=k.index)
    for sid, s in others.items():
        if sid == BIS_RUSSIA or s.dropna().empty:
            continue
        o = to_business_days(s, end=k.index[-1], limit=max_stale_bdays).reindex(k.index)
        higher += (o > k).astype(float)
    return (1.0 + higher).where(k.notna()).rename("rank")


def _keyrate_only(func: Any) -> Any:
    def compute(inputs: Mapping[str, pd.Series], ctx: Mapping[str, Any]) -> pd.Series:
        return func(inputs[KEYRATE], end=ctx.get("end"))

    return compute


def _decisions(inputs: Mapping[str, pd.Series], ctx: Mapping[str, Any]) -> pd.Series:
    return decision_days(inputs[KEYRATE])


def _extraordinary(inputs: Mapping[str, pd.Series], ctx: Mapping[str, Any]) -> pd.Series:
    schedule = ctx.get("meetings") or load_meetings()
    return extraordinary_flags(inputs[KEYRATE], schedule)


def _spread(inputs: Mapping[str, pd.Series], ctx: Mapping[str, Any]) -> pd.Series:
    return spread_to_us(inputs[KEYRATE], inputs[US_RATE], end=ctx.get("end"))


def _rank(inputs: Mapping[str, pd.Series], ctx: Mapping[str, Any]) -> pd.Series:
    others = {k: v for k, v in inputs.items() if k.startswith(BIS_PREFIX)}
    return rank_among(inputs[KEYRATE], others, end=ctx.get("end"))


register("policy.keyrate", inputs=(KEYRATE,), unit="% per year", func=keyrate_level,
         compute=_keyrate_only(keyrate_level), family="policy", lookback=1)
register("policy.keyrate.change", inputs=(KEYRATE,), unit="percentage points", func=keyrate_change,
         compute=_keyrate_only(keyrate_change), family="policy", lookback=2)
register("policy.decisions", inputs=(KEYRATE,), unit="percentage points (change on effective day)",
         func=decision_days, compute=_decisions, family="policy", lookback=2, frequency="E")
register("policy.extraordinary", inputs=(KEYRATE,), unit="flag (1 = extraordinary)", func=extraordinary_flags,
         compute=_extraordinary, family="policy", lookback=2, frequency="E")
register("policy.spread_us", inputs=(KEYRATE, US_RATE), unit="percentage points", func=spread_to_us,
         compute=_spread, family="policy", lookback=1)
register("policy.rank", inputs=(KEYRATE, BIS_PREFIX + "*"), unit="rank (1 = highest rate)", func=rank_among,
         compute=_rank, family="policy", lookback=1)


def meeting_dates(schedule: MeetingSchedule, year: int) -> list[dt.date]:
    """Scheduled meetings of one year (for reports)."""
    return [d.date() for d in schedule.scheduled if d.year == year]


TIGHTENING_WINDOW = 250
CHANGE_HORIZON = 21


def tightening(policy: pd.Series, window: int = TIGHTENING_WINDOW, end: pd.Timestamp | None = None) -> pd.Series:
    """Policy tightening, percentage points: i_t − min(i over the last `window` business days,
    ~1 year). 0 while the rate is at or below its 1-year low; an emergency hike jumps at once."""
    i = to_business_days(policy, end=end)
    return (i - i.rolling(window, min_periods=1).min()).rename("tightening")


def change_abs(policy: pd.Series, horizon: int = CHANGE_HORIZON, end: pd.Timestamp | None = None) -> pd.Series:
    """Size of the policy-rate move over `horizon` business days (~1 month), percentage points:
    |i_t − i_{t−h}| (emergency cuts, as in spring 2022, count as much as hikes)."""
    i = to_business_days(policy, end=end)
    return (i - i.shift(horizon)).abs().rename("change_abs")


def _policy(func: Any) -> Any:
    def compute(inputs: Mapping[str, pd.Series], ctx: Mapping[str, Any]) -> pd.Series:
        keyrate = inputs.get(KEYRATE, pd.Series(dtype=float, index=pd.DatetimeIndex([])))
        return func(policy_rate(keyrate, inputs.get(BIS_RUSSIA)), end=ctx.get("end"))

    return compute


register("policy.tightening", inputs=(KEYRATE,), optional_inputs=(BIS_RUSSIA,), fallbacks=((BIS_RUSSIA, KEYRATE),),
         unit="percentage points",
         func=tightening, compute=_policy(tightening), family="policy", lookback=TIGHTENING_WINDOW)
register("policy.change_1m_abs", inputs=(KEYRATE,), optional_inputs=(BIS_RUSSIA,),
         fallbacks=((BIS_RUSSIA, KEYRATE),), unit="percentage points",
         func=change_abs, compute=_policy(change_abs), family="policy", lookback=CHANGE_HORIZON + 1)
