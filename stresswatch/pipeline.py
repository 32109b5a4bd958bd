"""The one path for getting data in: fetch (incremental, up to a date), backfill (partitioned,
resumable, idempotent) and reparse (rebuild observations from the payload archive, offline).

Unit of work = one source's calendar window (a partition). For each partition: the ledger row is
marked running, every response body is archived before it is parsed, and the partition's
observations commit in one transaction together with its ledger row — a crash leaves either
nothing or a complete partition. A failing partition or source is recorded and the others go on.
The date is always a parameter; nothing here reads "today". The time of a fetch (stamped on the
archived payloads and the observations' fetched_at, and compared with the unreachable cooldown)
comes from the injected `clock` (`stresswatch.clock`), never from the wall clock directly.
"""

from __future__ import annotations

import datetime as dt
import logging
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

from stresswatch.clock import Clock, system_clock, utc_stamp
from stresswatch.errors import ConfigError, FetchError, ParseError, SourceUnavailable, StoreError, UsageError
from stresswatch.fetchers.base import REGISTRY, Fetcher, ParseResult, Request, load_all, window_bounds
from stresswatch.fetchers.http import HttpClient
from stresswatch.settings import Settings
from stresswatch.redaction import redact
from stresswatch.store import Store

log = logging.getLogger(__name__)

REPROCESS = ("missing", "failed", "all")
#: consecutive unavailable partitions after which a source's remaining partitions are left for the
#: next run (each one already spent the HTTP layer's retries)
GIVE_UP_AFTER = 2


@dataclass
class PartitionOutcome:
    source: str
    partition: str
    status: str  # success | failed | skipped (already done) | abandoned (source down) | planned (dry run)
    rows: int = 0
    requests: int = 0
    error: str = ""
    warnings: list[str] = field(default_factory=list)
    planned: list[str] = field(default_factory=list)  # dry-run: the requests it would make
    unavailable: bool = False  # failed because the source could not be reached
    unreachable: bool = False  # ... and its host not even connected to


@dataclass
class FetchReport:
    outcomes: list[PartitionOutcome] = field(default_factory=list)
    interrupted: bool = False

    @property
    def failed(self) -> list[PartitionOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    @property
    def ok(self) -> bool:
        return not self.failed and not self.interrupted and not any(o.status == "abandoned" for o in self.outcomes)

    def summary(self) -> list[dict]:
        """One row per source: partitions by status, rows written, requests made, last error."""
        rows: dict[str, dict] = {}
        for o in self.outcomes:
            r = rows.setdefault(o.source, {"source": o.source, "success": 0, "failed": 0, "skipped": 0, "abandoned": 0,
                                           "planned": 0, "rows": 0, "requests": 0, "error": ""})
            r[o.status] = r.get(o.status, 0) + 1
            r["rows"] += o.rows
            r["requests"] += o.requests
            if o.error:
                r["error"] = o.error
        return list(rows.values())


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


def _client(settings: Settings, fetcher: Fetcher, pacing_factor: float = 1.0,
            clock: Clock = system_clock) -> HttpClient:
    src = settings.source(fetcher.id)
    return HttpClient(fetcher.id, timeout=src["timeout"], min_interval=src["min_interval"] * pacing_factor,
                      http_settings=settings["http"], clock=clock)


# ---------------------------------------------------------------------------------------------
# one partition
# ---------------------------------------------------------------------------------------------
def _fetch_one(store: Store, fetcher: Fetcher, client: HttpClient, request: Request, job: str, partition: str,
               attempts: int, backoff: float, sleep: Callable[[float], None]) -> tuple[ParseResult, int, int]:
    """Send one request, archive its body, parse it. A body that does not parse (an anti-bot page,
    a truncated answer) is archived and the request tried again, up to `attempts` times."""
    last_error: Exception | None = None
    for attempt in range(max(1, attempts)):
        if attempt:
            sleep(backoff * (2 ** (attempt - 1)))
        try:
            response = client.send(request)
        except SourceUnavailable as exc:
            if exc.retried:  # urllib3 already spent its retries: asking again would multiply them
                raise
            last_error = exc  # a body cut short: ask again
            continue
        payload_id = store.payloads.save(
            source=fetcher.id, request=request, status=response.status, content_type=response.content_type,
            body=response.body, fetched_at=response.fetched_at, parser_version=fetcher.parser_version,
            job=job, partition=partition)
        if response.status in fetcher.no_data_statuses:
            return ParseResult(warnings=[f"HTTP {response.status}: no data for {request.label or request.url}"]), \
                payload_id, attempt + 1
        client.raise_for_status(response)
        try:
            return fetcher.parse(response.body, request, response.content_type), payload_id, attempt + 1
        except ParseError as exc:
            if not exc.retryable:
                raise
            last_error = exc
            log.warning("%s (attempt %d of %d)", exc, attempt + 1, attempts)
    assert last_error is not None
    raise last_error


def run_partition(store: Store, settings: Settings, fetcher: Fetcher, client: HttpClient,
                  window: tuple[dt.date, dt.date], span: tuple[dt.date, dt.date],
                  sleep: Callable[[float], None] = time.sleep, clock: Clock = system_clock) -> PartitionOutcome:
    """Fetch `span` (inside the calendar `window`) and commit it with its ledger row."""
    job = job_name(fetcher.id)
    key = f"{window[0].isoformat()}..{window[1].isoformat()}"
    outcome = PartitionOutcome(fetcher.id, key, "failed")
    previous = store.ledger.get(job, key)
    store.ledger.start(job, key, window[0], window[1])
    http = settings["http"]
    attempts = int(http["retries"]) + 1
    backoff = float(http["backoff_factor"])
    batches: list[tuple[int, ParseResult]] = []
    try:
        queue = list(fetcher.build_requests(span[0], span[1]))
        while queue:
            request = queue.pop(0)
            result, payload_id, tries = _fetch_one(store, fetcher, client, request, job, key, attempts, backoff, sleep)
            outcome.requests += tries
            batches.append((payload_id, result))
            outcome.warnings.extend(result.warnings)
            if result.follow_up is not None:
                queue.insert(0, result.follow_up)
        fetched_at = clock().astimezone(dt.timezone.utc).replace(microsecond=0)  # as the rows record it
        with store.transaction():
            store.observations.upsert_series(fetcher.series())
            rows = 0
            for payload_id, result in batches:
                rows += store.observations.write_observations(result.observations, fetched_at=fetched_at,
                                                              payload_id=payload_id)
                if result.candidates:
                    rows += store.candidates.save(result.candidates)
            covered = _merge_cover(previous, span)
            store.ledger.finish(job, key, "success", rows=rows, covered=covered,
                                detail={"warnings": outcome.warnings} if outcome.warnings else None)
        outcome.status, outcome.rows = "success", rows
    except (FetchError, ParseError, StoreError) as exc:
        outcome.error = redact(str(exc))
        outcome.unavailable = isinstance(exc, SourceUnavailable)
        outcome.unreachable = outcome.unavailable and exc.unreachable
        store.ledger.finish(job, key, "failed", error=outcome.error,
                            detail={"unreachable": True} if outcome.unreachable else None)
        log.error("%s %s failed: %s", fetcher.id, key, outcome.error)
    return outcome


def _merge_cover(previous: Mapping[str, Any] | None, span: tuple[dt.date, dt.date]) -> tuple[dt.date, dt.date]:
    """Union of the stored coverage and `span` when they touch; otherwise just `span`."""
    if not previous or not previous.get("covered_from") or previous.get("status") != "success":
        return span
    old_from = dt.date.fromisoformat(previous["covered_from"])
    old_to = dt.date.fromisoformat(previous["covered_to"])
    if span[0] <= old_to + dt.timedelta(days=1) and old_from <= span[1] + dt.timedelta(days=1):
        return min(old_from, span[0]), max(old_to, span[1])
    return span


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
            client = _client(settings, fetcher, pacing, clock)
            unavailable = 0
            try:
                for window, span in parts:
                    if stop is not None and stop.is_set():
                        report.interrupted = True
                        return report
                    key = f"{window[0]}..{window[1]}"
                    if unavailable >= GIVE_UP_AFTER:
                        report.outcomes.append(PartitionOutcome(
                            fetcher.id, key, "abandoned", error="source unavailable; not attempted"))
                    else:
                        if bar is not None:
                            bar.set_description(f"{fetcher.id} {window[0].year}")
                        outcome = run_partition(store, settings, fetcher, client, window, span, clock=clock)
                        report.outcomes.append(outcome)
                        unavailable = unavailable + 1 if outcome.unavailable else 0
                    if bar is not None:
                        bar.update(1)
            finally:
                client.close()
    finally:
        if bar is not None:
            bar.close()
    return report


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
    (from its last covered date, less a few days for late revisions; from `history_start` when empty)."""
    work = []
    cooling: list[PartitionOutcome] = []
    for source_id in select_sources(settings, sources):
        fetcher = make_fetcher(settings, source_id)
        unreachable_since = recently_unreachable(store, settings, source_id, clock)
        if unreachable_since and not dry_run:
            cooling.append(PartitionOutcome(
                source_id, "-", "abandoned",
                error=f"{source_id}: host unreachable at {unreachable_since}; not asked again for "
                      f"[http] unreachable_cooldown = {settings['http']['unreachable_cooldown']:g} min"))
            continue
        start = fetch_start(store, settings, fetcher, asof)
        if start is None:
            work.append((fetcher, []))
            continue
        work.append((fetcher, plan(fetcher, start, asof)))
    report = _run(store, settings, work, dry_run, stop, progress, 1.0, clock)
    report.outcomes = cooling + report.outcomes
    return report


def recently_unreachable(store: Store, settings: Settings, source_id: str,
                         clock: Clock = system_clock) -> str | None:
    """When the source's host could not be reached at all within the last `[http]
    unreachable_cooldown` minutes (and nothing succeeded since): the time of that failure. A daily
    run then does not spend the HTTP layer's retries on it again; `backfill` always asks."""
    minutes = float(settings["http"]["unreachable_cooldown"])
    if minutes <= 0:
        return None
    rows = store.ledger.rows(job_name(source_id))
    last_success = max((r["last_success"] or "" for r in rows), default="")
    since = utc_stamp(clock() - dt.timedelta(minutes=minutes))
    for row in rows:
        if row["status"] == "failed" and (row["finished_at"] or "") >= max(since, last_success) \
                and '"unreachable": true' in (row["detail"] or ""):
            return row["finished_at"]
    return None


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
    rows: int = 0
    errors: list[str] = field(default_factory=list)


def reparse(store: Store, settings: Settings, source: str | None = None) -> list[ReparseReport]:
    """Rebuild each source's observations from its archived payloads, in fetch order, offline."""
    reports = []
    for source_id in select_sources(settings, [source]) if source else _archived_sources(store):
        fetcher = make_fetcher(settings, source_id)
        rep = ReparseReport(source_id)
        with store.transaction():
            store.observations.delete_observations(source_id)
            if fetcher.yields_candidates:
                store.candidates.delete()
            store.observations.upsert_series(fetcher.series())
            for payload in store.payloads.iter(source_id):
                rep.payloads += 1
                if payload.status >= 400:
                    continue
                try:
                    result = fetcher.parse(payload.body, payload.request, payload.content_type)
                except ParseError as exc:
                    rep.unparseable += 1
                    rep.errors.append(str(exc))
                    continue
                rep.parsed += 1
                known = {s.id for s in fetcher.series()}
                unknown = {o.series_id for o in result.observations} - known
                if unknown:  # a series no longer configured: keep its metadata so the rows can land
                    store.observations.upsert_series(_placeholder_series(store, fetcher, unknown))
                rep.rows += store.observations.write_observations(result.observations, fetched_at=payload.fetched_at,
                                                                  payload_id=payload.id)
                if result.candidates:
                    rep.rows += store.candidates.save(result.candidates)
        reports.append(rep)
    return reports


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
