"""Fitting a report chart's pieces into its figure, measured with matplotlib's own text extents so
that no text overlaps another or leaves the figure.

A chart is laid out in pixels, from the edges in: the header (title, subtitle) at the top, the
footer (source, "data as known on") at the bottom — wrapped onto more lines when the two would
meet — then the legend above the footer with as many columns as fit the width, and the axes in
the space left, sized so that their tick labels, axis labels and annotations clear all of that
(`fit`). Labels placed inside the axes after the fit (statement markers, key-rate decisions) use
`text_width` and `place_inside` to find a free spot or give up the label.

`text_boxes` lists every drawn text with its extent; the tests use it to prove that no two
overlap, and that none is clipped by the figure's edge.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backend_bases import RendererBase
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.legend import Legend
from matplotlib.text import Annotation, Text
from matplotlib.transforms import Bbox

#: margin at the figure's edges and gap between blocks, in pixels
PAD = 8.0
GAP = 6.0


def renderer(fig: Figure) -> RendererBase:
    """The Agg renderer of `fig` (attaching an Agg canvas when it has none)."""
    if not isinstance(fig.canvas, FigureCanvasAgg):
        FigureCanvasAgg(fig)
    return fig.canvas.get_renderer()


#: measured widths by (text, size, weight, dpi): FreeType lays out a string anew on every
#: measurement (about 35 µs a character), and the charts of a report measure the same strings
#: again and again (wrap candidates, statement labels shared by two charts, the footer stamp)
_WIDTHS: dict[tuple[str, float, str, float], float] = {}
_WIDTHS_MAX = 4096


def text_width(fig: Figure, text: str, fontsize: float, weight: str = "normal") -> float:
    """Width in pixels of `text` drawn at `fontsize` points in `fig` (memoised per dpi)."""
    key = (text, float(fontsize), weight, float(fig.dpi))
    width = _WIDTHS.get(key)
    if width is None:
        w, _h, _d = renderer(fig).get_text_width_height_descent(
            text, FontProperties(size=fontsize, weight=weight), ismath=False)
        if len(_WIDTHS) >= _WIDTHS_MAX:
            _WIDTHS.clear()
        width = _WIDTHS[key] = float(w)
    return width


def wrap(fig: Figure, text: str, fontsize: float, width: float, weight: str = "normal") -> list[str]:
    """`text` broken at spaces into lines no wider than `width` pixels (a single word wider than
    that is broken at commas, then by characters)."""
    if text_width(fig, text, fontsize, weight) <= width:
        return [text]  # what the word-by-word pass below would give, in one measurement
    lines: list[str] = []
    current = ""
    for word in text.split(" "):
        candidate = f"{current} {word}" if current else word
        if text_width(fig, candidate, fontsize, weight) <= width:
            current = candidate
            continue
        if current:
            lines.append(current)
        current = word
        while text_width(fig, current, fontsize, weight) > width and len(current) > 1:
            cut = len(current)
            while cut > 1 and text_width(fig, current[:cut], fontsize, weight) > width:
                cut -= 1
            lines.append(current[:cut])
            current = current[cut:]
    if current:
        lines.append(current)
    return lines or [""]


@dataclass
class Frame:
    """The space the axes may use, in figure pixels: between the footer block (and legend) at the
    bottom and the header at the top."""

    bottom: float
    top: float


def header(fig: Figure, title: str, subtitle: str) -> float:
    """Title and subtitle (both wrapped to the width) at the top-left; returns the header's lower
    edge in pixels."""
    width_px, height_px = fig.bbox.width, fig.bbox.height
    x = PAD / width_px
    lines = wrap(fig, title, 12, width_px - 2 * PAD, weight="bold")
    texts = [fig.text(x, 1 - PAD / height_px, "\n".join(lines), ha="left", va="top", fontsize=12,
                      fontweight="bold", color="#222222")]
    r = renderer(fig)
    bottom = texts[0].get_window_extent(r).y0
    if subtitle:
        lines = wrap(fig, subtitle, 9, width_px - 2 * PAD)
        sub = fig.text(x, (bottom - 4) / height_px, "\n".join(lines), ha="left", va="top", fontsize=9,
                       color="#666666", linespacing=1.25)
        bottom = sub.get_window_extent(r).y0
    return bottom


def footer(fig: Figure, source: str, stamp: str, fontsize: float = 7.5) -> float:
    """The source line at the bottom-left and `stamp` at the bottom-right; the source wraps onto
    more lines rather than run into the stamp. Returns the footer's upper edge in pixels."""
    width_px, height_px = fig.bbox.width, fig.bbox.height
    stamp_w = text_width(fig, stamp, fontsize)
    lines = wrap(fig, source, fontsize, width_px - 2 * PAD - stamp_w - 3 * GAP)
    r = renderer(fig)
    left = fig.text(PAD / width_px, PAD / height_px, "\n".join(lines), ha="left", va="bottom", fontsize=fontsize,
                    color="#666666", linespacing=1.3)
    right = fig.text(1 - PAD / width_px, PAD / height_px, stamp, ha="right", va="bottom", fontsize=fontsize,
                     color="#666666")
    return max(left.get_window_extent(r).y1, right.get_window_extent(r).y1)


def legend(fig: Figure, handles: Sequence[Artist], bottom: float, fontsize: float = 8) -> Legend | None:
    """A frameless legend whose lower-left corner sits at `bottom` pixels, with as many columns as
    fit the figure's width."""
    if not handles:
        return None
    width_px, height_px = fig.bbox.width, fig.bbox.height
    r = renderer(fig)
    for ncol in range(len(handles), 0, -1):
        leg = fig.legend(handles=list(handles), loc="lower left", bbox_to_anchor=(PAD / width_px, bottom / height_px),
                         ncol=ncol, fontsize=fontsize, frameon=False, borderaxespad=0.0, borderpad=0.0,
                         handlelength=1.8, columnspacing=1.6)
        if leg.get_window_extent(r).width <= width_px - 2 * PAD or ncol == 1:
            return leg
        leg.remove()
    return None


def fit(fig: Figure, axes: Sequence[Axes], frame: Frame, panel_gap: float = 10.0) -> None:
    """Place `axes` (stacked top to bottom, equal heights) inside `frame` and the figure's side
    margins so that everything they draw outside their box — tick labels, axis labels,
    annotations — stays clear of the frame's edges, of each other and of the figure's sides."""
    if not axes:
        return
    width_px = fig.bbox.width
    height_px = fig.bbox.height
    r = renderer(fig)
    placed: list[tuple[float, float, float, float]] = []
    for _ in range(3):  # tick labels can change with the size: settle in a few passes
        boxes = [(ax.get_window_extent(r), ax.get_tightbbox(r)) for ax in axes]
        left = max(box.x0 - tight.x0 for box, tight in boxes)
        right = max(tight.x1 - box.x1 for box, tight in boxes)
        above = [max(0.0, tight.y1 - box.y1) for box, tight in boxes]
        below = [max(0.0, box.y0 - tight.y0) for box, tight in boxes]
        x0 = PAD + max(left, 0.0)
        x1 = width_px - PAD - max(right, 0.0)
        top = frame.top - GAP - above[0]
        bottom = frame.bottom + GAP + below[-1]
        gaps = [below[i] + above[i + 1] + panel_gap for i in range(len(axes) - 1)]
        panel = (top - bottom - sum(gaps)) / len(axes)
        y = top
        placement = []
        for i, ax in enumerate(axes):
            placement.append((x0, y - panel, x1, y))
            ax.set_position(Bbox.from_extents(x0 / width_px, (y - panel) / height_px, x1 / width_px, y / height_px))
            y -= panel + (gaps[i] if i < len(gaps) else 0.0)
        if placed and all(abs(a - b) < 0.5 for old, new in zip(placed, placement) for a, b in zip(old, new)):
            break  # settled: another pass would measure the same boxes
        placed = placement


def box_free(box: Bbox, taken: Iterable[Bbox], inside: Bbox) -> bool:
    """`box` lies within `inside` and overlaps none of `taken` (1 px of slack)."""
    if box.x0 < inside.x0 - 1 or box.x1 > inside.x1 + 1 or box.y0 < inside.y0 - 1 or box.y1 > inside.y1 + 1:
        return False
    return not any(box.x0 < t.x1 and t.x0 < box.x1 and box.y0 < t.y1 and t.y0 < box.y1 for t in taken)


def place_inside(ax: Axes, annotation: Annotation, offsets: Sequence[tuple[float, float, str]],
                 taken: list[Bbox]) -> bool:
    """Try `annotation` at each (dx, dy, ha) offset in points until its box lies inside the axes
    and clear of `taken`; keep it there (and add its box to `taken`) or remove it. True if placed."""
    r = renderer(ax.figure)
    inside = ax.get_window_extent(r)
    for dx, dy, ha in offsets:
        annotation.set_position((dx, dy))
        annotation.set_ha(ha)
        box = annotation.get_window_extent(r)
        if box_free(box, taken, inside):
            taken.append(box)
            return True
    annotation.remove()
    return False


def text_boxes(fig: Figure) -> list[tuple[str, Bbox]]:
    """Every text the figure draws, with its extent in pixels: figure texts, titles, axis labels,
    tick labels of ticks inside the view, annotations and legend entries (empty or hidden texts
    are left out). Call after `fig.canvas.draw()`."""
    r = renderer(fig)
    out: list[tuple[str, Bbox]] = []

    def add(texts: Iterable[Any]) -> None:
        for t in texts:
            if isinstance(t, Text) and t.get_visible() and t.get_text().strip():
                out.append((t.get_text(), t.get_window_extent(r)))

    add(fig.texts)
    for leg in fig.legends:
        add(leg.get_texts())
    for ax in fig.axes:
        add([ax.title, ax.xaxis.label, ax.yaxis.label])
        add(ax.texts)
        lo, hi = sorted(ax.get_xlim())
        add(t.label1 for t in ax.xaxis.get_major_ticks() if lo <= t.get_loc() <= hi and t.label1.get_visible())
        lo, hi = sorted(ax.get_ylim())
        add(t.label1 for t in ax.yaxis.get_major_ticks() if lo <= t.get_loc() <= hi and t.label1.get_visible())
        if ax.get_legend() is not None:
            add(ax.get_legend().get_texts())
    return out


def overlaps(fig: Figure) -> list[str]:
    """Descriptions of every pair of drawn texts that overlap, and of every text that leaves the
    figure (empty when the chart is clean). Draws the figure first."""
    fig.canvas.draw()
    boxes = text_boxes(fig)
    bounds = fig.bbox
    problems = []
    for text, box in boxes:
        if box.x0 < bounds.x0 - 0.5 or box.x1 > bounds.x1 + 0.5 or box.y0 < bounds.y0 - 0.5 or box.y1 > bounds.y1 + 0.5:
            problems.append(f"{text!r} leaves the figure ({box.x0:.0f}..{box.x1:.0f} x {box.y0:.0f}..{box.y1:.0f})")
    for i, (ta, a) in enumerate(boxes):
        for tb, b in boxes[i + 1:]:
            if a.x0 < b.x1 - 0.5 and b.x0 < a.x1 - 0.5 and a.y0 < b.y1 - 0.5 and b.y0 < a.y1 - 0.5:
                problems.append(f"{ta!r} overlaps {tb!r}")
    return problems
