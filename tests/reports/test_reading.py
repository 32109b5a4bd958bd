"""The report as an analyst reads it (issue 13): the headline, the KPI cards and the statement
table agree on one regime per day, in one unit (business days); no "changed since the previous
report" without a previous run; open event windows say when they end; an empty store says that
no data is stored yet and which fetches failed; numbers read as words ("93rd", "1 business day",
never "−0"). Real stores, real regime fits (a daily and a weekly headline model)."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from stresswatch import settings as settings_mod
from stresswatch.events import align as ev_align
from stresswatch.regimes.state import regime_state
from stresswatch.regimes.update import update_all
from stresswatch.reports import render
from stresswatch.reports.context import ContextBuilder
from stresswatch.reports.sections.statements import agrees_with
from stresswatch.store import Store
from tests.fakes import report_data as R
from tests.reports.conftest import fixed_clock

D = R.REPORT_DAY

WEEKLY = '''
[[regimes.models]]
id = "w2"
series = "cbr.fx.USD"
transform = "weekly_logret"
frequency = "W"
k_regimes = 2
start = 2022-01-01
'''


@pytest.fixture(scope="module")
def weekly(tmp_path_factory):
    """The fake history with a weekly headline model (a week in progress on D), fitted as of an
    earlier date and as of D: two runs whose numbers differ."""
    tmp = tmp_path_factory.mktemp("weekly")
    config = R.write_config(tmp)
    config.write_text(config.read_text().replace('headline = "t2"', 'headline = "w2"') + WEEKLY)
    settings = settings_mod.load(config, environ={})
    store = Store.open(settings.store_path)
    R.fill_store(store)
    update_all(store, settings, dt.date(2023, 7, 31))
    update_all(store, settings, D)
    yield {"tmp": tmp, "settings": settings, "store": store}
    store.close()


def _html_text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.mark.parametrize("which", ["filled", "weekly"])
def test_headline_cards_and_statements_agree_on_one_regime_per_day(which, request, tmp_path):
    env = request.getfixturevalue(which)
    store, settings = env["store"], env["settings"]
    state = regime_state(store, settings, D)
    result = render.render_day(store, settings, D, out=tmp_path, clock=fixed_clock(), update_archive=False)
    ctx = result.context
    head = ctx["headline"]
    # the headline's regime is the regime of its day, by the read model's one rule
    assert head["regime"] == state.regime == state.label_on(head["last_observation"])
    # every statement row carries the regime (and filtered P(stress)) of its t0 under the same rule
    rows = [r for r in ctx["statements"]["catalogue"] if r["t0"]]
    assert rows
    probs = state.stress_probability("filtered")
    for r in rows:
        assert r["regime"] == state.label_on(r["t0"]), r
        assert r["regime_period"] <= r["t0"]
        assert r["p_stress_filtered"] == pytest.approx(float(probs.loc[r["regime_period"]]))
    # the cards repeat the headline: regime of the same day, durations in business days
    html = (result.folders[0] / "report.html").read_text(encoding="utf-8")
    card = re.search(r'<div class="label">Regime on ([0-9-]+)</div><div class="value"><span class="regime \w+">'
                     r'(\w+)</span>', html)
    assert card and card.groups() == (head["last_observation"], head["regime"])
    per_period = 5 if state.weekly else 1
    assert head["business_days_per_period"] == per_period
    assert head["expected_duration_days"] == pytest.approx(state.expected_duration * per_period)
    text = _html_text(html)
    assert "business days in this regime" in text and " weeks " not in text and "periods" not in text.split(
        "Method notes")[0]
    md = (result.folders[0] / "report.md").read_text(encoding="utf-8")
    assert f"| {head['expected_duration_days']:.0f} business days |" in md.replace(",", "")
    for e in head["episodes"]:
        assert e["business_days"] == e["length"] * per_period


def test_no_change_since_the_previous_report_is_claimed_without_a_previous_run(filled, tmp_path):
    store, settings = filled["store"], filled["settings"]
    before = regime_state(store, settings, dt.date(2023, 8, 15))
    assert before.run is None or before.run.asof < dt.date(2023, 8, 15)  # no run as of D-1
    result = render.render_day(store, settings, D, out=tmp_path, clock=fixed_clock(), update_archive=False)
    head = result.context["headline"]
    assert head["previous"]["basis"] != "previous report"
    assert head["change_since"].startswith("the model's previous observation")
    for name in ("report.html", "report.md"):
        text = _html_text((result.folders[0] / name).read_text(encoding="utf-8")).replace("\\", "")
        assert "since the previous report" not in text and "previous report (" not in text
        assert "no model run existed on 2023-08-15, so there is no previous report to compare with" in text


def test_with_a_previous_run_the_change_is_against_the_previous_report(filled, tmp_path):
    store, settings = filled["store"], filled["settings"]
    builder = ContextBuilder(store, settings, clock=fixed_clock(), write_snapshots=False)
    update_all(store, settings, dt.date(2023, 8, 17))  # now a run exists as of 2023-08-17 and 2023-08-16
    head = builder.build(dt.date(2023, 8, 17)).context["headline"]
    assert head["previous"]["basis"] == "previous report" and head["change_since"] == "the previous report (2023-08-16)"
    assert head["previous"]["regime"] == regime_state(store, settings, D).regime


def test_a_stored_alignment_from_another_run_is_not_shown(weekly, tmp_path):
    store, settings = weekly["store"], weekly["settings"]
    older = regime_state(store, settings, dt.date(2023, 7, 31))
    now = regime_state(store, settings, D)
    assert older.run.id != now.run.id
    stale = ev_align.align(store, settings, D, state=older)  # what an events step before the refit stored
    ev_align.save(store, stale)
    assert ev_align.stored(store, settings, D) is not None and not agrees_with(stale.rows(), now)
    ctx = ContextBuilder(store, settings, clock=fixed_clock(), write_snapshots=False).build(D).context
    for r in ctx["statements"]["catalogue"]:
        if r["t0"]:
            assert r["regime"] == now.label_on(r["t0"])
    store.alignments.delete(D)


def test_open_event_windows_say_when_they_end(filled, tmp_path):
    result = render.render_day(filled["store"], filled["settings"], D, out=tmp_path, clock=fixed_clock(),
                               update_archive=False)
    rows = {r["id"]: r for r in result.context["statements"]["catalogue"]}
    hostile, early = rows["hostile-text-2023"], rows["early-statement-2022"]
    assert hostile["t0"] == "2023-08-15" and hostile["d_index"] is None
    assert hostile["window_pending"] is True and hostile["window_end"] == "2023-08-22"  # t0 + 5 business days
    assert early["window_pending"] is False and early["d_index"] is not None
    html = (result.folders[0] / "report.html").read_text(encoding="utf-8")
    md = (result.folders[0] / "report.md").read_text(encoding="utf-8")
    assert html.count("window ends 2023-08-22") == 2 and md.count("window ends 2023-08-22") == 2  # near + catalogue
    # once D is past the window's end the figures are there
    later = ContextBuilder(filled["store"], filled["settings"], clock=fixed_clock(), write_snapshots=False)
    assert later.build(dt.date(2023, 8, 18)).context["statements"]["catalogue"][1]["window_end"] == "2023-08-22"


def test_empty_store_report_says_no_data_and_which_fetches_failed(tmp_path, httpserver):
    """An offline first run: every fetch failed (a real local server answering 503), nothing stored."""
    from stresswatch import pipeline
    from tests.conftest import settings_for

    long_path = "/mirror/" + "x" * 180
    httpserver.expect_request(re.compile(".*")).respond_with_data("down for maintenance", status=503)
    overrides = {f"sources.{s}.enabled": False for s in settings_mod.defaults().source_ids}
    overrides.update({"sources.cbr.enabled": True, "sources.cbr.base_url": httpserver.url_for(long_path),
                      "http.retries": 0, "sources.cbr.history_days": 20})
    settings = settings_for(tmp_path, **overrides)
    store = Store.open(settings.store_path)
    pipeline.fetch(store, settings, D)
    assert store.observations.list_series() == [] or all(r["count"] == 0 for r in store.observations.list_series())
    result = render.render_day(store, settings, D, out=tmp_path / "reports", clock=fixed_clock(), update_archive=False)
    ctx = result.context
    assert ctx["data"]["empty"] and not ctx["data"]["stored"] and [f["source"] for f in ctx["data"]["failed"]] == ["cbr"]
    assert ctx["headline"]["reason"] == "no data"
    assert ctx["headline"]["message"].startswith("No data is stored yet. The last fetch of cbr failed")
    assert "stresswatch demo" in ctx["headline"]["message"]
    texts = [w["text"] for w in ctx["warnings"]]
    assert texts[0] == ctx["headline"]["message"] and "source cbr: fetch failed at" in texts[1]
    assert long_path in texts[1]  # the failing URL is named
    for name in ("report.html", "report.md", "report.json"):
        assert "stresswatch compute" not in (result.folders[0] / name).read_text(encoding="utf-8")
    index = (tmp_path / "reports" / "index.html").read_text(encoding="utf-8")
    assert "no data" in index and "no model run" not in index
    store.close()


def test_a_store_whose_history_starts_after_d_says_so(filled, tmp_path):
    ctx = ContextBuilder(filled["store"], filled["settings"], clock=fixed_clock(),
                         write_snapshots=False).build(dt.date(2021, 12, 1)).context
    assert ctx["data"]["empty"] and ctx["data"]["stored"]
    assert ctx["headline"]["message"] == "No data is known on 2021-12-01: the store's history starts on 2022-01-01."


def test_numbers_read_as_words():
    assert [render.f_ordinal(v) for v in (1, 2, 3, 4, 11, 12, 13, 21, 22, 72, 92, 93, 100, 101, 111, 112)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "72nd", "92nd", "93rd", "100th",
        "101st", "111th", "112th"]
    assert render.f_ordinal(94.6) == "95th"
    assert render.f_bdays(1) == "1 business day" and render.f_bdays(0) == "0 business days"
    assert render.f_bdays(12) == "12 business days"
    assert render.f_num(-0.3, 0, True) == "0" and render.f_num(-0.0004, 3) == "0.000"
    assert render.f_num(-0.6, 0, True) == "−1" and render.f_num(0.6, 0, True) == "+1"
    assert render.f_num(-1234.5, 1) == "−1,234.5"


def test_rendered_pages_use_the_words(filled, tmp_path):
    """The rendered pages: ordinal percentiles, a singular business day, and an index without −0."""
    store, settings = filled["store"], filled["settings"]
    result = render.render_day(store, settings, D, out=tmp_path, clock=fixed_clock(), update_archive=False)
    ctx = result.context
    pct = round(100 * ctx["stress_index"]["percentile"])
    for name in ("report.html", "report.md"):
        text = (result.folders[0] / name).read_text(encoding="utf-8")
        assert f"{render.f_ordinal(pct)} percentile" in text and not re.search(r"\b(1|2|3)th\b", text)
        assert not re.search(r"\b1 business days\b", text)
    # a headline of one business day, rendered from the same context
    ctx["headline"]["days_in_regime"] = 1
    assert "(1 business day, since" in render.render_md(ctx) and "(1 business day, since" in render.render_html(ctx)
    ctx["headline"]["p_stress_change"] = -0.004
    entry = render.index_entry(ctx, ["html"])
    page = render.render_index_page([entry], "store")
    assert "−0" not in page and '<td class="n">0</td>' in page
