"""The event study, as pure functions of pandas/numpy inputs (no store, no I/O).

For a statement with event day t0 (position t on the index calendar, see timing.py) and half-width k:

* change over [a, b] (days relative to t0) = I[t+b] - I[t+a-1] (the sum of daily changes);
  d_index(k) = change over [-k, +k]; pre-trend(k) = change over [-k, -1]; post(k) = [+1, +k].
* abnormal(k) = I[t+k] - forecast, where the forecast iterates an AR(1) `I_s = c + phi I_{s-1}`
  2k+1 steps from I[t-k-1]; c and phi are OLS estimates on the `estimation_window` pairs ending at
  t-k-1-gap, i.e. before the event window opens.
* car_rub(k) = sum over [-k, +k] of r - mean(r over the estimation window), r = 100 * log return of
  RUB per USD on the CBR calendar (positive = ruble weaker); the window ends at least 10 rows
  before t0 (mean-adjusted normal model).
* placebo p-value: B days drawn (seeded, with replacement) from the index calendar, matched on the
  regime bucket (filtered P(stress) < 0.5 / >= 0.5 at the day) and the weekday of t0, never within
  k+5 rows of any statement or confounder; p = (1 + #{|S_placebo| >= |S_obs|}) / (B + 1) with
  S = abnormal(k). Benjamini-Hochberg q-values across the catalogue.
* aggregates (per tag, all, all clean): the mean of S over the group's statements against the
  means of their matched placebo draws, with the same p formula.

Everything per position is computed once for the whole calendar with cumulative sums, so a
statement and its 5,000 placebos are array lookups. `reference_abnormal` and `loop_study` are the
plain one-at-a-time versions used by the tests and the benchmark.
"""

from __future__ import annotations

import datetime as dt
import zlib
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from stresswatch.events import timing
from stresswatch.regimes.spec import REGIME_NAMES, most_likely

HORIZONS = (1, 5, 10)


@dataclass(frozen=True)
class StudyConfig:
    k: int = 5
    horizons: tuple[int, ...] = HORIZONS
    placebos: int = 5000
    seed: int = 20230815
    estimation_window: int = 250
    gap: int = 0  # rows between the estimation window and the event window (index)
    fx_gap: int = 10  # the ruble estimation window ends at least this many rows before t0
    exclusion_extra: int = 5  # placebos stay k + this many rows away from statements/confounders
    buckets: tuple[float, ...] = (0.5,)  # P(stress) bucket edges for matching
    min_pool: int = 30  # below this, matching relaxes (regime only, then none)


@dataclass
class StudyResult:
    statements: pd.DataFrame  # one row per statement, catalogue order
    aggregates: pd.DataFrame  # one row per group (all, clean, tag:<t>)
    placebo_positions: np.ndarray = field(repr=False, default_factory=lambda: np.empty((0, 0), int))
    calendar: pd.DatetimeIndex | None = None
    statistic: str = "abnormal"
    values: np.ndarray | None = field(repr=False, default=None)  # the primary series
    stat: np.ndarray | None = field(repr=False, default=None)  # S at every calendar position
    t0: np.ndarray | None = field(repr=False, default=None)  # statement positions (-1 = none)
    valid: np.ndarray | None = field(repr=False, default=None)  # placebo-eligible positions
    bucket: np.ndarray | None = field(repr=False, default=None)
    weekday: np.ndarray | None = field(repr=False, default=None)


# ---------------------------------------------------------------------------------------------
# Per-position statistics (vectorised over the whole calendar)
# ---------------------------------------------------------------------------------------------
def _csum(a: np.ndarray) -> np.ndarray:
    out = np.zeros(len(a) + 1)
    np.cumsum(a, out=out[1:])
    return out


def window_change(values: np.ndarray, a: int, b: int) -> np.ndarray:
    """Change over [a, b] relative to each position: I[t+b] - I[t+a-1] (NaN where out of range)."""
    v = np.asarray(values, dtype=float)
    n = len(v)
    out = np.full(n, np.nan)
    t = np.arange(n)
    lo, hi = t + a - 1, t + b
    ok = (lo >= 0) & (hi < n)
    out[ok] = v[hi[ok]] - v[lo[ok]]
    return out


def ar1_abnormal(values: np.ndarray, k: int, L: int, gap: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(expected change, abnormal change) over [-k, +k] at every position, AR(1) normal model."""
    v = np.asarray(values, dtype=float)
    n = len(v)
    expected = np.full(n, np.nan)
    abnormal = np.full(n, np.nan)
    if n < L + 2 * k + 3:
        return expected, abnormal
    mu = float(np.nanmean(v))
    z = v - mu  # centring keeps the cumulative sums well conditioned
    x, y = z[:-1], z[1:]  # pair j (1..n-1): x = z[j-1], y = z[j]; stored at index j-1
    cx, cy, cxx, cxy = _csum(x), _csum(y), _csum(x * x), _csum(x * y)
    t = np.arange(n)
    origin = t - k - 1  # forecast origin (last level before the event window)
    last_pair = origin - gap  # last pair index j used in the fit
    first_pair = last_pair - L + 1
    end = t + k
    ok = (first_pair >= 1) & (end < n)
    tt = t[ok]
    lo, hi = first_pair[ok] - 1, last_pair[ok]  # pair j sits at x/y index j-1 -> slice [lo, hi)
    sx, sy = cx[hi] - cx[lo], cy[hi] - cy[lo]
    sxx, sxy = cxx[hi] - cxx[lo], cxy[hi] - cxy[lo]
    den = L * sxx - sx * sx
    with np.errstate(divide="ignore", invalid="ignore"):
        phi = np.where(np.abs(den) > 1e-12 * np.maximum(1.0, L * sxx), (L * sxy - sx * sy) / den, 0.0)
        c = (sy - phi * sx) / L
        H = 2 * k + 1
        phiH = phi ** H
        geo = np.where(np.abs(1.0 - phi) > 1e-10, (1.0 - phiH) / (1.0 - phi), float(H))
    z0 = z[origin[ok]]
    forecast = c * geo + phiH * z0
    expected[tt] = forecast - z0
    abnormal[tt] = z[end[ok]] - forecast
    return expected, abnormal


def reference_abnormal(values: np.ndarray, t: int, k: int, L: int, gap: int = 0) -> float:
    """abnormal(k) at one position by a plain least-squares fit (the definition; for tests)."""
    v = np.asarray(values, dtype=float)
    origin = t - k - 1
    last = origin - gap
    first = last - L + 1
    if first < 1 or t + k >= len(v):
        return float("nan")
    y = v[first:last + 1]
    x = v[first - 1:last]
    X = np.column_stack([np.ones(L), x])
    (c, phi), *_ = np.linalg.lstsq(X, y, rcond=None)
    level = v[origin]
    for _ in range(2 * k + 1):
        level = c + phi * level
    return float(v[t + k] - level)


def car_all(fx: np.ndarray, k: int, L: int, gap: int = 10) -> np.ndarray:
    """Cumulative abnormal log return (%, RUB per USD up = positive) over [-k, +k] at every position
    of the fixing calendar; mean-adjusted model from L returns ending max(k, gap) + 1 rows before."""
    f = np.asarray(fx, dtype=float)
    n = len(f)
    out = np.full(n, np.nan)
    if n < 3:
        return out
    r = np.full(n, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        r[1:] = 100.0 * np.diff(np.log(f))
    cr = _csum(np.nan_to_num(r))
    t = np.arange(n)
    est_end = t - max(k, gap) - 1
    est_start = est_end - L + 1
    ok = (est_start >= 1) & (t + k < n) & (t - k >= 1)
    tt = t[ok]
    window = cr[tt + k + 1] - cr[tt - k]
    mean = (cr[est_end[ok] + 1] - cr[est_start[ok]]) / L
    out[tt] = window - (2 * k + 1) * mean
    return out


def recursive_percentile(values: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Share of the history up to and including each position that is <= the value there."""
    v = np.asarray(values, dtype=float)
    out = np.full(len(positions), np.nan)
    for i, p in enumerate(positions):
        if 0 <= p < len(v) and np.isfinite(v[p]):
            hist = v[:p + 1]
            hist = hist[np.isfinite(hist)]
            out[i] = float(np.mean(hist <= v[p]))
    return out


def bh_qvalues(p: Sequence[float]) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (NaN stays NaN; computed over the finite ones)."""
    p = np.asarray(p, dtype=float)
    q = np.full(len(p), np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    m = len(ok)
    if m == 0:
        return q
    order = ok[np.argsort(p[ok], kind="stable")]
    ranked = p[order] * m / np.arange(1, m + 1)
    # q >= p holds exactly; p * m / m can round one ulp below p, so say it explicitly
    q[order] = np.maximum(p[order], np.minimum(1.0, np.minimum.accumulate(ranked[::-1])[::-1]))
    return q


# ---------------------------------------------------------------------------------------------
# Placebos
# ---------------------------------------------------------------------------------------------
def statement_rng(seed: int, sid: str) -> np.random.Generator:
    """A generator that depends on the seed and the statement id only (not on catalogue order)."""
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, zlib.crc32(sid.encode("utf-8"))])


def exclusion_mask(n: int, spans: Iterable[tuple[int, int]], radius: int) -> np.ndarray:
    """True at positions within `radius` rows of any [start, end] span."""
    diff = np.zeros(n + 1, dtype=np.int64)
    for a, b in spans:
        if b < 0 or a >= n:
            continue
        lo, hi = max(0, a - radius), min(n - 1, b + radius)
        if lo <= hi:
            diff[lo] += 1
            diff[hi + 1] -= 1
    return np.cumsum(diff[:-1]) > 0


def regime_buckets(p_filtered: np.ndarray, edges: Sequence[float]) -> np.ndarray:
    p = np.asarray(p_filtered, dtype=float)
    b = np.digitize(np.nan_to_num(p, nan=0.0), np.asarray(edges, dtype=float))
    return np.where(np.isfinite(p), b, -1)


def matched_pool(valid: np.ndarray, bucket: np.ndarray, weekday: np.ndarray, b: int, w: int,
                 min_pool: int) -> tuple[np.ndarray, str]:
    """Placebo candidates matched on regime bucket and weekday; relaxes when too few remain."""
    for level, mask in (("regime+weekday", valid & (bucket == b) & (weekday == w)),
                        ("regime", valid & (bucket == b)),
                        ("none", valid)):
        pool = np.flatnonzero(mask)
        if len(pool) >= min_pool or level == "none":
            return pool, level
    raise AssertionError("unreachable")


def placebo_draws(ids: Sequence[str], t0: np.ndarray, stat: np.ndarray, valid: np.ndarray, bucket: np.ndarray,
                  weekday: np.ndarray, B: int, seed: int, min_pool: int) -> tuple[np.ndarray, list[str], list[int]]:
    """(positions n x B, match level per statement, pool size per statement); rows of -1 where the
    statement has no statistic or no pool."""
    draws = np.full((len(ids), B), -1, dtype=np.int64)
    levels, sizes = [], []
    cache: dict[tuple[int, int], tuple[np.ndarray, str]] = {}
    for i, (sid, t) in enumerate(zip(ids, t0)):
        if t < 0 or not np.isfinite(stat[t]):
            levels.append("")
            sizes.append(0)
            continue
        key = (int(bucket[t]), int(weekday[t]))
        if key not in cache:
            cache[key] = matched_pool(valid, bucket, weekday, key[0], key[1], min_pool)
        pool, level = cache[key]
        levels.append(level)
        sizes.append(len(pool))
        if len(pool):
            draws[i] = pool[statement_rng(seed, sid).integers(0, len(pool), size=B)]
    return draws, levels, sizes


def placebo_pvalues(stat: np.ndarray, t0: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """p = (1 + #{|S_placebo| >= |S_obs|}) / (B + 1) per statement (NaN without draws)."""
    B = draws.shape[1]
    p = np.full(len(t0), np.nan)
    ok = (t0 >= 0) & (draws[:, 0] >= 0) if B else np.zeros(len(t0), bool)
    if not ok.any():
        return p
    obs = np.abs(stat[t0[ok]])[:, None]
    plc = np.abs(stat[draws[ok]])
    p[ok] = (1.0 + np.sum(plc >= obs - 1e-12 * np.maximum(1.0, obs), axis=1)) / (B + 1.0)
    return p


def group_pvalue(stat: np.ndarray, t0: np.ndarray, draws: np.ndarray, members: np.ndarray) -> tuple[float, float, int]:
    """(mean S over the members, placebo p of that mean, members used)."""
    m = members[(t0[members] >= 0) & (draws[members, 0] >= 0)] if len(members) else members
    if len(m) == 0:
        return float("nan"), float("nan"), 0
    obs = float(np.mean(stat[t0[m]]))
    means = stat[draws[m]].mean(axis=0)
    B = draws.shape[1]
    p = (1.0 + np.sum(np.abs(means) >= abs(obs) - 1e-12 * max(1.0, abs(obs)))) / (B + 1.0)
    return obs, float(p), int(len(m))


# ---------------------------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------------------------
def events_frame(statements: Iterable[Any]) -> pd.DataFrame:
    """Statements (catalogue.Statement or dicts with id, date, time, tz, tags, speaker,
    key_phrase) -> DataFrame with the Moscow day and time of each."""
    rows = []
    for s in statements:
        get = (lambda k, d=None: s.get(k, d)) if isinstance(s, Mapping) else (lambda k, d=None: getattr(s, k, d))
        date = get("date")
        date = pd.Timestamp(date).date() if not isinstance(date, dt.date) or isinstance(date, dt.datetime) else date
        day, msk = timing.moscow_day(date, get("time"), get("tz") or "Europe/Moscow")
        rows.append({"id": get("id"), "date": date, "day": day, "msk_time": msk, "tags": tuple(get("tags") or ()),
                     "speaker": get("speaker", ""), "key_phrase": get("key_phrase", "")})
    return pd.DataFrame(rows, columns=["id", "date", "day", "msk_time", "tags", "speaker", "key_phrase"])


def confounder_frame(confounders: Iterable[Any]) -> pd.DataFrame:
    rows = []
    for c in confounders:
        get = (lambda k, d=None: c.get(k, d)) if isinstance(c, Mapping) else (lambda k, d=None: getattr(c, k, d))
        start = get("start") or get("date")
        end = get("end") or start
        rows.append({"id": get("id"), "start": pd.Timestamp(start).date(), "end": pd.Timestamp(end).date(),
                     "kind": get("kind", ""), "extraordinary": bool(get("extraordinary", False))})
    return pd.DataFrame(rows, columns=["id", "start", "end", "kind", "extraordinary"])


def _map(calendar: pd.DatetimeIndex, days: Sequence[dt.date], times: Sequence[Any] | None, rule: str) -> np.ndarray:
    if rule == "fixing":
        return timing.fixing_positions(calendar, days, times)
    return timing.close_positions(calendar, days, times)


# ---------------------------------------------------------------------------------------------
# The study
# ---------------------------------------------------------------------------------------------
def run_study(statements: Iterable[Any], *, index: pd.Series | None = None, fx: pd.Series | None = None,
              probabilities: pd.DataFrame | None = None, confounders: Iterable[Any] = (),
              config: StudyConfig = StudyConfig()) -> StudyResult:
    """Align statements with the stress index, the ruble and regime probabilities.

    index: daily stress index (DatetimeIndex). fx: RUB per USD on the CBR calendar. probabilities:
    DataFrame indexed by date with p_stress_filtered, p_stress_smoothed and optionally regime /
    p_filtered_<i> columns. When `index` is empty the ruble CAR on the CBR calendar is the test
    statistic and t0 is the CBR t0. Deterministic given config.seed."""
    ev = events_frame(statements)
    cf = confounder_frame(confounders)
    k, L = config.k, config.estimation_window
    horizons = tuple(sorted(set(config.horizons) | {k}))
    index = index.dropna().sort_index() if index is not None else pd.Series(dtype=float)
    fx = fx.dropna().sort_index() if fx is not None else pd.Series(dtype=float)
    fx = fx[fx > 0]
    use_index = len(index) > 0
    primary = index if use_index else fx
    rule = "close" if use_index else "fixing"
    cal = pd.DatetimeIndex(primary.index).normalize()
    n = len(cal)
    days = list(ev["day"])
    times = list(ev["msk_time"])
    t0 = _map(cal, days, times, rule) if n else np.full(len(ev), -1)

    # per-position statistics on the primary calendar
    out: dict[str, Any] = {}
    values = primary.to_numpy(dtype=float)
    for h in horizons:
        if use_index:
            out[f"d_index_{h}"] = window_change(values, -h, h)
            out[f"pre_{h}"] = window_change(values, -h, -1)
            out[f"post_{h}"] = window_change(values, 1, h)
            out[f"abnormal_{h}"] = ar1_abnormal(values, h, L, config.gap)[1]
    fx_pos = timing.fixing_positions(fx.index, days, times) if len(fx) else np.full(len(ev), -1)
    fx_vals = fx.to_numpy(dtype=float)
    car = {h: car_all(fx_vals, h, L, config.fx_gap) for h in horizons}
    stat = out[f"abnormal_{k}"] if use_index else (car[k] if len(fx) else np.zeros(0))

    # regime probabilities as of each calendar day
    p_filt = np.full(n, np.nan)
    p_smooth = np.full(n, np.nan)
    regime = np.full(n, None, dtype=object)
    if probabilities is not None and len(probabilities) and n:
        pr = probabilities.sort_index()
        pos = timing.asof_positions(pr.index, cal)
        have = pos >= 0
        if "p_stress_filtered" in pr:
            p_filt[have] = pr["p_stress_filtered"].to_numpy(dtype=float)[pos[have]]
        if "p_stress_smoothed" in pr:
            p_smooth[have] = pr["p_stress_smoothed"].to_numpy(dtype=float)[pos[have]]
        regime[have] = _regime_labels(pr)[pos[have]]

    # confounders on the primary calendar, and the placebo exclusion
    c_start = _map(cal, list(cf["start"]), None, rule) if n and len(cf) else np.zeros(0, int)
    c_end = _map(cal, list(cf["end"]), None, rule) if n and len(cf) else np.zeros(0, int)
    c_end = np.where(c_end < 0, n - 1, c_end)
    in_range = np.array([(c_start[i] >= 0) and (pd.Timestamp(cf["end"].iloc[i]) >= cal[0]) for i in range(len(cf))],
                        dtype=bool) if n else np.zeros(len(cf), bool)
    spans = [(int(t), int(t)) for t in t0 if t >= 0]
    spans += [(int(a), int(b)) for a, b, ok in zip(c_start, c_end, in_range) if ok]
    valid = np.zeros(n, bool)
    if n:
        valid = ~exclusion_mask(n, spans, k + config.exclusion_extra) & np.isfinite(stat)
    bucket = regime_buckets(p_filt, config.buckets)
    weekday = cal.day_of_week.to_numpy() if n else np.zeros(0, int)
    ids = list(ev["id"])
    draws, levels, sizes = placebo_draws(ids, t0, stat, valid, bucket, weekday, config.placebos, config.seed,
                                         config.min_pool) if n else (np.full((len(ev), config.placebos), -1),
                                                                     [""] * len(ev), [0] * len(ev))
    pvals = placebo_pvalues(stat, t0, draws) if n else np.full(len(ev), np.nan)
    qvals = bh_qvalues(pvals)

    # confounded flags (by position; by business days when t0 is not in the data yet)
    conf_lists: list[list[str]] = []
    for i in range(len(ev)):
        names = []
        for j in range(len(cf)):
            if t0[i] >= 0 and in_range[j]:
                hit = c_start[j] - k <= t0[i] <= c_end[j] + k
            else:
                d = np.datetime64(ev["day"].iloc[i], "D")
                a, b = np.datetime64(cf["start"].iloc[j], "D"), np.datetime64(cf["end"].iloc[j], "D")
                if a <= d <= b:
                    hit = True
                else:
                    gap_days = np.busday_count(d, a) if d < a else np.busday_count(b, d)
                    hit = abs(int(gap_days)) <= k
            if hit:
                names.append(str(cf["id"].iloc[j]))
        conf_lists.append(names)

    pct = recursive_percentile(values, t0) if use_index else np.full(len(ev), np.nan)
    rows = []
    for i in range(len(ev)):
        t = int(t0[i])
        u = int(fx_pos[i])
        row: dict[str, Any] = {
            "id": ids[i], "date": ev["date"].iloc[i], "t0": cal[t].date() if t >= 0 else None,
            "t0_fx": pd.Timestamp(fx.index[u]).date() if u >= 0 else None,
            "speaker": ev["speaker"].iloc[i], "key_phrase": ev["key_phrase"].iloc[i],
            "tags": ",".join(ev["tags"].iloc[i]),
            "regime": regime[t] if t >= 0 else None,
            "p_stress_filtered": p_filt[t] if t >= 0 else np.nan,
            "p_stress_smoothed": p_smooth[t] if t >= 0 else np.nan,
            "index": values[t] if (t >= 0 and use_index) else np.nan,
            "index_percentile": pct[i],
        }
        for h in horizons:
            for name in ("d_index", "abnormal", "pre", "post"):
                arr = out.get(f"{name}_{h}")
                row[f"{name}_{h}"] = arr[t] if (arr is not None and t >= 0) else np.nan
            row[f"car_rub_{h}"] = car[h][u] if u >= 0 else np.nan
        row.update({
            "d_index": row[f"d_index_{k}"], "abnormal": row[f"abnormal_{k}"], "pre_trend": row[f"pre_{k}"],
            "car_rub": row[f"car_rub_{k}"], "statistic": float(stat[t]) if t >= 0 else np.nan,
            "p_value": pvals[i], "q_value": qvals[i], "confounded": bool(conf_lists[i]),
            "confounders": ",".join(conf_lists[i]), "match": levels[i], "pool": sizes[i],
        })
        rows.append(row)
    table = pd.DataFrame(rows)

    # aggregates
    groups: list[tuple[str, np.ndarray]] = [("all", np.arange(len(ev))),
                                            ("clean", np.flatnonzero(~table["confounded"].to_numpy(bool)) if len(ev)
                                             else np.zeros(0, int))]
    for tag in sorted({t for tags in ev["tags"] for t in tags}):
        groups.append((f"tag:{tag}", np.flatnonzero([tag in tags for tags in ev["tags"]])))
    agg_rows = []
    for name, members in groups:
        if n and len(members):
            mean, p, used = group_pvalue(stat, t0, draws, members)
        else:
            mean, p, used = float("nan"), float("nan"), 0
        sub = table.iloc[members] if len(members) else table.iloc[0:0]
        agg_rows.append({"group": name, "n": int(len(members)), "n_used": used, "mean_abnormal": mean,
                         "mean_d_index": float(sub["d_index"].mean()) if len(sub) else np.nan,
                         "mean_car_rub": float(sub["car_rub"].mean()) if len(sub) else np.nan,
                         "confounded": int(sub["confounded"].sum()) if len(sub) else 0, "p_value": p})
    return StudyResult(table, pd.DataFrame(agg_rows), draws, cal, "abnormal" if use_index else "car_rub",
                       values=values, stat=stat, t0=t0, valid=valid, bucket=bucket, weekday=weekday)


def _regime_labels(pr: pd.DataFrame) -> np.ndarray:
    """Regime per row: the frame's `regime` column (the regime read model's labelling rule) when
    present; else that same rule -- most likely by *filtered* probability -- on p_filtered_<i>
    columns; else stress/calm by p_stress_filtered >= 0.5."""
    if "regime" in pr:
        return pr["regime"].to_numpy(dtype=object)
    cols = sorted((c for c in pr.columns if c.startswith("p_filtered_") and c[len("p_filtered_"):].isdigit()),
                  key=lambda c: int(c[len("p_filtered_"):]))
    if cols:
        names = REGIME_NAMES.get(len(cols), tuple(f"r{i}" for i in range(len(cols))))
        m = pr[cols].to_numpy(dtype=float)
        lab = np.full(len(pr), None, dtype=object)
        ok = np.isfinite(m).all(axis=1)
        lab[ok] = np.array(names, dtype=object)[most_likely(m[ok])]
        return lab
    p = pr.get("p_stress_filtered")
    if p is None:
        return np.full(len(pr), None, dtype=object)
    p = p.to_numpy(dtype=float)
    return np.where(np.isfinite(p), np.where(p >= 0.5, "stress", "calm"), None).astype(object)


# ---------------------------------------------------------------------------------------------
# The one-at-a-time baseline (benchmark) - same definitions, no vectorisation
# ---------------------------------------------------------------------------------------------
def loop_study(values: np.ndarray, t0: Sequence[int], ids: Sequence[str], valid: np.ndarray, bucket: np.ndarray,
               weekday: np.ndarray, config: StudyConfig) -> np.ndarray:
    """p-values computed statement by statement, each placebo's AR(1) fitted on its own window."""
    k, L = config.k, config.estimation_window
    out = np.full(len(t0), np.nan)
    for i, (sid, t) in enumerate(zip(ids, t0)):
        if t < 0:
            continue
        obs = reference_abnormal(values, t, k, L, config.gap)
        if not np.isfinite(obs):
            continue
        pool, _ = matched_pool(valid, bucket, weekday, int(bucket[t]), int(weekday[t]), config.min_pool)
        draws = pool[statement_rng(config.seed, sid).integers(0, len(pool), size=config.placebos)]
        hits = 0
        for p in draws:
            s = reference_abnormal(values, int(p), k, L, config.gap)
            hits += abs(s) >= abs(obs) - 1e-12 * max(1.0, abs(obs))
        out[i] = (1.0 + hits) / (config.placebos + 1.0)
    return out
