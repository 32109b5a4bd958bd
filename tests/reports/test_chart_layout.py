"""Every report chart, drawn at the size report.html shows it (1056 px wide; the e-mail shows the
same PNG at 720 px, a uniform scale that cannot create an overlap) and the e-mail's own chart at
its 720 px: no text overlaps another or leaves the figure, measured with matplotlib's text
extents after a draw (`reports.chart_layout.overlaps`). The cases are the ones the issue saw: the
trade legend with four long names over the source footer, statements piling up at the right edge
of the 10-year chart, neighbouring extraordinary key-rate decisions."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from matplotlib.text import Text

from stresswatch.events.catalogue import load_catalogue
from stresswatch.fetchers.base import SeriesInfo
from stresswatch.reports import chart_layout
from stresswatch.reports.chart_specs import _statement_markers
from stresswatch.reports.charts import DPI, WIDTH_IN, ChartSpec, draw_chart, draw_regime_probability, \
    figure_height, marker_groups, number_label
from stresswatch.reports.context import ContextBuilder
from stresswatch.regimes.state import regime_state
from tests.fakes import report_data as R
from tests.reports.conftest import fixed_clock

D = R.REPORT_DAY

TRADE = {"imf.imts.CHN_RUS.MG_CIF_USD": "IMF IMTS CHN->RUS imports, CIF",
         "comtrade.CHN_RUS.X": "UN Comtrade CHN->RUS exports", "comtrade.CHN_RUS.M": "UN Comtrade CHN->RUS imports"}


@pytest.fixture(scope="module")
def specs(filled):
    """The chart specs of the report for D, with all four trade series stored."""
    store = filled["store"]
    months = pd.date_range("2014-01-01", "2023-06-01", freq="MS")
    for i, (sid, name) in enumerate(TRADE.items()):
        source = sid.split(".")[0]
        store.observations.upsert_series([SeriesInfo(sid, source, name, "USD", "M", 45)])
        R.write_batch(store, sid, pd.Series(np.linspace(4e9 + i * 1e9, 9e9 + i * 1e9, len(months)), index=months),
                      dt.datetime(2023, 8, 18, 18, tzinfo=dt.timezone.utc))
    data = ContextBuilder(store, filled["settings"], clock=fixed_clock(), write_snapshots=False).build(D)
    return {c.id: c for c in data.charts}


def shipped_statement_markers() -> list[dict]:
    """Markers for the shipped catalogue's 23 statements (13 of them in 2021-2023)."""
    rows = [{"n": i, "speaker": s.speaker, "key_phrase": s.key_phrase, "date": s.date.isoformat(), "t0": None}
            for i, s in enumerate(sorted(load_catalogue(None), key=lambda s: (s.date, s.id)), 1)]
    return _statement_markers({"statements": {"catalogue": rows}})


def assert_clean(fig: Figure, width_px: int) -> None:
    problems = chart_layout.overlaps(fig)
    assert problems == [], problems
    assert round(fig.bbox.width) == width_px
    small = [t.get_text() for t in fig.findobj(Text) if t.get_text().strip() and t.get_visible()
             and t.get_fontsize() < 7]
    assert small == [], small  # at the mail's 720 px, 7 pt at 110 dpi is still about 7 px


def test_every_report_chart_is_free_of_overlapping_text(specs):
    assert set(specs) == {"stress_10y", "stress_1y", "contributions", "fx", "keyrate", "em_league", "trade"}
    for spec in specs.values():
        fig = draw_chart(spec)
        assert round(fig.bbox.height) == round(figure_height(spec) * DPI)
        assert_clean(fig, round(WIDTH_IN * DPI))


def test_the_trade_legend_fits_and_clears_the_footer(specs):
    fig = draw_chart(specs["trade"])
    assert_clean(fig, 1056)
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "UN Comtrade CHN->RUS imports" in legend and len(legend) == 4
    fig.canvas.draw()
    r = chart_layout.renderer(fig)
    legend_box = fig.legends[0].get_window_extent(r)
    footer = [t for t in fig.texts if t.get_text().startswith(("Source:", "Data as known on"))]
    assert len(footer) == 2 and all(t.get_window_extent(r).y1 < legend_box.y0 for t in footer)
    assert 0 <= legend_box.x0 and legend_box.x1 <= fig.bbox.width


def test_statements_close_together_share_one_label_instead_of_piling_up(specs):
    spec = specs["stress_10y"]
    spec.markers = shipped_statement_markers()
    spec.start = "2013-08-16"
    fig = draw_chart(spec)
    assert_clean(fig, 1056)
    labels = [t.get_text() for t in fig.axes[0].texts]
    numbers = set()
    for label in labels:
        for part in label.split(", "):
            a, _, b = part.partition("–")
            numbers.update(range(int(a), int(b or a) + 1))
    assert numbers == set(range(1, 24)), labels  # every statement keeps its number
    assert any("–" in label for label in labels)  # the crowded ones share a label
    one_year = specs["stress_1y"]
    one_year.markers = shipped_statement_markers()
    assert_clean(draw_chart(one_year), 1056)


def test_extraordinary_decisions_close_together_keep_their_labels_apart(specs):
    spec = specs["keyrate"]
    extraordinary = [m for m in spec.markers if m["highlight"]]
    assert len(extraordinary) >= 4  # 2022-02-28, 04-11, 05-04, 05-27 and 2023-08-15 within months
    fig = draw_chart(spec)
    assert_clean(fig, 1056)
    shown = [t.get_text() for t in fig.axes[0].texts]
    assert len(shown) == len(extraordinary)


def test_the_mail_chart_at_its_720_px(filled):
    state = regime_state(filled["store"], filled["settings"], D)
    probs = state.stress_probability("filtered").loc["2022-08-16":]
    fig = draw_regime_probability(probs, f"{state.model_id}: probability of the stress regime, 12 months to {D}, "
                                         f"a title long enough to need a second line in the mail")
    assert_clean(fig, 720)


def test_the_check_sees_overlaps_and_clipping():
    fig = Figure(figsize=(4, 2), dpi=100)
    fig.text(0.1, 0.5, "first label")
    fig.text(0.12, 0.5, "second label")
    fig.text(0.9, 0.1, "runs off the edge")
    problems = chart_layout.overlaps(fig)
    assert any("overlaps" in p for p in problems) and any("leaves the figure" in p for p in problems)


def test_grouping_and_group_labels():
    assert marker_groups([10, 15, 40, 41, 42, 90], 12) == [[0, 1], [2, 3, 4], [5]]
    assert number_label(["18", "19", "20", "21"]) == "18–21"
    assert number_label(["18", "19"]) == "18, 19" and number_label(["4", "7"]) == "4, 7"


def test_long_footers_wrap_instead_of_running_into_the_date():
    spec = ChartSpec(id="x", kind="line", title="T", ylabel="Y", asof="2023-08-16", alt="a",
                     source="; ".join(f"a long source name number {i}" for i in range(12)),
                     series={"s": (["2023-01-02", "2023-08-16"], [1.0, 2.0])})
    fig = draw_chart(spec)
    assert_clean(fig, 1056)
    source = next(t for t in fig.texts if t.get_text().startswith("Source:"))
    assert source.get_text().count("\n") >= 1
    assert re.sub(r"\s+", " ", source.get_text()) == "Source: " + spec.source


def test_wrap_gives_the_word_by_word_lines_and_a_fitting_text_whole():
    fig = Figure(figsize=(4, 2), dpi=110)
    text = "Bank of Russia official rates, cross rates via cbr.fx.USD and more words besides"
    full = chart_layout.text_width(fig, text, 9)
    assert chart_layout.wrap(fig, text, 9, full + 1) == [text]
    lines = chart_layout.wrap(fig, text, 9, full / 2.5)
    assert len(lines) >= 3 and " ".join(lines) == text
    assert all(chart_layout.text_width(fig, line, 9) <= full / 2.5 for line in lines)
    # greedy: no line could have taken the next line's first word
    for line, after in zip(lines, lines[1:]):
        assert chart_layout.text_width(fig, f"{line} {after.split(' ')[0]}", 9) > full / 2.5


def test_measured_widths_are_remembered_per_size_weight_and_dpi():
    small, large = Figure(figsize=(4, 2), dpi=100), Figure(figsize=(4, 2), dpi=200)
    text = "Data as known on 2023-08-16 · stresswatch"
    measured = chart_layout.renderer(small).get_text_width_height_descent(
        text, chart_layout.FontProperties(size=7.5), ismath=False)[0]
    assert chart_layout.text_width(small, text, 7.5) == measured == chart_layout.text_width(small, text, 7.5)
    assert chart_layout.text_width(large, text, 7.5) > 1.8 * measured  # not the 100 dpi width
    assert chart_layout.text_width(small, text, 7.5, weight="bold") > measured
    assert chart_layout.text_width(small, text, 9) > measured
