"""Command `alerts`: list, history, silence, outbox, resend, drop, test (the alerts and mail
packages are imported by the handlers: see `stresswatch.commands`)."""

from __future__ import annotations

import getpass
import sys
from typing import TYPE_CHECKING

from stresswatch import output
from stresswatch.commands import add_format, allow_future_dates, command, iso_date
from stresswatch.errors import ConfigError, UsageError

if TYPE_CHECKING:
    from stresswatch.app.session import App


def _warn_in_doubt(app: App) -> None:
    """Mail in doubt needs a person: say so wherever alerts are listed."""
    from stresswatch.mail.delivery import in_doubt_text, outbox_rows

    for row in outbox_rows(app.store(), "in_doubt"):
        print(f"stresswatch: warning: {in_doubt_text(row)}", file=sys.stderr)


def cmd_list(args, app: App) -> int:
    from stresswatch.alerts.run import list_alerts

    rows = list_alerts(app.store(), app.settings, app.today())
    output.emit(rows, ["rule", "kind", "labels", "state", "since", "last_eval", "value", "summary",
                       "silenced_until", "muted_by"], args.format, app.out)
    _warn_in_doubt(app)
    return 0


def cmd_history(args, app: App) -> int:
    from stresswatch.alerts.run import history

    rows = history(app.store(), args.rule, args.limit)
    output.emit(rows, ["run_date", "rule_id", "labels", "from_state", "to_state", "value", "summary"], args.format,
                app.out)
    return 0


def cmd_silence(args, app: App) -> int:
    from stresswatch.alerts.rules import load_rules
    from stresswatch.alerts.run import add_silence

    known = [r.id for r in load_rules(app.settings)]
    starts = args.start or app.today()
    if args.until < starts:
        raise UsageError(f"--until {args.until} is before the silence starts ({starts})")
    store = app.store()
    with app.lock("alerts silence"):
        sid = add_silence(store, args.rule, args.until, starts, app.now, created_by=getpass.getuser(),
                          comment=args.comment or "", known_rules=known)
    output.emit([{"id": sid, "rule": args.rule, "from": starts, "until": args.until, "comment": args.comment or ""}],
                ["id", "rule", "from", "until", "comment"], args.format, app.out)
    return 0


def cmd_silences(args, app: App) -> int:
    from stresswatch.alerts.run import list_silences

    rows = list_silences(app.store())
    output.emit(rows, ["id", "rule_id", "starts_on", "ends_on", "created_by", "comment"], args.format, app.out)
    return 0


def mail_setup_problem(app: App) -> str | None:
    """What in the [mail] settings stops a test message before any server is asked (None = nothing)."""
    from stresswatch.mail.smtp import smtp_password

    mail = app.settings["mail"]
    if not mail["recipients"]:
        return "mail is off: set [mail] recipients (and host, port, sender) to send a test message"
    if not mail["host"]:
        return "[mail] host is empty"
    if mail["username"] and smtp_password() is None:
        return (f"[mail] username = {mail['username']!r} needs a password: set STRESSWATCH_SMTP_PASSWORD "
                "(or STRESSWATCH_SMTP_PASSWORD_FILE)")
    return None


def cmd_test(args, app: App) -> int:
    from stresswatch.mail.delivery import send_test

    problem = mail_setup_problem(app)  # a configuration problem is exit 2; a server that fails, exit 1
    if problem:
        raise ConfigError(problem)
    # the store only lends the message its chart: a test message needs no store
    store = app.store() if app.settings.store_path.exists() else None
    result = send_test(store, app.settings, app.today(), app.now)
    output.emit([{"subject": result["subject"], "accepted": ", ".join(result["accepted"]),
                  "refused": "; ".join(f"{k} {v}" for k, v in result["refused"].items())}],
                ["subject", "accepted", "refused"], args.format, app.out)
    return 0 if not result["refused"] else 1


def cmd_outbox(args, app: App) -> int:
    from stresswatch.mail.delivery import outbox_rows

    rows = outbox_rows(app.store(), args.status)
    output.emit(rows, ["id", "dedup_key", "status", "attempts", "subject", "pending_recipients", "next_attempt_at",
                       "sent_at", "message_id", "last_error"], args.format, app.out)
    if args.status != "in_doubt":
        _warn_in_doubt(app)
    return 0


def cmd_resend(args, app: App) -> int:
    from stresswatch.mail import delivery

    store = app.store()
    with app.lock():
        row = delivery.resend(store, args.message, app.now, who=getpass.getuser())
        result = delivery.deliver(store, app.settings, app.now, respect_backoff=False)
    after = store.outbox.find(str(row["id"]))
    app.out.write(f"mail {row['dedup_key']} (id {row['id']}): {after['status'] if after else '?'}\n")
    for error in result.errors:
        print(f"stresswatch: {error}", file=sys.stderr)
    return 0 if after is not None and after["status"] == "sent" else 1


def cmd_drop(args, app: App) -> int:
    from stresswatch.mail import delivery

    store = app.store()
    with app.lock():
        row = delivery.drop(store, args.message, app.now, who=getpass.getuser(), reason=args.reason or "")
    app.out.write(f"mail {row['dedup_key']} (id {row['id']}): dropped\n")
    return 0


def register(sub) -> None:
    p = command(sub, "alerts", "Alert rules, their state, history and silences; a test mail.",
                "stresswatch alerts list", None)
    asub = p.add_subparsers(dest="alerts_command", metavar="SUBCOMMAND", required=True)
    q = command(asub, "list", "Every rule with its alerts' state (inactive, pending, firing, resolved).",
                "stresswatch alerts list --format json", cmd_list)
    add_format(q)
    q = command(asub, "history", "State changes by run date, newest first.",
                "stresswatch alerts history --rule stress-regime --limit 20", cmd_history)
    q.add_argument("--rule", help="only this rule id")
    q.add_argument("--limit", type=int, help="at most this many rows")
    add_format(q)
    q = command(asub, "silence", "Do not mail a rule's alerts through a date (state is still tracked; a "
                                 "still-firing alert is mailed when the silence ends).",
                "stresswatch alerts silence stress-regime --until 2022-03-31 --comment 'known episode'", cmd_silence)
    q.add_argument("rule", help="rule id (see `alerts list`)")
    q.add_argument("--until", type=iso_date, required=True, help="last run date silenced (inclusive)")
    q.add_argument("--start", type=iso_date, help="first run date silenced (default today)")
    q.add_argument("--comment", help="why")
    allow_future_dates(q, "until", "start")
    add_format(q)
    q = command(asub, "silences", "Silences, latest expiry first.", "stresswatch alerts silences", cmd_silences)
    add_format(q)
    q = command(asub, "outbox", "Queued, in-doubt, sent and failed alert mail.",
                "stresswatch alerts outbox --status in_doubt", cmd_outbox)
    q.add_argument("--status", choices=("pending", "sending", "in_doubt", "sent", "failed", "dropped"))
    add_format(q)
    q = command(asub, "resend", "Send an in-doubt (or failed) outbox message again, now. Only after checking the "
                                "mailbox: an in-doubt message may already have arrived.",
                "stresswatch alerts resend 12", cmd_resend)
    q.add_argument("message", help="outbox id or dedup key (see `alerts outbox --status in_doubt`)")
    q = command(asub, "drop", "Never send an outbox message (again): e.g. an in-doubt message that did arrive.",
                "stresswatch alerts drop 12 --reason 'found in the mailbox'", cmd_drop)
    q.add_argument("message", help="outbox id or dedup key")
    q.add_argument("--reason", help="why (kept with the message)")
    q = command(asub, "test", "Send a test message with the [mail] settings now (not through the outbox). "
                              "Exit 2 when the settings cannot work (mail off, a login without a password), "
                              "1 when the server fails or refuses a recipient.",
                "STRESSWATCH_SMTP_PASSWORD=... stresswatch alerts test", cmd_test)
    add_format(q)
