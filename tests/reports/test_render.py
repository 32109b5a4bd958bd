"""Rendering to files: as-of reproducibility after newer data arrives, escaping of statement text,
the archive index, range renders equal to single renders, formats and the report index."""

from __future__ import annotations

import datetime as dt
import json
import re

import pandas as pd
import pytest

from stresswatch.regimes.update import update_all
from stresswatch import settings as settings_mod
from stresswatch.fetchers.base import Observation, SeriesInfo
from stresswatch.reports import render
from stresswatch.store import Store
from tests.fakes import report_data as R
from tests.reports.conftest import fixed_clock

D = R.REPORT_DAY
GENERATED = re.compile(r"^.*Generated at .*$", re.MULTILINE)


def texts(folder):
    ctx = json.loads((folder / "report.json").read_text())
    ctx.pop("generated_at")
    html = GENERATED.sub("", (folder / "report.html").read_text())
    md = GENERATED.sub("", (folder / "report.md").read_text())
    charts = {p.name: p.read_bytes() for p in sorted((folder / "charts").glob("*.png"))}
    return ctx, html, md, charts


def test_rendering_d_again_after_newer_data_gives_the_same_report(tmp_path):
    settings = settings_mod.load(R.write_config(tmp_path), environ={})
    store = Store.open(settings.store_path)
    R.fill_store(store, end=D)
    update_all(store, settings, D)
    out = tmp_path / "out"
    first = render.render_day(store, settings, D, out=out, clock=fixed_clock("2023-08-16T17:00:00"))
    before = texts(first.folders[0])

    # newer data arrives: later fixings, a revision of a fixing before D, new index values,
    # a later model run and a fetch in the ledger
    later = R.business_days(dt.date(2023, 8, 17), dt.date(2023, 9, 8))
    fetched = dt.datetime(2023, 9, 8, 16, tzinfo=dt.timezone.utc)
    store.observations.write_observations([Observation("cbr.fx.USD", d, 120.0 + i) for i, d in enumerate(later)],
                                          fetched_at=fetched)
    store.observations.write_observations([Observation("cbr.fx.USD", dt.date(2023, 8, 14), 55.5)], fetched_at=fetched)
    store.observations.write_observations([Observation("cbr.keyrate", dt.date(2023, 9, 1), 13.0)], fetched_at=fetched)
    store.observations.write_derived(SeriesInfo("stress.index", "compute", "Composite stress index", "index (0-1)",
                                                "D"),
                                     pd.Series([0.9] * len(later), index=pd.to_datetime(later)))
    update_all(store, settings, dt.date(2023, 9, 8))
    store.ledger.finish("fetch:cbr", "2023", "success", rows=10)
    assert store.observations.read_series("cbr.fx.USD").loc["2023-08-14"] == 55.5  # the revision is really there

    second = render.render_day(store, settings, D, out=out, clock=fixed_clock("2023-09-08T18:00:00"))
    after = texts(second.folders[0])
    assert after[0] == before[0]
    assert after[1] == before[1]
    assert after[2] == before[2]
    assert after[3] == before[3] and len(after[3]) >= 6
    assert json.loads((second.folders[0] / "report.json").read_text())["generated_at"] == "2023-09-08T18:00:00Z"
    store.close()


def test_statement_text_is_escaped(filled, tmp_path):
    result = render.render_day(filled["store"], filled["settings"], D, out=tmp_path / "o", clock=fixed_clock(),
                               update_archive=False)
    html = (result.folders[0] / "report.html").read_text()
    md = (result.folders[0] / "report.md").read_text()
    assert "<script>" not in html and "<img src=x" not in html and "<i>Two</i>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in html
    assert "Speaker &lt;i&gt;Two&lt;/i&gt;" in html
    assert "<script>" not in md and "<img" not in md
    assert r"\<script\>alert\(\"x\"\)\</script\>".replace('\\"', '"') in md
    assert r"\| pipe" in md  # a pipe cannot break the Markdown table
    ctx = json.loads((result.folders[0] / "report.json").read_text())
    assert ctx["statements"]["catalogue"][1]["key_phrase"] == R.HOSTILE


def test_html_has_alt_text_sources_and_method_notes(filled, tmp_path):
    result = render.render_day(filled["store"], filled["settings"], D, out=tmp_path / "o", clock=fixed_clock(),
                               update_archive=False)
    folder = result.folders[0]
    html = (folder / "report.html").read_text()
    imgs = re.findall(r'<img src="([^"]+)" alt="([^"]+)"', html)
    assert len(imgs) == 7
    for src, alt in imgs:
        assert (folder / src).is_file() and len(alt) > 40
    for needle in ("Headline", "P(stress), filtered", "Depreciation, % RUB per unit", "Depreciation, % of ruble value",
                   "Emerging-market currencies", "Central-bank policy rates", "Data freshness", "Method notes",
                   "converged: yes", "source bis is stale", "BRL"):
        assert needle in html, needle
    assert 'http-equiv="Content-Security-Policy"' in html and "<script" not in html
    # the Markdown report links the same charts as real images, not escaped text
    md = (folder / "report.md").read_text()
    md_imgs = re.findall(r"^!\[([^\]]+)\]\((charts/[a-z0-9_]+\.png)\)$", md, flags=re.M)
    assert sorted(src for src, _ in imgs) == sorted(src for _, src in md_imgs)


def test_index_lists_every_report_and_is_rebuilt_when_lost(filled, tmp_path):
    out = tmp_path / "o"
    for day in (dt.date(2023, 8, 1), D):
        render.render_day(filled["store"], filled["settings"], day, out=out, clock=fixed_clock(), update_archive=False)
    manifest = json.loads((out / "index.json").read_text())
    assert [e["date"] for e in manifest["reports"]] == ["2023-08-16", "2023-08-01"]
    assert manifest["reports"][0]["available"] is True and manifest["reports"][1]["available"] is False
    html = (out / "index.html").read_text()
    assert 'href="2023-08-16/report.html"' in html and "no model run" in html
    (out / "index.json").unlink()
    render.update_index(out, [], filled["store"])
    rebuilt = json.loads((out / "index.json").read_text())
    assert [e["date"] for e in rebuilt["reports"]] == ["2023-08-16", "2023-08-01"]


@pytest.mark.slow
def test_range_render_equals_single_renders(filled, tmp_path):
    start = dt.date(2023, 8, 14)
    ranged = render.render_range(filled["store"], filled["settings"], start, D, out=tmp_path / "r",
                                 clock=fixed_clock(), progress=False, workers=1, update_archive=False)
    assert ranged.dates == [dt.date(2023, 8, 14), dt.date(2023, 8, 15), D]
    for folder in ranged.folders:
        day = dt.date.fromisoformat(folder.name)
        single = render.render_day(filled["store"], filled["settings"], day, out=tmp_path / "s",
                                   clock=fixed_clock(), update_archive=False)
        assert texts(folder) == texts(single.folders[0])
    manifest = json.loads((tmp_path / "r" / "index.json").read_text())
    assert len(manifest["reports"]) == 3


def test_formats_and_records(filled, tmp_path):
    out = tmp_path / "o"
    result = render.render_day(filled["store"], filled["settings"], D, out=out, formats="json",
                               clock=fixed_clock())
    folder = result.folders[0]
    assert (folder / "report.json").exists() and not (folder / "report.html").exists()
    assert not (folder / "charts").exists()
    rows = filled["store"].reports.index(str(out.resolve()))
    assert rows and rows[0]["date"] == "2023-08-16" and rows[0]["formats"] == "json"
    with pytest.raises(Exception, match="unknown report format"):
        render.parse_formats("html,pdf")


def test_compiled_templates_are_kept_between_processes_and_give_the_same_report(filled, tmp_path, monkeypatch):
    """Jinja2's bytecode cache: a fresh environment (as in a new process) loads report.html and
    report.md compiled from the cache folder, keyed per environment, and renders the same files."""
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(render, "_ENVS", {})
    first = render.render_day(filled["store"], filled["settings"], D, out=tmp_path / "a", clock=fixed_clock(),
                              update_archive=False)
    cached = sorted(p.name for p in (tmp_path / "tmp").glob("_jinja2-cache-*/stresswatch_*.cache"))
    assert len([n for n in cached if n.startswith("stresswatch_html_")]) == 2  # report.html and index.html
    assert len([n for n in cached if n.startswith("stresswatch_md_")]) == 1
    monkeypatch.setattr(render, "_ENVS", {})
    compiled = []
    monkeypatch.setattr(render.jinja2.Environment, "compile",
                        lambda self, *a, **k: compiled.append(a) or pytest.fail("compiled again"))
    second = render.render_day(filled["store"], filled["settings"], D, out=tmp_path / "b", clock=fixed_clock(),
                               update_archive=False)
    assert compiled == []
    assert texts(second.folders[0]) == texts(first.folders[0])


def test_a_report_renders_without_a_usable_template_cache_folder(filled, tmp_path, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "missing" / "tmp"))
    monkeypatch.setattr(render, "_ENVS", {})
    assert render._bytecode_cache("html") is None
    result = render.render_day(filled["store"], filled["settings"], D, out=tmp_path / "o", clock=fixed_clock(),
                               update_archive=False)
    assert "Method notes" in (result.folders[0] / "report.html").read_text()
