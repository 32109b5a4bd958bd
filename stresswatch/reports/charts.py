"""Report charts: matplotlib (Agg) figures drawn from plain chart specs, one PNG per chart.

A `ChartSpec` carries everything a chart needs (kind, data as lists of ISO dates and floats, labels,
source note, as-of date), so it pickles cheaply and `render_chart(spec, folder)` can run in a worker
process. Every chart gets a title, axis labels with units, a footer naming its sources and the
date the data were known on. Nothing here reads the store: `reports.context` builds the specs.

The alert e-mail's chart is drawn here too: `regime_probability_png` (P(stress) as PNG bytes, for
a mail sent when the report for the day does not exist).
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

#: colours shared by all charts (colour-blind friendly: Okabe–Ito)
INK = "#222222"
MUTED = "#666666"
GRID = "#e3e3e3"
STRESS = "#d55e00"
SHADE = "#f6c7a8"
PALETTE = ["#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#999999", "#f0e442"]
DPI = 110


@dataclass
class ChartSpec:
    """One chart: `kind` selects the drawing function; `series` maps a label to (ISO dates, values)."""

    id: str
    kind: str
    title: str
    ylabel: str
    source: str
    asof: str
    alt: str
    series: dict[str, tuple[list[str], list[float]]] = field(default_factory=dict)
    #: (start, end) ISO date pairs shaded as stress periods
    shading: list[tuple[str, str]] = field(default_factory=list)
    shading_label: str = "stress regime (headline model)"
    #: markers: dicts with date, label, (optional) value, highlight
    markers: list[dict[str, Any]] = field(default_factory=list)
    #: bars for league charts: (label, value, highlight)
    bars: list[tuple[str, float, bool]] = field(default_factory=list)
    subtitle: str = ""
    xlabel: str = "Date"
    #: for step charts: draw as a step line
    step: bool = False
    #: first date of the x axis (ISO); empty = the first observation
    start: str = ""

    @property
    def file(self) -> str:
        return f"charts/{self.id}.png"


def render_chart(spec: ChartSpec, folder: str | Path) -> Path:
    """Draw `spec` into `<folder>/charts/<id>.png` and return the path."""
    path = Path(folder) / spec.file
    path.parent.mkdir(parents=True, exist_ok=True)
    drawer = _DRAWERS.get(spec.kind)
    if drawer is None:
        raise ValueError(f"unknown chart kind {spec.kind!r}; known: {', '.join(sorted(_DRAWERS))}")
    height = {"fx": 6.0, "bars": min(6.0, max(3.0, 1.5 + 0.33 * len(spec.bars)))}.get(spec.kind, 4.4)
    fig = Figure(figsize=(9.6, height), dpi=DPI)
    drawer(fig, spec)
    _footer(fig, spec)
    tmp = path.with_suffix(".tmp.png")
    fig.savefig(tmp, dpi=DPI, facecolor="white")
    tmp.replace(path)
    return path


def render_many(specs: Sequence[ChartSpec], folder: str | Path) -> list[Path]:
    return [render_chart(s, folder) for s in specs]


# ---------------------------------------------------------------------------------------------
def _dates(values: Sequence[str]) -> np.ndarray:
    return np.array(values, dtype="datetime64[D]")


def _style(ax, spec: ChartSpec) -> None:
    ax.set_ylabel(spec.ylabel, color=INK, fontsize=9)
    ax.set_xlabel(spec.xlabel, color=MUTED, fontsize=8.5)
    ax.grid(True, color=GRID, linewidth=0.7)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color("#999999")
    ax.tick_params(labelsize=8.5, colors=INK)


def _date_axis(ax, first: np.datetime64, last: np.datetime64) -> None:
    span = (last - first).astype(int) if last > first else 1
    locator = mdates.AutoDateLocator(minticks=4, maxticks=10)
    ax.xaxis.set_major_locator(locator)
    if span > 3 * 366:
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y"))
    else:
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%b %Y"))
    ax.set_xlim(first, last)


def _header(fig: Figure, spec: ChartSpec) -> None:
    h = fig.get_figheight()  # positions in inches from the top, so short figures do not collide
    fig.text(0.012, 1 - 0.09 / h, spec.title, ha="left", va="top", fontsize=12, fontweight="bold", color=INK)
    if spec.subtitle:
        fig.text(0.012, 1 - 0.36 / h, spec.subtitle, ha="left", va="top", fontsize=9, color=MUTED)


def _footer(fig: Figure, spec: ChartSpec) -> None:
    fig.text(0.012, 0.012, f"Source: {spec.source}", ha="left", va="bottom", fontsize=7.5, color=MUTED)
    fig.text(0.988, 0.012, f"Data as known on {spec.asof} · stresswatch", ha="right", va="bottom",
             fontsize=7.5, color=MUTED)


def _axes(fig: Figure, rect=(0.075, 0.2, 0.9, 0.66)):
    return fig.add_axes(rect)


def _no_data(ax, text: str = "no data in this window") -> None:
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", color=MUTED, fontsize=11)


def _shade(ax, spec: ChartSpec, first: np.datetime64, last: np.datetime64) -> bool:
    drew = False
    for start, end in spec.shading:
        s, e = np.datetime64(start, "D"), np.datetime64(end, "D")
        if e < first or s > last:
            continue
        ax.axvspan(max(s, first), min(e, last) + np.timedelta64(1, "D"), color=SHADE, alpha=0.75, lw=0, zorder=0)
        drew = True
    return drew


def place_labels(xs: Sequence[float], candidates: Sequence[Sequence[float]], rows: int) -> list[tuple[int, str, int]]:
    """Greedy label layout on an axis of width 1, in the given order. Each label has candidate
    widths (e.g. full text, then its number); it takes the first candidate that fits in the first
    of `rows` rows where it overlaps no earlier label, right-aligned at x when it would run off the
    axis. Returns (row, ha, candidate) per label; a label with no room at all gets its last
    candidate in the last row."""
    taken: list[list[tuple[float, float]]] = [[] for _ in range(rows)]
    out: list[tuple[int, str, int]] = []
    for x, widths in zip(xs, candidates):
        choice = None
        for c, w in enumerate(widths):
            ha = "right" if x + w > 0.995 else "left"
            a, b = (x - w, x) if ha == "right" else (x, x + w)
            for r in range(rows):
                if all(b + 0.004 < lo or a - 0.004 > hi for lo, hi in taken[r]):
                    taken[r].append((a, b))
                    choice = (r, ha, c)
                    break
            if choice:
                break
        if choice is None:
            w = widths[-1]
            ha = "right" if x + w > 0.995 else "left"
            choice = (rows - 1, ha, len(widths) - 1)
        out.append(choice)
    return out


def _markers(ax, spec: ChartSpec, first: np.datetime64, last: np.datetime64, label_all: bool) -> bool:
    """Vertical statement markers with labels laid out in rows so neighbours do not collide; the
    most recent statements are placed first, and a label that finds no room shrinks to its number
    (the report's tables carry the full text)."""
    visible = [m for m in spec.markers if first <= np.datetime64(m["date"], "D") <= last]
    if not visible:
        return False
    span = max((last - first).astype(int), 1)
    axis_px = ax.get_position().width * ax.figure.get_figwidth() * DPI
    char = 5.9 / axis_px  # ~7 pt text (about 5.9 px per character), as a fraction of the axis width
    rows = 5
    items = []
    for m in visible:
        x = float((np.datetime64(m["date"], "D") - first).astype(int)) / span
        texts = [m["label"], m.get("short", m["label"])] if label_all else [m.get("short", m["label"])]
        items.append((m, x, texts))
    items.reverse()
    layout = place_labels([x for _, x, _ in items], [[len(t) * char + 0.006 for t in texts] for _, _, texts in items],
                          rows)
    for (m, _x, texts), (row, ha, c) in zip(items, layout):
        x = np.datetime64(m["date"], "D")
        ax.axvline(x, color="#555555", lw=0.8, ls=(0, (2, 2)), zorder=1)
        ax.annotate(texts[c], xy=(x, 0.975 - 0.068 * row), xycoords=("data", "axes fraction"), fontsize=7.0,
                    color=INK, ha=ha, va="top", xytext=(-2 if ha == "right" else 2, 0), textcoords="offset points",
                    bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.85), zorder=5)
    return True


# ---------------------------------------------------------------------------------------------
def _line(fig: Figure, spec: ChartSpec) -> None:
    """Time-series lines with optional stress shading and statement markers."""
    _header(fig, spec)
    ax = _axes(fig)
    _style(ax, spec)
    firsts, lasts, handles = [], [], []
    for i, (label, (dates, values)) in enumerate(spec.series.items()):
        if not dates:
            continue
        x = _dates(dates)
        y = np.asarray(values, dtype=float)
        colour = PALETTE[i % len(PALETTE)]
        if spec.step:
            (h,) = ax.step(x, y, where="post", color=colour, lw=1.6, label=label, zorder=3)
        else:
            (h,) = ax.plot(x, y, color=colour, lw=1.3, label=label, zorder=3)
        handles.append(h)
        firsts.append(x[0])
        lasts.append(x[-1])
    if not handles:
        _no_data(ax)
        return
    first = np.datetime64(spec.start, "D") if spec.start else min(firsts)
    last = np.datetime64(spec.asof, "D")
    last = max(last, max(lasts))
    _date_axis(ax, first, last)
    if _shade(ax, spec, first, last):
        from matplotlib.patches import Patch

        handles.append(Patch(color=SHADE, label=spec.shading_label))
    if spec.kind == "line":
        _markers(ax, spec, first, last, label_all=(last - first).astype(int) < 800)
    if spec.kind == "step":
        _decision_markers(ax, spec, first, last, handles)
    if len(handles) > 1 or spec.shading:
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.0, -0.09), ncol=min(len(handles), 5),
                  fontsize=8, frameon=False)


def _decision_markers(ax, spec: ChartSpec, first, last, handles) -> None:
    from matplotlib.lines import Line2D

    have_ord = have_extra = False
    span = max((last - first).astype(int), 1)
    previous: np.datetime64 | None = None
    tier = 0
    for m in spec.markers:
        x = np.datetime64(m["date"], "D")
        if not first <= x <= last:
            continue
        extra = bool(m.get("highlight"))
        ax.plot([x], [m["value"]], marker="D" if extra else "o", ms=6.5 if extra else 3.8,
                color=STRESS if extra else "#0072b2", mec="white", mew=0.6, zorder=4, ls="none")
        if extra:
            have_extra = True
            # neighbouring labels (within ~8% of the axis) step down so they do not overlap
            close = previous is not None and (x - previous).astype(int) < 0.08 * span
            tier = tier + 1 if close else 0
            previous = x
            right = (x - first).astype(int) > 0.8 * span
            ax.annotate(m["label"], xy=(x, m["value"]), xytext=(-6 if right else 6, 4 - 11 * tier),
                        textcoords="offset points", ha="right" if right else "left", va="bottom",
                        fontsize=7.2, color=STRESS, zorder=5,
                        bbox=dict(boxstyle="round,pad=0.1", fc="white", ec="none", alpha=0.8))
        else:
            have_ord = True
    if have_ord:
        handles.append(Line2D([], [], marker="o", color="#0072b2", ls="none", ms=4, label="scheduled decision"))
    if have_extra:
        handles.append(Line2D([], [], marker="D", color=STRESS, ls="none", ms=6,
                              label="extraordinary decision"))


def _stack(fig: Figure, spec: ChartSpec) -> None:
    """Stacked areas (segment contributions), the total as a line on top."""
    _header(fig, spec)
    ax = _axes(fig)
    _style(ax, spec)
    items = [(label, _dates(d), np.asarray(v, dtype=float)) for label, (d, v) in spec.series.items() if d]
    if not items:
        _no_data(ax)
        return
    # align on the union of dates
    all_dates = np.unique(np.concatenate([x for _, x, _ in items]))
    stacked = []
    for label, x, y in items:
        full = np.full(len(all_dates), np.nan)
        full[np.searchsorted(all_dates, x)] = y
        stacked.append(np.nan_to_num(full, nan=0.0))
    ax.stackplot(all_dates, *stacked, labels=[label for label, _, _ in items],
                 colors=PALETTE[: len(items)], alpha=0.85, lw=0)
    total = np.sum(stacked, axis=0)
    ax.plot(all_dates, total, color=INK, lw=0.9, label="sum of contributions")
    _date_axis(ax, all_dates[0], max(all_dates[-1], np.datetime64(spec.asof, "D")))
    ax.set_ylim(bottom=0)
    ax.legend(loc="upper left", bbox_to_anchor=(0.0, -0.09), ncol=min(len(items) + 1, 6), fontsize=8,
              frameon=False)


def _fx(fig: Figure, spec: ChartSpec) -> None:
    """One panel per currency (RUB per unit), shared date axis."""
    _header(fig, spec)
    items = list(spec.series.items())
    n = max(len(items), 1)
    top, bottom = 0.87, 0.12
    height = (top - bottom) / n
    first = last = None
    for label, (dates, _v) in items:
        if dates:
            f, l_ = np.datetime64(dates[0], "D"), np.datetime64(dates[-1], "D")
            first = f if first is None else min(first, f)
            last = l_ if last is None else max(last, l_)
    axes = []
    for i, (label, (dates, values)) in enumerate(items):
        ax = fig.add_axes((0.075, top - (i + 1) * height + 0.025, 0.86, height - 0.045))
        _style(ax, spec)
        ax.set_ylabel(label, fontsize=8.5)
        ax.set_xlabel("")
        if dates:
            x = _dates(dates)
            y = np.asarray(values, dtype=float)
            ax.plot(x, y, color=PALETTE[i % len(PALETTE)], lw=1.3)
            ax.annotate(f"{y[-1]:,.2f}", xy=(x[-1], y[-1]), xytext=(3, 0), textcoords="offset points",
                        fontsize=8, color=PALETTE[i % len(PALETTE)], va="center")
        else:
            _no_data(ax)
        if first is not None:
            _date_axis(ax, first, max(last, np.datetime64(spec.asof, "D")))
        if i < n - 1:
            ax.tick_params(labelbottom=False)
        axes.append(ax)
    if axes:
        axes[-1].set_xlabel(spec.xlabel, color=MUTED, fontsize=8.5)


def _bars(fig: Figure, spec: ChartSpec) -> None:
    """Horizontal league bars; highlighted bars (the ruble) in the stress colour."""
    _header(fig, spec)
    h = fig.get_figheight()
    bottom, top = 0.78 / h, 1 - 0.72 / h
    ax = _axes(fig, (0.09, bottom, 0.86, top - bottom))
    _style(ax, spec)
    ax.grid(True, axis="x", color=GRID)
    ax.grid(False, axis="y")
    if not spec.bars:
        _no_data(ax)
        return
    labels = [b[0] for b in spec.bars][::-1]
    values = np.array([b[1] for b in spec.bars][::-1], dtype=float)
    colours = [STRESS if b[2] else "#0072b2" for b in spec.bars][::-1]
    ax.barh(labels, values, color=colours, height=0.65)
    ax.axvline(0, color="#999999", lw=0.8)
    span = float(np.nanmax(np.abs(values))) if len(values) else 1.0
    for y, v in enumerate(values):
        ax.text(v + (0.01 * span if v >= 0 else -0.01 * span), y, f"{v:+.1f}%", va="center",
                ha="left" if v >= 0 else "right", fontsize=8, color=INK)
    ax.set_xlim(min(0, values.min()) - 0.15 * span, max(0, values.max()) + 0.15 * span)
    ax.set_xlabel(spec.xlabel, color=MUTED, fontsize=8.5)
    ax.set_ylabel(spec.ylabel, fontsize=9)


#: the mail chart's colour
MAIL_LINE = "#c0392b"


def regime_probability_png(probs: pd.Series, title: str, ylabel: str = "P(stress), filtered") -> bytes:
    """The alert e-mail's small chart: a probability series (indexed by date; the caller chooses
    the window, e.g. `RegimeState.stress_probability("filtered")` over the year to D) as a filled
    line on a 0..1 axis, PNG bytes. ValueError when `probs` is empty."""
    if probs.empty:
        raise ValueError("no probabilities to draw")
    fig = Figure(figsize=(7.2, 2.6), dpi=100)
    ax = fig.add_axes((0.08, 0.18, 0.9, 0.7))
    ax.fill_between(probs.index, probs.to_numpy(), color=MAIL_LINE, alpha=0.35, linewidth=0)
    ax.plot(probs.index, probs.to_numpy(), color=MAIL_LINE, linewidth=1.2)
    ax.set_ylim(0, 1)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


_DRAWERS = {"line": _line, "step": _line, "stack": _stack, "fx": _fx, "bars": _bars, "trade": _line}


def iso(d: dt.date | Any) -> str:
    return d.isoformat()[:10] if hasattr(d, "isoformat") else str(d)[:10]
