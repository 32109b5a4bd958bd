"""`stresswatch report` through the real CLI: files, index, range, usage errors, the no-run hint."""

from __future__ import annotations

import io
import json

from stresswatch import cli


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return cli.main(list(argv), out=out), out.getvalue()


def test_report_for_a_date_and_a_range(filled, tmp_path, capsys):
    config = str(filled["config"])
    out = tmp_path / "reports"
    code, text = run("--config", config, "report", "--date", "2023-08-16", "--out", str(out))
    assert code == 0, capsys.readouterr().err
    folder = out / "2023-08-16"
    for name in ("report.html", "report.md", "report.json", "charts/stress_10y.png"):
        assert (folder / name).is_file(), name
    assert "report for 2023-08-16" in text and (out / "index.html").is_file()
    ctx = json.loads((folder / "report.json").read_text())
    assert ctx["headline"]["model_id"] == "t2" and ctx["headline"]["available"]

    capsys.readouterr()
    code, text = run("--config", config, "report", "--start", "2023-08-10", "--end", "2023-08-11", "--out", str(out),
                     "--format", "json,md", "--workers", "0", "--no-compute")
    assert code == 0 and "2 reports" in text
    assert (out / "2023-08-10" / "report.md").is_file() and not (out / "2023-08-10" / "report.html").exists()
    err = capsys.readouterr().err
    assert "no regime model run as of 2023-08-10" in err and "stresswatch compute --asof 2023-08-10" in err
    index = json.loads((out / "index.json").read_text())
    assert [e["date"] for e in index["reports"]] == ["2023-08-16", "2023-08-11", "2023-08-10"]

    # without --no-compute, dates the stored analysis does not cover are computed first
    code, text = run("--config", config, "report", "--date", "2023-08-10", "--out", str(out), "--format", "json")
    err = capsys.readouterr().err
    assert code == 0 and "computing the analysis as of 2023-08-10 first" in err
    ctx = json.loads((out / "2023-08-10" / "report.json").read_text())
    assert ctx["headline"]["available"] and ctx["headline"]["run_asof"] == "2023-08-10"


def test_usage_errors(filled, tmp_path, capsys):
    config = str(filled["config"])
    assert run("--config", config, "report", "--date", "2023-08-16", "--start", "2023-08-01")[0] == 2
    assert run("--config", config, "report", "--start", "2023-08-01")[0] == 2
    assert run("--config", config, "report", "--date", "2999-01-01")[0] == 2
    assert run("--config", config, "report", "--date", "2023-08-16", "--format", "pdf")[0] == 2
    err = capsys.readouterr().err
    assert "in the future" in err and "unknown report format" in err


def test_the_command_computes_each_uncovered_day_of_a_range_and_the_renderer_never_does(tmp_path, capsys):
    """docs/report.md, "Who computes": `report --start --end` computes the analysis as of every
    business day it does not cover (then each report's run is as of its own date); `render_range`
    itself never fits or writes a model run."""
    import datetime as dt

    from stresswatch import settings as settings_mod
    from stresswatch.reports import render
    from stresswatch.store import Store
    from tests.fakes import report_data as R
    from tests.reports.conftest import fixed_clock

    config = R.write_config(tmp_path)
    settings = settings_mod.load(config, environ={})
    with Store.open(settings.store_path) as store:
        R.fill_store(store)
        render.render_range(store, settings, dt.date(2023, 8, 14), dt.date(2023, 8, 15), out=tmp_path / "lib",
                            clock=fixed_clock(), progress=False, workers=0, update_archive=False)
        assert store.model_runs.rows() == []  # the renderer computed nothing
    out = tmp_path / "reports"
    code, _ = run("--config", str(config), "report", "--start", "2023-08-14", "--end", "2023-08-15", "--out", str(out),
                  "--format", "json", "--no-progress")
    err = capsys.readouterr().err
    assert code == 0, err
    assert "computing the analysis as of 2023-08-14 first" in err and "computing the analysis as of 2023-08-15 first" in err
    for day in ("2023-08-14", "2023-08-15"):
        assert json.loads((out / day / "report.json").read_text())["headline"]["run_asof"] == day
