"""Charts: every kind draws a PNG of the expected size (also without data), labels do not overlap."""

from __future__ import annotations

import struct

import pytest

from stresswatch.reports.charts import DPI, ChartSpec, place_labels, render_chart


def png_size(path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


SERIES = {"a": (["2023-01-02", "2023-02-01", "2023-03-01"], [1.0, 2.0, 1.5]),
          "b": (["2023-01-02", "2023-02-01", "2023-03-01"], [0.5, 0.2, 0.4])}


@pytest.mark.parametrize("kind", ["line", "step", "stack", "fx", "trade"])
def test_each_kind_renders(tmp_path, kind):
    spec = ChartSpec(id=f"c_{kind}", kind=kind, title="T", ylabel="Y (unit)", source="S", asof="2023-03-01",
                     alt="alt", series=SERIES, shading=[("2023-01-20", "2023-02-10")],
                     markers=[{"date": "2023-02-01", "label": "1 Someone: “phrase”", "short": "1", "value": 2.0,
                               "highlight": True}])
    path = render_chart(spec, tmp_path)
    assert path == tmp_path / "charts" / f"c_{kind}.png"
    w, h = png_size(path)
    assert w == round(9.6 * DPI) and h in (round(4.4 * DPI), round(6.0 * DPI))


def test_bars_and_empty_charts(tmp_path):
    bars = ChartSpec(id="league", kind="bars", title="T", ylabel="", source="S", asof="2023-03-01", alt="a",
                     bars=[("INR", -1.0, False), ("RUB", -20.0, True), ("TRY", -25.0, False)])
    assert png_size(render_chart(bars, tmp_path))[0] == round(9.6 * DPI)
    empty = ChartSpec(id="empty", kind="line", title="T", ylabel="Y", source="S", asof="2023-03-01", alt="a",
                      series={"a": ([], [])})
    assert render_chart(empty, tmp_path).stat().st_size > 1000
    with pytest.raises(ValueError, match="unknown chart kind"):
        render_chart(ChartSpec(id="x", kind="pie", title="", ylabel="", source="", asof="", alt=""), tmp_path)


def test_label_layout_avoids_overlaps():
    xs = [0.10, 0.12, 0.14, 0.90, 0.95]
    widths = [[0.2, 0.02]] * 5
    layout = place_labels(xs, widths, rows=3)
    spans = {}
    for x, (row, ha, c), w in zip(xs, layout, widths):
        width = w[c]
        a, b = (x - width, x) if ha == "right" else (x, x + width)
        assert 0.0 <= a and b <= 1.0 + 1e-9
        for lo, hi in spans.get(row, []):
            assert b < lo or a > hi
        spans.setdefault(row, []).append((a, b))
    # the labels at 0.90 and 0.95 would run off the axis: they are right-aligned
    assert layout[3][1] == "right" and layout[4][1] == "right"


def test_date_ticks_are_matplotlibs_and_follow_a_new_view():
    """The remembered date ticks are AutoDateLocator's for the view shown, also after it changes."""
    import matplotlib.dates as mdates
    import numpy as np
    from matplotlib.figure import Figure

    from stresswatch.reports.charts import _date_axis

    ax = Figure().add_subplot()
    plain = mdates.AutoDateLocator(minticks=4, maxticks=10)
    plain.set_axis(ax.xaxis)
    _date_axis(ax, np.datetime64("2016-08-16"), np.datetime64("2026-08-20"))
    for first, last in (("2016-08-16", "2026-08-20"), ("2025-08-20", "2026-08-20"), ("2026-08-01", "2026-08-20")):
        ax.set_xlim(np.datetime64(first), np.datetime64(last))  # the same locator, a new view
        expected = plain()
        assert list(ax.xaxis.get_majorticklocs()) == list(expected) and len(expected) >= 3
        ticks = ax.xaxis.get_majorticklocs()
        ticks[:] = 0  # a caller changing its copy changes nothing remembered
        assert list(ax.xaxis.get_majorticklocs()) == list(expected)


def test_a_chart_file_has_savefigs_pixels_without_the_opaque_alpha(tmp_path):
    import numpy as np
    from PIL import Image

    from stresswatch.reports.charts import draw_chart

    spec = ChartSpec(id="c", kind="line", title="T", ylabel="Y", source="S", asof="2023-03-01", alt="alt",
                     series=SERIES, shading=[("2023-01-20", "2023-02-10")])
    ours = Image.open(render_chart(spec, tmp_path))
    draw_chart(spec).savefig(tmp_path / "savefig.png", dpi=DPI, facecolor="white")
    theirs = np.asarray(Image.open(tmp_path / "savefig.png"))
    assert ours.mode == "RGB" and theirs.shape[2] == 4 and (theirs[..., 3] == 255).all()
    assert np.array_equal(np.asarray(ours), theirs[..., :3])
    assert ours.info["Software"].startswith("Matplotlib version") and round(ours.info["dpi"][0]) == DPI
