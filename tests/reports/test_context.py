"""The report context from a real store with known data: every section, numbers equal to the
store's, the headline from a real regime run, statements aligned as of D, and the builder's
"today" (the one definition, in the [daemon] time zone)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from stresswatch.reports import context as C
from stresswatch.store import Store
from tests.fakes import report_data as R
from tests.reports.conftest import fixed_clock

D = R.REPORT_DAY


@pytest.fixture(scope="module")
def ctx(filled):
    builder = C.ContextBuilder(filled["store"], filled["settings"], clock=fixed_clock(), write_snapshots=False)
    return builder.build(D).context


def test_every_section_is_present(ctx):
    for key in ("schema_version", "generated_at", "date", "previous_date", "headline", "stress_index", "fx",
                "keyrate", "policy_rates", "em_league", "trade", "statements", "freshness", "model", "method",
                "warnings", "charts"):
        assert key in ctx, key
    assert ctx["schema_version"] == C.SCHEMA_VERSION
    assert ctx["date"] == "2023-08-16" and ctx["previous_date"] == "2023-08-15"
    assert ctx["generated_at"] == "2026-01-05T08:00:00Z"
    assert {c["id"] for c in ctx["charts"]} == {"stress_10y", "stress_1y", "contributions", "fx", "keyrate",
                                                "em_league", "trade"}
    assert all(c["alt"] and c["file"].startswith("charts/") for c in ctx["charts"])


def test_numbers_equal_the_store(filled, ctx):
    store = filled["store"]
    usd = store.observations.read_series("cbr.fx.USD", asof=D)
    row = next(r for r in ctx["fx"] if r["currency"] == "USD")
    assert row["rate"] == float(usd.iloc[-1]) and row["date"] == "2023-08-16"
    base = float(usd.loc[:"2022-12-31"].iloc[-1])
    assert row["changes"]["ytd"]["base"] == base
    assert row["changes"]["ytd"]["pct_rub_per_unit"] == pytest.approx(100 * (usd.iloc[-1] / base - 1))
    assert row["changes"]["ytd"]["pct_ruble_value"] == pytest.approx(100 * (base / usd.iloc[-1] - 1))
    assert row["changes"]["1d"]["base"] == float(usd.iloc[-2])
    idx = store.observations.read_series("stress.index", asof=D)
    assert ctx["stress_index"]["value"] == float(idx.iloc[-1])
    assert ctx["stress_index"]["percentile"] == pytest.approx(float((idx <= idx.iloc[-1]).mean()))
    assert ctx["keyrate"]["value"] == 12.0
    last = ctx["keyrate"]["last_decision"]
    assert (last["date"], last["old"], last["new"], last["change_bp"], last["extraordinary"]) == \
        ("2023-08-15", 8.5, 12.0, 350, True)
    scheduled = next(d for d in ctx["keyrate"]["decisions"] if d["date"] == "2023-07-24")
    assert scheduled["extraordinary"] is False and scheduled["change_bp"] == 100


def test_em_league_uses_cbr_cross_rates_and_ranks_the_ruble(filled, ctx):
    store = filled["store"]
    league = ctx["em_league"]
    usd = store.observations.read_series("cbr.fx.USD", asof=D)
    tr = store.observations.read_series("cbr.fx.TRY", asof=D)
    row = next(r for r in league["rows"] if r["currency"] == "TRY")
    assert row["per_usd"] == pytest.approx(float(usd.iloc[-1] / tr.iloc[-1]), rel=1e-12)
    assert row["base_date"] == "2022-12-30"
    assert row["base_per_usd"] == pytest.approx(float(usd.loc["2022-12-30"] / tr.loc["2022-12-30"]), rel=1e-12)
    ranks = [r["rank"] for r in league["rows"]]
    assert ranks == list(range(1, len(ranks) + 1))
    values = [r["pct_value_vs_usd"] for r in league["rows"]]
    assert values == sorted(values, reverse=True)
    assert league["rub_rank"] == next(r["rank"] for r in league["rows"] if r["currency"] == "RUB")
    # TRY fell most in the fixture, INR least
    assert league["rows"][-1]["currency"] == "TRY" and league["rows"][0]["currency"] == "INR"
    assert league["missing"] == ["BRL"] and "[sources.cbr] currencies" in league["hint"]


def test_policy_rates_latest_changes_and_rank(filled, ctx):
    store = filled["store"]
    pr = ctx["policy_rates"]
    us = store.observations.read_series("bis.cbpol.US", asof=D)
    row = next(r for r in pr["rows"] if r["area"] == "US")
    assert row["rate"] == float(us.iloc[-1]) and row["date"] == us.index[-1].date().isoformat()
    # BIS values carry a 20-day lag: August is not known on 16 Aug
    assert row["date"] == "2023-07-01"
    three = float(us.loc[:"2023-05-16"].iloc[-1])
    assert row["change_3m"] == pytest.approx(float(us.iloc[-1]) - three)
    ru = next(r for r in pr["rows"] if r["area"] == "RU")
    assert ru["series"] == "cbr.keyrate" and ru["rate"] == 12.0 and ru["change_3m"] == pytest.approx(4.5)
    assert [r["rank"] for r in pr["rows"]] == [1, 2, 3] and pr["russia_rank"] == ru["rank"] == 2


def test_headline_from_the_real_regime_run(filled, ctx):
    from stresswatch.regimes.runs import latest_run
    from stresswatch.regimes.state import regime_state, run_forecast

    head = ctx["headline"]
    assert head["available"] and head["model_id"] == "t2" and head["run_asof"] == "2023-08-16"
    probs = regime_state(filled["store"], filled["settings"], D, "t2").frame(full=True)
    assert head["p_stress_filtered"] == pytest.approx(float(probs["p_stress_filtered"].iloc[-1]))
    filt = probs[["p_filtered_0", "p_filtered_1"]].to_numpy().argmax(axis=1)
    assert head["regime"] == ["calm", "stress"][filt[-1]]
    run_len = 0
    for v in filt[::-1]:
        if v != filt[-1]:
            break
        run_len += 1
    assert head["regime_periods"] == run_len
    since = probs["date"].iloc[-run_len].date() if "date" in probs else probs.index[-run_len].date()
    assert head["regime_since"] == since.isoformat()
    assert head["days_in_regime"] == int(np.busday_count(since, D + dt.timedelta(days=1)))
    run = latest_run(filled["store"], "t2", D)
    assert head["expected_duration"] == pytest.approx(float(run.durations[filt[-1]]))
    assert head["p_stress_h5"] == pytest.approx(float(run_forecast(run, 5)[-1]))
    assert head["p_stress_h20"] == pytest.approx(float(run_forecast(run, 20)[-1]))
    # no run existed on D-1: the change is measured against the run's previous observation, and says so
    assert head["previous"]["date"] == "2023-08-15" and "no run existed" in head["previous"]["basis"]
    assert head["p_stress_change"] == pytest.approx(head["p_stress_filtered"] - float(probs["p_stress_filtered"].iloc[-2]))
    model = ctx["model"]
    assert model["converged"] is True and model["nobs"] == run.n and len(model["regimes"]) == 2


def test_statements_aligned_as_of_d(ctx):
    st = ctx["statements"]
    assert st["available"] and [s["id"] for s in st["catalogue"]] == ["early-statement-2022", "hostile-text-2023"]
    hostile = st["catalogue"][1]
    assert hostile["key_phrase"] == R.HOSTILE  # data stays data in JSON; templates escape it
    assert hostile["confounded"] and "keyrate-2023-08-15" in hostile["confounders"]
    assert [s["id"] for s in st["near"]] == ["hostile-text-2023"]
    assert any(a["group"] == "all" for a in st["aggregate"])


def test_no_model_run_is_said_clearly(filled):
    builder = C.ContextBuilder(filled["store"], filled["settings"], clock=fixed_clock(), write_snapshots=False)
    ctx = builder.build(dt.date(2023, 8, 1)).context
    head = ctx["headline"]
    assert head["available"] is False
    assert "stresswatch compute --asof 2023-08-01" in head["message"]
    assert ctx["warnings"][0]["level"] == "error" and ctx["warnings"][0]["topic"] == "regimes"
    assert "stress_10y" in {c["id"] for c in ctx["charts"]}  # the index chart still renders, unshaded


def test_freshness_flags_stale_sources(ctx):
    rows = {r["source"]: r for r in ctx["freshness"]["rows"]}
    assert rows["cbr"]["status"] == "ok" and rows["cbr"]["last_observation"] == "2023-08-16"
    assert rows["cbr"]["stale"] is False
    # the fixture's BIS values are daily-frequency series whose last value is 2023-07-01
    assert rows["bis"]["stale"] is True and "overdue" in rows["bis"]["stale_reason"]
    assert rows["moex"]["status"] == "no data"
    assert any(w["topic"] == "freshness" and "bis" in w["text"] for w in ctx["warnings"])


def test_d_is_over_at_midnight_in_the_daemon_timezone(tmp_path):
    """The builder judges "is D over?" (frozen ledger facts) with the one definition of today,
    `clock.today(clock, settings)`: the clock's date in the [daemon] time zone, not the UTC date."""
    from stresswatch.clock import FixedClock
    from tests.conftest import settings_for

    store = Store.open(tmp_path / "sw.db", clock=FixedClock("2023-08-16T09:00:00Z"))
    store.ledger.start("fetch:cbr", "2023")
    store.ledger.finish("fetch:cbr", "2023", "success", rows=1)
    late = FixedClock("2023-08-16T22:00:00Z")  # 01:00 on 17 August in Moscow, still the 16th in UTC
    moscow = C.ContextBuilder(store, settings_for(tmp_path, **{"daemon.timezone": "Europe/Moscow"}), clock=late)
    first = moscow.ledger_facts(["cbr"], D)
    store.ledger.finish("fetch:cbr", "2023", "failed", error="HTTP 503")
    assert moscow.ledger_facts(["cbr"], D) == first and first["cbr"]["last_error"] is None  # D is over: frozen
    utc = C.ContextBuilder(store, settings_for(tmp_path, **{"daemon.timezone": "UTC"}), clock=late,
                           write_snapshots=False)
    assert utc.ledger_facts(["cbr"], D)["cbr"]["last_error"] == "HTTP 503"  # D is today in UTC: live facts
    store.close()


def test_a_range_builder_keeps_only_the_day_and_the_one_before(filled):
    """Flat memory over a long range (issue 14): the memoised regime states and headlines of
    earlier days are dropped as the range moves on; the previous day's headline is still reused."""
    from stresswatch.bizdays import previous_business_day

    builder = C.ContextBuilder(filled["store"], filled["settings"], cache=True, clock=fixed_clock(),
                               write_snapshots=False)
    days = R.business_days(dt.date(2023, 8, 7), D)
    for day in days:
        builder.build(day)
        assert set(builder._headline_memo) == {day, previous_business_day(day)}
        assert set(builder._regime_memo) == {day, previous_business_day(day)}
