"""Report charts: matplotlib (Agg) figures drawn from plain chart specs, one PNG per chart.

A `ChartSpec` carries everything a chart needs (kind, data as lists of ISO dates and floats, labels,
source note, as-of date), so it pickles cheaply and `render_chart(spec, folder)` can run in a worker
process. Every chart gets a title, axis labels with units, a footer naming its sources and the
date the data were known on. Nothing here reads the store: `reports.context` builds the specs.

`draw_chart(spec)` returns the figure; its pieces are placed by `reports.chart_layout` from
measured text extents, so no text overlaps another or is clipped (the tests check every chart
with `chart_layout.overlaps`). Statement markers that sit too close to be labelled one by one
share one label ("18–23").

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
from matplotlib.text import Annotation  # noqa: E402
from matplotlib.transforms import Bbox  # noqa: E402
from PIL import Image  # noqa: E402
from PIL.PngImagePlugin import PngInfo  # noqa: E402

from stresswatch.reports import chart_layout as layout  # noqa: E402

#: colours shared by all charts (colour-blind friendly: Okabe–Ito)
INK = "#222222"
MUTED = "#666666"
GRID = "#e3e3e3"
STRESS = "#d55e00"
SHADE = "#f6c7a8"
PALETTE = ["#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#999999", "#f0e442"]
DPI = 110
#: figure width in inches: 1056 px at DPI, the width report.html shows the charts at
WIDTH_IN = 9.6


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


@dataclass
class Drawn:
    """What a drawing function made: its axes (top to bottom), the legend entries, and a step to
    run once the axes have their final size (labels placed inside them)."""

    axes: list[Any]
    handles: list[Any] = field(default_factory=list)
    finish: Any = None


def figure_height(spec: ChartSpec) -> float:
    """The figure's height in inches for `spec` (the width is always `WIDTH_IN`)."""
    return {"fx": 6.0, "bars": min(6.0, max(3.0, 1.5 + 0.33 * len(spec.bars)))}.get(spec.kind, 4.4)


def draw_chart(spec: ChartSpec) -> Figure:
    """The figure of `spec`, laid out (`reports.chart_layout`) and ready to save."""
    drawer = _DRAWERS.get(spec.kind)
    if drawer is None:
        raise ValueError(f"unknown chart kind {spec.kind!r}; known: {', '.join(sorted(_DRAWERS))}")
    fig = Figure(figsize=(WIDTH_IN, figure_height(spec)), dpi=DPI)
    layout.renderer(fig)
    top = layout.header(fig, spec.title, spec.subtitle)
    bottom = layout.footer(fig, f"Source: {spec.source}", f"Data as known on {spec.asof} · stresswatch")
    drawn = drawer(fig, spec)
    leg = layout.legend(fig, drawn.handles, bottom + layout.GAP)
    if leg is not None:
        bottom = leg.get_window_extent(layout.renderer(fig)).y1
    layout.fit(fig, drawn.axes, layout.Frame(bottom=bottom, top=top))
    if drawn.finish is not None:
        drawn.finish()
    return fig


def render_chart(spec: ChartSpec, folder: str | Path) -> Path:
    """Draw `spec` into `<folder>/charts/<id>.png` and return the path."""
    path = Path(folder) / spec.file
    fig = draw_chart(spec)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.png")
    save_png(fig, tmp)
    tmp.replace(path)
    return path


def save_png(fig: Figure, target: Any) -> None:
    """`fig` on white as an RGB PNG (a path or a binary file), with savefig's metadata (the
    Software text, the dpi). The charts are opaque, so the alpha channel `savefig` writes is 255
    everywhere: the same pixels without it make a file about 9% smaller and quicker to encode."""
    fig.set_facecolor("white")
    fig.canvas.draw()
    rgb = np.asarray(fig.canvas.buffer_rgba())[..., :3]
    info = PngInfo()
    info.add_text("Software", f"Matplotlib version{matplotlib.__version__}, https://matplotlib.org/")
    Image.fromarray(np.ascontiguousarray(rgb)).save(target, format="png", dpi=(fig.dpi, fig.dpi), pnginfo=info)


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


class _DateTicks(mdates.AutoDateLocator):
    """matplotlib's AutoDateLocator, remembering the ticks of the last view interval: its ticks
    depend on the interval only (not on the axis' size), and every layout pass and the draw ask
    again (dateutil's rrule makes each answer cost about a millisecond)."""

    def __call__(self):
        interval = tuple(self.axis.get_view_interval())
        if getattr(self, "_ticks_for", None) != interval:
            self._ticks = super().__call__()
            self._ticks_for = interval
        return np.array(self._ticks)  # a copy: the caller may change it


def _date_axis(ax, first: np.datetime64, last: np.datetime64) -> None:
    span = (last - first).astype(int) if last > first else 1
    locator = _DateTicks(minticks=4, maxticks=10)
    ax.xaxis.set_major_locator(locator)
    if span > 3 * 366:
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y"))
    else:
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%b %Y"))
    ax.set_xlim(first, last)


def _axes(fig: Figure, rect=(0.075, 0.2, 0.9, 0.66)):
    """Axes at a provisional place (`chart_layout.fit` moves them)."""
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


def place_labels(xs: Sequence[float], candidates: Sequence[Sequence[float]],
                 rows: int) -> list[tuple[int, str, int] | None]:
    """Greedy label layout on an axis of width 1, in the given order. Each label has candidate
    widths (e.g. full text, then its number); it takes the first candidate that fits in the first
    of `rows` rows where it overlaps no earlier label, right-aligned at x when it would run off the
    axis. Returns (row, ha, candidate) per label, or None for a label with no room at all (it is
    left out rather than drawn over another)."""
    taken: list[list[tuple[float, float]]] = [[] for _ in range(rows)]
    out: list[tuple[int, str, int] | None] = []
    for x, widths in zip(xs, candidates):
        choice = None
        for c, w in enumerate(widths):
            ha = "right" if x + w > 0.995 else "left"
            a, b = (x - w, x) if ha == "right" else (x, x + w)
            if a < 0:
                continue
            for r in range(rows):
                if all(b + 0.004 < lo or a - 0.004 > hi for lo, hi in taken[r]):
                    taken[r].append((a, b))
                    choice = (r, ha, c)
                    break
            if choice:
                break
        out.append(choice)
    return out


def number_label(numbers: Sequence[str]) -> str:
    """One label for statements marked close together: "18–23" for a run of consecutive numbers,
    else the numbers joined by commas ("4, 7")."""
    try:
        ints = [int(n) for n in numbers]
    except ValueError:
        return ", ".join(numbers)
    if len(ints) > 2 and ints == list(range(ints[0], ints[0] + len(ints))):
        return f"{ints[0]}–{ints[-1]}"
    return ", ".join(str(i) for i in ints)


def marker_groups(xs_px: Sequence[float], min_gap: float) -> list[list[int]]:
    """Indices of markers (sorted by x, in pixels) grouped so that neighbours closer than
    `min_gap` pixels share one group."""
    groups: list[list[int]] = []
    for i, x in enumerate(xs_px):
        if groups and x - xs_px[groups[-1][-1]] < min_gap:
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups


MARKER_FONT = 7.0


def _markers(ax, spec: ChartSpec, first: np.datetime64, last: np.datetime64, label_all: bool) -> None:
    """Vertical statement markers with labels laid out in rows from measured text widths: markers
    closer than a number's width share one label ("18–23"); the most recent are placed first; a
    label that finds no room shrinks to its number, and one with no room at all is left out (the
    report's tables carry every statement)."""
    visible = sorted((m for m in spec.markers if first <= np.datetime64(m["date"], "D") <= last),
                     key=lambda m: m["date"])
    if not visible:
        return
    fig = ax.figure
    box = ax.get_window_extent(layout.renderer(fig))
    xs = [float(ax.transData.transform((mdates.date2num(np.datetime64(m["date"], "D")), 0))[0]) for m in visible]
    min_gap = layout.text_width(fig, "00", MARKER_FONT) + 8
    items = []
    for group in marker_groups(xs, min_gap):
        members = [visible[i] for i in group]
        short = number_label([str(m.get("short", m["label"])) for m in members])
        texts = [members[0]["label"], short] if label_all and len(members) == 1 else [short]
        x = (xs[group[0]] - box.x0) / box.width
        items.append((members, x, texts))
    for m in visible:
        ax.axvline(np.datetime64(m["date"], "D"), color="#555555", lw=0.8, ls=(0, (2, 2)), zorder=1)
    items.reverse()
    widths = [[(layout.text_width(fig, t, MARKER_FONT) + 10) / box.width for t in texts] for _, _, texts in items]
    row_step = (MARKER_FONT * DPI / 72 + 7) / box.height  # one text line and its padding
    rows = max(1, min(6, int(0.45 / row_step)))
    for (members, _x, texts), place in zip(items, place_labels([x for _, x, _ in items], widths, rows)):
        if place is None:
            continue
        row, ha, c = place
        ax.annotate(texts[c], xy=(np.datetime64(members[0]["date"], "D"), 0.985 - row_step * row),
                    xycoords=("data", "axes fraction"), fontsize=MARKER_FONT, color=INK, ha=ha, va="top",
                    xytext=(-2 if ha == "right" else 2, 0), textcoords="offset points",
                    bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.85), zorder=5)


# ---------------------------------------------------------------------------------------------
def _line(fig: Figure, spec: ChartSpec) -> Drawn:
    """Time-series lines with optional stress shading and statement markers."""
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
        return Drawn([ax])
    first = np.datetime64(spec.start, "D") if spec.start else min(firsts)
    last = np.datetime64(spec.asof, "D")
    last = max(last, max(lasts))
    _date_axis(ax, first, last)
    if _shade(ax, spec, first, last):
        from matplotlib.patches import Patch

        handles.append(Patch(color=SHADE, label=spec.shading_label))
    if spec.kind == "step":
        handles += _decision_handles(spec, first, last)
    shown = handles if (len(handles) > 1 or spec.shading) else []

    def finish() -> None:  # labels inside the axes, once they have their final size
        if spec.kind == "line":
            _markers(ax, spec, first, last, label_all=(last - first).astype(int) < 800)
        elif spec.kind == "step":
            _decision_markers(ax, spec, first, last)

    return Drawn([ax], shown, finish)


def _decision_handles(spec: ChartSpec, first, last) -> list[Any]:
    """Legend entries for the key-rate decision markers present in the window."""
    from matplotlib.lines import Line2D

    inside = [m for m in spec.markers if first <= np.datetime64(m["date"], "D") <= last]
    out = []
    if any(not m.get("highlight") for m in inside):
        out.append(Line2D([], [], marker="o", color="#0072b2", ls="none", ms=4, label="scheduled decision"))
    if any(m.get("highlight") for m in inside):
        out.append(Line2D([], [], marker="D", color=STRESS, ls="none", ms=6, label="extraordinary decision"))
    return out


def _decision_markers(ax, spec: ChartSpec, first, last) -> None:
    """Decision dots (extraordinary ones as red diamonds, labelled with date and rates); each label
    takes the first spot beside its marker where it stays inside the axes and clear of the others,
    shrinks to its date when none is free, and is left out when even that finds no room."""
    span = max((last - first).astype(int), 1)
    taken: list[Bbox] = []
    for m in spec.markers:
        x = np.datetime64(m["date"], "D")
        if not first <= x <= last:
            continue
        extra = bool(m.get("highlight"))
        ax.plot([x], [m["value"]], marker="D" if extra else "o", ms=6.5 if extra else 3.8,
                color=STRESS if extra else "#0072b2", mec="white", mew=0.6, zorder=4, ls="none")
    for m in spec.markers:
        x = np.datetime64(m["date"], "D")
        if not (first <= x <= last and m.get("highlight")):
            continue
        right_side = (x - first).astype(int) > 0.8 * span
        sides = [(-6, "right"), (6, "left")] if right_side else [(6, "left"), (-6, "right")]
        offsets = [(dx, dy, ha) for dy in (4, -13, 15, -24, 26, -35) for dx, ha in sides]
        for text in (m["label"], m["date"]):
            note = ax.annotate(text, xy=(x, m["value"]), xytext=offsets[0][:2], textcoords="offset points",
                               ha=offsets[0][2], va="bottom", fontsize=7.2, color=STRESS, zorder=5,
                               bbox=dict(boxstyle="round,pad=0.1", fc="white", ec="none", alpha=0.8))
            if isinstance(note, Annotation) and layout.place_inside(ax, note, offsets, taken):
                break


def _stack(fig: Figure, spec: ChartSpec) -> Drawn:
    """Stacked areas (segment contributions), the total as a line on top."""
    ax = _axes(fig)
    _style(ax, spec)
    items = [(label, _dates(d), np.asarray(v, dtype=float)) for label, (d, v) in spec.series.items() if d]
    if not items:
        _no_data(ax)
        return Drawn([ax])
    # align on the union of dates
    all_dates = np.unique(np.concatenate([x for _, x, _ in items]))
    stacked = []
    for label, x, y in items:
        full = np.full(len(all_dates), np.nan)
        full[np.searchsorted(all_dates, x)] = y
        stacked.append(np.nan_to_num(full, nan=0.0))
    polys = ax.stackplot(all_dates, *stacked, labels=[label for label, _, _ in items],
                         colors=PALETTE[: len(items)], alpha=0.85, lw=0)
    total = np.sum(stacked, axis=0)
    (line,) = ax.plot(all_dates, total, color=INK, lw=0.9, label="sum of contributions")
    _date_axis(ax, all_dates[0], max(all_dates[-1], np.datetime64(spec.asof, "D")))
    ax.set_ylim(bottom=0)
    return Drawn([ax], [*polys, line])


def _fx(fig: Figure, spec: ChartSpec) -> Drawn:
    """One panel per currency (RUB per unit), shared date axis."""
    items = list(spec.series.items())
    n = max(len(items), 1)
    first = last = None
    for label, (dates, _v) in items:
        if dates:
            f, l_ = np.datetime64(dates[0], "D"), np.datetime64(dates[-1], "D")
            first = f if first is None else min(first, f)
            last = l_ if last is None else max(last, l_)
    axes = []
    for i, (label, (dates, values)) in enumerate(items):
        ax = fig.add_axes((0.075, 0.87 - (i + 1) * 0.75 / n + 0.025, 0.86, 0.75 / n - 0.045))
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
    return Drawn(axes)


def _bars(fig: Figure, spec: ChartSpec) -> Drawn:
    """Horizontal league bars; highlighted bars (the ruble) in the stress colour."""
    ax = _axes(fig)
    _style(ax, spec)
    ax.grid(True, axis="x", color=GRID)
    ax.grid(False, axis="y")
    if not spec.bars:
        _no_data(ax)
        return Drawn([ax])
    labels = [b[0] for b in spec.bars][::-1]
    values = np.array([b[1] for b in spec.bars][::-1], dtype=float)
    colours = [STRESS if b[2] else "#0072b2" for b in spec.bars][::-1]
    ax.barh(labels, values, color=colours, height=0.65)
    ax.axvline(0, color="#999999", lw=0.8)
    span = float(np.nanmax(np.abs(values))) if len(values) else 1.0
    span = span or 1.0
    for y, v in enumerate(values):
        ax.text(v + (0.01 * span if v >= 0 else -0.01 * span), y, f"{v:+.1f}%".replace("-", "−"), va="center",
                ha="left" if v >= 0 else "right", fontsize=8, color=INK)
    ax.set_xlim(min(0, values.min()) - 0.18 * span, max(0, values.max()) + 0.18 * span)
    ax.set_xlabel(spec.xlabel, color=MUTED, fontsize=8.5)
    ax.set_ylabel(spec.ylabel, fontsize=9)
    return Drawn([ax])


#: the mail chart's colour
MAIL_LINE = "#c0392b"


def draw_regime_probability(probs: pd.Series, title: str, ylabel: str = "P(stress), filtered") -> Figure:
    """The alert e-mail's small chart as a figure (7.2 × 2.6 in at 100 dpi: the 720 px the mail
    shows): a probability series as a filled line on a 0..1 axis, laid out like the report's."""
    if probs.empty:
        raise ValueError("no probabilities to draw")
    fig = Figure(figsize=(7.2, 2.6), dpi=100)
    top = layout.header(fig, title, "")
    ax = fig.add_axes((0.08, 0.18, 0.9, 0.7))
    x = pd.DatetimeIndex(probs.index).to_numpy(dtype="datetime64[D]")
    ax.fill_between(x, probs.to_numpy(), color=MAIL_LINE, alpha=0.35, linewidth=0)
    ax.plot(x, probs.to_numpy(), color=MAIL_LINE, linewidth=1.2)
    ax.set_ylim(0, 1)
    ax.set_ylabel(ylabel, fontsize=9)
    ax.tick_params(labelsize=8.5)
    ax.grid(alpha=0.3)
    _date_axis(ax, x[0], x[-1] if x[-1] > x[0] else x[0] + np.timedelta64(1, "D"))
    layout.fit(fig, [ax], layout.Frame(bottom=layout.PAD, top=top))
    return fig


def regime_probability_png(probs: pd.Series, title: str, ylabel: str = "P(stress), filtered") -> bytes:
    """The alert e-mail's small chart: a probability series (indexed by date; the caller chooses
    the window, e.g. `RegimeState.stress_probability("filtered")` over the year to D) as a filled
    line on a 0..1 axis, PNG bytes. ValueError when `probs` is empty."""
    fig = draw_regime_probability(probs, title, ylabel)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


_DRAWERS = {"line": _line, "step": _line, "stack": _stack, "fx": _fx, "bars": _bars, "trade": _line}


def iso(d: dt.date | Any) -> str:
    return d.isoformat()[:10] if hasattr(d, "isoformat") else str(d)[:10]
