"""Writing reports: HTML and Markdown through Jinja2 templates, JSON straight from the context, PNG
charts through `reports.charts`, and the archive index page.

Layout of a reports folder::

    DIR/index.html          every report of the store with its headline state (newest first)
    DIR/index.json          the same list and the owning store (`reports.folder`)
    DIR/<D>/report.html     self-contained page: CSS inline, charts beside it in charts/
    DIR/<D>/report.md
    DIR/<D>/report.json     the context (schema_version, generated_at, ...)
    DIR/<D>/charts/*.png

`render_day` renders one date; `render_range` renders business days D1..D2 with one cached
`ContextBuilder` (series vintages read once) and draws the charts in worker processes while the
next day's context is built. Files are written atomically (temp file + rename). The folder
belongs to one store: `reports.folder` refuses a folder another store owns, before anything is
written.
"""

from __future__ import annotations

import collections
import concurrent.futures as cf
import datetime as dt
import json
import math
import multiprocessing
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import jinja2
from markupsafe import Markup

from stresswatch.bizdays import business_days
from stresswatch.clock import Clock, system_clock
from stresswatch.errors import UsageError
from stresswatch.output import clean
from stresswatch.reports.charts import render_chart
from stresswatch.reports.context import ContextBuilder, ReportData
from stresswatch.reports import folder as folder_mod
from stresswatch.reports.folder import check_owner, index_entry, write_text
from stresswatch.settings import Settings
from stresswatch.store import Store

FORMATS = ("html", "md", "json")


# ---------------------------------------------------------------------------------------------
# Formatting filters (shared by HTML and Markdown)
# ---------------------------------------------------------------------------------------------
def _missing(value: Any) -> bool:
    """None or a non-finite float: shown as a dash."""
    return value is None or (isinstance(value, float) and not math.isfinite(value))


def f_num(value: Any, digits: int = 2, sign: bool = False) -> str:
    """A number with thousands separators and a true minus sign (— when missing). A value that
    rounds to zero is shown as zero without a sign (never "−0")."""
    if _missing(value):
        return "—"
    v = round(float(value), digits)
    if v == 0:
        return f"{0.0:,.{digits}f}"
    text = f"{v:+,.{digits}f}" if sign else f"{v:,.{digits}f}"
    return text.replace("-", "−")


def f_ordinal(value: Any) -> str:
    """A whole number as an English ordinal: 1st, 2nd, 3rd, 11th, 12th, 13th, 21st, 93rd."""
    if _missing(value):
        return "—"
    n = int(round(float(value)))
    suffix = "th" if 10 <= abs(n) % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(abs(n) % 10, "th")
    return f"{n}{suffix}"


def f_bdays(value: Any) -> str:
    """A count of business days with its unit: "1 business day", "12 business days"."""
    if _missing(value):
        return "—"
    n = int(value)
    return f"{n} business day{'' if n == 1 else 's'}"


def f_pct(value: Any, digits: int = 1, sign: bool = True) -> str:
    """A percentage, signed by default."""
    return "—" if _missing(value) else f_num(value, digits, sign) + "%"


def f_prob(value: Any) -> str:
    """A probability as a percentage with no false precision."""
    return "—" if _missing(value) else f"{100 * float(value):.0f}%"


def f_pp(value: Any, digits: int = 2) -> str:
    """A change in percentage points, signed."""
    return "—" if _missing(value) else f_num(value, digits, True) + " pp"


def f_pval(value: Any) -> str:
    """A p-value with three decimals (<0.001 below that)."""
    if _missing(value):
        return "—"
    v = float(value)
    return "<0.001" if v < 0.001 else f"{v:.3f}"


def f_ts(value: Any) -> str:
    """ISO timestamp -> 'YYYY-MM-DD HH:MM UTC'."""
    if not value:
        return "—"
    text = str(value).replace("T", " ").rstrip("Z")
    return text[:16] + (" UTC" if len(text) > 10 else "")


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|~])")


def md_escape(value: Any) -> str:
    """Escape text for Markdown tables and paragraphs (no raw HTML, no pipes, no line breaks)."""
    if value is None:
        return ""
    if isinstance(value, Markup):
        return str(value)
    text = str(value).replace("\r", " ").replace("\n", " ")
    text = text.replace("&", "&amp;")
    return _MD_SPECIAL.sub(r"\\\1", text)


def _filters(env: jinja2.Environment) -> None:
    env.filters.update(num=f_num, pct=f_pct, prob=f_prob, pp=f_pp, pval=f_pval, ts=f_ts, ordinal=f_ordinal,
                       bdays=f_bdays)


class _QuietBytecodeCache(jinja2.FileSystemBytecodeCache):
    """Jinja2's file cache of compiled templates (keyed by template and source checksum, so an
    edited template is compiled afresh); a cache file that cannot be written is only a miss."""

    def dump_bytecode(self, bucket: Any) -> None:
        try:
            super().dump_bytecode(bucket)
        except OSError:
            pass


def _bytecode_cache(kind: str) -> jinja2.BytecodeCache | None:
    """Compiled templates kept between processes (compiling report.html and report.md costs a
    daily run about 0.13 s of CPU): Jinja2's per-user cache folder in the temp directory (created
    private, 0700, and refused when another user owns it), one set of files per environment (the
    compiled code depends on its escaping); None when there is no such folder."""
    try:
        return _QuietBytecodeCache(pattern=f"stresswatch_{kind}_%s.cache")
    except (OSError, RuntimeError):
        return None


def _environment(kind: str) -> jinja2.Environment:
    loader = jinja2.PackageLoader("stresswatch.reports", "templates")
    cache = _bytecode_cache(kind)
    if kind == "html":
        env = jinja2.Environment(loader=loader, autoescape=True, trim_blocks=True, lstrip_blocks=True,
                                 undefined=jinja2.StrictUndefined, bytecode_cache=cache)
    else:
        env = jinja2.Environment(loader=loader, autoescape=False, trim_blocks=True, lstrip_blocks=True,
                                 finalize=md_escape, undefined=jinja2.StrictUndefined, bytecode_cache=cache)
    _filters(env)
    return env


_ENVS: dict[str, jinja2.Environment] = {}


def env(kind: str) -> jinja2.Environment:
    """The Jinja2 environment for "html" (autoescaped) or "md" (Markdown-escaped), built once."""
    if kind not in _ENVS:
        _ENVS[kind] = _environment(kind)
    return _ENVS[kind]


def render_html(ctx: dict[str, Any]) -> str:
    """report.html for a context."""
    return env("html").get_template("report.html.j2").render(c=ctx)


def render_md(ctx: dict[str, Any]) -> str:
    """report.md for a context."""
    return env("md").get_template("report.md.j2").render(c=ctx)


def render_json(ctx: dict[str, Any]) -> str:
    """report.json for a context (non-finite numbers cleaned to null)."""
    return json.dumps(clean(ctx), ensure_ascii=False, indent=2, allow_nan=False) + "\n"


# ---------------------------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------------------------
_write = write_text


def parse_formats(value: str | Sequence[str] | None, default: Sequence[str] = FORMATS) -> list[str]:
    """Formats from "html,json" or a list (in FORMATS order); UsageError for an unknown one."""
    if value is None:
        items = list(default)
    elif isinstance(value, str):
        items = [v.strip().lower() for v in value.split(",") if v.strip()]
    else:
        items = [str(v).strip().lower() for v in value]
    bad = [v for v in items if v not in FORMATS]
    if bad or not items:
        raise UsageError(f"unknown report format(s) {', '.join(bad) or '(none)'}; use a comma-separated "
                         f"list of {', '.join(FORMATS)}")
    return [f for f in FORMATS if f in items]


def write_texts(data: ReportData, folder: Path, formats: Sequence[str]) -> list[Path]:
    """report.html / .md / .json for one context; removes chart files the context no longer has."""
    folder.mkdir(parents=True, exist_ok=True)
    ctx = data.context
    written = []
    if "json" in formats:
        _write(folder / "report.json", render_json(ctx))
        written.append(folder / "report.json")
    if "md" in formats:
        _write(folder / "report.md", render_md(ctx))
        written.append(folder / "report.md")
    if "html" in formats:
        _write(folder / "report.html", render_html(ctx))
        written.append(folder / "report.html")
    charts_dir = folder / "charts"
    if charts_dir.is_dir():
        keep = {Path(c.file).name for c in data.charts}
        for png in charts_dir.glob("*.png"):
            if png.name not in keep and not png.name.endswith(".tmp.png"):  # a worker may be writing one
                png.unlink()
    return written


def _needs_charts(formats: Sequence[str]) -> bool:
    return "html" in formats or "md" in formats


def render_index_page(entries: list[dict[str, Any]], store: str) -> str:
    """index.html for the entries of one store's reports folder (newest first)."""
    return env("html").get_template("index.html.j2").render(reports=entries, store=store)


def update_index(out_dir: Path, new_entries: Iterable[dict[str, Any]], store: Store) -> Path:
    """Merge entries into the index of `store`'s reports folder and rewrite index.html
    (`reports.folder.update_index`)."""
    return folder_mod.update_index(Path(out_dir), new_entries, store, render_index_page)


# ---------------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------------
@dataclass
class RenderResult:
    """What a render wrote: the dates, their folders, their index entries and the index page."""

    dates: list[dt.date] = field(default_factory=list)
    folders: list[Path] = field(default_factory=list)
    #: index entries (headline state) of the rendered reports
    entries: list[dict[str, Any]] = field(default_factory=list)
    #: the last rendered context (the only one for a single day)
    context: dict[str, Any] | None = None
    index: Path | None = None

    def __str__(self) -> str:
        if len(self.folders) == 1:
            return str(self.folders[0] / "report.html")
        return f"{len(self.folders)} reports, index {self.index}"


def render_day(store: Store, settings: Settings, day: dt.date, out: str | Path | None = None,
               formats: str | Sequence[str] | None = None, *, clock: Clock | None = None,
               builder: ContextBuilder | None = None, update_archive: bool = True) -> RenderResult:
    """Render the report for `day` into `out/<day>/` (default `settings.reports_dir`) and update
    the index. `clock` (default: the system clock) gives generated_at and, through
    `clock.today(clock, settings)`, decides whether D is over (ledger snapshots)."""
    out_dir = Path(out or settings.reports_dir)
    formats = parse_formats(formats, settings["report"]["formats"])
    check_owner(out_dir, store)
    builder = builder or ContextBuilder(store, settings, clock=clock or system_clock)
    data = builder.build(day)
    folder = out_dir / day.isoformat()
    if _needs_charts(formats):
        for spec in data.charts:
            render_chart(spec, folder)
    write_texts(data, folder, formats)
    entry = index_entry(data.context, formats)
    result = RenderResult([day], [folder], [entry], data.context)
    _record(store, out_dir, result.entries, update_archive)
    result.index = update_index(out_dir, result.entries, store)
    return result


def _record(store: Store, out_dir: Path, entries: Sequence[dict[str, Any]], enabled: bool) -> None:
    """Record rendered reports in the store's report index (`store.reports`)."""
    if not enabled:
        return
    for e in entries:
        store.reports.record(dt.date.fromisoformat(e["date"]), str(out_dir.resolve()), e["generated_at"],
                             e["regime"], e["p_stress_filtered"], e["formats"], e["warnings"])


def _pool(workers: int) -> cf.ProcessPoolExecutor:
    """Chart workers. On Linux a fork server with matplotlib preloaded starts them quickly."""
    if sys.platform.startswith("linux"):
        mp = multiprocessing.get_context("forkserver")
        mp.set_forkserver_preload(["stresswatch.reports.charts"])
    else:
        mp = multiprocessing.get_context("spawn")
    return cf.ProcessPoolExecutor(max_workers=workers, mp_context=mp)


def default_workers() -> int:
    """Chart worker processes for a range: the CPU count, at most 4."""
    return max(1, min(4, os.cpu_count() or 1))


def render_range(store: Store, settings: Settings, start: dt.date, end: dt.date, out: str | Path | None = None,
                 formats: str | Sequence[str] | None = None, *, clock: Clock | None = None,
                 progress: bool | None = None, workers: int | None = None,
                 update_archive: bool = True) -> RenderResult:
    """Render every business day start..end. One cached ContextBuilder reads each series' vintages
    once; charts are drawn by `workers` processes (0 = in this process) while the next context is
    built, with at most 2 × workers days waiting for them (memory stays flat over a long range).
    The index is written once at the end. `progress`: tqdm bar (None = only on a TTY). Nothing
    here computes the analysis: a day without a model run says so."""
    from tqdm import tqdm

    if end < start:
        raise UsageError(f"the range ends ({end}) before it starts ({start})")
    out_dir = Path(out or settings.reports_dir)
    formats = parse_formats(formats, settings["report"]["formats"])
    check_owner(out_dir, store)
    days = business_days(start, end)
    builder = ContextBuilder(store, settings, cache=True, clock=clock or system_clock)
    workers = default_workers() if workers is None else workers
    show = sys.stderr.isatty() if progress is None else progress
    result = RenderResult()
    # chart work in flight, one entry per day; at most `in_flight` days wait for the workers, so a
    # long range does not pile up every day's chart data while the workers catch up
    pending: collections.deque[list[cf.Future]] = collections.deque()
    in_flight = 2 * max(workers, 1)
    pool = _pool(workers) if workers > 0 and _needs_charts(formats) and days else None
    try:
        for day in tqdm(days, desc="report", unit="day", disable=not show):
            data = builder.build(day)
            folder = out_dir / day.isoformat()
            if _needs_charts(formats):
                if pool is not None:
                    while len(pending) >= in_flight:
                        for fut in pending.popleft():
                            fut.result()
                    pending.append([pool.submit(render_chart, spec, folder) for spec in data.charts])
                else:
                    for spec in data.charts:
                        render_chart(spec, folder)
            write_texts(data, folder, formats)
            result.dates.append(day)
            result.folders.append(folder)
            result.entries.append(index_entry(data.context, formats))
            result.context = data.context
        while pending:
            for fut in pending.popleft():
                fut.result()
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    _record(store, out_dir, result.entries, update_archive)
    result.index = update_index(out_dir, result.entries, store)
    return result
