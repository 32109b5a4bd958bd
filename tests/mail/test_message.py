"""Building the digest and test messages (mail.message): structure, CID chart, report link; the
chart is the report's when it exists, else drawn by reports.charts; a digest is plain data."""

from __future__ import annotations

import datetime as dt
import email
from dataclasses import dataclass, field
from email import policy

import pandas as pd

from stresswatch.mail.message import build_digest_message, headline_chart, regime_chart
from stresswatch.regimes.state import regime_state
from stresswatch.reports.charts import regime_probability_png
from tests.mail.common import CLOCK, digest_for, mail_settings


def test_digest_message_structure_cid_and_report_link(tmp_path, store, smtp):
    s = mail_settings(tmp_path, smtp.port, **{"mail.report_url": "https://reports.example.org/sw/"})
    msg = build_digest_message(store, s, digest_for(store, s), CLOCK)
    raw = msg.as_bytes()
    parsed = email.message_from_bytes(raw, policy=policy.default)
    assert parsed.get_content_type() == "multipart/alternative"
    plain = parsed.get_body(("plain",)).get_content()
    html_part = parsed.get_body(("html",))
    html = html_part.get_content()
    assert "FIRING stress-regime" in parsed["Subject"]
    assert "ruble_rt P(stress) 0.90 > 0.50" in plain
    assert "https://reports.example.org/sw/2022-03-01/report.html" in plain
    assert 'href="https://reports.example.org/sw/2022-03-01/report.html"' in html
    assert "&lt;b&gt;" in html and "<b>" not in html.replace("<body", "")  # autoescaped summary
    related = parsed.get_payload()[1]
    assert related.get_content_type() == "multipart/related"
    image = [p for p in related.iter_parts() if p.get_content_type() == "image/png"][0]
    cid = image["Content-ID"].strip("<>")
    assert f'src="cid:{cid}"' in html
    assert image.get_content()[:8] == b"\x89PNG\r\n\x1a\n"
    assert parsed["Message-ID"] and parsed["Date"]


def test_report_chart_preferred_and_path_without_url(tmp_path, store, smtp):
    s = mail_settings(tmp_path, smtp.port, **{"report.out": str(tmp_path / "reports")})
    charts = tmp_path / "reports" / "2022-03-01" / "charts"
    charts.mkdir(parents=True)
    png = regime_chart(store, s, dt.date(2022, 3, 1))[0] or b""
    (charts / "stress_index_1y.png").write_bytes(b"\x89PNG\r\n\x1a\nreport-chart")
    msg = build_digest_message(store, s, digest_for(store, s), CLOCK)
    parsed = email.message_from_bytes(msg.as_bytes(), policy=policy.default)
    image = [p for p in parsed.walk() if p.get_content_type() == "image/png"][0]
    assert image.get_content() == b"\x89PNG\r\n\x1a\nreport-chart" != png
    assert str(tmp_path / "reports" / "2022-03-01" / "report.html") in parsed.get_body(("plain",)).get_content()


def test_without_a_report_the_chart_is_drawn_by_reports_charts_from_the_regime_read_model(tmp_path, store, smtp):
    s = mail_settings(tmp_path, smtp.port, **{"regimes.headline": "ruble_rt"})
    day = dt.date(2022, 3, 1)
    digest_for(store, s, day)  # plants ruble_rt's probabilities
    png, alt = headline_chart(store, s, day)
    probs = regime_state(store, s, day, "ruble_rt").stress_probability("filtered")
    expected = regime_probability_png(probs[probs.index <= pd.Timestamp(day)],
                                      title=f"ruble_rt: probability of the stress regime, 12 months to {day}")
    assert png == expected and "ruble_rt" in alt


def test_a_chart_that_cannot_be_drawn_never_costs_the_mail(tmp_path, store, smtp):
    s = mail_settings(tmp_path, smtp.port, **{"regimes.headline": "not-a-model"})
    msg = build_digest_message(store, s, digest_for(store, s), CLOCK)
    parsed = email.message_from_bytes(msg.as_bytes(), policy=policy.default)
    assert not [p for p in parsed.walk() if p.get_content_type() == "image/png"]
    assert "FIRING stress-regime" in parsed["Subject"] and "cid:" not in parsed.get_body(("html",)).get_content()


@dataclass(frozen=True)
class _Line:
    fingerprint: str
    rule_id: str
    labels: dict
    summary: str
    firing_since: str | None = None
    resolved_on: str | None = None
    muted_by: str | None = None


@dataclass
class _PlainDigest:
    day: dt.date
    new_firing: list = field(default_factory=list)
    resolved: list = field(default_factory=list)
    repeated: list = field(default_factory=list)
    firing: list = field(default_factory=list)
    muted: list = field(default_factory=list)

    def subject(self) -> str:
        return "[stresswatch] plain digest"


def test_a_digest_is_plain_data_mail_needs_no_alerts_types(tmp_path, store, smtp):
    s = mail_settings(tmp_path, smtp.port)
    fired = _Line("a", "rub-1d", {"series": "cbr.fx.USD"}, "ruble +8%", firing_since="2022-03-01")
    gone = _Line("b", "stress-regime", {}, "P(stress) 0.1", resolved_on="2022-03-01")
    held = _Line("c", "index", {}, "x", muted_by="cbr-stale: no data")
    digest = _PlainDigest(dt.date(2022, 3, 1), new_firing=[fired], resolved=[gone], firing=[fired], muted=[held])
    msg = build_digest_message(None, s, digest, CLOCK)
    plain = email.message_from_bytes(msg.as_bytes(), policy=policy.default).get_body(("plain",)).get_content()
    assert "rub-1d [series=cbr.fx.USD]: ruble +8% (since 2022-03-01)" in plain
    assert "stress-regime: P(stress) 0.1 (since 2022-03-01)" in plain
    assert "index: cbr-stale: no data" in plain and "Also firing" not in plain
