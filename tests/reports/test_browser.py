"""The rendered HTML in a real headless Chromium: no console errors (CSP violations included) on the
page as written, and every image loads (checked by a probe copy of the page that reports
`img.complete && img.naturalWidth > 0` into the DOM) and is shown no larger than drawn, uniformly scaled
(so the overlap check of every chart at its drawn size, tests/reports/test_chart_layout.py, covers what
the page shows). Skipped where /usr/bin/chromium is absent."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from stresswatch.reports import render
from tests.fakes import report_data as R
from tests.reports.conftest import fixed_clock

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="headless Chromium (/usr/bin/chromium) not installed")

PROBE = """<script>
window.__errors = [];
window.addEventListener('error', function (e) {
  var t = e.target || {};
  window.__errors.push(t.src ? 'failed to load ' + t.src : String(e.message));
}, true);
window.addEventListener('load', function () {
  var imgs = Array.prototype.map.call(document.images, function (i) {
    return {src: i.getAttribute('src'), ok: i.complete && i.naturalWidth > 0, w: i.naturalWidth, alt: i.alt,
            h: i.naturalHeight, shown_w: i.width, shown_h: i.height};  // rendered content box, CSS px
  });
  var pre = document.createElement('pre');
  pre.id = 'probe';
  pre.textContent = JSON.stringify({images: imgs, errors: window.__errors});
  document.body.appendChild(pre);
});
</script>"""


def chromium(url: str, user_dir: Path) -> tuple[str, str]:
    cmd = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--no-first-run", "--disable-sync", f"--user-data-dir={user_dir}",
           "--enable-logging=stderr", "--v=0", "--virtual-time-budget=5000", "--dump-dom", url]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout, proc.stderr


@pytest.mark.slow
def test_report_opens_in_chromium_without_errors_and_all_images_load(filled, tmp_path):
    result = render.render_day(filled["store"], filled["settings"], R.REPORT_DAY, out=tmp_path / "out",
                               clock=fixed_clock(), update_archive=False)
    page = result.folders[0] / "report.html"

    # 1. the page as written: no console messages (errors, CSP violations)
    dom, log = chromium(page.as_uri(), tmp_path / "profile1")
    console = [line for line in log.splitlines() if ":CONSOLE" in line]
    assert console == [], console
    assert "Russia economic-stress report" in dom and "&lt;script&gt;" in dom

    # 2. a probe copy (CSP removed so the probe may run) reports every image's load state
    html = page.read_text(encoding="utf-8")
    html = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", html)
    probe = page.with_name("probe.html")
    probe.write_text(html.replace("<head>", "<head>\n" + PROBE, 1), encoding="utf-8")
    dom, _ = chromium(probe.as_uri(), tmp_path / "profile2")
    match = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S)
    assert match, dom[-2000:]
    report = json.loads(match.group(1).replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<")
                        .replace("&gt;", ">"))
    assert report["errors"] == []
    assert len(report["images"]) == 7
    assert all(img["ok"] and img["w"] > 500 and img["alt"] for img in report["images"]), report["images"]
    # the page shows each chart at most at the size it was drawn and checked for overlapping text
    # (tests/reports/test_chart_layout.py), scaled uniformly: a smaller copy cannot create an overlap
    for img in report["images"]:
        assert 0 < img["shown_w"] <= img["w"] + 0.5, img
        assert abs(img["shown_h"] - img["shown_w"] * img["h"] / img["w"]) <= 1, img  # whole CSS pixels

    # 3. the probe notices a broken image (so the check above can fail)
    (result.folders[0] / "charts" / "fx.png").unlink()
    dom, _ = chromium(probe.as_uri(), tmp_path / "profile3")
    broken = json.loads(re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S).group(1).replace("&quot;", '"')
                        .replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">"))
    assert any(not i["ok"] and i["src"] == "charts/fx.png" for i in broken["images"])
    shutil.rmtree(tmp_path / "profile1", ignore_errors=True)


WRAP_PROBE = """<script>
window.addEventListener('load', function () {
  var wide = Array.prototype.filter.call(document.querySelectorAll('.notice'), function (n) {
    return n.scrollWidth > n.clientWidth + 1;
  }).map(function (n) { return n.textContent.slice(0, 60); });
  var pre = document.createElement('pre');
  pre.id = 'probe';
  pre.textContent = JSON.stringify({page: document.documentElement.scrollWidth, view: window.innerWidth,
                                    notices: document.querySelectorAll('.notice').length, wide: wide});
  document.body.appendChild(pre);
});
</script>"""


def probe_layout(page: Path, user_dir: Path, drop_css: str = "") -> dict:
    """Open a probe copy of `page` (CSP removed so the probe may run; `drop_css` removed from the
    style sheet) in a 700 px wide window and return what the probe measured."""
    html = page.read_text(encoding="utf-8")
    html = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", html).replace(drop_css, "")
    probe = page.with_name("wrap-probe.html")
    probe.write_text(html.replace("<head>", "<head>\n" + WRAP_PROBE, 1), encoding="utf-8")
    cmd = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--no-first-run", "--disable-sync", f"--user-data-dir={user_dir}",
           "--window-size=700,1000", "--virtual-time-budget=5000", "--dump-dom", probe.as_uri()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    match = re.search(r'<pre id="probe">(.*?)</pre>', proc.stdout, re.S)
    assert match, proc.stdout[-2000:]
    return json.loads(match.group(1).replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<")
                      .replace("&gt;", ">"))


@pytest.mark.slow
def test_long_urls_in_warning_boxes_wrap(tmp_path, httpserver):
    """The offline first run's report (every fetch failed against a real local server, the error
    naming a 200-character URL) fits a narrow window: the warning boxes wrap their text."""
    from stresswatch import pipeline
    from stresswatch import settings as settings_mod
    from stresswatch.store import Store
    from tests.conftest import settings_for

    httpserver.expect_request(re.compile(".*")).respond_with_data("down", status=503)
    overrides = {f"sources.{s}.enabled": False for s in settings_mod.defaults().source_ids}
    overrides.update({"sources.cbr.enabled": True, "http.retries": 0, "sources.cbr.history_days": 20,
                      "sources.cbr.base_url": httpserver.url_for("/mirror/" + "averyveryverylongsegment" * 8)})
    settings = settings_for(tmp_path, **overrides)
    store = Store.open(settings.store_path)
    pipeline.fetch(store, settings, R.REPORT_DAY)
    result = render.render_day(store, settings, R.REPORT_DAY, out=tmp_path / "out", clock=fixed_clock(),
                               update_archive=False)
    page = result.folders[0] / "report.html"
    assert "averyveryverylongsegment" * 8 in page.read_text(encoding="utf-8")
    seen = probe_layout(page, tmp_path / "profile1")
    assert seen["notices"] >= 2 and seen["wide"] == [] and seen["page"] <= seen["view"], seen
    # the probe sees the overflow when the wrapping rule is missing (so the check above can fail)
    broken = probe_layout(page, tmp_path / "profile2", drop_css="overflow-wrap:anywhere; word-break:break-word;")
    assert broken["wide"] or broken["page"] > broken["view"], broken
    store.close()
