"""Building the alert messages: the run's digest and the test message.

Messages are `multipart/alternative[text/plain, multipart/related[text/html, image/png]]`: plain
text first, HTML last (both from the Jinja2 templates in mail/templates/), the headline chart
inline by Content-ID, and a link (or path) to the day's report.

The headline chart is the report's own PNG when the report for D exists; otherwise
`reports.charts.regime_probability_png` draws the headline model's filtered P(stress) over the year
to D, read from the regime read model (`regimes.state.RegimeState`). A chart is never worth losing
the mail: when it cannot be drawn the message goes without it.

A digest arrives as plain data (`DigestContent`, `AlertLine`: read-only protocols that
`alerts.machine.Digest` / `AlertState` satisfy), so this package never imports the alerts package.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
from email import policy
from email.message import EmailMessage
from typing import Any, Callable, Mapping, Protocol, Sequence

import jinja2
import pandas as pd

from stresswatch.errors import StresswatchError
from stresswatch.clock import utc_stamp
from stresswatch.regimes.state import regime_state
from stresswatch.settings import Settings
from stresswatch.store import Store

log = logging.getLogger(__name__)

MAIL_DOMAIN = "stresswatch.local"
#: report chart names tried first for the mail, in this order (any other report PNG after them)
PREFERRED_REPORT_CHARTS = ("stress_index_1y", "index_1y", "stress_1y", "headline", "stress", "index")
#: how much history the drawn chart shows
CHART_WINDOW = pd.Timedelta(days=365)

Clock = Callable[[], dt.datetime]


class AlertLine(Protocol):
    """What a message shows of one alert."""

    @property
    def fingerprint(self) -> str: ...
    @property
    def rule_id(self) -> str: ...
    @property
    def labels(self) -> Mapping[str, str]: ...
    @property
    def summary(self) -> str: ...
    @property
    def firing_since(self) -> str | None: ...
    @property
    def resolved_on(self) -> str | None: ...
    @property
    def muted_by(self) -> str | None: ...


class DigestContent(Protocol):
    """What one run's digest notifies (see `alerts.machine.Digest`)."""

    @property
    def day(self) -> dt.date: ...
    @property
    def new_firing(self) -> Sequence[AlertLine]: ...
    @property
    def resolved(self) -> Sequence[AlertLine]: ...
    @property
    def repeated(self) -> Sequence[AlertLine]: ...
    @property
    def firing(self) -> Sequence[AlertLine]: ...
    @property
    def muted(self) -> Sequence[AlertLine]: ...
    def subject(self) -> str: ...


# ---------------------------------------------------------------------------------------------
# Templates
# ---------------------------------------------------------------------------------------------
_LOADER = jinja2.PackageLoader("stresswatch.mail", "templates")
_TEXT = jinja2.Environment(loader=_LOADER, autoescape=False, trim_blocks=True, lstrip_blocks=True,
                           undefined=jinja2.StrictUndefined)
_HTML = jinja2.Environment(loader=_LOADER, autoescape=True, trim_blocks=True, lstrip_blocks=True,
                           undefined=jinja2.StrictUndefined)


def _render(ctx: Mapping[str, Any]) -> tuple[str, str]:
    """The plain-text and HTML bodies of a message."""
    return (_TEXT.get_template("digest.txt.j2").render(**ctx),
            _HTML.get_template("digest.html.j2").render(**ctx))


# ---------------------------------------------------------------------------------------------
# The report link and the chart
# ---------------------------------------------------------------------------------------------
def report_ref(settings: Settings, day: dt.date) -> str:
    """Where the day's report lives: `[mail] report_url`/<D>/report.html, else the file path."""
    base = settings["mail"]["report_url"]
    if base:
        return f"{base.rstrip('/')}/{day.isoformat()}/report.html"
    return str(settings.reports_dir / day.isoformat() / "report.html")


def headline_chart(store: Store, settings: Settings, day: dt.date) -> tuple[bytes | None, str]:
    """PNG bytes of the headline chart and its alt text: the report's chart when the report for
    `day` exists, else the headline model's P(stress) drawn by `reports.charts` (`regime_chart`);
    (None, "") when neither is possible."""
    charts = settings.reports_dir / day.isoformat() / "charts"
    if charts.is_dir():
        pngs = sorted(charts.glob("*.png"))
        preferred = [p for key in PREFERRED_REPORT_CHARTS for p in pngs if key in p.stem]
        for path in preferred + pngs:
            try:
                return path.read_bytes(), f"Headline chart ({path.stem}) as of {day}"
            except OSError:
                continue
    try:
        return regime_chart(store, settings, day)
    # a chart is never worth losing the mail: the model may be unreadable (StresswatchError), and
    # matplotlib may refuse the data (ValueError) or fail in its backend or font cache
    # (RuntimeError, OSError); the message then goes without a chart
    except (StresswatchError, ValueError, RuntimeError, OSError) as exc:
        log.warning("cannot draw the mail chart for %s: %s", day, exc)
        return None, ""


def regime_chart(store: Store, settings: Settings, day: dt.date) -> tuple[bytes | None, str]:
    """The headline model's filtered P(stress) over the year to `day` as PNG bytes, and its alt
    text; (None, "") when the model has no probabilities in that year."""
    # function-local: matplotlib is heavy, and the CLI imports this module for every command
    from stresswatch.reports.charts import regime_probability_png

    state = regime_state(store, settings, day)
    model = state.model_id
    probs = state.stress_probability("filtered")
    probs = probs[(probs.index <= pd.Timestamp(day)) & (probs.index > pd.Timestamp(day) - CHART_WINDOW)]
    if probs.empty:
        return None, ""
    png = regime_probability_png(probs, title=f"{model}: probability of the stress regime, 12 months to {day}",
                                 ylabel="P(stress), filtered")
    return png, f"Filtered probability of the stress regime ({model}) over the year to {day}"


# ---------------------------------------------------------------------------------------------
# Messages
# ---------------------------------------------------------------------------------------------
def build_message(settings: Settings, *, subject: str, text: str, html: str | None, clock: Clock,
                  chart: bytes | None = None, cid: str | None = None,
                  recipients: Sequence[str] | None = None) -> EmailMessage:
    """A standards-conforming message: plain text, then HTML with the chart related by CID."""
    mail = settings["mail"]
    msg = EmailMessage(policy=policy.SMTP)
    msg["Subject"] = subject
    msg["From"] = mail["sender"]
    msg["To"] = ", ".join(recipients if recipients is not None else mail["recipients"]) or mail["sender"]
    msg["Date"] = email.utils.format_datetime(clock().astimezone(dt.timezone.utc))
    msg["Message-ID"] = email.utils.make_msgid(domain=MAIL_DOMAIN)
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(text)
    if html is not None:
        msg.add_alternative(html, subtype="html")
        if chart is not None and cid is not None:
            msg.get_payload()[1].add_related(chart, "image", "png", cid=f"<{cid}>", filename="headline.png",
                                             disposition="inline")
    return msg


def _items(states: Sequence[AlertLine], since: str) -> list[dict[str, Any]]:
    """Template rows; `since` names the date shown: "firing" (firing_since) or "resolved" (resolved_on)."""
    return [{"rule_id": s.rule_id, "labels": dict(s.labels),
             "labels_text": ", ".join(f"{k}={v}" for k, v in sorted(s.labels.items())),
             "summary": s.summary, "since": s.firing_since if since == "firing" else s.resolved_on,
             "muted_by": s.muted_by} for s in states]


def _with_chart(store: Store | None, settings: Settings, day: dt.date, subject: str,
                sections: list[tuple[str, list[dict[str, Any]]]], muted: list[dict[str, Any]],
                clock: Clock) -> EmailMessage:
    report = report_ref(settings, day)
    chart, alt = headline_chart(store, settings, day) if store is not None else (None, "")
    cid = email.utils.make_msgid(domain=MAIL_DOMAIN)[1:-1] if chart else None
    ctx = dict(day=day.isoformat(), sections=sections, muted=muted, report=report,
               report_is_url=report.startswith(("http://", "https://")), subject=subject, cid=cid, chart_alt=alt)
    text, html = _render(ctx)
    return build_message(settings, subject=subject, text=text, html=html, clock=clock, chart=chart, cid=cid)


def build_digest_message(store: Store | None, settings: Settings, digest: DigestContent, clock: Clock) -> EmailMessage:
    """The run's digest mail: new firing, resolved, reminders, everything still firing."""
    new_fps = {s.fingerprint for s in digest.new_firing} | {s.fingerprint for s in digest.repeated}
    sections = []
    if digest.new_firing:
        sections.append(("Firing (new)", _items(digest.new_firing, "firing")))
    if digest.resolved:
        sections.append(("Resolved", _items(digest.resolved, "resolved")))
    if digest.repeated:
        sections.append(("Still firing (reminder)", _items(digest.repeated, "firing")))
    others = [s for s in digest.firing if s.fingerprint not in new_fps]
    if others:
        sections.append(("Also firing", _items(others, "firing")))
    return _with_chart(store, settings, digest.day, digest.subject(), sections, _items(digest.muted, "firing"),
                       clock)


def build_test_message(store: Store | None, settings: Settings, day: dt.date, clock: Clock) -> EmailMessage:
    """A message that exercises the [mail] settings: one test line, the chart and the report link."""
    sections = [("Test", [{"rule_id": "test", "labels": {}, "labels_text": "",
                           "summary": "this is a test of the alert mail settings", "since": None,
                           "muted_by": None}])]
    return _with_chart(store, settings, day, f"[stresswatch] test message ({utc_stamp(clock())})", sections, [], clock)
