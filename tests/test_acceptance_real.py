"""End to end on the real Bank of Russia history (../shared, skipped when absent), the way a user
runs it: backfill from 2013 through the real CLI against a replay of cbr.ru, then align the
statement catalogue, which computes the analysis it needs first."""

from __future__ import annotations

import io
import json

import pytest

from stresswatch import cli
from tests.conftest import shared_path
from tests.fakes.cbr import FakeCbr, history_from_shared


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return cli.main(list(argv), out=out), out.getvalue()


@pytest.mark.slow
def test_backfill_from_2013_then_events_align_flags_shoigu(tmp_path, capsys):
    history = history_from_shared(shared_path("data", "real"))
    with FakeCbr(history) as fake:
        cfg = tmp_path / "sw.toml"
        cfg.write_text(f'[store]\npath = "{tmp_path / "sw.db"}"\n[http]\nbackoff_factor = 0.0\n'
                       f'[sources.cbr]\nbase_url = "{fake.base_url}"\nmin_interval = 0.0\n')
        code, _ = run("--config", str(cfg), "backfill", "--start", "2013-01-01", "--end", "2024-05-31",
                      "--source", "cbr")
        assert code == 0, capsys.readouterr().err
        code, text = run("--config", str(cfg), "series", "show", "cbr.fx.USD", "--start", "2023-08-12",
                         "--end", "2023-08-15", "--format", "csv")
        assert text.splitlines() == ["date,value", "2023-08-12,98.2066", "2023-08-15,101.0399"]

    code, text = run("--config", str(cfg), "events", "align", "--asof", "2024-05-31", "--placebos", "1000",
                     "--format", "json")
    err = capsys.readouterr().err
    assert code == 0, err
    assert "computing the analysis as of 2024-05-31 first" in err
    rows = {r["id"]: r for r in json.loads(text)}
    shoigu = rows["shoigu-more-than-allied-2023"]
    assert shoigu["t0"] == "2023-08-15" and shoigu["confounded"] is True
    assert "keyrate-2023-08-15-extraordinary" in shoigu["confounders"].split(",")
    assert shoigu["regime"] == "stress" and shoigu["p_stress_filtered"] > 0.5
    for r in rows.values():
        if r["p_value"] is not None:
            assert 0 < r["p_value"] <= r["q_value"] <= 1
    # one headline whatever history the store holds (issue 11: no era switch)
    code, text = run("--config", str(cfg), "regimes", "summary", "--asof", "2024-05-31", "--format", "json")
    assert code == 0 and '"ruble_rt"' in text

    # the report of a past date uses the same headline, computed as of that date
    out = tmp_path / "reports"
    code, _ = run("--config", str(cfg), "report", "--date", "2023-08-16", "--out", str(out), "--format", "json")
    assert code == 0, capsys.readouterr().err
    ctx = json.loads((out / "2023-08-16" / "report.json").read_text())
    head = ctx["headline"]
    assert head["available"] and head["model_id"] == "ruble_rt" and head["run_asof"] == "2023-08-16"
    assert ctx["method"]["headline_model"] == "ruble_rt"
