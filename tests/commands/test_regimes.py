"""`stresswatch regimes show|episodes|summary` on a real store with a real fit."""

from __future__ import annotations

import io
import json

import pytest

from stresswatch.cli import main
from tests.regimes.simulated import sim2, write_sim  # noqa: F401 - sim2 is a fixture


def _cli(tmp_path, *args):
    cfg = tmp_path / "sw.toml"
    cfg.write_text('[regimes]\nheadline = "sim"\nsearch_reps = 4\nseeds = [1, 2]\n'
                   '[[regimes.models]]\nid = "sim"\nseries = "sim.x"\ntransform = "level"\n'
                   'k_regimes = 2\nswitching_mean = false\nstart = 2000-01-01\n')
    out = io.StringIO()
    rc = main(["--config", str(cfg), "--store", str(tmp_path / "sw.db"), *args], out=out)
    return rc, out.getvalue()


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
    assert lines[0] == "date,regime,p_stress_filtered,p_stress_smoothed"
    first = lines[1].split(",")
    assert first[0] >= "2014-01-01" and first[1] in ("calm", "stress") and 0 <= float(first[2]) <= 1
    assert lines[-1].startswith(asof)

    rc, text = _cli(tmp_path, "regimes", "episodes", "--asof", asof, "--format", "json")
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
