"""The one path for getting data in: fetch (incremental, up to a date), backfill (partitioned,
resumable, idempotent) and reparse (rebuild observations from the payload archive, offline).

Unit of work = one source's calendar window (a partition), run by `stresswatch.partition`: the
ledger row is marked running, every answer is archived before it is parsed, values are screened
for plausibility (refused ones are quarantined) and the window's coverage is checked, and the
partition's observations commit in one transaction together with its ledger row -- a crash leaves
either nothing or a complete partition. A failing partition or source is recorded and the others
go on. Hosts found unreachable are not asked again in the same run (`fetchers.http.HostBook`),
and `fetch` leaves them alone for `[http] unreachable_cooldown` minutes after (the outcome names
the end of the cooldown). SIGTERM abandons the transfer in flight; its partition is recorded
`interrupted` and the run stops.

The date is always a parameter; nothing here reads "today". The time of a fetch (stamped on the
archived payloads and the observations' fetched_at, and compared with the unreachable cooldown)
comes from the injected `clock` (`stresswatch.clock`), never from the wall clock directly.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
import threading
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from stresswatch import plausibility
from stresswatch.clock import Clock, system_clock, utc_stamp
from stresswatch.errors import ConfigError, ParseError, UsageError
from stresswatch.fetchers.base import REGISTRY, Fetcher, load_all, window_bounds
from stresswatch.fetchers.http import MB, HostBook, HttpClient, host_of
from stresswatch.partition import LINE_MAX, RUN_PREFIX, PartitionOutcome, one_line, run_partition, stop_aware_sleep, stored_near
from stresswatch.redaction import redact
from stresswatch.settings import Settings
from stresswatch.store import Store

__all__ = ["FetchReport", "PartitionOutcome", "ReparseReport", "backfill", "fetch", "reparse", "make_fetcher",
           "select_sources", "cooldown", "Cooldown", "fetch_start", "REPROCESS"]

log = logging.getLogger(__name__)

REPROCESS = ("missing", "failed", "all")
#: consecutive unavailable partitions after which a source's remaining partitions are left for the
#: next run (each one already spent the HTTP layer's retries)
GIVE_UP_AFTER = 2


@dataclass
class FetchReport:
    outcomes: list[PartitionOutcome] = field(default_factory=list)
    interrupted: bool = False

    @property
    def failed(self) -> list[PartitionOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    @property
    def ok(self) -> bool:
        return not self.failed and not self.interrupted and \
            not any(o.status in ("abandoned", "interrupted") for o in self.outcomes)

    def summary(self) -> list[dict]:
        """One row per source: partitions by status, rows written, values quarantined, requests
        made, and `error`: the source's failure as one line (`source: host — cause`)."""
        rows: dict[str, dict] = {}
        for o in self.outcomes:
            r = rows.setdefault(o.source, {"source": o.source, "success": 0, "failed": 0, "skipped": 0, "abandoned": 0,
                                           "interrupted": 0, "planned": 0, "rows": 0, "quarantined": 0,
                                           "requests": 0, "error": ""})
            r[o.status] = r.get(o.status, 0) + 1
            r["rows"] += o.rows
            r["quarantined"] += o.quarantined
            r["requests"] += o.requests
        for source, line in self.failure_lines_by_source().items():
            rows[source]["error"] = line
        return list(rows.values())

    def failure_lines_by_source(self) -> dict[str, str]:
        """source -> one line (<= 160 characters) saying where and why it failed: its first failed
        partition's, else its first abandoned one's (cooldown, source down)."""
        out: dict[str, str] = {}
        for status in ("failed", "interrupted", "abandoned"):
            for o in self.outcomes:
                if o.status == status and o.source not in out:
                    out[o.source] = o.line or one_line(o.source, o.host, o.error or status)
        return {o.source: out[o.source] for o in self.outcomes if o.source in out}

    def failure_lines(self) -> list[str]:
        """One line per failing source, in the order the sources ran."""
        return list(self.failure_lines_by_source().values())


def job_name(source_id: str) -> str:
    return f"fetch:{source_id}"


def make_fetcher(settings: Settings, source_id: str) -> Fetcher:
    load_all()
    if source_id not in REGISTRY:
        raise ConfigError(f"unknown source {source_id!r}; known sources: {', '.join(sorted(REGISTRY))}")
    return REGISTRY[source_id](settings.source(source_id))


def select_sources(settings: Settings, sources: Iterable[str] | None) -> list[str]:
    load_all()
    if sources:
        chosen = list(dict.fromkeys(sources))
        unknown = [s for s in chosen if s not in REGISTRY]
        if unknown:
            raise ConfigError(f"unknown source {', '.join(unknown)}; known sources: {', '.join(sorted(REGISTRY))}")
        return chosen
    return settings.enabled_sources()


def _client(settings: Settings, fetcher: Fetcher, pacing_factor: float = 1.0, clock: Clock = system_clock,
            stop: threading.Event | None = None, hosts: HostBook | None = None) -> HttpClient:
    src = settings.source(fetcher.id)
    return HttpClient(fetcher.id, timeout=src["timeout"], min_interval=src["min_interval"] * pacing_factor,
                      http_settings=settings["http"], clock=clock, max_body_bytes=int(src["max_body_mb"] * MB),
                      redirect_hosts=tuple(src["redirect_hosts"]), stop=stop, hosts=hosts)



def _is_done(row: Mapping[str, Any] | None, span: tuple[dt.date, dt.date]) -> bool:
    return bool(row and row["status"] == "success" and row.get("covered_from") and
                row["covered_from"] <= span[0].isoformat() and row["covered_to"] >= span[1].isoformat())


def _wanted(row: Mapping[str, Any] | None, span: tuple[dt.date, dt.date], reprocess: str) -> bool:
    if reprocess == "all":
        return True
    if reprocess == "failed":
        return bool(row and row["status"] == "failed")
    return not _is_done(row, span)


# ---------------------------------------------------------------------------------------------
# backfill and fetch
# ---------------------------------------------------------------------------------------------
def plan(fetcher: Fetcher, start: dt.date, end: dt.date) -> list[tuple[tuple[dt.date, dt.date], tuple[dt.date, dt.date]]]:
    """(window, span) pairs covering [start, end]: each calendar window clipped to the range."""
    out = []
    for part in fetcher.partitions(start, end):
        out.append((window_bounds(part.start, fetcher.window), (part.start, part.end)))
    return out


def _run(store: Store, settings: Settings, work: list[tuple[Fetcher, list]], dry_run: bool,
         stop: threading.Event | None, progress: bool | None, pacing: float, clock: Clock) -> FetchReport:
    report = FetchReport()
    total = sum(len(parts) for _, parts in work)
    rules = plausibility.load_rules(settings) if total and not dry_run else None
    hosts = HostBook()  # hosts found unreachable in this run: asked once, then left alone
    sleep = stop_aware_sleep(stop)
    bar = None
    if progress is not False and total and not dry_run:
        from tqdm import tqdm

        bar = tqdm(total=total, unit="partition", disable=None if progress is None else not progress,
                   file=sys.stderr, dynamic_ncols=True)
    try:
        for fetcher, parts in work:
            if not parts:
                continue
            if dry_run:
                for window, span in parts:
                    planned = [r.display() for r in fetcher.build_requests(span[0], span[1])]
                    report.outcomes.append(PartitionOutcome(fetcher.id, f"{window[0]}..{window[1]}", "planned",
                                                            planned=[redact(p) for p in planned]))
                continue
            assert rules is not None
            client = _client(settings, fetcher, pacing, clock, stop, hosts)
            unavailable = 0
            down: str | None = None  # why the rest of this source's windows are not asked for
            try:
                for window, span in parts:
                    if stop is not None and stop.is_set():
                        report.interrupted = True
                        return report
                    key = f"{window[0]}..{window[1]}"
                    if down is not None:
                        report.outcomes.append(PartitionOutcome(
                            fetcher.id, key, "abandoned", error=f"not asked: {down}",
                            host=host_of(fetcher.base_url), line=one_line(fetcher.id, "", f"not asked: {down}")))
                    else:
                        if bar is not None:
                            bar.set_description(f"{fetcher.id} {window[0].year}")
                        outcome = run_partition(store, settings, fetcher, client, window, span, rules, sleep=sleep,
                                                clock=clock)
                        report.outcomes.append(outcome)
                        if outcome.status == "interrupted":
                            report.interrupted = True
                            return report
                        unavailable = unavailable + 1 if outcome.unavailable else 0
                        if outcome.unreachable:
                            down = f"{outcome.host} unreachable ({_cause(outcome)})"
                        elif unavailable >= GIVE_UP_AFTER:
                            down = f"source unavailable ({_cause(outcome)})"
                    if bar is not None:
                        bar.update(1)
            finally:
                client.close()
    finally:
        if bar is not None:
            bar.close()
    return report


def _cause(outcome: PartitionOutcome) -> str:
    line = outcome.line
    return line.split(" — ", 1)[1] if " — " in line else (outcome.error or outcome.status)


def backfill(store: Store, settings: Settings, start: dt.date, end: dt.date, sources: Iterable[str] | None = None,
             reprocess: str = "missing", dry_run: bool = False, stop: threading.Event | None = None,
             progress: bool | None = None, clock: Clock = system_clock) -> FetchReport:
    """Fetch every partition of [start, end] the ledger does not have (see `reprocess`)."""
    if reprocess not in REPROCESS:
        raise UsageError(f"reprocess mode {reprocess!r} is not one of {', '.join(REPROCESS)}")
    if start > end:
        raise UsageError(f"the backfill range starts {start}, after its end {end}")
    work = []
    report = FetchReport()
    for source_id in select_sources(settings, sources):
        fetcher = make_fetcher(settings, source_id)
        job = job_name(source_id)
        todo = []
        for window, span in plan(fetcher, start, end):
            key = f"{window[0]}..{window[1]}"
            row = store.ledger.get(job, key)
            if _wanted(row, span, reprocess):
                todo.append((window, span))
            else:
                report.outcomes.append(PartitionOutcome(source_id, key, "skipped"))
        work.append((fetcher, todo))
    run = _run(store, settings, work, dry_run, stop, progress, float(settings["backfill"]["min_interval_factor"]),
               clock)
    run.outcomes = report.outcomes + run.outcomes
    return run


def fetch(store: Store, settings: Settings, asof: dt.date, sources: Iterable[str] | None = None,
          dry_run: bool = False, stop: threading.Event | None = None, progress: bool | None = False,
          clock: Clock = system_clock) -> FetchReport:
    """The incremental pull up to `asof`: each source asks only for what the ledger lacks
    (from its last covered date, less a few days for late revisions; from `history_start` when empty).
    A source whose host was unreachable within `[http] unreachable_cooldown` minutes is not asked
    (its outcome names the cooldown's end); `--ignore-cooldown` sets that setting to 0."""
    work = []
    cooling: list[PartitionOutcome] = []
    for source_id in select_sources(settings, sources):
        fetcher = make_fetcher(settings, source_id)
        pause = cooldown(store, settings, source_id, clock)
        if pause and not dry_run:
            log.warning("%s", pause.message(source_id))
            cooling.append(PartitionOutcome(source_id, "-", "abandoned", error=pause.message(source_id),
                                            host=pause.host, line=pause.message(source_id)))
            continue
        start = fetch_start(store, settings, fetcher, asof)
        if start is None:
            work.append((fetcher, []))
            continue
        work.append((fetcher, plan(fetcher, start, asof)))
    report = _run(store, settings, work, dry_run, stop, progress, 1.0, clock)
    report.outcomes = cooling + report.outcomes
    return report


@dataclass(frozen=True)
class Cooldown:
    """A source left alone after its host could not be reached: when, where, why, until when."""

    at: str  # ledger stamp YYYY-MM-DDTHH:MM:SSZ
    until: dt.datetime
    host: str
    cause: str

    def message(self, source_id: str) -> str:
        """One line naming the host, the cause and the cooldown's end (its date too when that is
        not the day of the failure) that fits LINE_MAX with `run`'s prefix before it; when it
        would not, the cause is cut, never the end or the flag."""
        end = f"{self.until:%H:%M}Z" if self.until.date().isoformat() == self.at[:10] \
            else f"{self.until:%Y-%m-%d %H:%M}Z"
        head = f"{source_id}: host unreachable: {self.host or '?'} — "
        tail = f" at {self.at[11:16]}Z; not asked until {end} (--ignore-cooldown)"
        cause = " ".join((self.cause or "no connection").split())
        room = LINE_MAX - len(RUN_PREFIX) - len(head) - len(tail)
        if len(cause) > room:
            cause = cause[:max(room - 1, 0)] + "…"
        return head + cause + tail


def cooldown(store: Store, settings: Settings, source_id: str, clock: Clock = system_clock) -> Cooldown | None:
    """The cooldown a source is in: its host could not be reached at all within the last `[http]
    unreachable_cooldown` minutes and nothing succeeded since. A daily run then does not ask it
    again; `backfill` always asks. A read timeout never starts a cooldown (that host answered)."""
    minutes = float(settings["http"]["unreachable_cooldown"])
    if minutes <= 0:
        return None
    rows = store.ledger.rows(job_name(source_id))
    last_success = max((r["last_success"] or "" for r in rows), default="")
    since = utc_stamp(clock() - dt.timedelta(minutes=minutes))
    latest = None
    for row in rows:
        if row["status"] == "failed" and (row["finished_at"] or "") >= max(since, last_success) \
                and '"unreachable": true' in (row["detail"] or ""):
            if latest is None or (row["finished_at"] or "") > (latest["finished_at"] or ""):
                latest = row
    if latest is None:
        return None
    detail = _json(latest["detail"])
    at = str(latest["finished_at"])
    until = dt.datetime.fromisoformat(at.replace("Z", "+00:00")) + dt.timedelta(minutes=minutes)
    return Cooldown(at, until, str(detail.get("host") or ""), str(detail.get("cause") or ""))


def _json(text: str | None) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def fetch_start(store: Store, settings: Settings, fetcher: Fetcher, asof: dt.date) -> dt.date | None:
    """First date `fetch` must ask for, or None when the ledger already covers up to `asof`."""
    rows = [r for r in store.ledger.rows(job_name(fetcher.id)) if r["job"] == job_name(fetcher.id)]
    covered = [dt.date.fromisoformat(r["covered_to"]) for r in rows if r["status"] == "success" and r["covered_to"]]
    if not covered:
        conf = settings.source(fetcher.id)
        start = conf["history_start"]
        if conf["history_days"]:
            start = max(start, asof - dt.timedelta(days=conf["history_days"]))
        return min(start, asof)
    last = max(covered)
    if last >= asof:
        return None
    return max(last - dt.timedelta(days=fetcher.overlap_days), fetcher.earliest)


# ---------------------------------------------------------------------------------------------
# reparse
# ---------------------------------------------------------------------------------------------
@dataclass
class ReparseReport:
    source: str
    payloads: int = 0
    parsed: int = 0
    unparseable: int = 0
    truncated: int = 0  # answers over the size cap, archived without a body
    quarantined: int = 0
    rows: int = 0
    errors: list[str] = field(default_factory=list)


def reparse(store: Store, settings: Settings, source: str | None = None) -> list[ReparseReport]:
    """Rebuild each source's observations from its archived payloads, in fetch order, offline.
    Values are screened by the plausibility rules again (the quarantine of the source is rebuilt
    too); a payload that does not parse is counted, its error kept, and the next one goes on."""
    reports = []
    rules = plausibility.load_rules(settings)
    for source_id in select_sources(settings, [source]) if source else _archived_sources(store):
        fetcher = make_fetcher(settings, source_id)
        rep = ReparseReport(source_id)
        with store.transaction():
            store.observations.delete_observations(source_id)
            store.quarantine.delete(source_id)
            if fetcher.yields_candidates:
                store.candidates.delete()
            store.observations.upsert_series(fetcher.series())
            for payload in store.payloads.iter(source_id):
                rep.payloads += 1
                if payload.status >= 400:
                    continue
                if payload.truncated:
                    rep.truncated += 1
                    continue
                try:
                    result = fetcher.parse(payload.body, payload.request, payload.content_type)
                except ParseError as exc:
                    rep.unparseable += 1
                    rep.errors.append(redact(f"payload {payload.id}: {exc}"))
                    continue
                rep.parsed += 1
                known = {s.id for s in fetcher.series()}
                unknown = {o.series_id for o in result.observations} - known
                if unknown:  # a series no longer configured: keep its metadata so the rows can land
                    store.observations.upsert_series(_placeholder_series(store, fetcher, unknown))
                accepted, rejected = _screen_archived(store, rules, payload, result)
                rep.rows += store.observations.write_observations(accepted, fetched_at=payload.fetched_at,
                                                                  payload_id=payload.id)
                rep.quarantined += store.quarantine.add(
                    source_id, [(r.observation.series_id, r.observation.date, r.observation.value, r.reason)
                                for r in rejected], payload_id=payload.id, fetched_at=payload.fetched_at)
                if result.candidates:
                    rep.rows += store.candidates.save(result.candidates)
        reports.append(rep)
    return reports


def _screen_archived(store: Store, rules: plausibility.Rules, payload: Any, result: Any):
    """The plausibility screen of an archived answer: the window it asked for (recorded in its
    metadata; older payloads: their partition), the day it was fetched, the history as rebuilt."""
    span = payload.meta.get("span")
    if span:
        window = (dt.date.fromisoformat(span[0]), dt.date.fromisoformat(span[1]))
    elif ".." in (payload.partition or ""):
        first, last = payload.partition.split("..", 1)
        window = (dt.date.fromisoformat(first), dt.date.fromisoformat(last))
    else:
        window = (None, None)
    ids = sorted({o.series_id for o in result.observations})
    frequencies = {}
    for series_id in ids:
        info = store.observations.series_info(series_id)
        frequencies[series_id] = info["frequency"] if info else "D"
    dates = [o.date for o in result.observations]
    around = (window[0] or min(dates, default=payload.fetched_at.date()),
              window[1] or max(dates, default=payload.fetched_at.date()))
    history = stored_near(store, ids, around)
    return plausibility.screen(result.observations, rules,
                               plausibility.Window(window[0], window[1], payload.fetched_at.date()),
                               frequencies, history)


def _archived_sources(store: Store) -> list[str]:
    load_all()
    return [source for source in store.payloads.sources() if source in REGISTRY]


def _placeholder_series(store: Store, fetcher: Fetcher, ids: set[str]):
    from stresswatch.fetchers.base import SeriesInfo

    out = []
    for series_id in sorted(ids):
        info = store.observations.series_info(series_id)
        if info:
            out.append(SeriesInfo(info["id"], info["source"], info["name"], info["unit"], info["frequency"],
                                  info["publication_lag_days"]))
        else:
            out.append(SeriesInfo(series_id, fetcher.id, series_id, "", "D", 0))
    return out
