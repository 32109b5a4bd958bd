"""`stresswatch events ...` end to end through the CLI on a real SQLite store.

The alignment test replays real CBR history (../shared, skipped when absent): USD/RUB and the key
rate for 2021-2023, a real Markov-switching fit of the ruble (the regimes module, statsmodels), and
a stress index written as a derived series (a 20-day realised-volatility proxy built in the test,
since the composite index has its own tests).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re

import numpy as np
import pandas as pd
import pytest

from stresswatch import cli
from stresswatch import settings as settings_mod
from stresswatch.events.align import ALIGN_FIELDS
from stresswatch.fetchers.base import SeriesInfo
from stresswatch.store import Store
from tests.conftest import shared_path
from tests.reports.conftest import filled  # noqa: F401 - module-scoped store with a fitted headline model

ASOF = "2023-12-29"


def run(argv):
    out = io.StringIO()
    code = cli.main(argv, out=out)
    return code, out.getvalue()


def write_config(tmp_path, extra=""):
    cfg = tmp_path / "stresswatch.toml"
    cfg.write_text(f"""
[store]
path = "{tmp_path / 'sw.db'}"

[regimes]
headline = "ruble2"

[[regimes.models]]
id = "ruble2"
series = "cbr.fx.USD"
transform = "logret"
k_regimes = 2
start = 2021-01-01
{extra}
""", encoding="utf-8")
    return cfg


def test_list_check_and_help(tmp_path, capsys):
    cfg = write_config(tmp_path)
    code, text = run(["--config", str(cfg), "events", "list", "--tag", "energy", "--format", "json"])
    assert code == 0
    rows = json.loads(text)
    assert rows and all("energy" in r["tags"].split(",") for r in rows)
    assert {"power-of-siberia-contract-2014", "power-of-siberia-launch-2019"} <= {r["id"] for r in rows}
    code, text = run(["--config", str(cfg), "events", "check"])
    assert code == 0 and text.startswith("ok: ")
    bad = tmp_path / "bad.toml"
    bad.write_text('[[statement]]\nid = "no-source-2023"\ndate = 2023-01-01\n', encoding="utf-8")
    code, _ = run(["--config", str(cfg), "events", "check", "--file", str(bad)])
    assert code == 2
    err = capsys.readouterr().err
    assert "no-source-2023" in err and "missing" in err
    with pytest.raises(SystemExit) as exit_:
        run(["events", "align", "--help"])
    assert exit_.value.code == 0
    assert "example:" in capsys.readouterr().out


def test_candidates_and_promote(tmp_path, capsys):
    cfg = write_config(tmp_path)
    store = Store.open(tmp_path / "sw.db")
    url = "https://example.org/2023/08/15/shoigu-china-ties"
    store.candidates.save([{"url": url, "title": "Shoigu: Russia-China ties more than an alliance",
                            "seen_at": "2023-08-15T09:45:00Z", "domain": "example.org", "language": "English",
                            "source_country": "RU", "query_id": "rus-chn"}])
    store.close()
    code, text = run(["--config", str(cfg), "events", "candidates", "--start", "2023-08-01", "--end", "2023-08-31",
                      "--format", "json"])
    assert code == 0 and [r["url"] for r in json.loads(text)] == [url]
    code, text = run(["--config", str(cfg), "events", "candidates", "--start", "2023-09-01", "--format", "json"])
    assert code == 0 and json.loads(text) == []
    code, draft = run(["--config", str(cfg), "events", "promote", url])
    assert code == 0 and "[[statement]]" in draft and url in draft and "date = 2023-08-15" in draft
    path = tmp_path / "draft.toml"
    path.write_text(draft, encoding="utf-8")
    code, _ = run(["--config", str(cfg), "events", "check", "--file", str(path)])
    assert code == 2  # the draft stays invalid until a person fills it in
    assert "missing" in capsys.readouterr().err
    filled = draft.replace('speaker = ""', 'speaker = "Sergei Shoigu"').replace('role = ""', 'role = "Minister"') \
        .replace('venue = ""', 'venue = "MCIS"').replace('key_phrase = ""', 'key_phrase = "more than allied"') \
        .replace('summary = ""', 'summary = "Filled in."').replace("tags = []", 'tags = ["alliance"]')
    path.write_text(filled, encoding="utf-8")
    assert run(["--config", str(cfg), "events", "check", "--file", str(path)])[0] == 0
    code, _ = run(["--config", str(cfg), "events", "promote", "https://example.org/unknown"])
    assert code == 2


def _real_history(store: Store) -> None:
    fx = pd.read_csv(shared_path("data", "real", "fx", "cbr_usd_eur_cny_rub_2021_2026.csv"))
    usd = fx[fx["currency"] == "USD"]
    usd = pd.Series(usd["rub_per_unit"].to_numpy(float), index=pd.DatetimeIndex(pd.to_datetime(usd["date"])))
    usd = usd[usd.index <= ASOF]
    kr = pd.read_csv(shared_path("data", "real", "rates", "cbr_key_rate_daily_2021_2026.csv"))
    key = pd.Series(kr["key_rate_pct"].to_numpy(float), index=pd.DatetimeIndex(pd.to_datetime(kr["date"])))
    key = key[key.index <= ASOF]
    store.observations.write_derived(SeriesInfo("cbr.fx.USD", "cbr", "USD/RUB official rate", "RUB per USD", "D"), usd)
    store.observations.write_derived(SeriesInfo("cbr.keyrate", "cbr", "Key rate", "% per year", "D"), key)
    grid = pd.bdate_range(usd.index[0], ASOF)
    in_force = usd.reindex(usd.index.union(grid)).ffill().reindex(grid)
    proxy = np.log(in_force).diff().rolling(20).std() * np.sqrt(252) * 100
    store.observations.write_derived(SeriesInfo("stress.index", "compute", "Stress index (test proxy)", "index", "D"),
                                     proxy)


@pytest.mark.slow
def test_align_real_history_flags_shoigu_as_confounded(tmp_path):
    from stresswatch.regimes.update import update_all

    cfg = write_config(tmp_path)
    settings = settings_mod.load(cfg, environ={})
    store = Store.open(tmp_path / "sw.db")
    _real_history(store)
    summaries = update_all(store, settings, dt.date.fromisoformat(ASOF))
    assert [s.status for s in summaries if s.model_id == "ruble2"] == ["cold"]
    from stresswatch.app.daily import align_for_day

    # the daily pipeline's step: statements with an event day inside the 2021-2023 data
    assert align_for_day(store, settings, dt.date.fromisoformat(ASOF)) == 15
    store.close()

    code, text = run(["--config", str(cfg), "events", "align", "--asof", ASOF, "--placebos", "2000",
                      "--format", "json"])
    assert code == 0
    rows = json.loads(text)
    assert all(list(r) == list(ALIGN_FIELDS) for r in rows)
    by_id = {r["id"]: r for r in rows}
    shoigu = by_id["shoigu-more-than-allied-2023"]
    assert shoigu["t0"] == "2023-08-15" and shoigu["confounded"] is True
    assert "keyrate-2023-08-15-extraordinary" in shoigu["confounders"].split(",")
    assert shoigu["regime"] == "stress" and shoigu["p_stress_filtered"] >= 0.5
    assert 0 < shoigu["p_value"] <= 1 and 0 < shoigu["q_value"] <= 1
    # every statement inside the data has a p- and q-value in range; earlier ones have none
    for r in rows:
        if r["date"] >= "2022-01-01":
            assert 0 < r["p_value"] <= 1 and r["p_value"] <= r["q_value"] <= 1, r["id"]
        if r["date"] < "2020-12-01":
            assert r["t0"] is None and r["p_value"] is None
    assert "xi-moscow-victory-day-2025" not in by_id  # dated after --asof
    # same data and seed -> same p-values; the aggregate view runs too
    code, again = run(["--config", str(cfg), "events", "align", "--asof", ASOF, "--placebos", "2000",
                       "--format", "json"])
    assert [r["p_value"] for r in json.loads(again)] == [r["p_value"] for r in rows]
    code, text = run(["--config", str(cfg), "events", "align", "--asof", ASOF, "--placebos", "500",
                      "--aggregate", "--format", "csv"])
    assert code == 0 and text.splitlines()[0].startswith("group,n,n_used,mean_abnormal")
    assert any(line.startswith("tag:alliance,") for line in text.splitlines())


def test_list_with_an_unknown_tag_names_the_valid_tags(tmp_path, capsys):
    cfg = write_config(tmp_path)
    code, text = run(["--config", str(cfg), "events", "list", "--tag", "nosuchtag"])
    assert code == 2 and text == ""
    err = capsys.readouterr().err
    assert "--tag 'nosuchtag': no statement has this tag; tags: " in err
    assert "alliance" in err and "energy" in err
    code, text = run(["--config", str(cfg), "events", "list", "--tag", "ENERGY", "--format", "csv"])
    assert code == 0 and len(text.splitlines()) > 1  # tags match in any case, as before


def _shipped_catalogue_config(filled, tmp_path):
    """The filled store (known history, a fitted headline model) with the shipped catalogue: its
    long ids and speakers are what made the table 388 characters wide."""
    cfg = tmp_path / "shipped.toml"
    cfg.write_text(f'[store]\npath = "{filled["store"].path}"\n[regimes]\nheadline = "t2"\nsearch_reps = 2\n'
                   'seeds = [1]\n[[regimes.models]]\nid = "t2"\nseries = "cbr.fx.USD"\ntransform = "logret"\n'
                   'k_regimes = 2\nstart = 2022-01-01\n[events]\nplacebos = 200\nk = 5\nestimation_window = 60\n',
                   encoding="utf-8")
    return cfg


def test_align_table_fits_120_columns_and_wide_shows_every_column(filled, tmp_path):
    cfg = _shipped_catalogue_config(filled, tmp_path)
    asof = "2023-08-16"
    code, narrow = run(["--config", str(cfg), "events", "align", "--asof", asof, "--no-compute"])
    assert code == 0
    lines = narrow.splitlines()
    assert max(len(ln) for ln in lines) <= 120
    assert lines[0].split() == ["id", "t0", "regime", "p_stress_filtered", "d_index", "abnormal", "p_value",
                                "q_value", "confounded"]
    assert any(ln.startswith("shoigu-more-than-allied-2023") for ln in lines)
    assert any("…" in ln for ln in lines[2:])  # the longest ids are shortened to fit
    code, wide = run(["--config", str(cfg), "events", "align", "--asof", asof, "--no-compute", "--wide"])
    assert code == 0
    assert wide.splitlines()[0].split() == list(ALIGN_FIELDS)
    assert max(len(ln) for ln in wide.splitlines()) > 120
    # csv and json keep every column whatever the table shows
    code, text = run(["--config", str(cfg), "events", "align", "--asof", asof, "--no-compute", "--format", "csv"])
    assert text.splitlines()[0] == ",".join(ALIGN_FIELDS)
    # numbers in the table are rounded for people (at most 4 significant digits below 1); csv keeps
    # full precision
    assert re.search(r"\.\d{8,}", text) and not re.search(r"\.\d{8,}", narrow + wide)
