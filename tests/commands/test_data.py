"""Data commands as people read them: `series show` (rounded tables, full-precision csv/json, an
end before the start refused), `status` (tables, never raw JSON), `config show` (TOML by default,
`--format json` for the other)."""

from __future__ import annotations

import datetime as dt
import io
import json
import tomllib

import pytest

from stresswatch import cli
from stresswatch.clock import utc_stamp
from stresswatch.settings import render_defaults_toml
from stresswatch.store import Store
from tests.fakes.planted import plant_fx


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return cli.main(list(argv), out=out), out.getvalue()


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "sw.db"
    with Store.open(path) as store:
        plant_fx(store, {dt.date(2023, 8, 14): 1.0000000000000002, dt.date(2023, 8, 15): 101.03994444444,
                         dt.date(2023, 8, 16): 0.000123456789})
    return path


def test_series_show_rounds_the_table_and_keeps_full_precision_in_csv_and_json(db):
    code, table = run("--store", str(db), "series", "show", "cbr.fx.USD")
    assert code == 0
    assert table.splitlines()[2:] == ["2023-08-14  1", "2023-08-15  101.0399", "2023-08-16  0.0001235"]
    code, csv = run("--store", str(db), "series", "show", "cbr.fx.USD", "--format", "csv")
    assert csv.splitlines()[1:] == ["2023-08-14,1.0000000000000002", "2023-08-15,101.03994444444",
                                    "2023-08-16,0.000123456789"]
    code, text = run("--store", str(db), "series", "show", "cbr.fx.USD", "--format", "json")
    assert [r["value"] for r in json.loads(text)] == [1.0000000000000002, 101.03994444444, 0.000123456789]


def test_series_show_end_before_start_is_a_usage_error(db, capsys):
    code, text = run("--store", str(db), "series", "show", "cbr.fx.USD", "--start", "2023-08-31", "--end",
                     "2023-08-01")
    assert code == 2 and text == ""
    assert "--end 2023-08-01 is before --start 2023-08-31" in capsys.readouterr().err


def test_status_table_shows_every_block_as_a_table_or_lines_never_json(db):
    with Store.open(db) as store:  # a daemon that ran once: its last run is a nested record
        store.daemon_state.put("last_run", {"date": "2023-08-16", "ok": True, "failed_steps": [],
                                            "summary": "2023-08-16: ok"}, utc_stamp(dt.datetime(2023, 8, 16, 14)))
    code, text = run("--store", str(db), "status", "--date", "2023-08-16")
    assert code == 0
    lines = text.splitlines()
    assert not [ln for ln in lines if ln.strip() in ("{", "}", "[", "]") or '": ' in ln]
    assert "trade_check" in lines and "daemon" in lines
    trade = lines[lines.index("trade_check") + 1]
    assert trade.startswith("  exports: no common months")
    daemon = lines[lines.index("daemon"):]
    assert daemon[1].split() == ["item", "value"]
    assert any(ln.split()[:2] == ["schedule", "0"] for ln in daemon)
    assert any(ln.startswith("last_run") and "date: 2023-08-16; ok: True" in ln for ln in daemon)
    code, text = run("--store", str(db), "status", "--date", "2023-08-16", "--format", "json")
    assert json.loads(text)["daemon"]["last_run"]["date"] == "2023-08-16"


def test_config_show_is_toml_by_default_and_json_on_request_for_settings_and_defaults(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[store]\npath = "{tmp_path / "sw.db"}"\n[mail]\nrecipients = ["a@example.org"]\n'
                   '[[alerts.rules]]\nid = "rub-5d"\nkind = "ruble_move"\npct = 10.0\n', encoding="utf-8")
    code, toml_text = run("--config", str(cfg), "config", "show")
    assert code == 0 and toml_text.startswith(f"# loaded from: {cfg}\n")
    shown = tomllib.loads(toml_text)
    assert shown["mail"]["recipients"] == ["a@example.org"] and shown["alerts"]["rules"][0]["id"] == "rub-5d"
    code, json_text = run("--config", str(cfg), "config", "show", "--format", "json")
    assert code == 0
    in_force = json.loads(json_text)
    # the TOML printed is a settings file that loads to exactly the same settings
    again = tmp_path / "again.toml"
    again.write_text(toml_text, encoding="utf-8")
    assert json.loads(run("--config", str(again), "config", "show", "--format", "json")[1]) == in_force
    # the defaults, in either format
    code, defaults = run("--config", str(cfg), "config", "show", "--defaults")
    assert code == 0 and defaults == render_defaults_toml()
    code, text = run("--config", str(cfg), "config", "show", "--defaults", "--format", "json")
    assert code == 0 and json.loads(text)["mail"]["recipients"] == [] and json.loads(text)["alerts"]["rules"] == []
