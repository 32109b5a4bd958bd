"""Alert e-mail: building the message, queueing it in the outbox (`store.outbox`) and SMTP delivery
from it.

Messages are `multipart/alternative[text/plain, multipart/related[text/html, image/png]]`: plain
text first, HTML last, the headline chart inline by Content-ID, and a link (or path) to the day's
report. A message enters the `outbox` table in the caller's transaction (the alert-state change);
`deliver()` drains it: one SMTP session per drain, certificate verification with
`ssl.create_default_context()`, a socket timeout, refused recipients kept and retried alone,
transient failures retried with backoff, nothing marked sent before the server accepted it.

The SMTP password comes only from `STRESSWATCH_SMTP_PASSWORD` (or a file named by
`STRESSWATCH_SMTP_PASSWORD_FILE`, or systemd's `$CREDENTIALS_DIRECTORY/smtp_password`); it is
never logged or stored.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import io
import logging
import os
import smtplib
import ssl
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import jinja2

from stresswatch.errors import ConfigError, DeliveryError
from stresswatch.settings import Settings
from stresswatch.store import Store
from stresswatch.store.outbox import OutboxMessage, OutboxRow

log = logging.getLogger(__name__)

#: delay before attempt n+1 after n failed attempts (minutes), capped at the last value
BACKOFF_MINUTES = (1, 5, 30, 120, 360, 720, 1440)
MAIL_DOMAIN = "stresswatch.local"
LOOPBACK = ("localhost", "127.0.0.1", "::1")


def _ts(value: dt.datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return value.replace(microsecond=0).isoformat() + "Z"


# ---------------------------------------------------------------------------------------------
# Secrets
# ---------------------------------------------------------------------------------------------
def smtp_password(environ: Mapping[str, str] | None = None) -> str | None:
    """The SMTP password from the environment or a credential file; None when not set."""
    env = os.environ if environ is None else environ
    if env.get("STRESSWATCH_SMTP_PASSWORD"):
        return env["STRESSWATCH_SMTP_PASSWORD"]
    candidates = []
    if env.get("STRESSWATCH_SMTP_PASSWORD_FILE"):
        candidates.append(Path(env["STRESSWATCH_SMTP_PASSWORD_FILE"]))
    if env.get("CREDENTIALS_DIRECTORY"):
        candidates.append(Path(env["CREDENTIALS_DIRECTORY"]) / "smtp_password")
    for path in candidates:
        try:
            return path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"cannot read the SMTP password file {path}: {exc.strerror}") from None
    return None


def _scrub(text: str, environ: Mapping[str, str] | None = None) -> str:
    """Remove the password from an error text (servers sometimes echo what they were sent)."""
    try:
        secret = smtp_password(environ)
    except ConfigError:
        secret = None
    if secret:
        text = text.replace(secret, "[REDACTED]")
    return text


# ---------------------------------------------------------------------------------------------
# Building messages
# ---------------------------------------------------------------------------------------------
_ENV = jinja2.Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)

_TEXT = jinja2.Environment(autoescape=False, trim_blocks=True, lstrip_blocks=True,
                           undefined=jinja2.StrictUndefined).from_string("""\
stresswatch alerts for {{ day }}
{% for title, items in sections %}
{{ title }}:
{% for a in items %}
  - {{ a.rule_id }}{% if a.labels %} [{{ a.labels_text }}]{% endif %}: {{ a.summary }}{% if a.since %} (since {{ a.since }}){% endif %}

{% endfor %}
{% endfor %}
{% if muted %}
Muted (stale or failing data; state held, not cleared):
{% for a in muted %}
  - {{ a.rule_id }}: {{ a.muted_by }}
{% endfor %}
{% endif %}

Report: {{ report }}
""")

_HTML = _ENV.from_string("""\
<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{ subject }}</title></head>
<body style="font-family: Helvetica, Arial, sans-serif; color: #222; max-width: 760px;">
<h2 style="margin-bottom: 4px;">stresswatch alerts for {{ day }}</h2>
{% for title, items in sections %}
<h3 style="margin: 16px 0 4px;">{{ title }}</h3>
<ul>
{% for a in items %}
<li><strong>{{ a.rule_id }}</strong>{% if a.labels %} <code>{{ a.labels_text }}</code>{% endif %}: {{ a.summary }}{% if a.since %} <em>(since {{ a.since }})</em>{% endif %}</li>
{% endfor %}
</ul>
{% endfor %}
{% if muted %}
<h3>Muted (stale or failing data; state held, not cleared)</h3>
<ul>{% for a in muted %}<li><strong>{{ a.rule_id }}</strong>: {{ a.muted_by }}</li>{% endfor %}</ul>
{% endif %}
{% if cid %}
<p><img src="cid:{{ cid }}" alt="{{ chart_alt }}" width="720" style="max-width: 100%;"></p>
{% endif %}
<p>Full report: {% if report_is_url %}<a href="{{ report }}">{{ report }}</a>{% else %}<code>{{ report }}</code>{% endif %}</p>
<p style="color: #777; font-size: 12px;">Sent by stresswatch. Silence a rule with
<code>stresswatch alerts silence RULE --until YYYY-MM-DD</code>.</p>
</body></html>
""")


def report_ref(settings: Settings, day: dt.date) -> str:
    """Where the day's report lives: `[mail] report_url`/<D>/report.html, else the file path."""
    base = settings["mail"]["report_url"]
    if base:
        return f"{base.rstrip('/')}/{day.isoformat()}/report.html"
    return str(settings.reports_dir / day.isoformat() / "report.html")


def headline_chart(store: Store, settings: Settings, day: dt.date) -> tuple[bytes | None, str]:
    """PNG bytes of the headline chart and its alt text: the report's chart when the report for
    `day` exists, else a small chart of the headline model's P(stress) drawn here."""
    charts = settings.reports_dir / day.isoformat() / "charts"
    if charts.is_dir():
        pngs = sorted(charts.glob("*.png"))
        preferred = [p for key in ("stress_index_1y", "index_1y", "stress_1y", "headline", "stress", "index")
                     for p in pngs if key in p.stem]
        for path in preferred + pngs:
            try:
                return path.read_bytes(), f"Headline chart ({path.stem}) as of {day}"
            except OSError:
                continue
    try:
        return _probability_chart(store, settings, day)
    except Exception as exc:  # noqa: BLE001 - a chart is never worth losing the mail
        log.warning("cannot draw the mail chart for %s: %s", day, exc)
        return None, ""


def _probability_chart(store: Store, settings: Settings, day: dt.date) -> tuple[bytes | None, str]:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    import pandas as pd

    from stresswatch.regimes.state import regime_state

    state = regime_state(store, settings, day)
    model = state.model_id
    probs = state.stress_probability("filtered")

    probs = probs[(probs.index <= pd.Timestamp(day)) & (probs.index > pd.Timestamp(day) - pd.Timedelta(days=365))]
    if probs.empty:
        return None, ""
    fig = Figure(figsize=(7.2, 2.6), dpi=100)
    ax = fig.add_axes((0.08, 0.18, 0.9, 0.7))
    ax.fill_between(probs.index, probs.to_numpy(), color="#c0392b", alpha=0.35, linewidth=0)
    ax.plot(probs.index, probs.to_numpy(), color="#c0392b", linewidth=1.2)
    ax.set_ylim(0, 1)
    ax.set_ylabel("P(stress), filtered")
    ax.set_title(f"{model}: probability of the stress regime, 12 months to {day}", fontsize=10)
    ax.grid(alpha=0.3)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue(), f"Filtered probability of the stress regime ({model}) over the year to {day}"


def build_message(settings: Settings, *, subject: str, text: str, html: str | None, clock: Callable[[], dt.datetime],
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


def _items(states: Sequence[Any], since_attr: str) -> list[dict[str, Any]]:
    return [{"rule_id": s.rule_id, "labels": dict(s.labels),
             "labels_text": ", ".join(f"{k}={v}" for k, v in sorted(s.labels.items())),
             "summary": s.summary, "since": getattr(s, since_attr), "muted_by": s.muted_by} for s in states]


def build_digest_message(store: Store, settings: Settings, digest: Any, clock: Callable[[], dt.datetime]) -> EmailMessage:
    """The run's digest mail: new firing, resolved, reminders, everything still firing."""
    day = digest.day
    new_fps = {s.fingerprint for s in digest.new_firing} | {s.fingerprint for s in digest.repeated}
    sections = []
    if digest.new_firing:
        sections.append(("Firing (new)", _items(digest.new_firing, "firing_since")))
    if digest.resolved:
        sections.append(("Resolved", _items(digest.resolved, "resolved_on")))
    if digest.repeated:
        sections.append(("Still firing (reminder)", _items(digest.repeated, "firing_since")))
    others = [s for s in digest.firing if s.fingerprint not in new_fps]
    if others:
        sections.append(("Also firing", _items(others, "firing_since")))
    muted = _items(digest.muted, "firing_since")
    report = report_ref(settings, day)
    chart, alt = headline_chart(store, settings, day)
    cid = email.utils.make_msgid(domain=MAIL_DOMAIN)[1:-1] if chart else None
    subject = digest.subject()
    ctx = dict(day=day.isoformat(), sections=sections, muted=muted, report=report,
               report_is_url=report.startswith(("http://", "https://")), subject=subject, cid=cid, chart_alt=alt)
    return build_message(settings, subject=subject, text=_TEXT.render(**ctx), html=_HTML.render(**ctx),
                         clock=clock, chart=chart, cid=cid)


def build_test_message(store: Store, settings: Settings, day: dt.date, clock: Callable[[], dt.datetime]) -> EmailMessage:
    report = report_ref(settings, day)
    chart, alt = headline_chart(store, settings, day) if store is not None else (None, "")
    cid = email.utils.make_msgid(domain=MAIL_DOMAIN)[1:-1] if chart else None
    subject = f"[stresswatch] test message ({_ts(clock())})"
    sections = [("Test", [{"rule_id": "test", "labels": {}, "labels_text": "",
                           "summary": "this is a test of the alert mail settings", "since": None,
                           "muted_by": None}])]
    ctx = dict(day=day.isoformat(), sections=sections, muted=[], report=report,
               report_is_url=report.startswith(("http://", "https://")), subject=subject, cid=cid, chart_alt=alt)
    return build_message(settings, subject=subject, text=_TEXT.render(**ctx), html=_HTML.render(**ctx),
                         clock=clock, chart=chart, cid=cid)


# ---------------------------------------------------------------------------------------------
# Outbox
# ---------------------------------------------------------------------------------------------
def enqueue(store: Store, dedup_key: str, run_date: dt.date | None, msg: EmailMessage, recipients: Sequence[str],
            clock: Callable[[], dt.datetime]) -> bool:
    """Queue `msg` (inside the caller's open transaction, if any); False when `dedup_key` is
    already queued."""
    if not recipients:
        raise DeliveryError("no recipients: set [mail] recipients")
    return store.outbox.enqueue(dedup_key=dedup_key, run_date=run_date, sender=str(msg["From"]),
                                recipients=recipients, subject=str(msg["Subject"]),
                                mime=msg.as_bytes(policy=policy.SMTP), now=_ts(clock()))


def outbox_rows(store: Store, status: str | None = None) -> list[OutboxRow]:
    return store.outbox.rows(status)


# ---------------------------------------------------------------------------------------------
# SMTP
# ---------------------------------------------------------------------------------------------
class Transient(Exception):
    """Worth retrying later (server down, timeout, 4xx)."""


def connect(settings: Settings, environ: Mapping[str, str] | None = None) -> smtplib.SMTP:
    """An authenticated SMTP session per `[mail]`; raises Transient or DeliveryError."""
    mail = settings["mail"]
    host, port, timeout = mail["host"], mail["port"], mail["timeout"]
    context = ssl.create_default_context()
    password = smtp_password(environ)
    try:
        if mail["ssl"]:
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
        else:
            smtp = smtplib.SMTP(host, port, timeout=timeout)
        try:
            smtp.ehlo()
            if mail["starttls"] and not mail["ssl"]:
                if smtp.has_extn("starttls"):
                    smtp.starttls(context=context)
                    smtp.ehlo()
                elif host not in LOOPBACK:
                    raise DeliveryError(f"{host}:{port} does not offer STARTTLS; set [mail] starttls = false "
                                        "only for a trusted relay")
                # a relay on this machine without STARTTLS: the mail never leaves the host in clear
            if mail["username"]:
                if password is None:
                    raise DeliveryError("[mail] username is set but STRESSWATCH_SMTP_PASSWORD is not")
                smtp.login(mail["username"], password)
        except BaseException:
            smtp.close()
            raise
    except smtplib.SMTPAuthenticationError as exc:
        raise DeliveryError(f"SMTP login to {host}:{port} as {mail['username']!r} refused ({exc.smtp_code})") from None
    except ssl.SSLError as exc:
        raise DeliveryError(f"TLS with {host}:{port} failed: {exc.reason or exc}") from None
    except smtplib.SMTPResponseException as exc:
        if 400 <= exc.smtp_code < 500:
            raise Transient(f"{host}:{port} answered {exc.smtp_code}") from None
        raise DeliveryError(f"{host}:{port} answered {exc.smtp_code}: {_decode(exc.smtp_error)}") from None
    except (smtplib.SMTPException, OSError) as exc:
        raise Transient(f"cannot reach SMTP server {host}:{port}: {exc.__class__.__name__}: {exc}") from None
    return smtp


def _decode(raw: Any) -> str:
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)


@dataclass
class DeliveryResult:
    sent: int = 0
    partial: int = 0
    deferred: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.deferred == 0 and self.failed == 0 and self.partial == 0

    def as_dict(self) -> dict[str, Any]:
        return {"sent": self.sent, "partial": self.partial, "deferred": self.deferred, "failed": self.failed,
                "errors": self.errors}


def _next_attempt(now: dt.datetime, attempts: int) -> str:
    minutes = BACKOFF_MINUTES[min(attempts, len(BACKOFF_MINUTES)) - 1] if attempts > 0 else 0
    return _ts(now + dt.timedelta(minutes=minutes))


def deliver(store: Store, settings: Settings, clock: Callable[[], dt.datetime], *, respect_backoff: bool = True,
            environ: Mapping[str, str] | None = None) -> DeliveryResult:
    """Send every pending outbox message (due ones only when `respect_backoff`).

    A daily run passes `respect_backoff=False` (the run is itself the slow retry); the daemon's
    retry ticks between runs respect the backoff. Each row's outcome is committed right after the
    server answered, so a crash can at worst repeat the one message in flight.
    """
    result = DeliveryResult()
    now = clock()
    rows = store.outbox.due(_ts(now) if respect_backoff else None)
    if not rows:
        return result
    max_attempts = settings["mail"]["max_attempts"]
    try:
        smtp = connect(settings, environ)
    except (Transient, DeliveryError) as exc:
        text = _scrub(str(exc), environ)
        log.warning("mail: %s; %d message(s) stay queued", text, len(rows))
        with store.transaction():
            for row in rows:
                _fail_row(store, row, text, now, max_attempts, result, permanent=False)
        result.errors.append(text)
        return result
    try:
        for row in rows:
            _send_row(store, smtp, row, now, max_attempts, result, environ)
    finally:
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()
    return result


def _fail_row(store: Store, row: OutboxMessage, error: str, now: dt.datetime, max_attempts: int,
              result: DeliveryResult, permanent: bool, pending: Sequence[str] | None = None) -> None:
    attempts = row.attempts + 1
    give_up = permanent or attempts >= max_attempts
    store.outbox.record_attempt(row.id, attempts=attempts, give_up=give_up,
                                next_attempt_at=_next_attempt(now, attempts),
                                error=error, pending=pending)
    if give_up:
        result.failed += 1
        log.error("mail %s (%s): given up after %d attempt(s): %s", row.dedup_key, row.subject, attempts, error)
    else:
        result.deferred += 1


def _send_row(store: Store, smtp: smtplib.SMTP, row: OutboxMessage, now: dt.datetime, max_attempts: int,
              result: DeliveryResult, environ: Mapping[str, str] | None) -> None:
    pending = list(row.pending_recipients)
    try:
        refused = smtp.sendmail(row.sender, pending, row.mime)
    except smtplib.SMTPRecipientsRefused as exc:
        refused = exc.recipients
        accepted: list[str] = []
    except smtplib.SMTPResponseException as exc:
        text = _scrub(f"{exc.smtp_code} {_decode(exc.smtp_error)}", environ)
        _fail_row(store, row, text, now, max_attempts, result, permanent=exc.smtp_code >= 500)
        result.errors.append(f"{row.dedup_key}: {text}")
        try:
            smtp.rset()
        except (smtplib.SMTPException, OSError):
            pass
        return
    except (smtplib.SMTPException, OSError) as exc:
        text = _scrub(f"{exc.__class__.__name__}: {exc}", environ)
        _fail_row(store, row, text, now, max_attempts, result, permanent=False)
        result.errors.append(f"{row.dedup_key}: {text}")
        return
    else:
        accepted = [r for r in pending if r not in refused]
    # keep only refusals worth retrying (4xx); a 5xx refusal is final for that address
    retry = [r for r, (code, _msg) in refused.items() if code < 500]
    rejected = {r: f"{code} {_decode(msg)}" for r, (code, msg) in refused.items() if code >= 500}
    if not refused:
        store.outbox.mark_sent(row.id, _ts(now))
        result.sent += 1
        log.info("mail %s sent to %d recipient(s): %s", row.dedup_key, len(pending), row.subject)
        return
    text = "refused: " + "; ".join(f"{r} {code} {_decode(m)}" for r, (code, m) in refused.items())
    if retry:
        _fail_row(store, row, text, now, max_attempts, result, permanent=False, pending=retry)
        if accepted:
            result.partial += 1
    else:
        store.outbox.mark_failed(row.id, text, _ts(now) if accepted else None)
        result.failed += 1
    log.warning("mail %s: accepted for %d, %s", row.dedup_key, len(accepted), text)
    if rejected:
        result.errors.append(f"{row.dedup_key}: rejected {', '.join(rejected)}")
    if retry:
        result.errors.append(f"{row.dedup_key}: will retry {', '.join(retry)}")


def send_test(store: Store, settings: Settings, day: dt.date, clock: Callable[[], dt.datetime],
              environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Send a test message now (not through the outbox); raise DeliveryError when it fails."""
    recipients = list(settings["mail"]["recipients"])
    if not recipients:
        raise DeliveryError("mail is off: set [mail] recipients to send a test message")
    msg = build_test_message(store, settings, day, clock)
    try:
        smtp = connect(settings, environ)
    except Transient as exc:
        raise DeliveryError(_scrub(str(exc), environ)) from None
    try:
        try:
            refused = smtp.send_message(msg, from_addr=settings["mail"]["sender"], to_addrs=recipients)
        except smtplib.SMTPRecipientsRefused as exc:
            refused = exc.recipients
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(_scrub(f"sending the test message failed: {exc}", environ)) from None
    finally:
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()
    accepted = [r for r in recipients if r not in refused]
    if not accepted:
        raise DeliveryError("every recipient was refused: " + "; ".join(
            f"{r} {c} {_decode(m)}" for r, (c, m) in refused.items()))
    return {"subject": str(msg["Subject"]), "accepted": accepted,
            "refused": {r: f"{c} {_decode(m)}" for r, (c, m) in refused.items()}}
