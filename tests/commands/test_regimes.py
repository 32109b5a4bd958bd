"""`stresswatch regimes show|episodes|summary` on a real store with a real fit."""

from __future__ import annotations

import io
import json

import pytest

from tests.regimes.simulated import sim2, sim_cli, write_sim  # noqa: F401 - sim2 is a fixture


def _cli(tmp_path, *args):
    return sim_cli(tmp_path, *args)


def test_cli_show_episodes_summary(tmp_path, store, sim2, capsys):
    y = sim2[0].iloc[:1200]
    write_sim(store, y)
    asof = y.index[-1].date().isoformat()
    store.close()
    rc, _ = _cli(tmp_path, "regimes", "show", "--asof", asof, "--format", "csv")
    assert rc == 1 and "stresswatch compute --asof" in capsys.readouterr().err
    rc, text = _cli(tmp_path, "regimes", "show", "--fit", "--asof", asof, "--start", "2014-01-01", "--format", "csv")
    assert rc == 0
    lines = text.strip().splitlines()
    # issue 11: each row says whether it is what the model said in real time and which fit produced it
    assert lines[0] == "date,regime,p_stress_filtered,p_stress_smoothed,basis,fit_asof"
    first = lines[1].split(",")
    assert first[0] >= "2014-01-01" and first[1] in ("calm", "stress") and 0 <= float(first[2]) <= 1
    assert lines[-1].startswith(asof)

    # issue 11: episodes default to the real-time basis (one answer here: the fit's day), so the
    # smoothed episodes this checks are asked for by name
    rc, text = _cli(tmp_path, "regimes", "episodes", "--asof", asof, "--basis", "smoothed", "--format", "json")
    assert rc == 0
    eps = json.loads(text)
    assert eps and set(eps[0]) == {"start", "end", "peak", "peak_p", "mean_p", "length"}
    assert all(e["length"] >= 3 for e in eps)

    rc, text = _cli(tmp_path, "regimes", "summary", "--asof", asof, "--format", "json")
    info = json.loads(text)
    assert rc == 0 and info["model_id"] == "sim" and info["converged"] is True
    assert set(info["forecast"]) == {"1", "5", "20"}
    assert sum(info["forecast"]["5"].values()) == pytest.approx(1.0)

    rc, text = _cli(tmp_path, "regimes", "summary", "--asof", asof)
    assert rc == 0 and "expected duration stress (periods)" in text and "forecast h=20: P(stress)" in text

    rc, text = _cli(tmp_path, "regimes", "runs", "--format", "csv")
    assert rc == 0 and text.splitlines()[1].startswith(f"{asof},cold,{asof},1200")

    rc, _ = _cli(tmp_path, "regimes", "show", "--model", "nope")
    assert rc == 2 and "configured models: sim" in capsys.readouterr().err


def _runs(states, value: int, after: int) -> list[tuple[int, int]]:
    """(first, last) index of every run of `value` in `states` that starts after `after`."""
    out, start = [], None
    for i, s in enumerate(list(states) + [None]):
        if s == value and start is None:
            start = i
        elif s != value and start is not None:
            if start > after:
                out.append((start, i - 1))
            start = None
    return out


def _episodes_file(tmp_path, index, states) -> str:
    """A catalogue dated from the simulated states: the longest stress run and the longest calm
    run after the first fit (row 250)."""
    stress = max(_runs(states, 1, 300), key=lambda r: r[1] - r[0])
    calm = max(_runs(states, 0, 300), key=lambda r: r[1] - r[0])
    path = tmp_path / "episodes.toml"
    body = ""
    for eid, kind, (a, b) in (("sim-stress", "stress", stress), ("sim-calm", "calm", calm)):
        body += (f'[[episode]]\nid = "{eid}"\nname = "simulated {kind}"\nkind = "{kind}"\n'
                 f'start = {index[a].date()}\nend = {index[b].date()}\nrequired = true\n'
                 f'source = {{ outlet = "the simulation\'s own states" }}\n\n')
    path.write_text(body)
    return str(path)


def _bt_cli(tmp_path, episodes, *args):
    return sim_cli(tmp_path, *args, regimes_extra=f'episodes = "{episodes}"\n')


def test_cli_backtest_is_stored_resumable_and_scored(tmp_path, store, sim2, capsys):
    """`regimes backtest` prints exactly asof,date,regime,p_stress_filtered per business day, stores
    its rows (a rerun reads them, a later end extends them), and `regimes scorecard` scores those
    rows against the episode catalogue; `show` and `episodes` then read the real-time answers."""
    import csv

    import pandas as pd

    y, states = sim2[0].iloc[:800], sim2[1][:800]
    write_sim(store, y)
    store.close()
    episodes = _episodes_file(tmp_path, y.index, states)
    first, mid, last = (y.index[i].date().isoformat() for i in (0, 699, 799))
    days = pd.bdate_range(first, mid)

    rc, text = _bt_cli(tmp_path, episodes, "regimes", "backtest", "--start", first, "--end", mid, "--format", "csv")
    err = capsys.readouterr().err
    assert rc == 0 and "Traceback" not in err
    assert text.splitlines()[0] == "asof,date,regime,p_stress_filtered"
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["asof"] for r in rows] == [d.date().isoformat() for d in days]
    answered = [r for r in rows if r["date"]]
    # no answer before the first fit (250 observations), then one every business day
    assert rows[248]["date"] == "" and answered[0]["asof"] == y.index[249].date().isoformat()
    assert len(answered) == len(rows) - 249
    assert all(r["date"] <= r["asof"] and r["regime"] in ("calm", "stress") for r in answered)
    assert all(0.0 <= float(r["p_stress_filtered"]) <= 1.0 for r in answered)
    assert f"{len(rows)} computed now, 0 read from the store" in err

    rc, again = _bt_cli(tmp_path, episodes, "regimes", "backtest", "--start", first, "--end", mid, "--format", "csv")
    assert rc == 0 and again == text
    assert f"0 computed now, {len(rows)} read from the store" in capsys.readouterr().err

    rc, longer = _bt_cli(tmp_path, episodes, "regimes", "backtest", "--start", first, "--end", last, "--format", "csv")
    assert rc == 0 and longer.startswith(text) and len(longer.splitlines()) == len(text.splitlines()) + 100
    assert f"100 computed now, {len(rows)} read from the store" in capsys.readouterr().err

    # the scorecard scores the stored rows: recompute its numbers from the CSV
    rc, out = _bt_cli(tmp_path, episodes, "regimes", "scorecard", "--start", first, "--end", last, "--format", "csv")
    assert rc == 0 and out.splitlines()[0] == ("episode,kind,required,start,end,days,answered,flagged,share,lag,"
                                               "criterion,status")
    scores = {r["episode"]: r for r in csv.DictReader(io.StringIO(out))}
    p = pd.Series([float(r["p_stress_filtered"]) if r["p_stress_filtered"] else float("nan")
                   for r in csv.DictReader(io.StringIO(longer))], index=pd.bdate_range(first, last))
    for eid, score in scores.items():
        window = p[score["start"]:score["end"]]
        assert int(score["days"]) == len(window) and int(score["flagged"]) == int((window > 0.5).sum())
        assert float(score["share"]) == pytest.approx(float((window > 0.5).mean()))
    hits = p[scores["sim-stress"]["start"]:] > 0.5
    assert int(scores["sim-stress"]["lag"]) == int(hits.to_numpy().argmax())
    assert float(scores["sim-stress"]["share"]) > 0.6 > float(scores["sim-calm"]["share"])

    chart = tmp_path / "out" / "scorecard.png"
    rc, out = _bt_cli(tmp_path, episodes, "regimes", "scorecard", "--start", first, "--end", last, "--format", "json",
                      "--chart", str(chart))
    card = json.loads(out)
    assert rc == 0 and card["basis"] == "real time" and {e["episode"] for e in card["episodes"]} == set(scores)
    assert card["met"] == all(e["status"] == "met" for e in card["episodes"]) and "criteria" in card["verdict"]
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "chart written to" in capsys.readouterr().err
    rc, out = _bt_cli(tmp_path, episodes, "regimes", "scorecard", "--start", first, "--end", last)
    assert rc == 0 and "sim-stress" in out and " bd" in out

    # show after a fit as of the last day: the real-time rows are the backtest's, each naming its fit
    rc, out = _bt_cli(tmp_path, episodes, "regimes", "show", "--fit", "--asof", last, "--format", "csv")
    err = capsys.readouterr().err
    assert rc == 0 and out.splitlines()[0] == "date,regime,p_stress_filtered,p_stress_smoothed,basis,fit_asof"
    shown = list(csv.DictReader(io.StringIO(out)))
    real = [r for r in shown if r["basis"] == "real-time"]
    assert real and all(r["fit_asof"] <= r["date"] for r in real)
    backtested = {r["date"]: r["p_stress_filtered"] for r in csv.DictReader(io.StringIO(longer)) if r["date"]}
    assert all(float(r["p_stress_filtered"]) == pytest.approx(float(backtested[r["date"]]), abs=1e-6)
               for r in real if r["date"] in backtested and r["date"] < last)
    assert f"sim as of {last}: parameters of the" in err and "p_stress_smoothed is always hindsight" in err

    # episodes are cut from the real-time answers by default
    rc, default = _bt_cli(tmp_path, episodes, "regimes", "episodes", "--asof", last, "--format", "json")
    rc2, real_time = _bt_cli(tmp_path, episodes, "regimes", "episodes", "--asof", last, "--basis", "real-time",
                             "--format", "json")
    assert rc == rc2 == 0 and default == real_time and json.loads(default)

    rc, _ = _bt_cli(tmp_path, episodes, "regimes", "backtest", "--start", last, "--end", first)
    err = capsys.readouterr().err
    assert rc == 2 and "is after --end" in err and "Traceback" not in err
