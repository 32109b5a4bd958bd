"""The fetch/backfill/reparse pipeline against real local servers and a real store."""

import datetime as dt
import io
import json

import pytest

from stresswatch import pipeline
from stresswatch.cli import main
from stresswatch.store import Store
from tests.conftest import all_observations, settings_for
from tests.fakes.bis import BisFake
from tests.fakes.cbr import FakeCbr, synthetic_history

D = dt.date


@pytest.fixture
def cbr():
    with FakeCbr(synthetic_history(D(2019, 1, 1), D(2021, 6, 30))) as fake:
        yield fake


def only(settings, *ids):
    for source in settings.source_ids:
        settings.source(source)["enabled"] = source in ids
    return settings


def test_unparseable_body_is_archived_retried_and_the_partition_fails_cleanly(tmp_path, cbr):
    settings = only(settings_for(tmp_path, **{"sources.cbr.base_url": cbr.base_url, "http.retries": 1}), "cbr")
    cbr.inject("dynamic", "challenge", times=None)
    with Store.open(settings.store_path) as store:
        report = pipeline.backfill(store, settings, D(2020, 1, 1), D(2020, 12, 31), progress=False)
        assert [o.status for o in report.outcomes] == ["failed"]
        assert "cbr" in report.failed[0].error and "XML_dynamic" in report.failed[0].error
        assert (store.observations.read_series("cbr.fx.USD").empty
                if store.observations.series_info("cbr.fx.USD") else True)
        archived = [p for p in store.payloads.iter("cbr") if b"DDOS-GUARD" in p.body]
        assert archived, "the challenge page must be archived before parsing"
        row = store.ledger.get("fetch:cbr", "2020-01-01..2020-12-31")
        assert row["status"] == "failed" and row["attempts"] == 1
        cbr.clear_faults()
        # --reprocess failed retries exactly that partition
        report = pipeline.backfill(store, settings, D(2020, 1, 1), D(2020, 12, 31), reprocess="failed",
                                   progress=False)
        assert [o.status for o in report.outcomes] == ["success"]
        assert store.ledger.get("fetch:cbr", "2020-01-01..2020-12-31")["attempts"] == 2


def test_challenge_page_once_is_retried_within_the_partition(tmp_path, cbr):
    settings = only(settings_for(tmp_path, **{"sources.cbr.base_url": cbr.base_url}), "cbr")
    cbr.inject("dynamic", "challenge", times=1)
    cbr.inject("keyrate", "truncated", times=1)
    with Store.open(settings.store_path) as store:
        report = pipeline.backfill(store, settings, D(2020, 1, 1), D(2020, 12, 31), progress=False)
        assert report.ok
        expected = cbr.history.per_unit("USD")
        got = store.observations.read_series("cbr.fx.USD")
        assert len(got) == len([d for d in expected if d.year == 2020])
        assert not store.observations.read_series("cbr.keyrate").empty


def test_one_failing_source_leaves_the_others_complete_and_exits_1(tmp_path, cbr, httpserver):
    bis = BisFake({"US": {D(2020, 3, 2): 1.625}, "RU": {D(2020, 3, 2): 6.0}}).fail(503, count=None)
    bis_url = bis.install(httpserver)
    settings_file = tmp_path / "sw.toml"
    settings_file.write_text(f"""
[store]
path = "{tmp_path / 'sw.db'}"
[http]
backoff_factor = 0.0
retries = 1
retry_after_max = 0.1
[sources.cbr]
base_url = "{cbr.base_url}"
min_interval = 0.0
[sources.bis]
base_url = "{bis_url}"
min_interval = 0.0
areas = ["US", "RU"]
""")
    out = io.StringIO()
    code = main(["--config", str(settings_file), "backfill", "--start", "2020-01-01", "--end", "2021-03-31",
                 "--source", "bis", "--source", "cbr", "--format", "json"], out=out)
    assert code == 1
    summary = {row["source"]: row for row in json.loads(out.getvalue())}
    assert summary["cbr"]["success"] == 2 and summary["cbr"]["failed"] == 0
    assert summary["bis"]["failed"] >= 1 and "503" in summary["bis"]["error"]
    with Store.open(tmp_path / "sw.db") as store:
        usd = store.observations.read_series("cbr.fx.USD")
        expected = [d for d in cbr.history.per_unit("USD") if D(2020, 1, 1) <= d <= D(2021, 3, 31)]
        assert len(usd) == len(expected)


def test_dry_run_asks_nothing_and_writes_nothing(tmp_path, cbr):
    settings = only(settings_for(tmp_path, **{"sources.cbr.base_url": cbr.base_url}), "cbr")
    with Store.open(settings.store_path) as store:
        report = pipeline.backfill(store, settings, D(2019, 1, 1), D(2020, 12, 31), dry_run=True)
        assert [o.status for o in report.outcomes] == ["planned", "planned"]
        assert any("VAL_NM_RQ=R01235" in r for r in report.outcomes[0].planned)
        assert cbr.count() == 0 and store.ledger.rows() == []


def test_fetch_asks_only_for_what_is_missing(tmp_path, cbr):
    settings = only(settings_for(tmp_path, **{"sources.cbr.base_url": cbr.base_url,
                                              "sources.cbr.history_start": "2021-01-01"}), "cbr")
    with Store.open(settings.store_path) as store:
        assert pipeline.fetch(store, settings, D(2021, 3, 31)).ok
        first = cbr.count()
        assert first == 4  # three currencies and the key rate, one window
        assert pipeline.fetch(store, settings, D(2021, 3, 31)).outcomes == []  # up to date: no request
        assert cbr.count() == first
        pipeline.fetch(store, settings, D(2021, 4, 30))
        asked = [r.query.get("date_req1") for r in cbr.requests[first:] if r.endpoint == "dynamic"]
        assert set(asked) == {"24/03/2021"}  # from the last covered date less the overlap
        row = store.ledger.get("fetch:cbr", "2021-01-01..2021-12-31")
        assert (row["covered_from"], row["covered_to"]) == ("2021-01-01", "2021-04-30")


def test_reparse_rebuilds_the_same_observations_offline(tmp_path, cbr):
    settings = only(settings_for(tmp_path, **{"sources.cbr.base_url": cbr.base_url}), "cbr")
    with Store.open(settings.store_path) as store:
        pipeline.backfill(store, settings, D(2019, 1, 1), D(2020, 12, 31), progress=False)
        before = all_observations(store)
        cbr.stop()  # offline from here on
        (rep,) = pipeline.reparse(store, settings, "cbr")
        assert rep.parsed == rep.payloads and rep.unparseable == 0
        after = all_observations(store)
        assert [tuple(r) for r in after] == [tuple(r) for r in before]


def test_unknown_source_and_bad_range_are_usage_errors(tmp_path, capsys):
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[store]\npath = "{tmp_path / "sw.db"}"\n')
    assert main(["--config", str(cfg), "backfill", "--start", "2020-01-01", "--end", "2020-02-01",
                 "--source", "nope"]) == 2
    assert "unknown source nope" in capsys.readouterr().err
    assert main(["--config", str(cfg), "backfill", "--start", "2021-01-01", "--end", "2020-02-01"]) == 2


def test_a_transfer_cut_short_is_asked_again_within_the_partition(tmp_path):
    from tests.fetchers.test_http import _short_body_server

    good = ('<?xml version="1.0" encoding="windows-1251"?><ValCurs ID="R01235" DateRange1="14.08.2023" '
            'DateRange2="15.08.2023" name="Foreign Currency Market Dynamic"><Record Date="15.08.2023" Id="R01235">'
            '<Nominal>1</Nominal><Value>101,0399</Value></Record></ValCurs>').encode("cp1251")
    url = _short_body_server([None, good]).rsplit("/", 1)[0]
    settings = only(settings_for(tmp_path, **{"sources.cbr.base_url": url, "sources.cbr.currencies": ["USD"],
                                              "sources.cbr.keyrate": False}), "cbr")
    with Store.open(settings.store_path) as store:
        report = pipeline.backfill(store, settings, D(2023, 8, 14), D(2023, 8, 15), progress=False)
        assert report.ok and report.outcomes[0].requests == 2
        assert store.observations.read_series("cbr.fx.USD").tolist() == [101.0399]


def test_an_unreachable_host_is_left_alone_by_fetch_for_the_cooldown(tmp_path):
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    settings = only(settings_for(tmp_path, **{"sources.cbr.base_url": dead, "http.retries": 0,
                                              "sources.cbr.history_start": "2021-01-01"}), "cbr")
    with Store.open(settings.store_path) as store:
        first = pipeline.fetch(store, settings, D(2021, 3, 31))
        assert [o.status for o in first.outcomes] == ["failed"] and first.outcomes[0].unreachable
        again = pipeline.fetch(store, settings, D(2021, 3, 31))
        assert [o.status for o in again.outcomes] == ["abandoned"] and not again.ok
        assert "host unreachable" in again.outcomes[0].error
        assert store.ledger.get("fetch:cbr", "2021-01-01..2021-12-31")["attempts"] == 1  # not asked again
        # a backfill is an explicit request: it asks anyway; so does fetch with the cooldown off
        assert [o.status for o in pipeline.backfill(store, settings, D(2021, 1, 1), D(2021, 3, 31)).outcomes] \
            == ["failed"]
        settings["http"]["unreachable_cooldown"] = 0.0
        assert [o.status for o in pipeline.fetch(store, settings, D(2021, 3, 31)).outcomes] == ["failed"]
        assert store.ledger.get("fetch:cbr", "2021-01-01..2021-12-31")["attempts"] == 3


def test_a_cooldown_ending_after_midnight_fits_runs_line_and_keeps_its_end_and_flag():
    """Across midnight the end carries its date; the line still fits LINE_MAX with `run`'s prefix,
    and what gives way is the cause, never the end or the flag (seen at 23:34Z in CI)."""
    import datetime as dt

    from stresswatch.partition import LINE_MAX, RUN_PREFIX
    from stresswatch.pipeline import Cooldown

    for cause in ("name not resolved", "x" * 300):
        line = Cooldown(at="2026-11-30T23:34:00Z", until=dt.datetime(2026, 12, 1, 0, 4),
                        host="no-such-host.invalid", cause=cause).message("gdelt")
        assert len(RUN_PREFIX + line) <= LINE_MAX
        assert line.startswith("gdelt: host unreachable: no-such-host.invalid — ")
        assert line.endswith(" at 23:34Z; not asked until 2026-12-01 00:04Z (--ignore-cooldown)")
    same_day = Cooldown(at="2026-11-30T20:34:00Z", until=dt.datetime(2026, 11, 30, 21, 4), host="h", cause="refused")
    assert same_day.message("cbr") == "cbr: host unreachable: h — refused at 20:34Z; not asked until 21:04Z (--ignore-cooldown)"
