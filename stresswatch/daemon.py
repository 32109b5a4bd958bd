"""The daemon: an APScheduler 3.11 BlockingScheduler that runs the daily cycle
(`stresswatch.app.daily`) on `[daemon] schedule`, catches up missed dates at start-up, retries undelivered mail between runs, and stops
cleanly on SIGTERM / SIGINT.

Locks (see docs/operations.md):

- the *daemon lock* `<store>.daemon.lock` is held for the daemon's whole life: a second daemon on
  the same store refuses to start (LockError, exit 1);
- the *writer lock* `<store>.lock` (shared with fetch, backfill, compute, run ...) is taken only
  while a run is in flight, so a backfill can run while the daemon idles; if a backfill holds it
  when a run is due, the daemon waits for it (checking for SIGTERM every second).

Jobs live in the in-memory job store and are rebuilt from the settings at every start; the run
ledger (`day:<step>` rows), not the scheduler, decides what is missing. `store.daemon_state`
records the last and next run for `stresswatch status` (`status_extra`). The time comes from the
injected clock and the schedule's zone from `clock.timezone_of` (the zone that defines "today").
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import logging
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any, Iterator
from zoneinfo import ZoneInfo

from stresswatch.app import daily
from stresswatch.clock import Clock, system_clock, timezone_of, today, utc_stamp
from stresswatch.errors import ConfigError, LockHeld
from stresswatch.lock import lock_path_for, single_instance
from stresswatch.settings import Settings
from stresswatch.store import Store

log = logging.getLogger(__name__)

CRON_FIELDS_5 = ("minute", "hour", "day", "month", "day_of_week")
CRON_FIELDS_6 = ("second",) + CRON_FIELDS_5


def daemon_lock_target(store_path: Path) -> Path:
    """The path whose `.lock` sibling is the daemon lock: `<store>.daemon` -> `<store>.daemon.lock`."""
    store_path = Path(store_path)
    return store_path.with_name(store_path.name + ".daemon")


def cron_trigger(expression: str, tz: ZoneInfo):
    """A CronTrigger from 5 fields (minute hour day month weekday) or 6 (seconds first).

    APScheduler 3 counts weekdays from Monday = 0 (crontab: Sunday = 0): use names (mon-fri).
    """
    from apscheduler.triggers.cron import CronTrigger

    fields = expression.split()
    names = CRON_FIELDS_6 if len(fields) == 6 else CRON_FIELDS_5 if len(fields) == 5 else None
    if names is None:
        raise ConfigError(f"[daemon] schedule = {expression!r}: expected 5 fields (minute hour day month weekday) "
                          "or 6 (second minute hour day month weekday)")
    try:
        return CronTrigger(timezone=tz, **dict(zip(names, fields)))
    except ValueError as exc:
        raise ConfigError(f"[daemon] schedule = {expression!r}: {exc}") from None


def scheduled_dates(trigger: Any, tz: ZoneInfo, now: dt.datetime, count: int) -> list[dt.date]:
    """The last `count` local dates on which `trigger` fired at or before `now` (oldest first)."""
    local_now = now.astimezone(tz)
    out: list[dt.date] = []
    day = local_now.date()
    for _ in range(max(count, 0) * 3 + 10):
        if len(out) >= count:
            break
        start = dt.datetime.combine(day, dt.time(0), tzinfo=tz)
        fire = trigger.get_next_fire_time(None, start)
        if fire is not None and fire.astimezone(tz).date() == day and fire <= local_now:
            out.append(day)
        day -= dt.timedelta(days=1)
    return sorted(out)


# ---------------------------------------------------------------------------------------------
# daemon_state
# ---------------------------------------------------------------------------------------------
def _put_state(store: Store, key: str, value: Any, clock: Clock) -> None:
    store.daemon_state.put(key, value, utc_stamp(clock()))


def get_state(store: Store) -> dict[str, Any]:
    return store.daemon_state.get()


def is_running(settings: Settings) -> bool:
    """True when a daemon holds the daemon lock for this store."""
    path = lock_path_for(daemon_lock_target(settings.store_path))
    if not path.exists():
        return False
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def status_extra(store: Store, settings: Settings) -> dict[str, Any]:
    """For `stresswatch status`: the daemon's state, last and next run, queued mail."""
    state = get_state(store)
    counts = store.outbox.counts()
    pending, failed = counts["pending"], counts["failed"]
    return {"daemon": {
        "running": is_running(settings),
        "pid": state.get("daemon", {}).get("pid"),
        "started_at": state.get("daemon", {}).get("started_at"),
        "schedule": settings["daemon"]["schedule"],
        "timezone": settings["daemon"]["timezone"],
        "last_run": state.get("last_run"),
        "next_run": state.get("next_run"),
        "mail_pending": pending,
        "mail_failed": failed,
        "mail_in_doubt": counts.get("in_doubt", 0),
    }}


# ---------------------------------------------------------------------------------------------
# The daemon
# ---------------------------------------------------------------------------------------------
class Daemon:
    def __init__(self, store: Store, settings: Settings, clock: Clock | None = None):
        self.store = store
        self.settings = settings
        self.clock = clock or system_clock
        self.tz = timezone_of(settings)
        self.trigger = cron_trigger(settings["daemon"]["schedule"], self.tz)
        self.stop = threading.Event()
        self.scheduler = None
        self._run_lock = threading.Lock()  # one cycle at a time inside this process
        self._main_done = threading.Event()

    # -- the writer lock, held only while a run is in flight --------------------------------
    @contextlib.contextmanager
    def writer_lock(self, wait: bool = True) -> Iterator[bool]:
        announced = False
        while True:
            try:
                with single_instance(self.settings.store_path, wait=0.0, holder="stresswatch daemon (daily run)"):
                    self.store.ledger.close_interrupted()  # rows a dead writer left running
                    yield True
                    return
            except LockHeld as exc:  # another writer: wait; a broken lock path is an error, not a wait
                if not wait or self.stop.is_set():
                    yield False
                    return
                if not announced:
                    log.info("waiting for the writer lock: %s", exc)
                    announced = True
                self.stop.wait(1.0)

    def run_dates(self, days: list[dt.date], why: str) -> None:
        with self._run_lock:
            with self.writer_lock() as got:
                if not got:
                    log.info("%s: stopped while waiting for the writer lock", why)
                    return
                for day in days:
                    if self.stop.is_set():
                        break
                    started = self.clock()
                    t0 = time.perf_counter()
                    result = daily.run_day(self.store, self.settings, day, self.clock, stop=self.stop)
                    log.info("%s %s: %s (%.2fs)", why, day, result.summary(), time.perf_counter() - t0)
                    _put_state(self.store, "last_run", {
                        "date": day.isoformat(), "started_at": utc_stamp(started),
                        "finished_at": utc_stamp(self.clock()), "ok": result.ok,
                        "interrupted": result.interrupted, "failed_steps": [s.name for s in result.failed],
                        "summary": result.summary()}, self.clock)
        self._record_next()

    def catch_up(self) -> list[dt.date]:
        """Dates the schedule covered recently whose cycle is incomplete (bounded by catch_up_days).
        On a store that never ran a cycle, only the latest scheduled date."""
        count = self.settings["daemon"]["catch_up_days"]
        dates = scheduled_dates(self.trigger, self.tz, self.clock(), count)
        ran_before = bool(self.store.ledger.rows("day:"))
        if not ran_before:
            dates = dates[-1:]
        missing = [d for d in dates if not daily.is_complete(self.store, self.settings, d)]
        if missing:
            log.info("catch-up: %d date(s) to run: %s", len(missing), ", ".join(d.isoformat() for d in missing))
            self.run_dates(missing, "catch-up")
        return missing

    def daily_job(self) -> None:
        if self.stop.is_set():
            return
        self.run_dates([today(self.clock, self.settings)], "scheduled run")

    def outbox_job(self) -> None:
        from stresswatch.mail.delivery import deliver

        if self.stop.is_set() or not self._run_lock.acquire(blocking=False):
            return
        try:
            with self.writer_lock(wait=False) as got:
                if got:
                    result = deliver(self.store, self.settings, self.clock, respect_backoff=True)
                    if result.sent or result.errors:
                        log.info("mail retry: %s", result.as_dict())
        finally:
            self._run_lock.release()

    def _record_next(self) -> None:
        nxt = self.trigger.get_next_fire_time(None, self.clock().astimezone(self.tz))
        _put_state(self.store, "next_run", utc_stamp(nxt) if nxt else None, self.clock)

    def _on_signal(self, signum: int, frame: Any) -> None:  # noqa: ARG002
        # only set the event here: the shutdown happens in the watcher thread (never inside a
        # signal handler that may have interrupted the scheduler while it held its own locks)
        if not self.stop.is_set():
            log.info("received %s: finishing the step in flight, then exiting", signal.Signals(signum).name)
            self.stop.set()

    def _shutdown_when_stopped(self) -> None:
        from apscheduler.schedulers import SchedulerNotRunningError

        self.stop.wait()
        while self.scheduler is not None and not self.scheduler.running and not self._main_done.is_set():
            time.sleep(0.05)
        if self.scheduler is not None and self.scheduler.running:
            try:
                self.scheduler.shutdown(wait=True)  # waits for the job in flight (it checks `stop`)
            except SchedulerNotRunningError:
                pass

    def build_scheduler(self):
        from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED
        from apscheduler.schedulers.blocking import BlockingScheduler
        from apscheduler.triggers.interval import IntervalTrigger

        conf = self.settings["daemon"]
        sched = BlockingScheduler(timezone=self.tz, job_defaults={
            "misfire_grace_time": int(conf["misfire_grace_hours"] * 3600) or None,
            "coalesce": True, "max_instances": 1})
        sched.add_job(self.daily_job, self.trigger, id="daily", name="daily cycle", replace_existing=True)
        minutes = conf["outbox_retry_minutes"]
        if minutes > 0 and self.settings["mail"]["recipients"]:
            sched.add_job(self.outbox_job, IntervalTrigger(minutes=minutes, timezone=self.tz), id="outbox",
                          name="mail retry", replace_existing=True)

        def on_event(event: Any) -> None:
            if getattr(event, "exception", None) is not None:
                log.error("job %s failed: %s", event.job_id, event.exception)
            elif event.code == EVENT_JOB_MISSED:
                log.warning("job %s missed its run at %s", event.job_id, event.scheduled_run_time)
            else:
                log.warning("job %s still running at %s: this run skipped", event.job_id, event.scheduled_run_time)

        sched.add_listener(on_event, EVENT_JOB_ERROR | EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES)
        self.scheduler = sched
        return sched

    def serve(self) -> int:
        """Run until SIGTERM / SIGINT. Returns the exit code (0)."""
        with single_instance_daemon(self.settings):
            previous = {s: signal.signal(s, self._on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
            watcher = threading.Thread(target=self._shutdown_when_stopped, name="stresswatch-stop", daemon=True)
            try:
                _put_state(self.store, "daemon", {"pid": os.getpid(),
                                                  "started_at": utc_stamp(self.clock())},
                           self.clock)
                sched = self.build_scheduler()
                log.info("daemon started: pid %d, schedule %r (%s), store %s", os.getpid(),
                         self.settings["daemon"]["schedule"], self.settings["daemon"]["timezone"],
                         self.settings.store_path)
                self.catch_up()
                if self.stop.is_set():
                    log.info("daemon stopped during catch-up")
                    return 0
                self._record_next()
                watcher.start()
                sched.start()  # blocks until the watcher shuts the scheduler down
                log.info("daemon stopped")
                return 0
            finally:
                self._main_done.set()
                self.stop.set()
                for s, h in previous.items():
                    signal.signal(s, h)


@contextlib.contextmanager
def single_instance_daemon(settings: Settings) -> Iterator[None]:
    """Hold the daemon lock; a second daemon on the same store gets a clear LockError."""
    target = daemon_lock_target(settings.store_path)
    stack = contextlib.ExitStack()
    try:
        stack.enter_context(single_instance(target, wait=0.0, holder="stresswatch daemon"))
    except LockHeld:
        try:
            other = lock_path_for(target).read_text().strip()
        except OSError:
            other = ""
        raise LockHeld(f"a stresswatch daemon is already running for {settings.store_path}"
                       + (f" ({other})" if other else "") + "; stop it first (systemctl stop stresswatch)") from None
    with stack:
        yield
