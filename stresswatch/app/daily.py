"""The daily cycle for one date D: fetch -> compute (indicators, index, regimes) -> events ->
report -> alerts -> mail, each step recorded in the run ledger as job `day:<step>`, partition D.

`run_day` is what both `stresswatch run --date D` and the daemon call. Rules:

- A step whose ledger row for D says `success` is not repeated; failed, skipped or interrupted
  steps run again on the next call. So rerunning a finished date does nothing and sends nothing.
- Exception: when an upstream step ran again in this call and wrote rows (a fetch that failed
  earlier and now brought data), the steps that read its output run again too: compute, events
  and report, and alerts, which are then *re-evaluated* for D from the state they had before D
  (`alerts.run`: nothing counted twice, only news mailed, as a revised digest); mail runs again
  when alerts queued a message.
- `force=True` (`stresswatch run --date D --force`) runs every configured step again, and
  re-evaluates the alerts of D the same way.
- A step whose hard dependency failed is recorded as `skipped` (it runs on the next call); the
  mail step has no dependency: it always drains the outbox.
- A step that raises fails alone, with its message recorded; the run goes on to the next step.
- `stop` (a threading.Event) is checked between steps: SIGTERM finishes the step in flight.

The events step stores the alignment it computes (`store.alignments`), and the report step reads
it from there. The steps after compute read the regime states as of D through one shared memo
(`regimes.state.sharing_states`: events, report and alerts each asked for the headline model's
state and built its history again); a fetch or compute step that runs drops the memo. Time comes
from the injected clock (`stresswatch.clock`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Sequence

from stresswatch.clock import Clock, system_clock
from stresswatch.errors import StoreError, StresswatchError
from stresswatch.events import align as ev_align
from stresswatch.regimes.state import SharedStates, sharing_states
from stresswatch.settings import Settings
from stresswatch.store import Store

if TYPE_CHECKING:  # the alerts package is imported by the step that runs it
    from stresswatch.alerts.run import Evaluation

log = logging.getLogger(__name__)


@dataclass
class StepOutput:
    rows: int = 0
    ok: bool = True
    error: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    #: what the step did, in words, when "N rows" does not say it (e.g. "mail off (no recipients)")
    note: str | None = None
    #: the step wrote something its readers need even without rows (alerts: a queued digest)
    changed: bool = False
    #: the step had nothing to do by configuration (shown as status "off"; recorded as success)
    off: bool = False


@dataclass
class Context:
    store: Store
    settings: Settings
    day: dt.date
    clock: Clock
    stop: threading.Event | None
    #: evaluate D's alerts again (inputs changed in this call, or forced): see `alerts.run`
    reevaluate: bool = False


@dataclass(frozen=True)
class Step:
    name: str
    func: Callable[[Context], StepOutput]
    #: hard dependencies: skipped unless these succeeded (now or earlier)
    needs: tuple[str, ...] = ()
    #: rerun (even after an earlier success) when one of these ran again now and wrote rows
    inputs: tuple[str, ...] = ()


#: step statuses that count as done for the day
OK_STATUSES = ("success", "off", "done")


@dataclass
class StepResult:
    name: str
    #: success | off (nothing to do by configuration) | failed | skipped | done (succeeded in an
    #: earlier run) | not-run (stopped)
    status: str
    seconds: float = 0.0
    rows: int = 0
    error: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    note: str | None = None


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
        return not self.failed and not self.interrupted and all(s.status in OK_STATUSES for s in self.steps)

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
                           "note": s.note, "error": s.error, "detail": s.detail} for s in self.steps]}


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
    n = align_for_day(ctx.store, ctx.settings, ctx.day)
    return StepOutput(n, True, None, {}, note=f"{n} statement(s) lined up with the regimes")


def step_report(ctx: Context) -> StepOutput:
    from stresswatch.reports.render import render_day

    result = render_day(ctx.store, ctx.settings, ctx.day, out=ctx.settings.reports_dir, clock=ctx.clock)
    folder = str(result.folders[0]) if result.folders else ""
    return StepOutput(0, True, None, {"report": folder}, note=f"written to {folder}" if folder else None)


def step_alerts(ctx: Context) -> StepOutput:
    from stresswatch.alerts.run import run_alerts

    ev = run_alerts(ctx.store, ctx.settings, ctx.day, ctx.clock, reevaluate=ctx.reevaluate)
    mail_on = bool(ctx.settings["mail"]["recipients"])
    detail = {
        "queued": ev.queued,
        "dedup_key": ev.dedup_key or None,
        "reevaluated": ev.reevaluated,
        "kept": ev.kept,
        "transitions": [f"{new.rule_id}: {prev.state} -> {new.state}" for prev, new in ev.transitions],
        "digest": ev.digest.subject() if ev.digest.should_send else None,
        "mail": "on" if mail_on else "off (no recipients)",
    }
    return StepOutput(len(ev.transitions), True, None, detail, note=alerts_note(ev, mail_on), changed=ev.queued)


def alerts_note(ev: Evaluation, mail_on: bool) -> str:
    """The alerts step in words: re-evaluated or not, the state changes, the digest."""
    changes = [f"{new.rule_id} {prev.state} -> {new.state}" for prev, new in ev.transitions]
    text = "re-evaluated: " if ev.reevaluated else ""
    text += ", ".join(changes) if changes else "no alert changed state"
    if ev.queued:
        text += "; revised digest queued" if ev.digest.revision > 1 else "; digest queued"
    elif ev.digest.should_send and not mail_on:
        text += "; digest not queued (mail off)"
    if ev.kept:
        text += f"; kept {len(ev.kept)} alert(s) as they were ({ev.kept[0]})"
    return text


def step_mail(ctx: Context) -> StepOutput:
    from stresswatch.mail.delivery import deliver, outbox_rows

    result = deliver(ctx.store, ctx.settings, ctx.clock, respect_backoff=False)
    detail = result.as_dict()
    if result.ok:
        if result.sent:
            return StepOutput(result.sent, True, None, detail, note=f"sent {result.sent} message(s)")
        if not ctx.settings["mail"]["recipients"]:
            return StepOutput(0, True, None, detail, note="mail off (no recipients)", off=True)
        return StepOutput(0, True, None, detail, note="nothing to send")
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
    # source-staleness alerts must still run when compute failed; re-evaluated when data changed
    "alerts": Step("alerts", step_alerts, inputs=("fetch", "compute")),
    "mail": Step("mail", step_mail, inputs=("alerts",)),
}


#: steps that write what a regime state is built from (observations, model runs, backtests)
WRITES_REGIME_INPUTS = ("fetch", "compute")


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
            stop: threading.Event | None = None, force: bool = False) -> DayResult:
    """Run the configured steps for `day` (see the module docstring); never raises for a step.
    `force` runs every step again, even those that succeeded before."""
    clock = clock or system_clock
    result = DayResult(day)
    partition = day.isoformat()
    state: dict[str, str] = {}  # step -> success | failed | skipped | done
    changed: set[str] = set()  # steps that ran now and wrote something their readers need
    states: SharedStates = {}  # regime states as of D, shared by the steps that only read them
    for step in configured_steps(settings):
        if stop is not None and stop.is_set():
            result.interrupted = True
            result.steps.append(StepResult(step.name, "not-run"))
            continue
        row = store.ledger.get(job_name(step.name), partition)
        rerun_for = [i for i in step.inputs if i in changed]
        if row and row["status"] == "success" and not rerun_for and not force:
            state[step.name] = "done"
            result.steps.append(StepResult(step.name, "done", rows=row.get("rows") or 0, note=_stored_note(row)))
            continue
        missing = [n for n in step.needs if n in state and state[n] not in ("success", "done")]
        if missing:
            why = f"needs {', '.join(missing)}"
            store.ledger.finish(job_name(step.name), partition, "skipped", error=why)
            state[step.name] = "skipped"
            result.steps.append(StepResult(step.name, "skipped", error=why))
            log.info("day %s %-7s skipped (%s)", partition, step.name, why)
            continue
        # evaluate D's alerts again only when they were evaluated for D before (a first run has
        # nothing to go back on) and their inputs changed now, or when forced
        ctx = Context(store, settings, day, clock, stop, reevaluate=force or (bool(rerun_for) and row is not None))
        store.ledger.start(job_name(step.name), partition, day, day)
        started = time.perf_counter()
        writes = step.name in WRITES_REGIME_INPUTS
        if writes:
            states.clear()
        try:
            with contextlib.nullcontext() if writes else sharing_states(states):
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
        if out.note:
            detail["note"] = out.note
        try:
            store.ledger.finish(job_name(step.name), partition, status, rows=out.rows, error=out.error,
                                detail=json.loads(json.dumps(detail, default=str)))
        except StoreError as exc:  # the step's outcome is still returned to the caller
            log.error("day %s %s: cannot record the step in the ledger: %s", partition, step.name, exc)
        state[step.name] = status
        if out.rows > 0 or out.changed:
            changed.add(step.name)
        shown = "off" if out.ok and out.off else status
        result.steps.append(StepResult(step.name, shown, seconds, out.rows, out.error, out.detail, out.note))
        level = logging.INFO if out.ok else logging.WARNING
        what = f": {out.note}" if out.note else f" ({out.rows} rows)"
        log.log(level, "day %s %-7s %s in %.2fs%s%s", partition, step.name, shown, seconds, what,
                f": {out.error}" if out.error else "")
    return result


def _stored_note(row: Any) -> str | None:
    """The note an earlier run recorded for a step (its ledger detail), for "done" rows."""
    try:
        note = json.loads(row.get("detail") or "{}").get("note")
    except (ValueError, AttributeError):
        return None
    return str(note) if note else None


def run_range(store: Store, settings: Settings, days: Sequence[dt.date], clock: Clock | None = None, *,
              stop: threading.Event | None = None, force: bool = False) -> list[DayResult]:
    out = []
    for day in days:
        if stop is not None and stop.is_set():
            break
        out.append(run_day(store, settings, day, clock, stop=stop, force=force))
    return out
