"""The daily append: when a compute as of D may start from the state the last compute stored, and
from which day it must recompute.

The stored state (`store.compute_state`) holds, for every business day of the grid up to its
as-of date P, the index's raw measures, segment scores and published index (`History`). A
compute as of D ≥ P appends to it when all of this holds, checked every run:

* the fingerprint is unchanged: the source of the indicator and compute modules, the
  `[compute]` settings, the meeting schedule and the input series (with their publication lags);
* no input rows were deleted since that compute began (`reparse` deletes a source and writes it
  again with the original fetch times, so only the deletion record tells);
* the earliest "news" — an input row written since that compute began (`fetched_at`, which a
  revision in place also sets), or known after P — lies within the recomputable window: the
  compute reads each input from as far before the first recomputed day as the indicators that
  read it look back (`compute.inputs.read_windows`), which must not reach back before the grid.

It then recomputes the days from C0 = the earlier of the first news and P − `CHECK_BDAYS` + 1
(the recomputed tail, compared with what is stored) to D, ranking them against the stored days
before C0. Where a recomputed day differs from the stored one the derived series get a revision
(a vintage known from D), exactly as a full recompute would write it; where nothing differs
the history did not change and only the new days are written (`revised_days` = 0). Otherwise —
no state, another fingerprint, a deletion, news too far back, or D before P — the compute runs
over the whole grid ("full"), and stores its state unless a later one exists.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from stresswatch.compute.inputs import INPUT_PREFIXES, needed_series, read_windows
from stresswatch.indicators.calendar import business_grid
from stresswatch.indicators.composite import History
from stresswatch.indicators.rates import meetings_path
from stresswatch.settings import Settings, shipped_text
from stresswatch.store import Store
from stresswatch.store.compute_state import StoredState

#: bump when the meaning of the stored arrays changes
STATE_VERSION = 1
#: stored days recomputed and compared every run (the longest carry-forward of a closed exchange)
CHECK_BDAYS = 25
#: packages whose source is part of the fingerprint
FINGERPRINTED = ("stresswatch.indicators", "stresswatch.compute")


@dataclass
class Plan:
    """How one compute runs: over the whole grid ("full") or from `block_start` after the stored
    `history` ("append"), reading `series` (each from its `read_from` date, else all of it)."""

    mode: str
    reason: str
    series: list[str]
    grid_start: pd.Timestamp
    block_start: pd.Timestamp
    fingerprint: str
    history: History | None = None
    #: per series, the first date read (absent: all of it)
    read_from: dict[str, dt.date] = field(default_factory=dict)
    save: bool = True
    stored_asof: dt.date | None = None
    #: the stored arrays of the recomputed days before D (to count revisions)
    stored_tail: dict[str, np.ndarray] = field(default_factory=dict)


def grid_start(settings: Settings) -> pd.Timestamp:
    return pd.Timestamp(settings["compute"]["start"]) + pd.offsets.BDay(0)


def fingerprint(settings: Settings, lags: dict[str, int]) -> str:
    """What produced a state: module sources, [compute] settings, meetings, input series."""
    h = hashlib.sha256(f"state {STATE_VERSION}\n".encode())
    for package in FINGERPRINTED:
        for f in sorted(resources.files(package).iterdir(), key=lambda f: f.name):
            if f.name.endswith(".py"):
                h.update(f.name.encode() + b"\n" + f.read_bytes())
    cfg = settings["compute"]
    h.update(json.dumps({k: str(v) for k, v in sorted(cfg.items())}, sort_keys=True).encode())
    path = meetings_path(settings)
    try:
        h.update(Path(path).read_bytes() if path is not None else shipped_text("cbr_meetings.toml").encode())
    except OSError:
        h.update(b"meetings unreadable")
    h.update(json.dumps(sorted(lags.items())).encode())
    return h.hexdigest()


def plan(store: Store, settings: Settings, asof: dt.date) -> Plan:
    """Decide how the compute as of `asof` runs (see the module docstring)."""
    lags = store.observations.series_lags(INPUT_PREFIXES)
    series = needed_series(lags)
    fp = fingerprint(settings, {sid: lags[sid] for sid in series})
    start = grid_start(settings)
    stored = store.compute_state.load()

    def full(reason: str, save: bool = True) -> Plan:
        return Plan("full", reason, series, start, start, fp, save=save,
                    stored_asof=stored.asof if stored is not None else None)

    if stored is None:
        return full("no stored state")
    if stored.asof > asof:
        return full(f"the stored state is as of a later date ({stored.asof})", save=False)
    if stored.fingerprint != fp or stored.grid_start != start.date():
        return full("code, settings or input series changed since the stored state")
    last = pd.Timestamp(stored.asof)
    days = business_grid(start, last)
    if any(len(a) != len(days) for a in stored.arrays.values()) or "index" not in stored.arrays:
        return full("the stored state is incomplete")
    sources = {info["source"] for sid in series if (info := store.observations.series_info(sid))}
    deleted = [s for s in store.observations.deletions_since(stored.started_at) if s in sources]
    if deleted:
        return full(f"observations of {', '.join(deleted)} were deleted since the stored state")
    news = store.observations.input_news(series, stored.started_at, stored.asof, asof)
    check = days[-CHECK_BDAYS] if len(days) >= CHECK_BDAYS else start
    c0 = min([check] + [pd.Timestamp(d) + pd.offsets.BDay(0) for d in news.values()])
    c0 = max(c0, start)
    windows = read_windows(series, c0)
    if not windows or min(windows.values()) <= start.date():
        return full(f"recomputing from {c0.date()} needs inputs from the start of the grid")
    pos = int(days.searchsorted(c0))
    history = to_history(stored.arrays, pos)
    tail = {name: a[pos:] for name, a in stored.arrays.items()}
    reason = "no news before the checked tail" if c0 == check else f"news from {c0.date()}"
    return Plan("append", reason, series, start, c0, fp, history=history, read_from=windows,
                stored_asof=stored.asof, stored_tail=tail)


# ---------------------------------------------------------------------------------------------
# History <-> stored arrays
# ---------------------------------------------------------------------------------------------
def to_history(arrays: dict[str, np.ndarray], length: int) -> History:
    """The history of the first `length` grid days from the stored arrays."""
    h = History(length=length, index=arrays["index"][:length].copy())
    for name, values in arrays.items():
        kind, _, key = name.partition(":")
        group = {"measure": h.measures, "beside": h.beside, "segment": h.segments}.get(kind)
        if group is not None:
            group[key] = values[:length].copy()
    return h


def to_arrays(history: History) -> dict[str, np.ndarray]:
    out = {f"measure:{k}": v for k, v in history.measures.items()}
    out.update({f"beside:{k}": v for k, v in history.beside.items()})
    out.update({f"segment:{k}": v for k, v in history.segments.items()})
    out["index"] = history.index
    return out


def stored_state(p: Plan, history: History, asof: dt.date, started_at: str) -> StoredState:
    """The state to store after computing as of `asof`."""
    return StoredState(asof, p.grid_start.date(), p.fingerprint, started_at, to_arrays(history))


def revised_days(p: Plan, history: History) -> int:
    """Stored days (before D) whose recomputed index, segments or measures differ from the stored
    ones: 0 when the history did not change (the proof that appending was enough)."""
    if p.mode != "append" or not p.stored_tail:
        return 0
    now = to_arrays(history)
    n = len(p.stored_tail.get("index", []))
    differs = np.zeros(n, dtype=bool)
    for name, old in p.stored_tail.items():
        new = now.get(name)
        new = new[p.history.length:p.history.length + n] if new is not None else np.full(n, np.nan)
        both = ~np.isnan(old) & ~np.isnan(new)
        differs |= (np.isnan(old) != np.isnan(new)) | (both & ~np.isclose(old, new, rtol=1e-9, atol=1e-12))
    return int(differs.sum())
