"""The reports folder belongs to its store (issue 13, "Reports of different stores mix"): by default
it sits beside the store, its index lists only that store's reports, a render into a folder owned
by another store is refused before anything is written, and an old folder without an owner is
adopted with only the reports the adopting store recorded there. Real stores through the real CLI."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from stresswatch import settings as settings_mod
from stresswatch.errors import ConfigError
from stresswatch.reports import folder, render
from stresswatch.store import Store
from tests.conftest import run_cli
from tests.fakes import report_data as R
from tests.reports.conftest import fixed_clock

D = R.REPORT_DAY


def test_default_reports_folder_is_beside_the_store(tmp_path, monkeypatch):
    monkeypatch.setenv("STRESSWATCH_HOME", str(tmp_path / "home"))
    assert settings_mod.defaults().reports_dir == tmp_path / "home" / "reports"  # default store: reports/
    one = settings_mod.load(environ={}, overrides={"store.path": str(tmp_path / "a" / "stresswatch.db")})
    assert one.reports_dir == tmp_path / "a" / "reports"
    two = settings_mod.load(environ={}, overrides={"store.path": str(tmp_path / "a" / "b.db")})
    assert two.reports_dir == tmp_path / "a" / "b-reports"  # a second store in the same folder: its own
    set_out = settings_mod.load(environ={}, overrides={"store.path": str(tmp_path / "a" / "b.db"),
                                                       "report.out": str(tmp_path / "mine")})
    assert set_out.reports_dir == tmp_path / "mine"


def _store(path: Path) -> None:
    with Store.open(path, create_folder=True) as store:
        R.fill_store(store)


def _index(folder_path: Path) -> list[str]:
    return [e["date"] for e in json.loads((folder_path / "index.json").read_text())["reports"]]


def test_two_stores_keep_their_reports_apart(tmp_path, monkeypatch, capsys):
    """The issue's case: two stores, each with `report --date`, used to share one index.html."""
    a, b = tmp_path / "stores" / "a.db", tmp_path / "stores" / "b.db"
    _store(a)
    _store(b)
    env = {"STRESSWATCH_HOME": str(tmp_path / "home")}
    for path, day in ((a, "2023-08-16"), (b, "2023-08-15")):
        code, out = run_cli(monkeypatch, env, "--store", str(path), "report", "--date", day, "--no-compute",
                            "--format", "html,json")
        assert code == 0, capsys.readouterr().err
    a_dir, b_dir = tmp_path / "stores" / "a-reports", tmp_path / "stores" / "b-reports"
    assert _index(a_dir) == ["2023-08-16"] and _index(b_dir) == ["2023-08-15"]
    assert (a_dir / ".stresswatch-store").read_text().strip() == str(a.resolve())
    assert json.loads((b_dir / "index.json").read_text())["store"] == str(b.resolve())
    assert str(a.resolve()) in (a_dir / "index.html").read_text()
    assert not (tmp_path / "home" / "reports").exists()  # nothing in the user data folder

    # store b pointed at a's folder: refused, named, and nothing of b's is written there
    before = sorted(p.relative_to(a_dir) for p in a_dir.rglob("*"))
    code, _ = run_cli(monkeypatch, env, "--store", str(b), "report", "--date", "2023-08-14", "--no-compute",
                      "--out", str(a_dir))
    err = capsys.readouterr().err
    assert code == 2 and f"the reports folder {a_dir} holds the reports of another store ({a.resolve()})" in err
    assert sorted(p.relative_to(a_dir) for p in a_dir.rglob("*")) == before


def test_range_render_into_a_foreign_folder_is_refused_before_writing(filled, tmp_path):
    other = tmp_path / "other.db"
    _store(other)
    out = tmp_path / "reports"
    with Store.open(other) as store:
        render.render_day(store, filled["settings"], D, out=out, clock=fixed_clock(), formats="json")
    with pytest.raises(ConfigError, match="holds the reports of another store"):
        render.render_range(filled["store"], filled["settings"], dt.date(2023, 8, 14), D, out=out,
                            clock=fixed_clock(), progress=False, workers=0)
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["2023-08-16"]


def test_an_old_folder_without_owner_is_adopted_with_only_its_own_reports(filled, tmp_path):
    out = tmp_path / "legacy"
    # a folder as v0.1 left it: two stores' reports in one index, no owner recorded
    entries = []
    for day in ("2023-08-02", "2023-08-01"):
        ctx = {"date": day, "generated_at": "2023-08-02T18:00:00Z", "headline": {"available": False}}
        (out / day).mkdir(parents=True)
        (out / day / "report.json").write_text(json.dumps(ctx))
        entries.append(folder.index_entry(ctx, ["json"]))
    (out / "index.json").write_text(json.dumps({"reports": entries}))
    store = filled["store"]
    store.reports.record(dt.date(2023, 8, 1), str(out.resolve()), "x", None, None, ["json"], 0)  # ours
    render.render_day(store, filled["settings"], D, out=out, clock=fixed_clock(), formats="json")
    assert _index(out) == ["2023-08-16", "2023-08-01"]  # 2023-08-02 was another store's
    assert folder.owner(out) == folder.store_identity(store)
