"""Events commands: `events list | align | promote | check | candidates` (the study, the store
and pandas are imported by the handlers: see `stresswatch.commands`)."""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
from typing import TYPE_CHECKING

from stresswatch import output
from stresswatch.commands import add_format, command, iso_date
from stresswatch.errors import UsageError

if TYPE_CHECKING:
    from stresswatch.app.session import App
    from stresswatch.store.candidates import CandidateRow

LIST_FIELDS = ("id", "date", "time", "tz", "speaker", "country", "tags", "key_phrase", "source", "url")
AGG_FIELDS = ("group", "n", "n_used", "mean_abnormal", "mean_d_index", "mean_car_rub", "confounded", "p_value")
CANDIDATE_FIELDS = ("seen_at", "title", "domain", "language", "source_country", "query_id", "url")
#: `events align` as a table without --wide: what a reader compares, within TABLE_WIDTH columns
ALIGN_NARROW = ("id", "t0", "regime", "p_stress_filtered", "d_index", "abnormal", "p_value", "q_value",
                "confounded")
TABLE_WIDTH = 120


def cmd_list(args, app: App) -> int:
    from stresswatch.events import align as align_mod
    from stresswatch.events import catalogue as cat

    statements = align_mod.load_statements(app.settings)
    if args.tag:
        tags = cat.all_tags(statements)
        if args.tag.lower() not in tags:
            raise UsageError(f"--tag {args.tag!r}: no statement has this tag; tags: {', '.join(tags)}")
    statements = cat.filter_tag(statements, args.tag)
    output.emit([s.as_row() for s in statements], LIST_FIELDS, args.format, app.out)
    return 0


def cmd_align(args, app: App) -> int:
    from stresswatch.commands.compute import compute_first
    from stresswatch.events import align as align_mod

    asof = args.asof or app.today()
    if not args.no_compute:
        compute_first(app, [asof])
    if args.k is None and args.placebos is None:  # the daily cycle's alignment for the date, if stored
        result = align_mod.stored_or_align(app.store(), app.settings, asof)
    else:
        result = align_mod.align(app.store(), app.settings, asof, k=args.k, placebos=args.placebos)
    for w in result.warnings:
        print(f"stresswatch: warning: {w}", file=sys.stderr)
    if args.aggregate:
        output.emit(result.result.aggregates.to_dict("records"), AGG_FIELDS, args.format, app.out)
    elif args.format == "table" and not args.wide:
        output.emit(result.rows(), ALIGN_NARROW, "table", app.out, max_width=TABLE_WIDTH, shrink=("id",))
    else:
        output.emit(result.rows(), align_mod.ALIGN_FIELDS, args.format, app.out)
    return 0


def cmd_check(args, app: App) -> int:
    from stresswatch.events import catalogue as cat
    from stresswatch.events import confounders as conf

    path = args.file or app.settings["events"]["catalogue"] or None
    statements = cat.load_catalogue(path)
    cpath = args.confounders or app.settings["events"]["confounders"] or None
    confounders = conf.load_confounders(cpath)
    app.out.write(f"ok: {len(statements)} statements ({path or 'shipped catalogue'}), "
                  f"{len(confounders)} confounders ({cpath or 'shipped file'})\n")
    return 0


def _toml_str(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def slug(text: str, day: dt.date) -> str:
    words = re.findall(r"[a-z0-9]+", text.lower())[:6]
    base = "-".join(words) or "statement"
    return f"{base[:60].strip('-')}-{day.year}"


def draft_entry(candidate: CandidateRow) -> str:
    """A `[[statement]]` draft from a GDELT candidate. Fields a person must fill are left empty, so
    `events check` rejects the entry until it is completed."""
    seen = dt.datetime.fromisoformat(str(candidate["seen_at"]).replace("Z", "+00:00"))
    day = seen.date()
    title = str(candidate.get("title") or "")
    domain = str(candidate.get("domain") or "")
    lines = [
        f"# Draft from GDELT candidate seen {candidate['seen_at']} (query {candidate.get('query_id') or '-'}).",
        "# Read the article and its primary source, then fill every empty field; the date is when",
        "# the statement was made (GDELT's date is when the article was seen, UTC).",
        "[[statement]]",
        f"id = {_toml_str(slug(title, day))}",
        f"date = {day.isoformat()}",
        f"time = {_toml_str(seen.strftime('%H:%M'))}  # article time (UTC); replace with the statement's",
        'tz = "UTC"',
        'speaker = ""',
        'role = ""',
        f"country = {_toml_str(str(candidate.get('source_country') or ''))}",
        'venue = ""',
        'key_phrase = ""  # a short quote, at most 12 words',
        f"summary = \"\"  # one line in your own words; headline: {title[:120]}",
        "tags = []",
        f"source = {{ outlet = {_toml_str(domain)}, url = {_toml_str(str(candidate['url']))} }}",
    ]
    return "\n".join(lines) + "\n"


def cmd_promote(args, app: App) -> int:
    found = app.store().candidates.get(args.url)
    if found is None:
        raise UsageError(f"no GDELT candidate with url {args.url}; list them with `stresswatch events candidates`")
    app.out.write(draft_entry(found))
    return 0


def cmd_candidates(args, app: App) -> int:
    rows = app.store().candidates.rows(start=args.start, end=args.end)
    output.emit(rows, CANDIDATE_FIELDS, args.format, app.out)
    return 0


def register(sub) -> None:
    parser = command(sub, "events", "Statement catalogue and event study: dated diplomatic statements lined up "
                                    "against stress regimes.",
                     "stresswatch events align --asof 2023-12-29 --format json", None)
    ev = parser.add_subparsers(dest="events_command", metavar="EVENTS_COMMAND")
    parser.set_defaults(handler=lambda args, app: (parser.print_help(app.out), 2)[1])

    p = command(ev, "list", "list the statement catalogue", "stresswatch events list --tag alliance --format csv",
                cmd_list)
    p.add_argument("--tag", help="only statements with this tag")
    add_format(p)

    p = command(ev, "align", "align every statement with regimes, the stress index and the ruble as of a date",
                "stresswatch events align --asof 2023-12-29 --k 5 --format json", cmd_align)
    p.add_argument("--asof", type=iso_date, help="use data known on this date (default today)")
    p.add_argument("--k", type=int, choices=range(1, 31), metavar="K", help="event window half-width in business "
                   "days (default [events] k)")
    p.add_argument("--placebos", type=int, help="placebo days per statement (default [events] placebos)")
    p.add_argument("--aggregate", action="store_true", help="print the per-tag and whole-catalogue means instead")
    p.add_argument("--wide", action="store_true",
                   help=f"a table with every column (default: the main ones, within {TABLE_WIDTH} characters; "
                        "csv and json always have every column)")
    p.add_argument("--no-compute", action="store_true",
                   help="do not run `compute --asof D` first when the stored analysis does not cover D")
    add_format(p)

    p = command(ev, "promote", "print a catalogue entry draft from a GDELT candidate",
                "stresswatch events promote https://example.com/article >> my-statements.toml", cmd_promote)
    p.add_argument("url", help="the candidate's article URL (see `events candidates`)")

    p = command(ev, "check", "validate the statement catalogue and the confounder file (exit 2 on error)",
                "stresswatch events check --file my-statements.toml", cmd_check)
    p.add_argument("--file", help="catalogue to check (default [events] catalogue, else the shipped one)")
    p.add_argument("--confounders", help="confounder file to check (default [events] confounders)")

    p = command(ev, "candidates", "list GDELT candidates stored by `fetch`",
                "stresswatch events candidates --start 2023-08-01 --end 2023-08-31 --format json", cmd_candidates)
    p.add_argument("--start", type=iso_date, help="first day seen (UTC, inclusive)")
    p.add_argument("--end", type=iso_date, help="last day seen (UTC, inclusive)")
    add_format(p)
