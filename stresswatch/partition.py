"""One partition of one source, start to finish: ask, archive, parse, judge, commit.

`run_partition` marks the ledger row running, sends the partition's requests (following pages up
to `[http] max_pages`), archives every answer before parsing it, screens the parsed values with
the plausibility rules (`stresswatch.plausibility`: a refused value goes to `store.quarantine`),
checks that the answer covers the window as the source publishes (`stresswatch.coverage`), and
commits the observations, the quarantined values and the ledger row in one transaction. Whatever
happens the row does not stay `running`:

- success: the window is covered;
- failed: a typed error (unreachable, timed out, refused, too large, unparseable, short), or an
  unexpected one (recorded with its type, the traceback in the DEBUG log) -- the next partition
  and the next source go on;
- interrupted: SIGTERM / Ctrl-C stopped a transfer (`FetchInterrupted`); the caller stops.

Each outcome carries a one-line summary, `PartitionOutcome.line` (at most `LINE_MAX` characters:
"source: host — cause"), for the command output and the daily run.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from stresswatch import coverage, plausibility
from stresswatch.clock import Clock, system_clock
from stresswatch.errors import (FetchError, FetchInterrupted, ParseError, ResponseTooLarge, SourceUnavailable,
                                StoreError)
from stresswatch.fetchers.base import Fetcher, Observation, ParseResult, Request, describe
from stresswatch.fetchers.http import HttpClient, Response, host_of
from stresswatch.redaction import redact
from stresswatch.settings import Settings
from stresswatch.store import Store

log = logging.getLogger(__name__)

#: longest one-line summary of a failing source
LINE_MAX = 160
#: what `run` prints before a source's line (a cooldown's line leaves room for it)
RUN_PREFIX = "stresswatch: YYYY-MM-DD fetch: "
#: days of stored history read before a window, for the jump limits and the coverage check
LOOKBACK_DAYS = 400


@dataclass
class PartitionOutcome:
    source: str
    partition: str
    #: success | failed | skipped (already done) | abandoned (not asked: source down or cooling
    #: down) | interrupted (stopped by a signal) | planned (dry run)
    status: str
    rows: int = 0
    requests: int = 0
    error: str = ""
    warnings: list[str] = field(default_factory=list)
    planned: list[str] = field(default_factory=list)  # dry-run: the requests it would make
    unavailable: bool = False  # failed because the source could not be reached
    unreachable: bool = False  # ... and its host not even connected to
    quarantined: int = 0
    host: str = ""
    #: "source: host — cause", at most LINE_MAX characters (failed and abandoned outcomes)
    line: str = ""


def one_line(source: str, host: str, cause: str) -> str:
    """`source: host — cause` on one line of at most LINE_MAX characters."""
    text = " ".join(f"{source}: {host + ' — ' if host else ''}{cause}".split())
    return text if len(text) <= LINE_MAX else text[:LINE_MAX - 1] + "…"


class _Incomplete(Exception):
    """Internal: the answer does not cover the window (problems listed)."""


class _Paging(Exception):
    """Internal: a paged answer did not end within `[http] max_pages`."""


@dataclass
class _Batch:
    payload_id: int
    result: ParseResult


def _fetch_one(store: Store, fetcher: Fetcher, client: HttpClient, request: Request, job: str, partition: str,
               span: tuple[dt.date, dt.date], attempts: int, backoff: float,
               sleep: Callable[[float], None]) -> tuple[ParseResult, int, int]:
    """Send one request, archive its answer, parse it. An answer that does not parse (an anti-bot
    page, a truncated document) or is cut short is asked for again, up to `attempts` times."""
    last_error: Exception | None = None
    for attempt in range(max(1, attempts)):
        if attempt:
            sleep(backoff * (2 ** (attempt - 1)))
        try:
            response = client.send(request)
        except SourceUnavailable as exc:
            if exc.retried:  # urllib3 already spent its retries: asking again would multiply them
                raise
            last_error = exc  # a body cut short or a deadline passed mid-body: ask again
            continue
        except ResponseTooLarge as exc:  # archived as metadata, not as a body; not asked again
            if isinstance(exc.response, Response):
                _archive(store, fetcher, request, exc.response, job, partition, span,
                         {"truncated": True, "limit_bytes": exc.limit, "received_bytes": exc.received,
                          "declared_bytes": exc.declared})
            raise
        payload_id = _archive(store, fetcher, request, response, job, partition, span)
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
            log.warning("%s (attempt %d of %d)", redact(str(exc)), attempt + 1, attempts)
    assert last_error is not None
    raise last_error


def _archive(store: Store, fetcher: Fetcher, request: Request, response: Response, job: str, partition: str,
             span: tuple[dt.date, dt.date], extra: Mapping[str, Any] | None = None) -> int:
    meta = {"span": [span[0].isoformat(), span[1].isoformat()], **response.meta(), **(extra or {})}
    return store.payloads.save(
        source=fetcher.id, request=request, status=response.status, content_type=response.content_type,
        body=response.body, fetched_at=response.fetched_at, parser_version=fetcher.parser_version,
        job=job, partition=partition, meta=meta)


def _collect(store: Store, settings: Settings, fetcher: Fetcher, client: HttpClient, job: str, key: str,
             span: tuple[dt.date, dt.date], outcome: PartitionOutcome, sleep: Callable[[float], None]) -> list[_Batch]:
    http = settings["http"]
    attempts, backoff = int(http["retries"]) + 1, float(http["backoff_factor"])
    max_pages = int(http["max_pages"])
    batches: list[_Batch] = []
    queue: list[tuple[Request, int]] = [(r, 1) for r in fetcher.build_requests(span[0], span[1])]
    while queue:
        request, page = queue.pop(0)
        result, payload_id, tries = _fetch_one(store, fetcher, client, request, job, key, span, attempts, backoff,
                                               sleep)
        outcome.requests += tries
        batches.append(_Batch(payload_id, result))
        outcome.warnings.extend(result.warnings)
        if result.follow_up is not None:
            if page >= max_pages:
                raise _Paging(f"{fetcher.id}: more than {max_pages} pages following {request.label or 'a request'}; "
                              "the source's paging does not end ([http] max_pages)")
            queue.insert(0, (result.follow_up, page + 1))
    return batches


def stored_near(store: Store, series_ids: list[str], span: tuple[dt.date, dt.date]) -> dict[str, list[tuple[dt.date, float]]]:
    """Stored values (latest vintage) of each series from LOOKBACK_DAYS before `span` to its end."""
    out: dict[str, list[tuple[dt.date, float]]] = {}
    first = span[0] - dt.timedelta(days=LOOKBACK_DAYS)
    for series_id in series_ids:
        out[series_id] = store.observations.latest_values(series_id, first, span[1])
    return out


def judge(batches: list[_Batch], rules: plausibility.Rules, window: plausibility.Window,
          frequencies: Mapping[str, str], history: Mapping[str, list[tuple[dt.date, float]]]
          ) -> tuple[dict[int, list[Observation]], dict[int, list[plausibility.Rejected]]]:
    """Screen every observation of the partition at once (so the jump limits see the whole
    answer); accepted and rejected observations grouped by the payload they came from."""
    flat = [(b.payload_id, o) for b in batches for o in b.result.observations]
    accepted, rejected = plausibility.screen([o for _, o in flat], rules, window, frequencies, history)
    keep = {id(o) for o in accepted}
    ok: dict[int, list[Observation]] = {}
    bad: dict[int, list[plausibility.Rejected]] = {}
    reasons = {id(r.observation): r for r in rejected}
    for payload_id, obs in flat:
        if id(obs) in keep:
            ok.setdefault(payload_id, []).append(obs)
        else:
            bad.setdefault(payload_id, []).append(reasons[id(obs)])
    return ok, bad


def _coverage_problems(fetcher: Fetcher, span: tuple[dt.date, dt.date], fetched_on: dt.date,
                       accepted: dict[int, list[Observation]], history: Mapping[str, list[tuple[dt.date, float]]]
                       ) -> list[str]:
    since = fetcher.published_since()
    alive = any(span[0] <= o.date <= span[1] for obs in accepted.values() for o in obs)
    problems = []
    for info in fetcher.continuous_series():
        dates = {o.date for obs in accepted.values() for o in obs if o.series_id == info.id}
        stored = history.get(info.id, [])
        dates |= {d for d, _ in stored if span[0] <= d <= span[1]}
        before = [d for d, _ in stored if d < span[0]]
        problem = coverage.coverage_problem(info, span, fetched_on, dates, max(before) if before else None,
                                            since.get(info.id), fetcher.coverage_grace_bdays, source_alive=alive)
        if problem:
            problems.append(problem)
    return problems


def _save_rejects(store: Store, fetcher: Fetcher, rejected: dict[int, list[plausibility.Rejected]],
                  fetched_at: dt.datetime) -> int:
    count = 0
    for payload_id, rejects in rejected.items():
        count += store.quarantine.add(fetcher.id, [(r.observation.series_id, r.observation.date, r.observation.value,
                                                    r.reason) for r in rejects],
                                      payload_id=payload_id, fetched_at=fetched_at)
    return count


def run_partition(store: Store, settings: Settings, fetcher: Fetcher, client: HttpClient,
                  window: tuple[dt.date, dt.date], span: tuple[dt.date, dt.date],
                  rules: plausibility.Rules, sleep: Callable[[float], None] = time.sleep,
                  clock: Clock = system_clock) -> PartitionOutcome:
    """Fetch `span` (inside the calendar `window`) and commit it with its ledger row."""
    job = f"fetch:{fetcher.id}"
    key = f"{window[0].isoformat()}..{window[1].isoformat()}"
    outcome = PartitionOutcome(fetcher.id, key, "failed", host=host_of(fetcher.base_url))
    previous = store.ledger.get(job, key)
    store.ledger.start(job, key, window[0], window[1])
    rejected: dict[int, list[plausibility.Rejected]] = {}
    fetched_at = clock().astimezone(dt.timezone.utc).replace(microsecond=0)
    try:
        batches = _collect(store, settings, fetcher, client, job, key, span, outcome, sleep)
        fetched_at = clock().astimezone(dt.timezone.utc).replace(microsecond=0)  # as the rows record it
        infos = fetcher.series()
        history = stored_near(store, [i.id for i in infos], span)
        accepted, rejected = judge(batches, rules, plausibility.Window(span[0], span[1], fetched_at.date()),
                                   {i.id: i.frequency for i in infos}, history)
        problems = _coverage_problems(fetcher, span, fetched_at.date(), accepted, history)
        if problems:
            raise _Incomplete("; ".join(problems))
        with store.transaction():
            store.observations.upsert_series(infos)
            rows = 0
            for batch in batches:
                rows += store.observations.write_observations(accepted.get(batch.payload_id, []),
                                                              fetched_at=fetched_at, payload_id=batch.payload_id)
                if batch.result.candidates:
                    rows += store.candidates.save(batch.result.candidates)
            outcome.quarantined = _save_rejects(store, fetcher, rejected, fetched_at)
            detail: dict[str, Any] = {}
            if outcome.warnings:
                detail["warnings"] = outcome.warnings
            if outcome.quarantined:
                detail["quarantined"] = outcome.quarantined
            store.ledger.finish(job, key, "success", rows=rows, covered=_merge_cover(previous, span),
                                detail=detail or None)
        outcome.status, outcome.rows = "success", rows
        _warn_quarantined(fetcher, key, rejected)
    except FetchInterrupted as exc:
        outcome.status, outcome.error = "interrupted", redact(str(exc))
        outcome.line = one_line(fetcher.id, outcome.host, "interrupted (asked to stop)")
        _finish_quietly(store, job, key, "interrupted", outcome.error)
    except (_Incomplete, _Paging) as exc:
        _fail(store, fetcher, outcome, job, key, str(exc), str(exc), rejected, fetched_at)
    except StoreError as exc:
        # the local store failed, not the source: the line names the store's problem whole (its
        # advice, e.g. how much space to free, must not be cut at LINE_MAX)
        _fail(store, fetcher, outcome, job, key, str(exc), str(exc), rejected, fetched_at, whole_line=True)
    except (FetchError, ParseError) as exc:
        cause = getattr(exc, "cause", "") or getattr(exc, "message", "") or str(exc)
        url = str(getattr(exc, "url", "")).rsplit(" ", 1)[-1]  # "GET https://host/path?..."
        outcome.host = getattr(exc, "host", "") or (host_of(url) if "://" in url else "") or outcome.host
        outcome.unavailable = isinstance(exc, SourceUnavailable)
        outcome.unreachable = outcome.unavailable and exc.unreachable  # type: ignore[union-attr]
        detail = {"unreachable": True, "host": outcome.host, "cause": cause} if outcome.unreachable else None
        _fail(store, fetcher, outcome, job, key, str(exc), cause, rejected, fetched_at, detail)
    except Exception as exc:  # noqa: BLE001
        # The one broad catch, on purpose: a bug (or a library error nobody foresaw) in one source
        # must not leave its row running nor stop the other sources. Recorded with its type; the
        # traceback goes to the DEBUG log.
        log.debug("%s %s traceback:\n%s", fetcher.id, key, redact(traceback.format_exc()))
        _fail(store, fetcher, outcome, job, key, f"{fetcher.id}: unexpected error: {describe(exc)}",
              f"unexpected error: {describe(exc)}", rejected, fetched_at)
    except BaseException:  # KeyboardInterrupt (a second Ctrl-C), SystemExit: record, then go
        _finish_quietly(store, job, key, "interrupted", "interrupted")
        raise
    return outcome


def _fail(store: Store, fetcher: Fetcher, outcome: PartitionOutcome, job: str, key: str, error: str, cause: str,
          rejected: dict[int, list[plausibility.Rejected]], fetched_at: dt.datetime,
          detail: dict[str, Any] | None = None, whole_line: bool = False) -> None:
    outcome.status = "failed"
    outcome.error = redact(error)
    outcome.line = (" ".join(f"{fetcher.id}: {redact(cause)}".split()) if whole_line
                    else one_line(fetcher.id, outcome.host, redact(cause)))
    try:
        with store.transaction():  # what was refused stays visible even when the partition failed
            outcome.quarantined = _save_rejects(store, fetcher, rejected, fetched_at)
            store.ledger.finish(job, key, "failed", error=outcome.error, detail=detail)
    except StoreError as exc:
        log.error("%s %s: cannot record the failure: %s", fetcher.id, key, exc)
    log.error("%s failed: %s", key, outcome.line)
    log.debug("%s %s failed: %s", fetcher.id, key, outcome.error)  # with the request, for the curious
    _warn_quarantined(fetcher, key, rejected)


def _finish_quietly(store: Store, job: str, key: str, status: str, error: str) -> None:
    try:
        store.ledger.finish(job, key, status, error=error)
    except StoreError as exc:
        log.error("%s %s: cannot record %s: %s", job, key, status, exc)


def _warn_quarantined(fetcher: Fetcher, key: str, rejected: dict[int, list[plausibility.Rejected]]) -> None:
    rejects = [r for rs in rejected.values() for r in rs]
    if rejects:
        first = rejects[0]
        log.warning("%s %s: %d value(s) quarantined, e.g. %s %s: %s", fetcher.id, key, len(rejects),
                    first.observation.series_id, first.observation.date, first.reason)


def _merge_cover(previous: Mapping[str, Any] | None, span: tuple[dt.date, dt.date]) -> tuple[dt.date, dt.date]:
    """Union of the stored coverage and `span` when they touch; otherwise just `span`."""
    if not previous or not previous.get("covered_from") or previous.get("status") != "success":
        return span
    old_from = dt.date.fromisoformat(previous["covered_from"])
    old_to = dt.date.fromisoformat(previous["covered_to"])
    if span[0] <= old_to + dt.timedelta(days=1) and old_from <= span[1] + dt.timedelta(days=1):
        return min(old_from, span[0]), max(old_to, span[1])
    return span


def stop_aware_sleep(stop: threading.Event | None) -> Callable[[float], None]:
    """A sleep for the pauses between attempts that ends early (raising FetchInterrupted) on stop."""
    def sleep(seconds: float) -> None:
        if seconds <= 0:
            return
        if stop is None:
            time.sleep(seconds)
        elif stop.wait(seconds):
            raise FetchInterrupted("stopped while waiting to ask again")
    return sleep
