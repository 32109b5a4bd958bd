"""The daily cycle for one date D: fetch -> compute (indicators, index, regimes) -> events ->
report -> alerts -> mail, each step recorded in the run ledger as job `day:<step>`, partition D.

`run_day` is what both `stresswatch run --date D` and the daemon call. Rules:

- A step whose ledger row for D says `success` is not repeated; failed, skipped or interrupted
  steps run again on the next call. So rerunning a finished date does nothing and sends nothing.
- Exception: when an upstream step ran again in this call and wrote rows (a fetch that failed
  earlier and now brought data), the steps that read its output (compute, events, report) run
  again too. Alerts are never re-evaluated for a date (their state machine already moved on D).
- A step whose hard dependency failed is recorded as `skipped` (it runs on the next call); the
  mail step has no dependency: it always drains the outbox.
- A step that raises fails alone, with its message recorded; the run goes on to the next step.
- `stop` (a threading.Event) is checked between steps: SIGTERM finishes the step in flight.

The events step stores the alignment it computes (`store.alignments`), and the report step reads
it from there. Time comes from the injected clock (`stresswatch.clock`).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from stresswatch.clock import Clock, system_clock
from stresswatch.errors import StoreError, StresswatchError
from stresswatch.events import align as ev_align
from stresswatch.settings import Settings
from stresswatch.store import Store

log = logging.getLogger(__name__)


@dataclass
class StepOutput:
    rows: int = 0
    ok: bool = True
    error: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class Context:
    store: Store
    settings: Settings
    day: dt.date
    clock: Clock
    stop: threading.Event | None


@dataclass(frozen=True)
class Step:
    name: str
    func: Callable[[Context], StepOutput]
    #: hard dependencies: skipped unless these succeeded (now or earlier)
    needs: tuple[str, ...] = ()
    #: rerun (even after an earlier success) when one of these ran again now and wrote rows
    inputs: tuple[str, ...] = ()


@dataclass
class StepResult:
    name: str
    status: str  # success | failed | skipped | done (succeeded in an earlier run) | not-run (stopped)
    seconds: float = 0.0
    rows: int = 0
    error: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class DayResult:
    day: dt.date
    steps: list[StepResult] = field(default_factory=list)
    interrupted: bool = False

    @property
    def failed(self) -> list[StepResult]:
        return [s for s in self.steps if s.status == "failed"]

    @property
    def ok(self) -> bool:
        return not self.failed and not self.interrupted and all(s.status in ("success", "done") for s in self.steps)

    def summary(self) -> str:
        if self.ok:
            ran = [s.name for s in self.steps if s.status == "success"]
            return f"{self.day}: ok" + (f" (ran {', '.join(ran)})" if ran else " (nothing to do: already complete)")
        parts = [f"{s.name} failed: {s.error}" for s in self.failed]
        parts += [f"{s.name} skipped: {s.error}" for s in self.steps if s.status == "skipped"]
        if self.interrupted:
            parts.append("stopped before " + ", ".join(s.name for s in self.steps if s.status == "not-run"))
        return f"{self.day}: " + "; ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        return {"date": self.day.isoformat(), "ok": self.ok, "interrupted": self.interrupted,
                "failed_steps": [s.name for s in self.failed], "summary": self.summary(),
                "steps": [{"step": s.name, "status": s.status, "seconds": round(s.seconds, 3), "rows": s.rows,
                           "error": s.error, "detail": s.detail} for s in self.steps]}


# ---------------------------------------------------------------------------------------------
# The steps
# ---------------------------------------------------------------------------------------------
def step_fetch(ctx: Context) -> StepOutput:
    from stresswatch import pipeline

    report = pipeline.fetch(ctx.store, ctx.settings, asof=ctx.day, stop=ctx.stop, progress=False, clock=ctx.clock)
    failed = sorted({o.source for o in report.outcomes if o.status in ("failed", "abandoned", "interrupted")})
    rows = sum(o.rows for o in report.outcomes)
    # one line per failing source, "source: host — cause" (<= 160 characters), cooldowns with their end
    detail = {"failed_sources": failed, "sources": report.summary(), "failures": report.failure_lines()}
    if report.interrupted:
        return StepOutput(rows, False, "interrupted", detail)
    if failed:
        return StepOutput(rows, False, f"source(s) failed: {', '.join(failed)}", detail)
    return StepOutput(rows, True, None, detail)


def step_compute(ctx: Context) -> StepOutput:
    from stresswatch.compute import compute

    result = compute(ctx.store, ctx.settings, ctx.day)
    # a regime model that could not be updated is a warning the report shows, not a failed step:
    # the index and the other models are still good for the day's report
    detail = {"regimes": result.regimes, "regimes_error": result.regimes_error,
              "segments": ", ".join(result.segments)}
    return StepOutput(result.rows, True, None, detail)


def align_for_day(store: Store, settings: Settings, day: dt.date) -> int:
    """Align the catalogue as of `day` and store the alignment as `day`'s (the report for `day`
    reads it); returns how many statements got an event day."""
    alignment = ev_align.align(store, settings, day)
    ev_align.save(store, alignment)
    return alignment.event_days()


def step_events(ctx: Context) -> StepOutput:
    return StepOutput(align_for_day(ctx.store, ctx.settings, ctx.day), True, None, {})


def step_report(ctx: Context) -> StepOutput:
    from stresswatch.reports.render import render_day

    result = render_day(ctx.store, ctx.settings, ctx.day, out=ctx.settings.reports_dir, clock=ctx.clock)
    return StepOutput(0, True, None, {"report": str(result.folders[0]) if result.folders else ""})


def step_alerts(ctx: Context) -> StepOutput:
    from stresswatch.alerts.run import run_alerts

    ev = run_alerts(ctx.store, ctx.settings, ctx.day, ctx.clock)
    detail = {
        "queued": ev.queued,
        "transitions": [f"{new.rule_id}: {prev.state} -> {new.state}" for prev, new in ev.transitions],
        "digest": ev.digest.subject() if ev.digest.should_send else None,
        "mail": "on" if ctx.settings["mail"]["recipients"] else "off (no recipients)",
    }
    return StepOutput(len(ev.transitions), True, None, detail)


def step_mail(ctx: Context) -> StepOutput:
    from stresswatch.mail.delivery import deliver, outbox_rows

    result = deliver(ctx.store, ctx.settings, ctx.clock, respect_backoff=False)
    detail = result.as_dict()
    if result.ok:
        return StepOutput(result.sent, True, None, detail)
    pending = len(outbox_rows(ctx.store, "pending"))
    error = f"{pending} message(s) queued for retry" if pending else "delivery failed"
    if result.errors:
        error += ": " + result.errors[0]
    return StepOutput(result.sent, False, error, detail)


STEPS: dict[str, Step] = {
    "fetch": Step("fetch", step_fetch),
    "compute": Step("compute", step_compute, inputs=("fetch",)),
    "events": Step("events", step_events, needs=("compute",), inputs=("compute",)),
    "report": Step("report", step_report, needs=("compute",), inputs=("compute", "events")),
    # no hard dependency: a stale model holds the regime alerts (see alerts/evaluators.py), while the
    # source-staleness alerts must still run when compute failed
    "alerts": Step("alerts", step_alerts),
    "mail": Step("mail", step_mail),
}


def configured_steps(settings: Settings) -> list[Step]:
    names = settings["daemon"]["steps"]
    return [STEPS[n] for n in STEPS if n in names]


def job_name(step: str) -> str:
    return f"day:{step}"


def is_complete(store: Store, settings: Settings, day: dt.date) -> bool:
    """True when every configured step succeeded for `day`."""
    for step in configured_steps(settings):
        row = store.ledger.get(job_name(step.name), day.isoformat())
        if not row or row["status"] != "success":
            return False
    return True


# ---------------------------------------------------------------------------------------------
# The cycle
# ---------------------------------------------------------------------------------------------
def run_day(store: Store, settings: Settings, day: dt.date, clock: Clock | None = None, *,
            stop: threading.Event | None = None) -> DayResult:
    """Run the configured steps for `day` (see the module docstring); never raises for a step."""
    clock = clock or system_clock
    ctx = Context(store, settings, day, clock, stop)
    result = DayResult(day)
    partition = day.isoformat()
    state: dict[str, str] = {}  # step -> success | failed | skipped | done
    fresh_rows: dict[str, int] = {}  # steps that ran now -> rows written
    for step in configured_steps(settings):
        if stop is not None and stop.is_set():
            result.interrupted = True
            result.steps.append(StepResult(step.name, "not-run"))
            continue
        row = store.ledger.get(job_name(step.name), partition)
        rerun_for = [i for i in step.inputs if fresh_rows.get(i, 0) > 0]
        if row and row["status"] == "success" and not rerun_for:
            state[step.name] = "done"
            result.steps.append(StepResult(step.name, "done", rows=row.get("rows") or 0))
            continue
        missing = [n for n in step.needs if n in state and state[n] not in ("success", "done")]
        if missing:
            why = f"needs {', '.join(missing)}"
            store.ledger.finish(job_name(step.name), partition, "skipped", error=why)
            state[step.name] = "skipped"
            result.steps.append(StepResult(step.name, "skipped", error=why))
            log.info("day %s %-7s skipped (%s)", partition, step.name, why)
            continue
        store.ledger.start(job_name(step.name), partition, day, day)
        started = time.perf_counter()
        try:
            out = step.func(ctx)
        except StresswatchError as exc:  # a failure the step names: recorded, the run goes on
            out = StepOutput(0, False, str(exc), {"error_type": type(exc).__name__})
        except Exception as exc:  # noqa: BLE001
            # The one broad catch, on purpose: this is the boundary between steps, and one step's
            # unexpected failure (a bug, a library error) must not stop the others or the daemon.
            # The error type is recorded with the message; the traceback goes to the DEBUG log.
            out = StepOutput(0, False, f"{exc.__class__.__name__}: {exc}", {"error_type": type(exc).__name__})
            log.debug("day %s %s traceback:\n%s", partition, step.name, traceback.format_exc())
        seconds = time.perf_counter() - started
        status = "success" if out.ok else "failed"
        detail = dict(out.detail)
        detail["seconds"] = round(seconds, 3)
        try:
            store.ledger.finish(job_name(step.name), partition, status, rows=out.rows, error=out.error,
                                detail=json.loads(json.dumps(detail, default=str)))
        except StoreError as exc:  # the step's outcome is still returned to the caller
            log.error("day %s %s: cannot record the step in the ledger: %s", partition, step.name, exc)
        state[step.name] = status
        fresh_rows[step.name] = out.rows
        result.steps.append(StepResult(step.name, status, seconds, out.rows, out.error, out.detail))
        level = logging.INFO if out.ok else logging.WARNING
        log.log(level, "day %s %-7s %s in %.2fs (%d rows)%s", partition, step.name, status, seconds, out.rows,
                f": {out.error}" if out.error else "")
    return result


def run_range(store: Store, settings: Settings, days: Sequence[dt.date], clock: Clock | None = None, *,
              stop: threading.Event | None = None) -> list[DayResult]:
    out = []
    for day in days:
        if stop is not None and stop.is_set():
            break
        out.append(run_day(store, settings, day, clock, stop=stop))
    return out
