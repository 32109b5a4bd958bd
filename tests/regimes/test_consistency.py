"""One regime per model and day, whoever asks: `regimes show`, the report, the event study and the
alerts all read the regime read model, so they name the same regime for the same model and day.

Checked on the real Bank of Russia USD history from 1999 (../shared/data/real; skipped without it)
with the 3-regime weekly model `ruble3` (the v0.2 headline, configured here explicitly), where smoothed and filtered probabilities often disagree
on the most likely regime -- a consumer labelling by the smoothed ones would be caught here.
"""

from __future__ import annotations

import csv
import datetime as dt
import io

import pandas as pd
import pytest

from stresswatch.alerts.run import read_states, run_alerts
from stresswatch.events.align import align
from stresswatch.fetchers.base import Observation, SeriesInfo
from stresswatch.regimes.state import regime_state
from stresswatch.regimes.update import update_all
from stresswatch.reports.context import build_context
from stresswatch.store import Store
from tests.conftest import run_cli, settings_for
from tests.regimes.test_real import RUBLE3, load_usd

pytestmark = pytest.mark.slow

D = dt.date(2023, 8, 16)  # the day after the emergency hike to 12% (and Shoigu's "more than an alliance")
FETCHED = dt.datetime(2027, 1, 1, tzinfo=dt.timezone.utc)
CLOCK = lambda: dt.datetime(2023, 8, 16, 18, 0, tzinfo=dt.timezone.utc)  # noqa: E731


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    usd = load_usd()
    usd = usd[(usd.index >= "1999-01-01") & (usd.index <= pd.Timestamp(D))]
    folder = tmp_path_factory.mktemp("consistency")
    model = dict(RUBLE3)
    settings = settings_for(folder, **{"regimes.models": [model], "regimes.headline": "ruble3",
                                       "alerts.rules": [{"id": "stress-regime", "kind": "regime", "model": "ruble3"}]})
    store = Store.open(folder / "sw.db")
    store.observations.upsert_series([SeriesInfo("cbr.fx.USD", "cbr", "USD/RUB", "RUB per USD", "D")])
    store.observations.write_observations([Observation("cbr.fx.USD", d.date(), float(v)) for d, v in usd.items()],
                                          fetched_at=FETCHED)
    assert update_all(store, settings, D)[0].status == "cold"
    yield store, settings, folder
    store.close()


def test_the_model_is_one_where_the_two_bases_disagree(real):
    store, settings, _ = real
    history = regime_state(store, settings, D).history
    k = 3
    filtered = history[[f"p_filtered_{i}" for i in range(k)]].to_numpy().argmax(axis=1)
    smoothed = history[[f"p_smoothed_{i}" for i in range(k)]].to_numpy().argmax(axis=1)
    assert (filtered != smoothed).sum() > 20  # so the checks below can tell the two rules apart


def test_show_report_event_study_and_alerts_name_the_same_regime(real, monkeypatch):
    store, settings, folder = real
    state = regime_state(store, settings, D)
    assert state.available and state.model_id == "ruble3"

    # regimes show: one row per model period, as of D
    config = folder / "ruble3.toml"  # ruble3 is no longer built in: the CLI is told about it
    config.write_text('[[regimes.models]]\nid = "ruble3"\nseries = "cbr.fx.USD"\ntransform = "logret"\n'
                      'k_regimes = 3\nfrequency = "W"\n', encoding="utf-8")
    code, text = run_cli(monkeypatch, {}, "--config", str(config), "--store", str(folder / "sw.db"), "regimes", "show",
                         "--model", "ruble3", "--asof", D.isoformat(), "--format", "csv")
    assert code == 0
    shown = {dt.date.fromisoformat(r["date"]): r["regime"] for r in csv.DictReader(io.StringIO(text))}

    def shown_on(day: dt.date) -> str:
        return shown[max(d for d in shown if d <= day)]

    # the report for D: its headline and the regime in each statement row
    ctx = build_context(store, settings, D, write_snapshots=False).context
    head = ctx["headline"]
    # the event study as of D
    rows = {r["id"]: r for r in align(store, settings, D, placebos=200).rows()}
    # the alert evaluated on D
    run_alerts(store, settings, D, CLOCK)
    alert = next(iter(read_states(store).values()))

    last = state.last_observation
    assert head["regime"] == state.regime == shown_on(last) == shown_on(D)
    assert f"regime {state.regime})" in alert.summary
    stated = [r for r in ctx["statements"]["catalogue"] if r["t0"]]
    assert len(stated) > 20
    for row in stated:
        t0 = dt.date.fromisoformat(row["t0"])
        assert row["regime"] == rows[row["id"]]["regime"] == shown_on(t0) == state.label_on(t0), row["id"]
