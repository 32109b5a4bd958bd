"""The daily append: when a compute as of D may start from the state the last compute stored, and
from which day it must recompute.

The stored state (`store.compute_state`) holds, for every business day of the grid up to its
as-of date P, the index's raw measures, segment scores and published index (`History`). A
compute as of D ≥ P appends to it when all of this holds, checked every run:

* the fingerprint is unchanged: the source of the indicator and compute modules, the
  `[compute]` settings, the meeting schedule and the input series (with their publication lags);
* every input row known by P that was not written after the state's compute began is still
  there as it was: per series, the number of rows known by P and the total of their values
  equal the stored digest, or the difference is explained by rows written since;
* the earliest "news" — a row written since that compute began, or known after P — lies
  within the recomputable window: the compute reads the inputs from `LOOKBACK_BDAYS` business
  days before the first recomputed day, which must not reach back before the grid.

It then recomputes the days from C0 = the earlier of the first news and P − `CHECK_BDAYS` + 1
(the recomputed tail, compared with what is stored) to D, ranking them against the stored days
before C0. Where a recomputed day differs from the stored one the derived series get a revision
(a vintage known from D), exactly as a full recompute would write it; where nothing differs
the history did not change and only the new days are written. Otherwise — no state, another
fingerprint, an unexplained change, news too far back, or D before P — the compute runs over the
whole grid ("full"), and stores its state unless a later one exists.
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

from stresswatch.compute.inputs import INPUT_PREFIXES, LOOKBACK_BDAYS, needed_series
from stresswatch.indicators.calendar import business_grid
from stresswatch.indicators.composite import History
from stresswatch.indicators.rates import meetings_path
from stresswatch.settings import Settings, shipped_text
from stresswatch.store import Store
from stresswatch.store.compute_state import InputDigest, StoredState
from stresswatch.store.observations import InputChanges

#: bump when the meaning of the stored arrays changes
STATE_VERSION = 1
#: stored days recomputed and compared every run (the longest carry-forward of a closed exchange)
CHECK_BDAYS = 25
#: packages whose source is part of the fingerprint
FINGERPRINTED = ("stresswatch.indicators", "stresswatch.compute")


@dataclass
class Plan:
    """How one compute runs: over the whole grid ("full") or from `block_start` after the stored
    `history` ("append"), reading `series` from `read_from` (None = all of it)."""

    mode: str
    reason: str
    series: list[str]
    grid_start: pd.Timestamp
    block_start: pd.Timestamp
    fingerprint: str
    changes: dict[str, InputChanges]
    history: History | None = None
    read_from: dt.date | None = None
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
    since = stored.started_at if stored is not None else ""
    known_after = stored.asof if stored is not None and stored.asof <= asof else asof
    changes = store.observations.input_changes(series, since, known_after, asof)

    def full(reason: str, save: bool = True) -> Plan:
        return Plan("full", reason, series, start, start, fp, changes, save=save,
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
    news = []
    for sid in series:
        c = changes[sid]
        digest = stored.inputs.get(sid, InputDigest(0, 0.0))
        if (c.rows_after, c.total_after) != (digest.rows, digest.total) and c.first_news is None:
            return full(f"rows of {sid} known by {stored.asof} changed without a trace (reparsed?)")
        if c.first_news is not None:
            news.append(c.first_news)
    check = days[-CHECK_BDAYS] if len(days) >= CHECK_BDAYS else start
    c0 = min([check] + [pd.Timestamp(d) + pd.offsets.BDay(0) for d in news])
    c0 = max(c0, start)
    read_from = c0 - pd.offsets.BDay(LOOKBACK_BDAYS)
    if read_from <= start:
        return full(f"news from {c0.date()} reaches back to the start of the grid")
    pos = int(days.searchsorted(c0))
    history = to_history(stored.arrays, pos)
    tail = {name: a[pos:] for name, a in stored.arrays.items()}
    reason = "no news before the checked tail" if c0 == check else f"news from {c0.date()}"
    return Plan("append", reason, series, start, c0, fp, changes, history=history, read_from=read_from.date(),
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
    """The state to store after computing as of `asof` (digest: the inputs known by `asof`)."""
    inputs = {sid: InputDigest(c.rows_until, c.total_until) for sid, c in p.changes.items()}
    return StoredState(asof, p.grid_start.date(), p.fingerprint, inputs, started_at, to_arrays(history))


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
